import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/config'
import { MvmError } from '../../src/errors'
import { Migrator } from '../../src/migrator'
import { freshDatabase } from '../helpers/milvus'
import { cli, tempProject, writeMigration } from '../helpers/project'

/**
 * Migration and config files in every module system a project may use: .ts .mts .cts .js .mjs
 * .cjs, in projects with and without "type": "module", default and named exports, top-level await,
 * the project's own modules and tsconfig path aliases; load errors as file:line:col.
 */
const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

const create = (name: string) =>
  `await ctx.createCollection({ name: '${name}', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }], indexes: [{ field: 'v', type: 'FLAT', metric: 'L2' }] })`

async function project(type?: 'module') {
  const db = await freshDatabase('modules')
  clients.push(db.client)
  const dir = tempProject()
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'app', private: true, ...(type ? { type } : {}) }),
  )
  fs.mkdirSync(path.join(dir, 'lib'))
  const migrator = () => new Migrator({ client: db.client, migrationsDir: path.join(dir, 'migrations'), cwd: dir })
  return { ...db, dir, migrator }
}

async function collections(client: MilvusClient): Promise<string[]> {
  return ((await client.listCollections()).data ?? [])
    .map((c) => c.name)
    .filter((n) => !n.startsWith('_'))
    .sort()
}

describe('migrations in every module system', () => {
  it('a CommonJS project: .ts (default export, extensionless import of its own module), .cts, .js (require, named exports), .cjs, .mjs (top-level await)', async () => {
    const p = await project()
    fs.writeFileSync(path.join(p.dir, 'lib', 'names.ts'), "export const NAME = 'from_ts_lib'\n")
    writeMigration(
      p.dir,
      '20260801000001_ts.ts',
      `import { defineMigration } from 'mvmigrate'\nimport { NAME } from '../lib/names'\nexport default defineMigration({ async up(ctx) { ${create('${NAME}').replace("'${NAME}'", 'NAME')} } })\n`,
    )
    writeMigration(
      p.dir,
      '20260801000002_cts.cts',
      `import { defineMigration } from 'mvmigrate'\nexport default defineMigration({ async up(ctx) { ${create('from_cts')} } })\n`,
    )
    writeMigration(
      p.dir,
      '20260801000003_js.js',
      `const { defineMigration } = require('mvmigrate')\nexports.up = async (ctx) => { ${create('from_js')} }\n`,
    )
    writeMigration(
      p.dir,
      '20260801000004_cjs.cjs',
      `const { defineMigration } = require('mvmigrate')\nmodule.exports = defineMigration({ async up(ctx) { ${create('from_cjs')} } })\n`,
    )
    writeMigration(
      p.dir,
      '20260801000005_mjs.mjs',
      `import { defineMigration } from 'mvmigrate'\nconst name = await Promise.resolve('from_mjs')\nexport default defineMigration({ async up(ctx) { ${create('${name}').replace("'${name}'", 'name')} } })\n`,
    )
    const r = await p.migrator().up()
    expect(r.migrations).toHaveLength(5)
    expect(await collections(p.client)).toEqual(['from_cjs', 'from_cts', 'from_js', 'from_mjs', 'from_ts_lib'])
  })

  it('an ESM project: .ts with top-level await, named exports, a tsconfig path alias, and .js as ESM', async () => {
    const p = await project('module')
    fs.writeFileSync(
      path.join(p.dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { '#lib/*': ['lib/*'] } } }),
    )
    fs.writeFileSync(path.join(p.dir, 'lib', 'names.ts'), "export const NAME = 'from_alias'\n")
    writeMigration(
      p.dir,
      '20260801000011_ts.ts',
      `import { NAME } from '#lib/names'\nconst name: string = await Promise.resolve(NAME)\nexport async function up(ctx: import('mvmigrate').MigrationContext) { ${create('${name}').replace("'${name}'", 'name')} }\nexport async function down(ctx: import('mvmigrate').MigrationContext) { await ctx.dropCollection(name) }\n`,
    )
    writeMigration(
      p.dir,
      '20260801000012_js.js',
      `import { defineMigration } from 'mvmigrate'\nexport default defineMigration({ async up(ctx) { ${create('from_esm_js')} }, async down(ctx) { await ctx.dropCollection('from_esm_js') } })\n`,
    )
    const m = p.migrator()
    await m.up()
    expect(await collections(p.client)).toEqual(['from_alias', 'from_esm_js'])
    await m.down({ to: '20260801000011' })
    expect(await collections(p.client)).toEqual(['from_alias'])
    // a named down() export rolls back too
    await m.down({ step: 1 })
    expect(await collections(p.client)).toEqual([])
  })

  it('load errors name the file with line and column, whatever the module system; nothing runs', async () => {
    const p = await project()
    writeMigration(
      p.dir,
      '20260801000021_tla.ts',
      `const x = await Promise.resolve(1)\nexport async function up() {}\n`,
    )
    const e = await p
      .migrator()
      .up()
      .catch((x) => x as MvmError)
    expect(e).toBeInstanceOf(MvmError)
    expect((e as MvmError).message).toMatch(
      /20260801000021_tla\.ts could not be loaded: .*20260801000021_tla\.ts:1:11: Top-level await is currently not supported with the "cjs" output format/,
    )
    fs.rmSync(path.join(p.dir, 'migrations', '20260801000021_tla.ts'))
    writeMigration(p.dir, '20260801000022_bad.mjs', `export default {\n  up( {\n}\n`)
    const e2 = await p
      .migrator()
      .up()
      .catch((x) => x as MvmError)
    expect((e2 as MvmError).message).toMatch(
      /20260801000022_bad\.mjs could not be loaded: .*20260801000022_bad\.mjs:\d+:\d+: /,
    )
    expect(await collections(p.client)).toEqual([])
  })
})

