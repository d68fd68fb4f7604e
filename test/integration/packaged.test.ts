import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, TEST_VENV } from '../helpers/project'

/**
 * mvmigrate as a user installs it: `npm pack`, then `npm install <tarball>` into fresh apps, one
 * CommonJS, one ESM ("type": "module") and one ESM app written in .mts without "type". Each runs
 * init, make, a TypeScript migration that creates a collection and alters it, up, status --check
 * and down against the embedded Milvus Lite, and type-checks its own code against the package's
 * types under the module resolution such an app uses.
 */
let tarball: string
let root: string

function run(cmd: string, args: string[], cwd: string, timeoutMs = 240_000): { code: number; out: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, NO_COLOR: '1', npm_config_loglevel: 'error' },
  })
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` }
}

function ok(r: { code: number; out: string }): string {
  expect(r.code, r.out).toBe(0)
  return r.out
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-packaged-'))
  // dist/ is built by `pretest`; pack what npm would publish, without building again.
  const packed = ok(run('npm', ['pack', '--ignore-scripts', '--pack-destination', root], REPO_ROOT))
  tarball = path.join(root, packed.trim().split('\n').pop()!.trim())
  expect(fs.existsSync(tarball)).toBe(true)
}, 120_000)

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true })
})

interface App {
  name: string
  type?: 'module'
  ext: 'ts' | 'mts'
  tsconfig: Record<string, unknown>
}

/** The migration: creates a collection, fills it, alters it; imports the app's own module. */
function migration(app: App): string {
  const esm = app.type === 'module' || app.ext === 'mts'
  const own = esm
    ? app.ext === 'mts'
      ? "import { DIM } from '../src/dims.mjs'"
      : "import { DIM } from '@app/dims.js'"
    : "import { DIM } from '../src/dims'"
  return `import { defineMigration } from 'mvmigrate'
