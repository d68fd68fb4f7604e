import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MvmError } from '../../src/errors'
import { checksumOf } from '../../src/migrations/files'
import { Migrator } from '../../src/migrator'
import { TOOL_VERSION } from '../../src/version'
import { freshDatabase, snapshot } from '../helpers/milvus'
import { createCollectionMigration, tempProject, writeMigration } from '../helpers/project'

/** The library against a real Milvus Lite: one database per test, one temp project per test. */
let uri: string
const clients: MilvusClient[] = []

async function setup(files: Record<string, string>) {
  const db = await freshDatabase('mig')
  clients.push(db.client)
  uri = db.uri
  const dir = tempProject()
  for (const [name, body] of Object.entries(files)) writeMigration(dir, name, body)
  const migrator = new Migrator({ client: db.client, migrationsDir: path.join(dir, 'migrations') })
  return { ...db, dir, migrator }
}

async function expectError(p: Promise<unknown>, code: string): Promise<MvmError> {
  const e = await p.then(
    () => undefined,
    (x) => x,
  )
  expect(e, `expected ${code}`).toBeInstanceOf(MvmError)
  expect((e as MvmError).code).toBe(code)
  return e as MvmError
}

/** Collections, without the schema snapshot every run records (drift: test/integration/adopt.test.ts). */
async function collections(client: MilvusClient): Promise<string[]> {
  return ((await client.listCollections()).data ?? [])
    .map((c) => c.name)
    .filter((n) => n !== '_migrations_snapshots')
    .sort()
}

afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

