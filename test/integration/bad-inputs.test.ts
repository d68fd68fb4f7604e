import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshDatabase, snapshot } from '../helpers/milvus'
import { cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'
import { record } from '../helpers/reliability'

/**
 * Bad input, table-driven: CLI arguments, config files, migration files, environment and server
 * state. For each: the exit code documented in README, a message that names the thing, and a
 * snapshot of Milvus (collections, schemas, row counts, ledger, aliases) identical before and after.
 */
interface Case {
  name: string
  args: string[]
  code: number
  text: string | RegExp
  /** Extra migration files besides the applied base one. */
  files?: Record<string, string>
  /** Config file content (mvmigrate.config.json unless `configName`). */
  config?: string
  configName?: string
  env?: NodeJS.ProcessEnv
  /** Connect to the test database (default) or not (embedded / explicit uri in args). */
  remote?: boolean
}

const BASE = '20260101000001_docs.ts'
const alter = (body: string) => `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await ctx.alter('docs', (t) => { ${body} }) } })
`
const create = (fields: string) => `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await ctx.createCollection({ name: 'other', fields: [${fields}] }) } })
`
const M2 = '20260101000002_change.ts'

const cases: Case[] = [
  // CLI arguments
  { name: 'unknown command', args: ['frobnicate'], code: 2, text: "unknown command 'frobnicate'" },
  { name: 'unknown option', args: ['up', '--fast'], code: 2, text: "unknown option '--fast'" },
  { name: '--step 0', args: ['up', '--step', '0'], code: 2, text: "--step must be a positive whole number, got '0'" },
  {
    name: '--step not a number',
    args: ['down', '--step', 'two'],
    code: 2,
    text: "--step must be a positive whole number, got 'two'",
  },
  {
    name: '--to not a version',
    args: ['up', '--to', 'latest'],
    code: 2,
    text: '--to takes a 14-digit migration version',
  },
  {
    name: '--lock-timeout negative',
    args: ['up', '--lock-timeout', '-1'],
    code: 2,
    text: '--lock-timeout must be a number of seconds',
  },
  {
    name: '--connect-timeout not a number',
    args: ['--connect-timeout', 'soon', 'status'],
    code: 2,
    text: '--connect-timeout must be a number of seconds',
  },
  { name: '--verify unknown mode', args: ['up', '--verify', 'fast'], code: 2, text: "argument 'fast' is invalid" },
  {
    name: 'down with two selectors',
    args: ['down', '--step', '1', '--all'],
    code: 2,
    text: 'down takes only one of --step, --to and --all',
  },
  { name: 'make with a bad name', args: ['make', 'AddThing'], code: 2, text: 'Invalid migration name "AddThing"' },
  {
    name: 'make with a path in the name',
    args: ['make', '../escape'],
    code: 2,
    text: 'Invalid migration name "../escape"',
  },
  { name: 'make without a name', args: ['make'], code: 2, text: "missing required argument 'name'" },
  // Config files
  { name: 'malformed JSON config', args: ['status'], config: '{ "uri": ', code: 7, text: 'mvmigrate.config.json' },
  { name: 'unknown config key', args: ['status'], config: '{ "urii": "x" }', code: 7, text: "unknown key 'urii'" },
  {
    name: 'config value of the wrong type',
    args: ['status'],
    config: '{ "lockTimeout": "soon" }',
    code: 7,
    text: "'lockTimeout' must be a number",
  },
  {
    name: 'unknown lite config key',
    args: ['status'],
    config: '{ "lite": { "dataDirectory": "x" } }',
    code: 7,
    text: "unknown key 'lite.dataDirectory'",
  },
  { name: 'config that is an array', args: ['status'], config: '[]', code: 7, text: 'the config must be an object' },
  {
    name: 'TypeScript config with a syntax error',
    args: ['status'],
    config: 'export default { uri: ',
    configName: 'mvmigrate.config.ts',
    code: 7,
    text: 'mvmigrate.config.ts',
  },
  {
    name: '--config naming a missing file',
    args: ['--config', 'nope.json', 'status'],
    code: 7,
    text: 'nope.json does not exist',
  },
  // Migration files
  {
    name: 'syntax error',
    args: ['up'],
    files: { [M2]: 'export default { async up( {' },
    code: 8,
    text: `${M2} could not be loaded`,
  },
  {
    name: 'no up()',
    args: ['up'],
    files: { [M2]: 'export default { async down() {} }\n' },
    code: 8,
    text: `${M2} does not export an up() function`,
  },
  {
    name: 'down that is not a function',
    args: ['up'],
    files: { [M2]: 'export default { async up() {}, down: 3 }\n' },
    code: 8,
    text: 'exports a down that is not a function',
  },
  {
    name: 'file name without a proper version',
    args: ['up'],
    files: { '2026_change.ts': 'export default { async up() {} }\n' },
    code: 8,
    text: '2026_change.ts: not a migration file name',
  },
  {
    name: 'two files with one version',
    args: ['status'],
    files: {
      [M2]: 'export default { async up() {} }\n',
      '20260101000002_again.ts': 'export default { async up() {} }\n',
    },
    code: 8,
    text: 'version 20260101000002 is also used by',
  },
  {
    name: 'a module that throws on load',
    args: ['up'],
    files: { [M2]: 'throw new Error("bad import")\n' },
    code: 8,
    text: 'bad import',
  },
  {
    name: 'collection without a vector field',
    args: ['up'],
    files: { [M2]: create("{ name: 'id', type: 'Int64', primaryKey: true }") },
    code: 8,
    text: 'needs at least one vector field',
  },
  {
    name: 'VarChar without maxLength',
    args: ['up'],
    files: {
      [M2]: create(
        "{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }, { name: 's', type: 'VarChar' }",
      ),
    },
    code: 8,
    text: "field 's': VarChar needs maxLength",
  },
  {
    name: 'unknown field type',
    args: ['up'],
    files: {
      [M2]: create(
        "{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }, { name: 'x', type: 'Texte' }",
      ),
    },
    code: 8,
    text: 'field \'x\': unknown type "Texte"',
  },
  {
    name: 'primary key of a wrong type',
    args: ['up'],
    files: {
      [M2]: create("{ name: 'id', type: 'Float', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }"),
    },
    code: 8,
    text: 'a primary key must be Int64 or VarChar',
  },
  {
    name: 'creating a collection that exists',
    args: ['up'],
    files: {
      [M2]: `export default { async up(ctx: any) { await ctx.createCollection({ name: 'docs', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }] }) } }\n`,
    },
    code: 8,
    text: "collection 'docs' already exists",
  },
  {
    name: 'alter of an unknown field',
    args: ['up'],
    files: { [M2]: alter("t.dropField('nope')") },
    code: 8,
    text: "cannot drop field 'nope': no such field",
  },
  {
    name: 'alter dropping the primary key',
    args: ['up'],
    files: { [M2]: alter("t.dropField('id')") },
    code: 8,
    text: "field 'id' is the primary key",
  },
  {
    name: 'alter renaming onto a taken name',
    args: ['up'],
    files: { [M2]: alter("t.renameField('title', 'vector')") },
    code: 8,
    text: "cannot rename 'title' to 'vector': that name is already taken",
  },
  {
    name: 'alter adding a vector without backfill',
    args: ['up'],
    files: { [M2]: alter("t.addField({ name: 'v2', type: 'FloatVector', dim: 4 })") },
    code: 8,
    text: "new field 'v2' (FloatVector, not nullable) has no default",
  },
  {
    name: 'alter type change without converter',
    args: ['up'],
    files: { [M2]: alter("t.alterField('title', { type: 'Int64' })") },
    code: 8,
    text: 'VarChar -> Int64 does not convert on its own',
  },
  {
    name: 'alter dropping the last vector field',
    args: ['up'],
    files: { [M2]: alter("t.dropField('vector')") },
    code: 8,
    text: 'cannot drop the last vector field',
  },
  {
    name: 'alter growing a VarChar past 65535',
    args: ['up'],
    files: { [M2]: alter("t.alterField('title', { maxLength: 70000 })") },
    code: 8,
    text: 'maxLength must be between 1 and 65535, got 70000',
  },
  {
    name: 'alter backfilling a missing field',
    args: ['up'],
    files: { [M2]: alter("t.backfill('ghost', () => 1)") },
    code: 8,
    text: "cannot backfill 'ghost': no such field",
  },
  {
    name: 'alter dropping an unknown index',
    args: ['up'],
    files: { [M2]: alter("t.dropIndex('nope')") },
    code: 8,
    text: "cannot drop index 'nope': no such index",
  },
  {
    name: 'alter of a missing collection',
    args: ['up'],
    files: {
      [M2]: `export default { async up(ctx: any) { await ctx.alter('ghost', (t: any) => t.dropField('x')) } }\n`,
    },
    code: 8,
    text: "cannot alter 'ghost': no such collection or alias",
  },
  // Environment
  {
    name: 'a uri nobody listens on',
    args: ['--uri', 'http://127.0.0.1:9', 'status'],
    remote: false,
    code: 6,
    text: 'Could not reach Milvus at http://127.0.0.1:9',
  },
  {
    name: 'MILVUS_URI nobody listens on',
    args: ['status'],
    env: { MILVUS_URI: 'http://127.0.0.1:9' },
    remote: false,
    code: 6,
    text: 'Could not reach Milvus at http://127.0.0.1:9',
  },
  {
    name: 'a database that does not exist',
    args: ['--database', 'no_such_db', 'status'],
    code: 6,
    text: "Database 'no_such_db' does not exist",
  },
  // Server state
  {
    name: '--to an unknown version',
    args: ['up', '--to', '20990101000000'],
    code: 2,
    text: 'no migration has that version',
  },
  {
    name: 'down --to an unknown version',
    args: ['down', '--to', '20990101000000'],
    code: 2,
    text: 'no migration has that version',
  },
  { name: 'down of a migration without down()', args: ['down'], code: 4, text: 'has no down()' },
  {
    name: 'an applied file that changed',
    args: ['up'],
    files: { [BASE]: createCollectionMigration('docs', { down: false }) + '// edited\n' },
    code: 4,
    text: 'was changed after it was applied',
  },
  {
    name: 'an applied file that is missing',
    args: ['up'],
    files: { [BASE]: '' },
    code: 4,
    text: '20260101000001_docs has no file',
  },
  {
    name: 'a pending migration older than the newest applied',
    args: ['up'],
    files: { '20250101000000_old.ts': 'export default { async up() {} }\n' },
    code: 4,
    text: 'is older than the newest applied one',
  },
]

let db: Awaited<ReturnType<typeof freshDatabase>>
const clients: MilvusClient[] = []
beforeAll(async () => {
  db = await freshDatabase('bad')
  clients.push(db.client)
  const dir = tempProject()
  writeMigration(dir, BASE, createCollectionMigration('docs', { down: false }))
  const up = await cli(dir, ['--uri', db.uri, '--database', db.database, 'up'])
  expect(up.code, up.stderr).toBe(0)
  await db.client.insert({
    collection_name: 'docs',
    data: Array.from({ length: 200 }, (_, i) => ({ id: String(i + 1), vector: [i, 0, 0, 1], title: `t${i}` })),
  })
  await db.client.createAlias({ collection_name: 'docs', alias: 'docs_live' })
})
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

describe(`bad input (${cases.length} cases): clear message, documented exit code, nothing changed`, () => {
  for (const c of cases) {
    it(c.name, async () => {
      const dir = tempProject()
      writeMigration(dir, BASE, createCollectionMigration('docs', { down: false }))
      for (const [name, body] of Object.entries(c.files ?? {})) {
        if (body === '') fs.rmSync(path.join(dir, 'migrations', name))
        else writeMigration(dir, name, body)
      }
      if (c.config !== undefined) {
        fs.rmSync(path.join(dir, 'mvmigrate.config.json'))
        fs.writeFileSync(path.join(dir, c.configName ?? 'mvmigrate.config.json'), c.config)
      }
      const before = await snapshot(db.client)
      const args =
        c.remote === false || c.env?.MILVUS_URI ? c.args : ['--uri', db.uri, '--database', db.database, ...c.args]
      const r = await cli(dir, args, { env: c.env })
      const output = r.stderr + r.stdout
      expect(r.code, output).toBe(c.code)
      if (typeof c.text === 'string') expect(output).toContain(c.text)
      else expect(output).toMatch(c.text)
      if (c.code !== 0) expect(r.stderr).not.toMatch(/\n\s+at .*\(/) // no stack trace without --verbose
      expect(await snapshot(db.client)).toEqual(before)
      record({ badInputs: 1 })
    })
  }
})