${own}
${esm ? 'const ready = await Promise.resolve(true) // top-level await: ESM only\n' : 'const ready = true\n'}
export default defineMigration({
  async up(ctx) {
    if (!ready) throw new Error('not ready')
    await ctx.createCollection({
      name: 'docs',
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true },
        { name: 'vector', type: 'FloatVector', dim: DIM },
        { name: 'title', type: 'VarChar', maxLength: 20 },
      ],
      indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }],
    })
    await ctx.insert('docs', Array.from({ length: 50 }, (_, i) => ({ id: i + 1, vector: [i, 0, 0, 1], title: 't' + i })))
    await ctx.alter('docs', (t) => {
      t.alterField('title', { maxLength: 200 })
      t.addField({ name: 'lang', type: 'VarChar', maxLength: 8, default: 'en' })
    })
  },
  async down(ctx) {
    await ctx.revertAlter('docs')
    await ctx.dropCollection('docs')
  },
})
`
}

const APPS: App[] = [
  { name: 'cjs-app', ext: 'ts', tsconfig: { module: 'node16', moduleResolution: 'node16' } },
  {
    name: 'esm-app',
    type: 'module',
    ext: 'ts',
    tsconfig: { module: 'nodenext', moduleResolution: 'nodenext', baseUrl: '.', paths: { '@app/*': ['src/*'] } },
  },
  { name: 'mts-app', ext: 'mts', tsconfig: { module: 'esnext', moduleResolution: 'bundler' } },
]

describe('the packed package in a new app', () => {
  for (const app of APPS) {
    it(`${app.name}: install, init, make, up (create + alter), status --check, down; types resolve (${app.tsconfig.moduleResolution})`, async () => {
      const dir = path.join(root, app.name)
      fs.mkdirSync(path.join(dir, 'src'), { recursive: true })
      fs.writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify(
          { name: app.name, version: '1.0.0', private: true, ...(app.type ? { type: app.type } : {}) },
          null,
          2,
        ),
      )
      fs.writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify(
          {
            compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, target: 'ES2022', ...app.tsconfig },
            include: ['migrations', 'src', `mvmigrate.config.${app.ext}`],
          },
          null,
          2,
        ),
      )
      fs.writeFileSync(path.join(dir, 'src', `dims.${app.ext}`), 'export const DIM = 4\n')
      ok(run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], dir))

      const mvm = (...args: string[]) =>
        run(process.execPath, [path.join(dir, 'node_modules', 'mvmigrate', 'bin', 'mvmigrate.js'), ...args], dir)
      const init = ok(mvm('init'))
      expect(init).toContain('created')
      expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toContain('.mvmigrate/')
      // The config init wrote, pointed at the test run's Milvus Lite install (saves a 450 MB venv per app).
      const config = path.join(dir, `mvmigrate.config.${app.ext}`)
      if (app.ext !== 'ts') fs.renameSync(path.join(dir, 'mvmigrate.config.ts'), config)
      fs.writeFileSync(
        config,
        fs
          .readFileSync(config, 'utf8')
          .replace(
            "migrationsDir: 'migrations',",
            `migrationsDir: 'migrations',\n  lite: { venvDir: ${JSON.stringify(TEST_VENV)} },`,
          ),
      )

      const made = ok(mvm('make', 'create_docs', ...(app.ext === 'mts' ? ['--ext', 'mts'] : [])))
        .trim()
        .split('\n')
        .pop()!
      expect(made).toMatch(new RegExp(`_create_docs\\.${app.ext}$`))
      expect(fs.readFileSync(made, 'utf8')).toContain("import { defineMigration } from 'mvmigrate'")
      fs.writeFileSync(made, migration(app))
      // The next make follows the extension the project already uses.
      await new Promise((r) => setTimeout(r, 1100))
      const next = ok(mvm('make', 'next_one')).trim().split('\n').pop()!
      expect(next).toMatch(new RegExp(`_next_one\\.${app.ext}$`))
      fs.rmSync(next)

      const up = mvm('up')
      expect(up.code, up.out).toBe(0)
      expect(up.out).toContain('50 rows copied')
      const status = mvm('status', '--check', '--json')
      expect(status.code, status.out).toBe(0)
      expect(JSON.parse(status.out.slice(status.out.indexOf('{'))).migrations[0].state).toBe('applied')
      const down = mvm('down')
      expect(down.code, down.out).toBe(0)
      expect(down.out).toContain('Rolled back 1 migration(s)')
      expect(mvm('status', '--check').code).toBe(3)

      // The app's own code type-checks against the package's types (import and require conditions).
      const tsc = run(
        process.execPath,
        [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir],
        dir,
      )
      expect(tsc.code, tsc.out).toBe(0)
    }, 600_000)
  }
})

describe('a global install, run from an app with no node_modules', () => {
  it('npm install -g: init, make (.ts, .mjs, .js) and up load the migrations and the config that import mvmigrate', async () => {
    const prefix = path.join(root, 'global')
    ok(run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], root))
    const dir = path.join(root, 'global-app')
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'global-app', private: true }))
    // The command npm linked on the PATH, run as a shell would (its #! line names node).
    const mvm = (...args: string[]) => run(process.execPath, [path.join(prefix, 'bin', 'mvmigrate'), ...args], dir)
    ok(mvm('init'))
    const config = path.join(dir, 'mvmigrate.config.ts')
    expect(fs.readFileSync(config, 'utf8')).toContain("import { defineConfig } from 'mvmigrate'")
    fs.writeFileSync(
      config,
      fs
        .readFileSync(config, 'utf8')
        .replace(
          "migrationsDir: 'migrations',",
          `migrationsDir: 'migrations',\n  lite: { venvDir: ${JSON.stringify(TEST_VENV)} },`,
        ),
    )
    const made: string[] = []
    for (const [name, flags] of [
      ['from_ts', []],
      ['from_mjs', ['--ext', 'mjs']],
      ['from_js', ['--ext', 'js']],
    ] as const) {
      if (made.length) await new Promise((r) => setTimeout(r, 1100)) // versions are per second
      const file = ok(mvm('make', name, ...flags))
        .trim()
        .split('\n')
        .pop()!
      const body = fs.readFileSync(file, 'utf8')
      fs.writeFileSync(
        file,
        body.replace(
          'async up(ctx) {',
          `async up(ctx) {\n    await ctx.createCollection({ name: '${name}', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }], indexes: [{ field: 'v', type: 'FLAT', metric: 'L2' }] })`,
        ),
      )
      made.push(file)
    }
    expect(fs.existsSync(path.join(dir, 'node_modules'))).toBe(false)
    const up = mvm('up')
    expect(up.code, up.out).toBe(0)
    expect(up.out).toContain('3 migration(s)')
    const status = mvm('status', '--check', '--json')
    expect(status.code, status.out).toBe(0)
    expect(
      JSON.parse(status.out.slice(status.out.indexOf('{'))).migrations.map((m: { state: string }) => m.state),
    ).toEqual(['applied', 'applied', 'applied'])
  }, 600_000)
})
