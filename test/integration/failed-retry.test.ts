import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freshDatabase, lacks, snapshot } from '../helpers/milvus'
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

/** A project whose first migration created 'docs' (4-dim vectors, a title), holding `rows` rows. */
async function docsProject(prefix: string, rows: number) {
  const db = await freshDatabase(prefix)
  clients.push(db.client)
  const dir = tempProject()
  const run = (...a: string[]) => cli(dir, ['--uri', db.uri, '--database', db.database, ...a])
  writeMigration(dir, '20260301000001_docs.ts', createCollectionMigration('docs'))
  expect((await run('up')).code).toBe(0)
  if (rows)
    await db.client.insert({
      collection_name: 'docs',
      data: Array.from({ length: rows }, (_, i) => ({ id: String(i + 1), vector: [i, 1, 2, 3], title: `t${i}` })),
    })
  return { db, dir, run }
}

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
    const { db, dir, run } = await docsProject('retry', 30)

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

  it('createCollection(def, { ifNotExists: true }) then setProperties: the retry meets the properties its first run set, and finishes', async () => {
    const { db, dir, run } = await docsProject('retryprops', 0)
    const file = '20260301000002_tags.ts'
    const body = (fails: boolean) => `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection(${TAGS(64)}, { ifNotExists: true })
    await ctx.setProperties('tags', { 'collection.ttl.seconds': 0 })
    ${fails ? "throw new Error('embedding service unavailable')" : ''}
  },
})
`
    writeMigration(dir, file, body(true))
    expect((await run('up')).code).toBe(1)
    writeMigration(dir, file, body(false))
    const retry = await run('up')
    expect(retry.code, retry.stderr).toBe(0)
    expect(retry.stderr).toContain('collection tags exists with this schema: left as it is (ifNotExists)')
    const props = await db.client.describeCollection({ collection_name: 'tags' })
    expect(props.properties.find((p) => p.key === 'collection.ttl.seconds')?.value).toBe('0')
  })

  it('calls that changed nothing (createCollection ifNotExists of an existing one, setProperties already set) are not listed as changes', async () => {
    const db = await freshDatabase('unchanged')
    clients.push(db.client)
    const dir = tempProject()
    const run = (...a: string[]) => cli(dir, ['--uri', db.uri, '--database', db.database, ...a])
    const HW = `{ name: 'hw', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }], indexes: [{ field: 'v', type: 'FLAT', metric: 'L2' }], properties: { 'collection.ttl.seconds': 86400 } }`
    writeMigration(
      dir,
      '20260301000021_hw.ts',
      `import { defineMigration } from 'mvmigrate'\nexport default defineMigration({ async up(ctx) { await ctx.createCollection(${HW}) } })\n`,
    )
    writeMigration(dir, '20260301000022_items.ts', createCollectionMigration('items'))
    expect((await run('up')).code).toBe(0)
    const file = '20260301000023_again.ts'
    writeMigration(
      dir,
      file,
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection(${HW}, { ifNotExists: true })
    await ctx.setProperties('hw', { 'collection.ttl.seconds': 86400 })
    await ctx.createIndex('items', { field: 'title', type: '${lacks('invertedIndex') ? 'Trie' : 'INVERTED'}' })
    throw new Error('embedding service unavailable')
  },
})
`,
    )
    const failed = await run('up')
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('collection hw exists with this schema: left as it is (ifNotExists)')
    expect(failed.stderr).toContain('properties of hw already set: left as they are')
    expect(failed.stderr.split('\n').filter((l) => /^(error|hint):/.test(l))).toEqual([
      `error: Migration migrations/${file} failed: embedding service unavailable`,
      "hint: It is recorded as failed; fix it and run `mvmigrate up` again to retry. Before it failed, up() made this change, which stays: ctx.createIndex('items', …). A retry runs up() from the start: make each step safe to run again (createCollection(def, { ifNotExists: true }), dropCollection(name, { ifExists: true })) or undo it first.",
    ])
    const st = JSON.parse((await run('status', '--json')).stdout) as { migrations: { state: string }[] }
    expect(st.migrations.map((m) => m.state)).toEqual(['applied', 'applied', 'failed'])
    // The one change is there; hw is as its migration made it.
    const indexes = await db.client.describeIndex({ collection_name: 'items' })
    expect((indexes.index_descriptions ?? []).map((d) => d.field_name).sort()).toEqual(['title', 'vector'])
    const hw = await db.client.describeCollection({ collection_name: 'hw' })
    expect(hw.properties?.find((p) => p.key === 'collection.ttl.seconds')?.value).toBe('86400')
  }, 120_000)

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

describe('a failed migration settled by hand: resolve', () => {
  const status = async (run: (...a: string[]) => Promise<{ stdout: string }>) =>
    JSON.parse((await run('status', '--json')).stdout) as {
      migrations: { version: string; state: string; batch?: number }[]
      backups: { collection: string; kind: string }[]
      interrupted: { version: string; state: string; next: string }[]
      upToDate: boolean
    }

  it('its file deleted: status and up say so, --applied is refused, --rolled-back forgets it (its finished alter stays) and status --check passes', async () => {
    const { db, dir, run } = await docsProject('resolve', 20)
    const V = '20260301000002'
    writeMigration(dir, `${V}_tags.ts`, second({ ifNotExists: false, fails: true }))
    expect((await run('up')).code).toBe(1)
    fs.rmSync(path.join(dir, 'migrations', `${V}_tags.ts`))

    const check = await run('status', '--check')
    expect(check.code).toBe(3)
    expect(check.stdout).toMatch(new RegExp(`${V}\\s+tags\\s+failed \\(file missing\\)`))
    expect(check.stdout).toContain(
      `  its file is gone, so up cannot run it again: if you abandoned it, \`mvmigrate resolve ${V} --rolled-back\` forgets the attempt (what it changed stays; undo that by hand or in a new migration)`,
    )
    expect(check.stderr).toContain(`not up to date: ${V}_tags (failed, file missing)`)
    const up = await run('up')
    expect(up.code, up.stderr).toBe(0)
    expect(up.stdout.trim()).toBe(
      `Nothing to apply.\n${V}_tags is recorded as failed and its file is gone: \`status --check\` fails until \`mvmigrate resolve ${V} --rolled-back\` forgets the attempt.`,
    )

    // Refusals change nothing.
    const before = await snapshot(db.client)
    const neither = await run('resolve', V)
    expect([neither.code, neither.stderr]).toEqual([
      2,
      'error: resolve: say how the failed migration was settled\nhint: Pass --rolled-back (you abandoned or undid it) or --applied (you finished its changes by hand).\n',
    ])
    const applied = await run('resolve', V, '--applied')
    expect(applied.code).toBe(4)
    expect(applied.stderr).toContain(`error: Cannot mark ${V}_tags as applied: its file is gone`)
    const first = await run('resolve', '20260301000001', '--rolled-back')
    expect(first.code).toBe(4)
    expect(first.stderr).toContain('error: Cannot resolve 20260301000001_docs: it is applied')
    expect(first.stderr).toContain('To undo an applied one, run `mvmigrate down`.')
    const dry = await run('resolve', V, '--rolled-back', '--dry-run')
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain(`Would forget the failed attempt of ${V}_tags`)
    expect(await snapshot(db.client)).toEqual(before)

    const resolved = await run('resolve', V, '--rolled-back')
    expect(resolved.code, resolved.stderr).toBe(0)
    expect(resolved.stdout).toBe(
      `Forgot the failed attempt of ${V}_tags: it is no longer recorded.\n  its finished alter of docs stays (the collection stays altered); its backup is listed by \`mvmigrate status\`\n`,
    )
    const after = await status(run)
    expect(after.migrations.map((m) => [m.version, m.state])).toEqual([['20260301000001', 'applied']])
    expect(after.backups).toMatchObject([{ collection: `docs__mvm_bak_${V}`, kind: 'backup' }])
    expect(after.upToDate).toBe(true)
    expect((await run('status', '--check')).code).toBe(0)
    // What it changed stays: the collection it created, the field its alter added, every row.
    expect((await db.client.hasCollection({ collection_name: 'tags' })).value).toBe(true)
    const rows = await db.client.query({
      collection_name: 'docs',
      filter: 'id > 0',
      output_fields: ['lang'],
      limit: 100,
    })
    expect(rows.data.map((r) => r.lang)).toEqual(Array(20).fill('en'))
    // Gone from the ledger: resolving it again finds no such migration.
    const again = await run('resolve', V, '--rolled-back')
    expect(again.code).toBe(2)
    expect(again.stderr).toContain(`error: resolve ${V}: no migration has that version`)
    expect(again.stderr).toContain('No migration is recorded as failed.')
  }, 180_000)

  it('--applied for a failed migration finished by hand: recorded as applied in a new batch; down then runs its down()', async () => {
    const { db, dir, run } = await docsProject('resolveapplied', 0)
    const V = '20260301000003'
    writeMigration(
      dir,
      `${V}_notes.ts`,
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection(${TAGS(64).replace("'tags'", "'notes'")})
    throw new Error('the rest was done by hand')
  },
  async down(ctx) { await ctx.dropCollection('notes') },
})
`,
    )
    expect((await run('up')).code).toBe(1)
    const failed = await run('status')
    expect(failed.stdout).toContain(
      `  fix it and \`mvmigrate up\` to run it again; or settle it by hand: \`mvmigrate resolve ${V} --rolled-back\` (abandoned) or \`--applied\` (you finished it)`,
    )
    const resolved = await run('resolve', V, '--applied')
    expect(resolved.code, resolved.stderr).toBe(0)
    expect(resolved.stdout.trim()).toBe(`Recorded ${V}_notes as applied (batch 2): \`mvmigrate down\` runs its down().`)
    const st = await status(run)
    expect(st.migrations.map((m) => [m.state, m.batch])).toEqual([
      ['applied', 1],
      ['applied', 2],
    ])
    expect(st.upToDate).toBe(true)
    // A second resolve is refused: it is applied now.
    const twice = await run('resolve', V, '--applied')
    expect(twice.code).toBe(4)
    expect(twice.stderr).toContain(`Cannot resolve ${V}_notes: it is applied`)
    const down = await run('down')
    expect(down.code, down.stderr).toBe(0)
    expect((await db.client.hasCollection({ collection_name: 'notes' })).value).toBe(false)
    expect((await status(run)).migrations.map((m) => m.state)).toEqual(['applied', 'pending'])
  }, 180_000)

  it('a run killed mid-copy, then its file deleted: status says resolve drops the partial copy; resolve --rolled-back does, the source untouched', async () => {
    const { db, dir, run } = await docsProject('resolvekilled', 500)
    const V = '20260301000004'
    writeMigration(
      dir,
      `${V}_grow.ts`,
      `export default { async up(ctx: any) { await ctx.alter('docs', (t: any) => t.alterField('title', { maxLength: 300 }), { batchSize: 100 }) } }\n`,
    )
    const killed = await cli(dir, ['--uri', db.uri, '--database', db.database, 'up'], {
      env: { MVMIGRATE_FAILPOINTS: 'alter:after-page=2' },
    })
    expect(killed.code, killed.stderr).toBe(-1)
    fs.rmSync(path.join(dir, 'migrations', `${V}_grow.ts`))
    const partial = `docs__mvm_tmp_${V}`
    expect((await db.client.hasCollection({ collection_name: partial })).value).toBe(true)
    const st = await status(run)
    expect(st.interrupted).toMatchObject([
      {
        version: V,
        state: 'copying',
        next: `its migration file is gone: \`mvmigrate resolve ${V} --rolled-back\` drops the partial copy (the source is untouched)`,
      },
    ])
    const resolved = await run('resolve', V, '--rolled-back')
    expect(resolved.code, resolved.stderr).toBe(0)
    expect(resolved.stdout).toBe(
      `Migration ${V} was never recorded (its run was killed): settled what it left.\n  Dropped the partial copy ${partial} (its source is untouched)\n`,
    )
    expect((await db.client.hasCollection({ collection_name: partial })).value).toBe(false)
    const after = await status(run)
    expect(after.interrupted).toEqual([])
    expect(after.upToDate).toBe(true)
    const rows = await db.client.query({
      collection_name: 'docs',
      filter: 'id > 0',
      output_fields: ['title'],
      limit: 1000,
    })
    expect(rows.data).toHaveLength(500)
  }, 180_000)
})