describe('config files in every module system', () => {
  it('.mts, .cjs and an ESM .js config are read; an ESM config may use top-level await', async () => {
    const esm = tempProject()
    fs.rmSync(path.join(esm, 'mvmigrate.config.json'))
    fs.writeFileSync(path.join(esm, 'package.json'), JSON.stringify({ type: 'module' }))
    fs.writeFileSync(
      path.join(esm, 'mvmigrate.config.js'),
      "const dir = await Promise.resolve('db/mig')\nexport default { migrationsDir: dir, lockTimeout: 3 }\n",
    )
    const c1 = await loadConfig({ cwd: esm, env: {} })
    expect(c1.migrationsDir).toBe(path.join(esm, 'db', 'mig'))
    expect(c1.lockTimeout).toBe(3)
    const mts = tempProject()
    fs.rmSync(path.join(mts, 'mvmigrate.config.json'))
    fs.writeFileSync(
      path.join(mts, 'mvmigrate.config.mts'),
      'const t: number = 7\nexport default { connectTimeout: t }\n',
    )
    expect((await loadConfig({ cwd: mts, env: {} })).connectTimeout).toBe(7)
    const cjs = tempProject()
    fs.rmSync(path.join(cjs, 'mvmigrate.config.json'))
    fs.writeFileSync(path.join(cjs, 'mvmigrate.config.cjs'), "module.exports = { database: 'cjsdb' }\n")
    expect((await loadConfig({ cwd: cjs, env: {} })).database).toBe('cjsdb')
  })
})

describe('an app with no copy of mvmigrate (npx from elsewhere, a global install)', () => {
  for (const type of [undefined, 'module'] as const) {
    it(`${type ? 'an ESM' : 'a CommonJS'} app with no node_modules: init, make (.ts, .mjs, .js), up and status --check load 'mvmigrate' from the running package`, async () => {
      const db = await freshDatabase('global')
      clients.push(db.client)
      // Outside this repo, with no node_modules anywhere above: only the CLI knows where mvmigrate is.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-noinstall-'))
      fs.writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: 'app', private: true, ...(type ? { type } : {}) }),
      )
      const run = (...a: string[]) => cli(dir, ['--uri', db.uri, '--database', db.database, ...a])
      expect((await run('init')).code).toBe(0)
      // The config init writes imports defineConfig from 'mvmigrate'.
      const config = fs.readFileSync(path.join(dir, 'mvmigrate.config.ts'), 'utf8')
      expect(config).toContain("import { defineConfig } from 'mvmigrate'")
      fs.writeFileSync(
        path.join(dir, 'mvmigrate.config.ts'),
        config.replace("migrationsDir: 'migrations',", "migrationsDir: 'db/migrations',"),
      )
      const made: string[] = []
      for (const [name, flags] of [
        ['from_ts', []],
        ['from_mjs', ['--ext', 'mjs']],
        ['from_js', ['--ext', 'js']],
      ] as const) {
        if (made.length) await new Promise((r) => setTimeout(r, 1100)) // versions are per second
        const r = await run('make', name, ...flags)
        expect(r.code, r.stderr).toBe(0)
        const file = r.stdout.trim()
        expect(path.dirname(file)).toBe(path.join(dir, 'db', 'migrations'))
        const body = fs.readFileSync(file, 'utf8')
        expect(body).toMatch(/(import \{ defineMigration \} from |require\()'mvmigrate'/)
        // The template as written, with a real step in its up().
        fs.writeFileSync(file, body.replace('async up(ctx) {', `async up(ctx) {\n    ${create(name)}`))
        made.push(file)
      }
      expect(made.map((f) => path.extname(f))).toEqual(['.ts', '.mjs', '.js'])
      const up = await run('up')
      expect(up.code, up.stderr).toBe(0)
      expect(up.stdout).toContain('Applied 3 migration(s)')
      expect(await collections(db.client)).toEqual(['from_js', 'from_mjs', 'from_ts'])
      const status = await run('status', '--check')
      expect(status.code, status.stdout + status.stderr).toBe(0)
      fs.rmSync(dir, { recursive: true, force: true })
    }, 120_000)
  }
})
