import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { afterAll, describe, expect, it } from 'vitest'
import { MigrationLock } from '../../src/ledger/lock'
import { connectMilvus } from '../../src/milvus/connect'
import { freshDatabase, milvusToken } from '../helpers/milvus'
import { cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'
import { record } from '../helpers/reliability'

const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

/**
 * Each migration inserts one row into `runs` when its up() runs, so "applied exactly once" is
 * counted from side effects, not from the ledger (whose primary key would hide a double run).
 */
const countingMigration = (tag: string) => `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    if (!(await ctx.hasCollection('runs'))) {
      await ctx.createCollection({ name: 'runs', fields: [
        { name: 'id', type: 'Int64', primaryKey: true, autoId: true },
        { name: 'tag', type: 'VarChar', maxLength: 64 },
        { name: 'pid', type: 'Int64' },
        { name: 'v', type: 'FloatVector', dim: 2 },
      ], indexes: [{ field: 'v', type: 'FLAT', metric: 'L2' }] })
    }
    await ctx.insert('runs', [{ tag: '${tag}', pid: process.pid, v: [0, 1] }])
    await new Promise((r) => setTimeout(r, 300))
  },
})
`

async function runsByTag(client: MilvusClient): Promise<Record<string, number>> {
  const res = await client.query({
    collection_name: 'runs',
    filter: 'id > 0',
    output_fields: ['tag'],
    limit: 1000,
    consistency_level: 'Strong' as never,
  })
  const out: Record<string, number> = {}
  for (const r of res.data) out[String(r.tag)] = (out[String(r.tag)] ?? 0) + 1
  return out
}

describe('one runner at a time', () => {
  it('the lock is atomic: of 12 clients racing to take it, exactly one wins, five rounds in a row', async () => {
    const db = await freshDatabase('race')
    clients.push(db.client)
    const racers = await Promise.all(
      Array.from({ length: 12 }, () => connectMilvus({ uri: db.uri, database: db.database, token: milvusToken() })),
    )
    clients.push(...racers)
    for (let round = 0; round < 5; round++) {
      const locks = racers.map((c) => new MigrationLock(c))
      const won = await Promise.all(locks.map((l, i) => l.tryAcquire(`racer ${i}`)))
      expect(won.filter(Boolean), `round ${round}`).toHaveLength(1)
      const winner = locks[won.indexOf(true)]
      const holder = await new MigrationLock(db.client).holder()
      expect(holder?.command).toBe(`racer ${won.indexOf(true)}`)
      await winner.release()
      expect(await new MigrationLock(db.client).holder()).toBeUndefined()
    }
  })

  it('four `up` processes at once (no waiting): every migration runs exactly once, the others exit 5 naming the holder', async () => {
    const db = await freshDatabase('four')
    clients.push(db.client)
    const dir = tempProject()
    for (const [v, tag] of [
      ['20260101000001', 'a'],
      ['20260101000002', 'b'],
      ['20260101000003', 'c'],
    ])
      writeMigration(dir, `${v}_${tag}.ts`, countingMigration(tag))
    const args = ['--uri', db.uri, '--database', db.database, 'up']
    const results = await Promise.all([cli(dir, args), cli(dir, args), cli(dir, args), cli(dir, args)])
    for (const r of results) {
      expect([0, 5], r.stderr).toContain(r.code)
      if (r.code === 5)
        expect(r.stderr).toMatch(/Another mvmigrate holds the migration lock: mvmigrate up on .* \(pid \d+\) since/)
    }
    expect(results.filter((r) => r.stdout.includes('Applied 3 migration(s) as batch 1'))).toHaveLength(1)
    expect(await runsByTag(db.client)).toEqual({ a: 1, b: 1, c: 1 })
    record({ faultsInjected: 3, recovered: results.filter((r) => r.code === 0 || r.code === 5).length - 1 })
    const st = JSON.parse((await cli(dir, ['--uri', db.uri, '--database', db.database, 'status', '--json'])).stdout)
    expect(st.migrations.map((m: { state: string; batch: number }) => `${m.state}:${m.batch}`)).toEqual([
      'applied:1',
      'applied:1',
      'applied:1',
    ])
    expect(st.lock).toBeNull()
  })

  it('four `up` processes at once with --lock-timeout: all succeed, one applies, the rest find nothing to do', async () => {
    const db = await freshDatabase('wait')
    clients.push(db.client)
    const dir = tempProject()
    for (const [v, tag] of [
      ['20260101000001', 'a'],
      ['20260101000002', 'b'],
    ])
      writeMigration(dir, `${v}_${tag}.ts`, countingMigration(tag))
    const args = ['--uri', db.uri, '--database', db.database, 'up', '--lock-timeout', '60']
    const results = await Promise.all([cli(dir, args), cli(dir, args), cli(dir, args), cli(dir, args)])
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(results.filter((r) => r.stdout.includes('Applied 2 migration(s)'))).toHaveLength(1)
    expect(results.filter((r) => r.stdout.includes('Already up to date.'))).toHaveLength(3)
    expect(await runsByTag(db.client)).toEqual({ a: 1, b: 1 })
  })

  it('four `up` processes at once with an alter pending: the alter runs once, every row kept', async () => {
    const db = await freshDatabase('four_alter')
    clients.push(db.client)
    const dir = tempProject()
    writeMigration(dir, '20260101000001_docs.ts', createCollectionMigration('docs'))
    const args = ['--uri', db.uri, '--database', db.database]
    expect((await cli(dir, [...args, 'up'])).code).toBe(0)
    await db.client.insert({
      collection_name: 'docs',
      data: Array.from({ length: 3000 }, (_, i) => ({ id: String(i + 1), vector: [i, 1, 1, 1], title: `t${i}` })),
    })
    writeMigration(
      dir,
      '20260101000002_alter.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await ctx.alter('docs', (t) => t.addField({ name: 'n', type: 'Int32', default: 2 }), { batchSize: 500 }) } })
`,
    )
    const results = await Promise.all([1, 2, 3, 4].map(() => cli(dir, [...args, 'up', '--lock-timeout', '120'])))
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(results.filter((r) => r.stdout.includes('Applied 1 migration(s) as batch 2'))).toHaveLength(1)
    expect(results.filter((r) => r.stdout.includes('Already up to date.'))).toHaveLength(3)
    expect(results.filter((r) => /alter docs: 3000 rows copied/.test(r.stderr))).toHaveLength(1)
    const rows = await db.client.query({
      collection_name: 'docs',
      filter: 'id > 0',
      output_fields: ['id', 'title', 'n'],
      limit: 16384,
      consistency_level: 'Strong' as never,
    })
    const lost = 3000 - rows.data.filter((r) => r.title === `t${Number(r.id) - 1}` && r.n === 2).length
    record({ faultsInjected: 3, recovered: 3, rowsChecked: 3000, rowsLost: lost })
    expect(lost).toBe(0)
    const names = ((await db.client.listCollections()).data ?? []).map((c) => c.name).sort()
    expect(names).toEqual([
      '_migrations',
      '_migrations_journal',
      '_migrations_snapshots',
      'docs',
      'docs__mvm_bak_20260101000002',
    ])
  })
})
