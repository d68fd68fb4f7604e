import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { afterAll, describe, expect, it } from 'vitest'
import { freshDatabase, snapshot } from '../helpers/milvus'
import { cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'

/**
 * A migration that fails half-way: the error names every change it made before failing (they stay,
 * and a retry runs up() from the start), and createCollection(def, { ifNotExists: true }) makes
 * the retry work: a collection with the same schema is left as it is, another schema is refused.
 */
const clients: MilvusClient[] = []
const pick = (o: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]))
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

const TAGS = (maxLength: number) =>
  `{ name: 'tags', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }, { name: 'label', type: 'VarChar', maxLength: ${maxLength} }], indexes: [{ field: 'v', type: 'FLAT', metric: 'L2' }] }`

const second = (opts: {
  ifNotExists: boolean
  fails: boolean
  maxLength?: number
}) => `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection(${TAGS(opts.maxLength ?? 64)}${opts.ifNotExists ? ', { ifNotExists: true }' : ''})
    await ctx.alter('docs', (t) => t.addField({ name: 'lang', type: 'VarChar', maxLength: 8, default: 'en' }))
    ${opts.fails ? "throw new Error('embedding service unavailable')" : ''}
  },
})
`

describe('a migration that fails after changing something', () => {
  it('names every change it made; with createCollection(def, { ifNotExists: true }) the retry finishes; another schema is refused', async () => {
    const db = await freshDatabase('retry')
    clients.push(db.client)
    const dir = tempProject()
    const run = (...a: string[]) => cli(dir, ['--uri', db.uri, '--database', db.database, ...a])
    writeMigration(dir, '20260301000001_docs.ts', createCollectionMigration('docs'))
    expect((await run('up')).code).toBe(0)
    await db.client.insert({
      collection_name: 'docs',
      data: Array.from({ length: 30 }, (_, i) => ({ id: String(i + 1), vector: [i, 1, 2, 3], title: `t${i}` })),
    })

    const file = '20260301000002_tags.ts'
    writeMigration(dir, file, second({ ifNotExists: false, fails: true }))
    const failed = await run('up')
    expect(failed.code).toBe(1)
    expect(failed.stderr.split('\n').filter((l) => /^(error|hint):/.test(l))).toEqual([
      `error: Migration migrations/${file} failed: embedding service unavailable`,
      "hint: It is recorded as failed; fix it and run `mvmigrate up` again to retry. Before it failed, up() made these 2 changes, which stay: ctx.createCollection({ name: 'tags', … }); ctx.alter('docs', …). A retry runs up() from the start: make each step safe to run again (createCollection(def, { ifNotExists: true }), dropCollection(name, { ifExists: true })) or undo it first. Its alter of 'docs' finished and is kept: a retry does not run it again, so change only what comes after it.",
    ])

    // The retry the hint warns about: the plain createCollection meets the collection it created.
    writeMigration(dir, file, second({ ifNotExists: false, fails: false }))
    const again = await run('up')
    expect(again.code).toBe(8)
    expect(again.stderr.split('\n').filter((l) => /^(error|hint):/.test(l))).toEqual([
      `error: migrations/${file}: collection 'tags' already exists`,
      'hint: Drop or rename it first, or change the migration (createCollection(def, { ifNotExists: true }) leaves one with the same schema as it is). Then run `mvmigrate up` again: nothing was changed by this migration.',
    ])

    // ifNotExists with another schema: refused, naming what differs; nothing changes.
    writeMigration(dir, file, second({ ifNotExists: true, fails: false, maxLength: 32 }))
    const before = await snapshot(db.client)
    const other = await run('up')
    expect(other.code).toBe(8)
    expect(other.stderr.split('\n').filter((l) => /^(error|hint):/.test(l))).toEqual([
      `error: migrations/${file}: collection 'tags' already exists with another schema than createCollection(def, { ifNotExists: true }) asks for: field 'label' changed (maxLength 64 -> 32)`,
      "hint: ifNotExists leaves only a collection with the same schema as it is. Make the definition match it, change it with ctx.alter('tags', ...) in a new migration, or drop it first. Then run `mvmigrate up` again: nothing was changed by this migration.",
    ])
    expect(await snapshot(db.client)).toEqual(before)

    // ifNotExists with the same schema: left as it is; the finished alter is skipped; applied.
    writeMigration(dir, file, second({ ifNotExists: true, fails: false }))
    const plan = await run('plan')
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toContain('collection tags exists with this schema: left as it is')
    expect(plan.stdout).toContain('alter docs: done by an earlier run of this migration, not run again')
    const fixed = await run('up')
    expect(fixed.code, fixed.stderr).toBe(0)
    expect(fixed.stderr).toContain('collection tags exists with this schema: left as it is (ifNotExists)')
    const status = JSON.parse((await run('status', '--json')).stdout) as { migrations: { state: string }[] }
    expect(status.migrations.map((m) => m.state)).toEqual(['applied', 'applied'])
    const rows = await db.client.query({
      collection_name: 'docs',
      filter: 'id > 0',
      output_fields: ['id', 'lang'],
      limit: 100,
    })
    expect(rows.data).toHaveLength(30)
    expect(new Set(rows.data.map((r) => r.lang))).toEqual(new Set(['en']))
  }, 180_000)

  it('ifNotExists meets a collection with every kind of setting it created: the same schema, left as it is', async () => {
    const db = await freshDatabase('ifnotexists')
    clients.push(db.client)
    const dir = tempProject()
    const run = (...a: string[]) => cli(dir, ['--uri', db.uri, '--database', db.database, ...a])
    const RICH = `{
      name: 'rich',
      description: 'every setting',
      enableDynamicField: true,
      fields: [
        { name: 'id', type: 'VarChar', maxLength: 64, primaryKey: true },
        { name: 'vector', type: 'FloatVector', dim: 8 },
        { name: 'tenant', type: 'VarChar', maxLength: 32, partitionKey: true },
        { name: 'meta', type: 'JSON' },
        { name: 'tags', type: 'Array', elementType: 'VarChar', maxCapacity: 4, maxLength: 16 },
        { name: 'year', type: 'Int16', default: 2000 },
      ],
      numPartitions: 4,
      indexes: [{ field: 'vector', type: 'HNSW', metric: 'COSINE', params: { M: 8, efConstruction: 64 } }],
      properties: { 'collection.ttl.seconds': 86400 },
    }`
    const migration = (opts: string) =>
      `import { defineMigration } from 'mvmigrate'\nexport default defineMigration({ async up(ctx) { await ctx.createCollection(${RICH}${opts}) } })\n`
    writeMigration(dir, '20260301000011_rich.ts', migration(''))
    const first = await run('up')
    expect(first.code, first.stderr).toBe(0)
    writeMigration(dir, '20260301000012_rich_again.ts', migration(', { ifNotExists: true }'))
    const before = await snapshot(db.client)
    const again = await run('up')
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain('collection rich exists with this schema: left as it is (ifNotExists)')
    // Nothing changed but the ledger's row for the new migration.
    const after = await snapshot(db.client)
    expect(after).toEqual({ ...before, ...pick(after, '_migrations', '_migrations:rows') })
  }, 120_000)
})