describe('Migrator against Milvus Lite', () => {
  beforeAll(() => expect(uri === undefined || typeof uri === 'string').toBe(true))

  it('up applies pending migrations in order as one batch and records them in _migrations', async () => {
    const { client, migrator, dir } = await setup({
      '20260101000002_second.ts': createCollectionMigration('second'),
      '20260101000001_first.ts': createCollectionMigration('first'),
    })
    const before = await migrator.status()
    expect(before.migrations.map((m) => m.state)).toEqual(['pending', 'pending'])
    expect(before.upToDate).toBe(false)
    expect(await collections(client)).toEqual([]) // status created nothing

    const res = await migrator.up()
    expect(res.batch).toBe(1)
    expect(res.migrations.map((m) => m.name)).toEqual(['first', 'second'])
    expect(await collections(client)).toEqual(['_migrations', 'first', 'second']) // lock released

    const rows = await migrator.ledger.list()
    expect(rows.map((r) => [r.version, r.name, r.batch, r.state])).toEqual([
      ['20260101000001', 'first', 1, 'applied'],
      ['20260101000002', 'second', 1, 'applied'],
    ])
    expect(rows[0].checksum).toBe(
      checksumOf(fs.readFileSync(path.join(dir, 'migrations', '20260101000001_first.ts'), 'utf8')),
    )
    expect(rows[0].toolVersion).toBe(TOOL_VERSION)
    expect(new Date(rows[0].appliedAt).getTime()).toBeGreaterThan(Date.now() - 60_000)

    const d = await client.describeCollection({ collection_name: 'first' })
    expect(d.schema.fields.map((f) => [f.name, f.data_type])).toEqual([
      ['id', 'Int64'],
      ['vector', 'FloatVector'],
      ['title', 'VarChar'],
    ])
    expect((await migrator.status()).upToDate).toBe(true)
    expect((await migrator.up()).migrations).toEqual([]) // idempotent
  })

  it('a second up forms batch 2; down undoes only the last batch, newest first', async () => {
    const { client, migrator, dir } = await setup({ '20260101000001_a.ts': createCollectionMigration('a') })
    await migrator.up()
    writeMigration(dir, '20260101000002_b.ts', createCollectionMigration('b'))
    writeMigration(dir, '20260101000003_c.ts', createCollectionMigration('c'))
    expect((await migrator.up()).batch).toBe(2)
    const down = await migrator.down()
    expect(down.migrations.map((m) => m.name)).toEqual(['c', 'b'])
    expect(await collections(client)).toEqual(['_migrations', 'a'])
    const st = await migrator.status()
    expect(st.migrations.map((m) => [m.name, m.state, m.batch])).toEqual([
      ['a', 'applied', 1],
      ['b', 'pending', undefined],
      ['c', 'pending', undefined],
    ])
    await expectError(migrator.down({ to: '20260101000001' }), 'NOTHING_TO_UNDO')
    await migrator.down()
    await expectError(migrator.down(), 'NOTHING_TO_UNDO')
  })

  it('--to and --step limit what up applies; dry run changes nothing', async () => {
    const { client, migrator } = await setup({
      '20260101000001_a.ts': createCollectionMigration('a'),
      '20260101000002_b.ts': createCollectionMigration('b'),
      '20260101000003_c.ts': createCollectionMigration('c'),
    })
    const dry = await migrator.up({ dryRun: true })
    expect(dry.migrations.map((m) => m.name)).toEqual(['a', 'b', 'c'])
    expect(await collections(client)).toEqual([])
    expect((await migrator.up({ step: 1 })).migrations.map((m) => m.name)).toEqual(['a'])
    expect((await migrator.up({ to: '20260101000002' })).migrations.map((m) => m.name)).toEqual(['b'])
    await expectError(migrator.up({ to: '20990101000000' }), 'UNKNOWN_VERSION')
    expect((await migrator.down({ dryRun: true })).migrations.map((m) => m.name)).toEqual(['b'])
    expect(await collections(client)).toEqual(['_migrations', 'a', 'b'])
  })

  it('a migration that throws is recorded as failed, earlier ones stay applied, and the next up retries it', async () => {
    const flag = path.join(tempProject(), 'fixed')
    const { client, migrator } = await setup({
      '20260101000001_ok.ts': createCollectionMigration('ok'),
      '20260101000002_flaky.ts': `import * as fs from 'node:fs'
export default { async up() { if (!fs.existsSync(${JSON.stringify(flag)})) throw new Error('upstream not ready') } }
`,
    })
    const e = await expectError(migrator.up(), 'MIGRATION_FAILED')
    expect(e.message).toContain('20260101000002_flaky.ts failed: upstream not ready')
    expect(e.hint).toContain('stay applied')
    const st = await migrator.status()
    expect(st.migrations.map((m) => [m.name, m.state])).toEqual([
      ['ok', 'applied'],
      ['flaky', 'failed'],
    ])
    expect(st.migrations[1].error).toBe('upstream not ready')
    expect(st.lock).toBeNull()
    expect(await collections(client)).toContain('ok')

    fs.writeFileSync(flag, '')
    const res = await migrator.up()
    expect(res.migrations.map((m) => m.name)).toEqual(['flaky'])
    expect(res.batch).toBe(2)
    expect((await migrator.status()).upToDate).toBe(true)
  })

  it('refuses, before changing anything, when an applied file is missing or changed or a pending one is out of order', async () => {
    const { client, migrator, dir } = await setup({
      '20260101000001_a.ts': createCollectionMigration('a'),
      '20260101000003_c.ts': createCollectionMigration('c'),
    })
    await migrator.up()
    const file = path.join(dir, 'migrations', '20260101000001_a.ts')

    writeMigration(dir, '20260101000002_b.ts', createCollectionMigration('b'))
    writeMigration(dir, '20260101000004_d.ts', createCollectionMigration('d'))
    let before = await snapshot(client)
    const ooo = await expectError(migrator.up(), 'OUT_OF_ORDER')
    expect(ooo.message).toContain('20260101000002_b.ts is older than the newest applied one (20260101000003)')
    expect(await snapshot(client)).toEqual(before)

    fs.appendFileSync(file, '\n// edited\n')
    const changed = await expectError(migrator.up({ allowOutOfOrder: true }), 'CHANGED_FILE')
    expect(changed.message).toContain('20260101000001_a.ts was changed after it was applied')
    expect((await migrator.status()).migrations[0].state).toBe('changed')
    expect(await snapshot(client)).toEqual(before)

    fs.renameSync(file, file + '.bak')
    const missing = await expectError(migrator.up({ allowOutOfOrder: true, allowChanged: true }), 'MISSING_FILE')
    expect(missing.message).toContain('20260101000001_a has no file')
    expect(await snapshot(client)).toEqual(before)

    fs.renameSync(file + '.bak', file)
    const res = await migrator.up({ allowOutOfOrder: true, allowChanged: true })
    expect(res.migrations.map((m) => m.name)).toEqual(['b', 'd'])
    before = await snapshot(client)
    expect(Object.keys(before)).toEqual([
      '_migrations',
      '_migrations:rows',
      '_migrations_snapshots',
      'a',
      'b',
      'c',
      'd',
    ])
  })

  it('a file with a syntax error or without up() fails before any migration runs', async () => {
    const { client, migrator, dir } = await setup({
      '20260101000001_a.ts': createCollectionMigration('a'),
      '20260101000002_broken.ts': 'export default { async up(ctx) { await ctx.createCollection({ name: ',
    })
    const e = await expectError(migrator.up(), 'MIGRATION_INVALID')
    expect(e.message).toContain('20260101000002_broken.ts could not be loaded')
    expect(await collections(client)).toEqual(['_migrations']) // a did not run
    fs.writeFileSync(path.join(dir, 'migrations', '20260101000002_broken.ts'), 'export const nothing = 1\n')
    const e2 = await expectError(migrator.up(), 'MIGRATION_INVALID')
    expect(e2.message).toContain('20260101000002_broken.ts does not export an up() function')
    expect(await collections(client)).toEqual(['_migrations'])
    expect(await migrator.ledger.list()).toEqual([])
  })

  it('down stops before undoing anything when a migration in the batch has no down()', async () => {
    const { client, migrator } = await setup({
      '20260101000001_a.ts': createCollectionMigration('a', { down: false }),
      '20260101000002_b.ts': createCollectionMigration('b'),
    })
    await migrator.up()
    const before = await snapshot(client)
    const e = await expectError(migrator.down(), 'IRREVERSIBLE')
    expect(e.message).toContain('20260101000001_a.ts has no down()')
    expect(await snapshot(client)).toEqual(before)
    expect((await migrator.down({ step: 1 })).migrations.map((m) => m.name)).toEqual(['b'])
  })

  it('.js migrations and named exports work; invalid definitions name the file and field and create nothing', async () => {
    const { client, migrator, dir } = await setup({
      '20260101000001_js.js': `const { defineMigration } = require('mvmigrate')
module.exports = defineMigration({ async up(ctx) { await ctx.createCollection({ name: 'js_made', fields: [
  { field_name: 'pk', datatype: 'VARCHAR', max_length: 64, is_primary: true },
  { field_name: 'emb', datatype: 'FLOAT_VECTOR', dim: 3 },
  { field_name: 'tags', datatype: 'ARRAY', element_type: 'INT32', max_capacity: 5 },
], indexes: [{ field: 'emb', type: 'AUTOINDEX', metric: 'IP' }], partitions: ['p2026'], properties: { 'collection.ttl.seconds': 3600 } }) } })
`,
      '20260101000002_named.ts': `export async function up(ctx: any) {
  await ctx.createCollection({ name: 'bad', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector' }, { name: 's', type: 'VarChar' }] })
}
`,
    })
    // Bad input found before the migration changed anything: exit 8, and no failed row is recorded.
    const e = await expectError(migrator.up(), 'MIGRATION_INVALID')
    expect(e.message).toContain('migrations/20260101000002_named.ts')
    expect(e.message).toContain("field 'v': FloatVector needs a dim")
    expect(e.message).toContain("field 's': VarChar needs maxLength")
    expect(e.hint).toContain('the 1 before it in this batch stay applied')
    expect(await collections(client)).toEqual(['_migrations', 'js_made'])
    expect((await migrator.ledger.list()).map((r) => `${r.name}:${r.state}`)).toEqual(['js:applied'])
    writeMigration(
      dir,
      '20260101000002_named.ts',
      `export async function up(ctx: any) {
  await ctx.createCollection({ name: 'named', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }] })
}
`,
    )
    expect((await migrator.up()).migrations.map((m) => m.name)).toEqual(['named'])
    expect(await collections(client)).toEqual(['_migrations', 'js_made', 'named'])
    const spec = await (await import('../../src/milvus/describe')).describeCollectionSpec(client, 'js_made')
    expect(spec.fields.map((f) => [f.name, f.type, f.primaryKey ?? false])).toEqual([
      ['pk', 'VarChar', true],
      ['emb', 'FloatVector', false],
      ['tags', 'Array', false],
    ])
    expect(spec.fields[2]).toMatchObject({ elementType: 'Int32', maxCapacity: 5 })
    expect(spec.partitions).toEqual(['p2026'])
    expect(spec.properties['collection.ttl.seconds']).toBe('3600')
    expect(spec.indexes).toEqual([{ name: 'emb', field: 'emb', type: 'AUTOINDEX', metric: 'IP' }])
    expect(spec.loaded).toBe(true)
  })

  it('the lock is one runner at a time: a held lock refuses up with the holder, unlock releases it', async () => {
    const { migrator } = await setup({ '20260101000001_a.ts': createCollectionMigration('a') })
    const other = new Migrator({ client: clients[clients.length - 1], migrationsDir: '/nonexistent' })
    expect(await other.lock.tryAcquire('test holder')).toBe(true)
    const e = await expectError(migrator.up(), 'LOCKED')
    expect(e.message).toContain('test holder')
    expect(e.message).toContain(`pid ${process.pid}`)
    expect((await migrator.status()).lock?.command).toBe('test holder')
    const released = await migrator.unlock()
    expect(released?.command).toBe('test holder')
    expect((await migrator.up()).migrations).toHaveLength(1)
  })

  it('a runner waits for the lock with a lock timeout', async () => {
    const db = await setup({ '20260101000001_a.ts': createCollectionMigration('a') })
    const holder = new Migrator({ client: db.client, migrationsDir: '/nonexistent' })
    await holder.lock.acquire('holder')
    const waiting = new Migrator({
      client: db.client,
      migrationsDir: path.join(db.dir, 'migrations'),
      lockTimeoutMs: 20_000,
    })
    const started = Date.now()
    setTimeout(() => void holder.lock.release(), 1500)
    const res = await waiting.up()
    expect(res.migrations).toHaveLength(1)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400)
  })
})
