import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { afterAll, describe, expect, it } from 'vitest'
import { connectMilvus } from '../../src/milvus/connect'
import { MvmError } from '../../src/errors'
import { Migrator } from '../../src/migrator'
import type { AlterSummary } from '../../src/alter/types'
import { fileDatabases, lacks, milvusToken, milvusUri } from '../helpers/milvus'
import {
  type Row,
  type WriterLog,
  checkReplay,
  deletedBeforeTheSweep,
  startReader,
  startWriter,
} from '../helpers/live-app'
import { cli, tempProject, writeMigration } from '../helpers/project'

/**
 * Online alters (issue 22, DESIGN.md promise 10): an application keeps inserting, upserting and
 * deleting by name (or through an alias) and searching while `up` alters the collection. Afterwards
 * every acknowledged write is checked by key against a replay of the writer's log: nothing
 * missing, stale or extra.
 */
const dbs = fileDatabases()
const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
  await dbs.dropAll()
})

const DIM = 8
const vec = (seed: number) => Array.from({ length: DIM }, (_, i) => Math.sin(seed * 7 + i))

async function seed(client: MilvusClient, name: string, rows: number) {
  const r = await client.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: 'Int64', is_primary_key: true, autoID: false },
      { name: 'vector', data_type: 'FloatVector', dim: DIM },
      { name: 'title', data_type: 'VarChar', max_length: 64 },
      { name: 'n', data_type: 'Int32' },
    ],
    index_params: [{ field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }],
    consistency_level: 'Strong',
  } as never)
  if (r.error_code !== 'Success') throw new Error(`seed: ${r.reason}`)
  for (let b = 0; b < rows; b += 1000) {
    const data = []
    for (let i = b; i < Math.min(rows, b + 1000); i++) data.push({ id: i + 1, vector: vec(i), title: `t${i}`, n: i })
    const res = await client.insert({ collection_name: name, data })
    if (Number(res.insert_cnt) !== data.length) throw new Error('seed insert')
  }
  await client.flush({ collection_names: [name] })
  await client.loadCollectionSync({ collection_name: name })
  return Array.from({ length: rows }, (_, i) => String(i + 1))
}

async function liveUp(opts: {
  database: string
  writeTo: string
  keys: string[]
  migration: string
  /** Slows each page of the copy (and each pass page) so that the writer overlaps every phase. */
  pageDelayMs?: number
}) {
  const uri = milvusUri()
  const token = milvusToken()
  // The application's own connections, apart from the runner's.
  const app = await connectMilvus({ uri, token, database: opts.database })
  const runner = await connectMilvus({ uri, token, database: opts.database })
  clients.push(app, runner)
  const dir = tempProject()
  writeMigration(dir, '20260601000000_alter_docs.ts', opts.migration)
  const alters: AlterSummary[] = []
  const logs: string[] = []
  const swapTimes = { swapStartedAt: 0, sweptAt: 0 }
  const m = new Migrator({
    client: runner,
    migrationsDir: `${dir}/migrations`,
    logger: {
      info: (l) => logs.push(l),
      warn: (l) => logs.push(`WARN ${l}`),
      debug() {},
      progress(e) {
        if (e.phase === 'swap') swapTimes.swapStartedAt ||= Date.now()
        if (e.phase === 'sweep' && e.detail?.startsWith('sweep 1')) swapTimes.sweptAt ||= Date.now()
      },
    },
  })
  await m.recordSnapshot() // the collection as adopted: drift is measured from here
  const writer = startWriter({
    client: app,
    collection: opts.writeTo,
    keys: opts.keys,
    row: (key, s) => ({ id: key, vector: vec(Number(key)), title: `w${s}`, n: s }),
    rate: 50,
  })
  const reader = startReader({ client: app, collection: opts.writeTo, vector: vec(3) })
  await new Promise((r) => setTimeout(r, 500)) // the application is already running
  const before = process.env.MVMIGRATE_FAILPOINTS
  if (opts.pageDelayMs)
    process.env.MVMIGRATE_FAILPOINTS = `alter:after-page=sleep:${opts.pageDelayMs},alter:catch-up-page=sleep:${opts.pageDelayMs}`
  let result: Awaited<ReturnType<Migrator['up']>>
  // status from another runner while the alter runs: the alter's own collections are not drift.
  const watcher = new Migrator({ client: app, migrationsDir: `${dir}/migrations` })
  const drift: unknown[] = []
  let running = true
  const watching = (async () => {
    while (running) {
      const st = await watcher.status().catch(() => undefined)
      if (st?.interrupted.length) drift.push(...st.drift.changes)
      await new Promise((r) => setTimeout(r, 700))
    }
  })()
  try {
    result = await m.up()
  } finally {
    running = false
    await watching
    if (before === undefined) delete process.env.MVMIGRATE_FAILPOINTS
    else process.env.MVMIGRATE_FAILPOINTS = before
  }
  await new Promise((r) => setTimeout(r, 1000)) // and keeps running after it
  const log = await writer.stop()
  const read = await reader.stop()
  const summary = logs.find((l) => l.includes('online:'))
  console.log(
    JSON.stringify({
      summary,
      online: result.alters?.[0]?.online,
      warnings: logs.filter((l) => l.startsWith('WARN')),
      writer: {
        ...log.acknowledged,
        failures: log.failures,
        longestRefusalMs: log.longestRefusalMs,
        errors: log.errors,
      },
      reader: read,
    }),
  )
  return { result, log, read, app, logs, summary, alters, drift, window: swapTimes, migrator: m }
}

/** Of `keys`, those whose last acknowledged write fell in `during` and which `backup` does not hold as written either. */
async function lostInTheRename(
  client: MilvusClient,
  backup: string,
  log: WriterLog,
  keys: string[],
  during: { from: number; to: number },
): Promise<string[]> {
  const out: string[] = []
  for (const key of keys) {
    const h = log.history.get(key) ?? []
    const last = h[h.length - 1]
    if (!last || last.at < during.from || last.at > during.to) continue
    const r = await client.query({
      collection_name: backup,
      filter: `id in [${key}]`,
      output_fields: ['title'],
      consistency_level: 'Strong',
    } as never)
    const want = log.expected.get(key)
    const found = (r.data as Row[])[0]
    if (want === null ? !found : found?.title !== want?.title) out.push(key)
  }
  return out
}

/**
 * Stale keys the sweep overwrote in the one race Milvus leaves it (no compare-and-set): the
 * application wrote the key through the new name between the sweep's strong read of it and the
 * sweep's write of the old collection's value (one query and one write; a time tick on 2.3). Told
 * apart by the application's write falling inside the sweep and the value found being the backup's.
 */
async function overwrittenInTheSweepRace(
  client: MilvusClient,
  backup: string,
  log: WriterLog,
  stale: { key: string; found: unknown }[],
  during: { from: number; to: number },
): Promise<string[]> {
  const out: string[] = []
  for (const x of stale) {
    const h = log.history.get(x.key) ?? []
    const last = h[h.length - 1]
    if (!last || last.op === 'delete' || last.at < during.from || last.at > during.to) continue
    const r = await client.query({
      collection_name: backup,
      filter: `id in [${x.key}]`,
      output_fields: ['title'],
      consistency_level: 'Strong',
    } as never)
    if ((r.data as Row[])[0]?.title === x.found) out.push(x.key)
  }
  return out
}

function expectedCount(initial: number, log: WriterLog) {
  return initial + log.acknowledged.insert - log.acknowledged.delete
}

async function count(client: MilvusClient, name: string) {
  const r = await client.query({
    collection_name: name,
    output_fields: ['count(*)'],
    consistency_level: 'Strong' as never,
  })
  return Number(r.data[0]['count(*)'])
}

const ROWS = 3000

describe('online alter with a live writer and reader', () => {
  it('by name: grow a VarChar (and, where the server has defaults, widen Int32 -> Int64 and add a defaulted field): every acknowledged write survives', async () => {
    const { client, database } = await dbs.fresh('online')
    clients.push(client)
    const keys = await seed(client, 'docs', ROWS)
    const addDefaulted = !lacks('nullable')
    const run = await liveUp({
      database,
      writeTo: 'docs',
      keys,
      pageDelayMs: 40,
      migration: `export default { async up(ctx: any) {
        await ctx.alter('docs', (t: any) => {
          t.alterField('title', { maxLength: 512 })
          ${
            // Milvus 2.3 stores the Int32 a client with the old schema cached still sends into the
            // Int64 field as garbage (README: a retype with live writers is expand-and-contract there).
            addDefaulted
              ? "t.alterField('n', { type: 'Int64' }); t.addField({ name: 'page', type: 'Int64', default: 7 })"
              : ''
          }
        }, { batchSize: 100 })
      } }\n`,
    })
    expect(run.result.migrations.map((a) => a.name)).toEqual(['alter_docs'])
    const check = await checkReplay(run.app, 'docs', run.log, ['title', 'n'])
    const report = JSON.stringify({
      ...check,
      checked: check.checked,
      writer: run.log.acknowledged,
      summary: run.summary,
    })
    expect(run.log.acknowledged.upsert, report).toBeGreaterThan(50)
    expect(run.log.acknowledged.insert + run.log.acknowledged.delete, report).toBeGreaterThan(10)
    // Milvus Lite can acknowledge a write that arrives while it renames the collection and keep it
    // nowhere (seen: one of 795, acknowledged 64 ms into the swap, in neither collection). Such a
    // write is told apart by its time and by the backup not holding it either; 2.3 has none.
    const gap = run.result.alters?.[0]?.online?.nameGapMs ?? 0
    const lostByServer = lacks('liteProcess')
      ? []
      : await lostInTheRename(
          run.app,
          `docs__mvm_bak_20260601000000`,
          run.log,
          [...check.missing, ...check.stale.map((x) => x.key)],
          { from: run.window.swapStartedAt, to: run.window.swapStartedAt + gap + 1000 },
        )
    expect(
      check.missing.filter((k) => !lostByServer.includes(k)),
      report,
    ).toEqual([])
    expect(
      check.stale.filter((x) => !lostByServer.includes(x.key)),
      report,
    ).toEqual([])
    if (lostByServer.length)
      console.log(`acknowledged by Milvus Lite during the rename and kept nowhere: ${lostByServer.join(', ')}`)
    const unseen = deletedBeforeTheSweep(run.log, check.extra, run.window)
    expect(
      check.extra.filter((k) => !unseen.includes(k)),
      report,
    ).toEqual([])
    if (!lostByServer.length) expect(await count(client, 'docs')).toBe(expectedCount(ROWS, run.log) + unseen.length)
    const spec = await client.describeCollection({ collection_name: 'docs' })
    const title = spec.schema.fields.find((f) => f.name === 'title')!
    expect(String(title.type_params.find((p) => p.key === 'max_length')?.value)).toBe('512')
    expect(run.summary, run.logs.join('\n')).toMatch(/online: \d+ catch-up pass\(es\) re-copied \d+ rows/)
    // On Milvus Lite, whose rename can lose a write, the run says so when it saw writers; never on 2.3.
    const renameWarning = run.logs.filter((l) =>
      l.includes('Milvus Lite can lose a write acknowledged while it renames'),
    )
    expect(renameWarning.length).toBe(lacks('liteProcess') ? 0 : 1)
    if (renameWarning.length)
      expect(renameWarning[0]).toMatch(
        /^WARN alter docs: writers were active, and Milvus Lite can lose a write acknowledged while it renames a collection \(its own fault; the name was missing for \d+ ms\): a write made then may be in neither 'docs' nor 'docs__mvm_bak_20260601000000'\. Swap through an alias to avoid it \(\{ convertToAlias: true \}\), or stop writers for the swap\.$/,
      )
    // Writes fail only while the name is missing (between the two renames), and say so.
    for (const e of run.log.errors)
      // (The Node SDK itself throws a TypeError when the name it describes is gone for a moment.)
      expect(e).toMatch(/not exist|not found|can't find collection|not load|WAL already closed|of null/i)
    expect(run.log.longestRefusalMs).toBeLessThan(5000)
    expect(run.read.searches).toBeGreaterThan(10)
    expect(run.drift).toEqual([])

    // down sees what the application wrote since the swap (upserts included), refuses, and with
    // carry-writes brings it back: the restored collection holds every acknowledged write too.
    const refused = await run.migrator.down().catch((e) => e as MvmError)
    expect(refused).toBeInstanceOf(MvmError)
    expect((refused as MvmError).code).toBe('WRITES_SINCE_ALTER')
    await run.migrator.down({ writes: 'carry' })
    const back = await checkReplay(run.app, 'docs', run.log, ['title', 'n'])
    const backReport = JSON.stringify(back)
    expect(
      back.missing.filter((k) => !lostByServer.includes(k)),
      backReport,
    ).toEqual([])
    expect(
      back.stale.filter((x) => !lostByServer.includes(x.key)),
      backReport,
    ).toEqual([])
    expect(
      back.extra.filter((k) => !unseen.includes(k)),
      backReport,
    ).toEqual([])
    const restored = await client.describeCollection({ collection_name: 'docs' })
    expect(restored.schema.fields.map((f) => f.name).sort()).toEqual(['id', 'n', 'title', 'vector'])
    // Nothing exists only in the leftover, so prune takes it (and the backup) without being told.
    const pruned = await run.migrator.prune()
    expect(pruned.map((l) => l.kind).sort()).toEqual(['undone'])
  })

  it('through an alias: neither writes nor searches fail, and every acknowledged write survives', async () => {
    const { client, database } = await dbs.fresh('online')
    clients.push(client)
    const keys = await seed(client, 'docs_v1', ROWS)
    const a = await client.createAlias({ collection_name: 'docs_v1', alias: 'docs' })
    expect(a.error_code).toBe('Success')
    const run = await liveUp({
      database,
      writeTo: 'docs',
      keys,
      pageDelayMs: 40,
      migration: `export default { async up(ctx: any) {
        await ctx.alter('docs', (t: any) => { t.alterField('title', { maxLength: 300 }) }, { batchSize: 100 })
      } }\n`,
    })
    expect(run.result.migrations.map((a) => a.name)).toEqual(['alter_docs'])
    const check = await checkReplay(run.app, 'docs', run.log, ['title', 'n'])
    // Where a stale key's newer value went, if anywhere: the old collection (kept as the backup).
    const inOld = check.stale.length
      ? (
          await run.app.query({
            collection_name: 'docs_v1',
            filter: `id in [${check.stale.map((x) => x.key).join(',')}]`,
            output_fields: ['id', 'title'],
            consistency_level: 'Strong',
          } as never)
        ).data
      : []
    const report = JSON.stringify({
      ...check,
      inOld,
      drift: run.drift,
      writer: run.log,
      reader: run.read,
      summary: run.summary,
    })
    expect(check.missing, report).toEqual([])
    expect(check.stale, report).toEqual([])
    const unseen = deletedBeforeTheSweep(run.log, check.extra, run.window)
    expect(
      check.extra.filter((k) => !unseen.includes(k)),
      report,
    ).toEqual([])
    expect(run.log.failures, report).toBe(0)
    // Milvus 2.3 fails a search now and then when a row it found is deleted before the search reads
    // the row's fields ("incomplete query result, missing id ..."): the writer's deletes racing the
    // server's own requery of the rows it found (docs/milvus-differences.md). Every other
    // failure counts, and at most one such.
    const requeryRace = run.read.errors.filter((e) => /incomplete query result, missing id/.test(e))
    expect(requeryRace.length, report).toBeLessThanOrEqual(lacks('liteProcess') ? 1 : 0)
    expect(run.read.failed - requeryRace.length, report).toBe(0)
    expect(run.summary, report).toContain('the name was missing for 0 ms')
    expect(run.drift, report).toEqual([])
    expect(run.logs.filter((l) => l.includes('can lose a write acknowledged'))).toEqual([])
  })
})

/**
 * The sweep tests' project: `rows` seeded rows in `docs`, the application's and the runner's own
 * connections, and a migration V that grows the title with a grace period of `graceMs`.
 */
async function sweepProject(prefix: string, rows: number, V: string, graceMs: number) {
  const { client, database } = await dbs.fresh(prefix)
  clients.push(client)
  await seed(client, 'docs', rows)
  const uri = milvusUri()
  const token = milvusToken()
  const app = await connectMilvus({ uri, token, database })
  const runner = await connectMilvus({ uri, token, database })
  clients.push(app, runner)
  const dir = tempProject()
  writeMigration(
    dir,
    `${V}_grow.ts`,
    `export default { async up(ctx: any) { await ctx.alter('docs', (t: any) => t.alterField('title', { maxLength: 300 }), { batchSize: 100, graceMs: ${graceMs} }) } }\n`,
  )
  return { client, app, runner, dir }
}

describe('the sweep after the swap', () => {
  it('brings over writes that land in the old collection after the swap; a key written on both sides is a conflict: reported, kept in the backup, never overwritten', async () => {
    const V = '20260601000001'
    const { client, app, runner, dir } = await sweepProject('sweep', 1000, V, 3000)
    const backup = `docs__mvm_bak_${V}`
    const row = (id: number, title: string) => ({ id, vector: vec(id), title, n: id })
    const ok = async (p: Promise<{ status?: { error_code: unknown; reason?: string }; error_code?: unknown }>) => {
      const r = await p
      const s = r.status ?? r
      expect(s.error_code, JSON.stringify(r)).toBe('Success')
    }
    let late: Promise<void> | undefined
    let inGrace: Promise<void> | undefined
    const m = new Migrator({
      client: runner,
      migrationsDir: `${dir}/migrations`,
      logger: {
        info() {},
        warn() {},
        debug() {},
        progress(e) {
          // While the runner waits after the swap (failpoint), stale clients write to the old collection.
          if (e.phase === 'swap' && !late)
            late = (async () => {
              for (let i = 0; i < 100 && !(await app.hasCollection({ collection_name: backup })).value; i++)
                await new Promise((r) => setTimeout(r, 100))
              await ok(app.upsert({ collection_name: backup, data: [row(5, 'late upsert')] } as never))
              await ok(app.delete({ collection_name: backup, filter: 'id in [6]' } as never))
              await ok(app.insert({ collection_name: backup, data: [row(5_000_001, 'late insert')] } as never))
              // key 7 is written on both sides; key 8 only in the new collection
              await ok(app.upsert({ collection_name: backup, data: [row(7, 'old side')] } as never))
              await ok(app.upsert({ collection_name: 'docs', data: [row(7, 'new side')] } as never))
              await ok(app.upsert({ collection_name: 'docs', data: [row(8, 'new only')] } as never))
            })()
          // And one more during the grace period after the first sweep.
          if (e.phase === 'sweep' && e.detail?.startsWith('sweep 1') && !inGrace)
            inGrace = ok(app.upsert({ collection_name: backup, data: [row(9, 'in the grace period')] } as never))
        },
      },
    })
    process.env.MVMIGRATE_FAILPOINTS = 'alter:after-swap=sleep:3000'
    let result
    try {
      result = await m.up()
    } finally {
      delete process.env.MVMIGRATE_FAILPOINTS
    }
    await late
    await inGrace
    const online = result.alters?.[0].online
    expect(online, JSON.stringify(result)).toBeDefined()
    expect(online!.conflicts).toBe(1)
    expect(online!.conflictKeys).toEqual(['7'])
    expect(online!.sweptRows).toBe(4) // 5, 6, 5000001 and 9
    const q = await app.query({
      collection_name: 'docs',
      filter: 'id in [5, 6, 7, 8, 9, 5000001]',
      output_fields: ['id', 'title'],
      consistency_level: 'Strong',
    } as never)
    const titles = Object.fromEntries((q.data as Row[]).map((r) => [String(r.id), r.title]))
    expect(titles).toEqual({
      '5': 'late upsert',
      '7': 'new side',
      '8': 'new only',
      '9': 'in the grace period',
      '5000001': 'late insert',
    })
    expect(await count(client, 'docs')).toBe(1000)
    // The conflict's other side stays in the backup, and status and prune say so.
    const st = await m.status()
    const b = st.backups.find((l) => l.collection === backup)
    expect(b?.uniqueRows).toBe(1)
    const e = await m.prune().catch((x) => x as Error)
    expect(String(e)).toContain(`'${backup}' (1 of its`)
    expect(await client.hasCollection({ collection_name: backup }).then((r) => r.value)).toBe(true)
  })
})

describe('the second sweep re-reads only what the first read within the grace period', () => {
  it('a 3,000-row old collection swept slowly: sweep 2 reads a prefix, a write made there after sweep 1 read it is brought over, and a whole sweep 3 follows (a writer still at it)', async () => {
    const V = '20260601000003'
    const { client, app, runner, dir } = await sweepProject('sweep2', 3000, V, 1500)
    const backup = `docs__mvm_bak_${V}`
    const row = (id: number, title: string) => ({ id, vector: vec(id), title, n: id })
    const details: string[] = []
    let late: Promise<unknown> | undefined
    let afterSweep1: Promise<unknown> | undefined
    const m = new Migrator({
      client: runner,
      migrationsDir: `${dir}/migrations`,
      logger: {
        info() {},
        warn() {},
        debug() {},
        progress(e) {
          if (e.phase === 'sweep' && e.detail) details.push(e.detail)
          // During the paused swap: a late write in the old collection, so that a second sweep runs.
          if (e.phase === 'swap' && !late)
            late = (async () => {
              for (let i = 0; i < 100 && !(await app.hasCollection({ collection_name: backup })).value; i++)
                await new Promise((r) => setTimeout(r, 100))
              return app.upsert({ collection_name: backup, data: [row(2900, 'late')] } as never)
            })()
          // Key 5 was read at the very start of sweep 1 (its first window of keys), so only sweep 2 can see this.
          if (e.phase === 'sweep' && e.detail?.startsWith('sweep 1') && !afterSweep1)
            afterSweep1 = app.upsert({ collection_name: backup, data: [row(5, 'after sweep 1')] } as never)
        },
      },
    })
    // The swap pauses (the late write lands); each page of a sweep takes 100 ms more: sweep 1 (30
    // pages of 100 rows) outlasts the 1.5 s grace period, its windows of keys 1,024 each.
    process.env.MVMIGRATE_FAILPOINTS = 'alter:after-swap=sleep:1500,alter:sweep-page=sleep:100'
    let result
    try {
      result = await m.up()
    } finally {
      delete process.env.MVMIGRATE_FAILPOINTS
    }
    await late
    await afterSweep1
    const report = JSON.stringify({ details, online: result.alters?.[0].online })
    expect(details[0], report).toMatch(
      /^sweep 1: 3000 rows read, 1 window\(s\) of the old collection changed, 1 late write\(s\) brought over/,
    )
    const second =
      /^sweep 2 \(what sweep 1 read within the grace period\): (\d+) rows read, \d+ window\(s\) of the old collection changed, 1 late write\(s\) brought over/.exec(
        details[1] ?? '',
      )
    expect(second, report).not.toBeNull()
    // At least the first window of keys (1,024), never the whole collection.
    const reread = Number(second![1])
    expect(reread, report).toBeGreaterThanOrEqual(1024)
    expect(reread, report).toBeLessThan(3000)
    // Sweep 2 found a write: a client may still be writing there, so a whole sweep follows.
    expect(details[2], report).toMatch(
      /^sweep 3: 3000 rows read, 0 window\(s\) of the old collection changed, 0 late write/,
    )
    expect(details, report).toHaveLength(3)
    const q = await app.query({
      collection_name: 'docs',
      filter: 'id in [5, 2900]',
      output_fields: ['id', 'title'],
      consistency_level: 'Strong',
    } as never)
    expect(Object.fromEntries((q.data as Row[]).map((r) => [String(r.id), r.title]))).toEqual({
      '5': 'after sweep 1',
      '2900': 'late',
    })
    expect(await count(client, 'docs')).toBe(3000)
  })
})

describe('an old collection that lost rows after the swap', () => {
  /** Runs the alter with `during` run against the old collection while the swap pauses; returns warnings and the old name. */
  async function alterWhileOldChanges(
    prefix: string,
    V: string,
    during: (app: MilvusClient, old: string) => Promise<void>,
  ) {
    const { client, app, runner, dir } = await sweepProject(prefix, 500, V, 300)
    const old = `docs__mvm_bak_${V}`
    const warnings: string[] = []
    let changing: Promise<void> | undefined
    const m = new Migrator({
      client: runner,
      migrationsDir: `${dir}/migrations`,
      logger: {
        info() {},
        warn: (w: string) => void warnings.push(w),
        debug() {},
        progress(e) {
          if (e.phase === 'swap' && !changing)
            changing = (async () => {
              for (let i = 0; i < 100 && !(await app.hasCollection({ collection_name: old })).value; i++)
                await new Promise((r) => setTimeout(r, 100))
              await during(app, old)
            })()
        },
      },
    })
    process.env.MVMIGRATE_FAILPOINTS = 'alter:after-swap=sleep:2500'
    try {
      await m.up()
    } finally {
      delete process.env.MVMIGRATE_FAILPOINTS
    }
    await changing
    return { client, app, m, old, warnings }
  }
  const titles = async (c: MilvusClient, collection: string, ids: number[]) =>
    Object.fromEntries(
      (
        (
          await c.query({
            collection_name: collection,
            filter: `id in [${ids.join(', ')}]`,
            output_fields: ['id', 'title'],
            consistency_level: 'Strong',
          } as never)
        ).data as Row[]
      ).map((r) => [String(r.id), r.title]),
    )

  it('150 of its 500 rows gone (as when Milvus Lite lost a data file): the sweep is not applied, nothing is deleted from the new collection, the old one is kept and prune refuses', async () => {
    const s = await alterWhileOldChanges('lostrows', '20260601000004', async (app, old) => {
      const ids = Array.from({ length: 150 }, (_, i) => i + 1)
      expect(
        (await app.delete({ collection_name: old, filter: `id in [${ids.join(', ')}]` } as never)).status.error_code,
      ).toBe('Success')
      await app.upsert({ collection_name: old, data: [{ id: 400, vector: vec(400), title: 'late', n: 1 }] } as never)
    })
    expect(s.warnings.join('\n')).toContain(
      `alter docs: the old collection '${s.old}' holds 350 rows where it held 500 at the swap: Milvus lost rows of it, or something deleted them in bulk. Its sweep is stopped, so nothing more is deleted from 'docs' on its word`,
    )
    expect(await count(s.client, 'docs')).toBe(500)
    expect(await titles(s.client, 'docs', [1, 150, 400])).toEqual({ '1': 't0', '150': 't149', '400': 't399' })
    // The late write is only in the old collection, kept as the backup, as the warning says.
    expect(await titles(s.client, s.old, [400])).toEqual({ '400': 'late' })
    const st = await s.m.status()
    expect(st.backups.find((b) => b.collection === s.old)).toMatchObject({ kind: 'backup', uniqueRows: null })
    const refused = await s.m.prune().catch((e) => e as Error)
    expect(String(refused)).toContain(`'${s.old}' (rows it cannot count)`)
  })

  it('150 rows replaced by 150 new ones (a bulk change, the row count whole): the sweep applies it, with no warning', async () => {
    const s = await alterWhileOldChanges('bulkswap', '20260601000005', async (app, old) => {
      const ids = Array.from({ length: 150 }, (_, i) => i + 1)
      expect(
        (await app.delete({ collection_name: old, filter: `id in [${ids.join(', ')}]` } as never)).status.error_code,
      ).toBe('Success')
      const fresh = ids.map((i) => ({ id: 10_000 + i, vector: vec(i), title: `new${i}`, n: i }))
      expect(Number((await app.insert({ collection_name: old, data: fresh } as never)).insert_cnt)).toBe(150)
    })
    // (On Milvus Lite the writes seen around the swap bring its note on renames, and nothing else.)
    const rename = s.warnings.filter((w) => w.includes('Milvus Lite can lose a write acknowledged while it renames'))
    expect(rename.length).toBe(lacks('liteProcess') ? 0 : 1)
    expect(s.warnings.filter((w) => !rename.includes(w))).toEqual([])
    expect(await count(s.client, 'docs')).toBe(500)
    expect(await titles(s.client, 'docs', [1, 150, 151, 10_001, 10_150])).toEqual({
      '151': 't150',
      '10001': 'new1',
      '10150': 'new150',
    })
  })
})

describe('a crash during the catch-up and the sweep', () => {
  const V = '20260601000002'
  const GROW = `export default { async up(ctx: any) { await ctx.alter('docs', (t: any) => t.alterField('title', { maxLength: 300 }), { batchSize: 100 }) } }\n`

  async function crashedProject(failpoints: string) {
    const { client, database, uri } = await dbs.fresh('crash')
    clients.push(client)
    const keys = await seed(client, 'docs', 2000)
    const app = await connectMilvus({ uri, token: milvusToken(), database })
    clients.push(app)
    const dir = tempProject()
    writeMigration(dir, `${V}_grow.ts`, GROW)
    const args = (...a: string[]) => ['--uri', uri, '--database', database, ...a]
    const writer = startWriter({
      client: app,
      collection: 'docs',
      keys,
      row: (key, s) => ({ id: key, vector: vec(Number(key)), title: `w${s}`, n: s }),
      rate: 40,
    })
    const crashedAt = { swapStartedAt: Date.now(), sweptAt: 0 }
    const crashed = await cli(dir, args('up'), {
      env: { MVMIGRATE_FAILPOINTS: `alter:after-page=sleep:30,${failpoints}` },
      timeoutMs: 300_000,
    })
    crashedAt.sweptAt = Date.now()
    return { client, app, dir, args, writer, crashed, keys, crashedAt }
  }

  it('killed in a catch-up pass: up again continues from the checkpoint, compares what the dead run copied row by row, and loses nothing', async () => {
    const s = await crashedProject('alter:catch-up-window=1')
    expect(s.crashed.code, s.crashed.stderr).toBe(-1)
    expect(s.crashed.stderr).toContain('failpoint alter:catch-up-window')
    // (A run in a child process: the window of its swap is the whole run.)
    const rerun = { swapStartedAt: Date.now(), sweptAt: 0 }
    const again = await cli(s.dir, s.args('up'), { timeoutMs: 300_000 })
    rerun.sweptAt = Date.now()
    const log = await s.writer.stop()
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toMatch(/continuing the interrupted copy of docs after \d+ of \d+ rows/)
    const check = await checkReplay(s.app, 'docs', log, ['title', 'n'])
    const report = JSON.stringify({
      ...check,
      acknowledged: log.acknowledged,
      histories: [...check.missing, ...check.stale.map((x) => x.key), ...check.extra].map((k) => [
        k,
        log.history.get(k),
      ]),
      crashedRun: { endedAt: s.crashedAt.sweptAt },
      rerun,
      stderr: again.stderr.slice(-1500),
    })
    // Milvus Lite's rename can lose a write it acknowledged (see above); the rerun runs in a child
    // process, so its whole run stands for the moment of its swap. Such a write is in neither collection.
    const lostByServer = lacks('liteProcess')
      ? []
      : await lostInTheRename(s.app, `docs__mvm_bak_${V}`, log, [...check.missing, ...check.stale.map((x) => x.key)], {
          from: rerun.swapStartedAt,
          to: rerun.sweptAt,
        })
    if (lostByServer.length)
      console.log(`acknowledged by Milvus Lite during the rename and kept nowhere: ${lostByServer.join(', ')}`)
    const raced = await overwrittenInTheSweepRace(s.app, `docs__mvm_bak_${V}`, log, check.stale, {
      from: rerun.swapStartedAt,
      to: rerun.sweptAt,
    })
    if (raced.length) console.log(`overwritten in the sweep's read-to-write race (README, limits): ${raced.join(', ')}`)
    expect(raced.length, report).toBeLessThanOrEqual(1)
    expect(
      check.missing.filter((k) => !lostByServer.includes(k)),
      report,
    ).toEqual([])
    expect(
      check.stale.filter((x) => !lostByServer.includes(x.key) && !raced.includes(x.key)),
      report,
    ).toEqual([])
    const unseen = deletedBeforeTheSweep(log, check.extra, rerun)
    expect(
      check.extra.filter((k) => !unseen.includes(k)),
      report,
    ).toEqual([])
    if (!lostByServer.length && !raced.length)
      expect(await count(s.client, 'docs')).toBe(expectedCount(2000, log) + unseen.length)
  })

  it('killed after the swap, before its sweeps finished: up again finishes, says late writes may be only in the backup, and prune keeps the backup unless told', async () => {
    const s = await crashedProject('alter:after-sweep=1')
    const log = await s.writer.stop()
    expect(s.crashed.code, s.crashed.stderr).toBe(-1)
    expect(s.crashed.stderr).toContain('failpoint alter:after-sweep')
    const again = await cli(s.dir, s.args('up'))
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain('was interrupted before its sweep of the old collection finished')
    const backup = `docs__mvm_bak_${V}`
    // What the first sweep (done before the crash) had not brought over is in the backup, as the
    // warning says: every key that differs from the writer's log holds the logged state there (or
    // is the one history no sweep can see: inserted, then deleted through the new name).
    const check = await checkReplay(s.app, 'docs', log, ['title', 'n'])
    const report = JSON.stringify({ ...check, stderr: again.stderr.slice(-1500) })
    const unseen = deletedBeforeTheSweep(log, check.extra, s.crashedAt)
    const differing = [...check.missing, ...check.stale.map((x) => x.key), ...check.extra].filter(
      (k) => !unseen.includes(k),
    )
    const notInBackup = await lostInTheRename(s.app, backup, log, differing, { from: 0, to: Infinity })
    // Milvus Lite's rename can lose a write it acknowledged as the name came back (docs/milvus-
    // differences.md): such a key is in neither collection, and its last write was acknowledged at
    // the end of a run of refusals (the name missing), within a second of it. Nowhere else.
    const duringARename = (k: string) => {
      const h = log.history.get(k) ?? []
      const at = h[h.length - 1]?.at ?? 0
      return log.refusals.some((r) => at >= r.from && at <= r.to + 1000)
    }
    const lostByServer = lacks('liteProcess') ? [] : notInBackup.filter(duringARename)
    if (lostByServer.length)
      console.log(`acknowledged by Milvus Lite during the rename and kept nowhere: ${lostByServer.join(', ')}`)
    expect(lostByServer.length, report).toBeLessThanOrEqual(3)
    expect(
      notInBackup.filter((k) => !lostByServer.includes(k)),
      JSON.stringify({ report, refusals: log.refusals, histories: notInBackup.map((k) => [k, log.history.get(k)]) }),
    ).toEqual([])
    const status = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(status.backups).toMatchObject([{ collection: backup, kind: 'backup', uniqueRows: null }])
    const refused = await cli(s.dir, s.args('prune', '--yes'))
    expect(refused.code, refused.stderr).toBe(4)
    expect(refused.stderr).toContain(`'${backup}'`)
    expect((await s.client.hasCollection({ collection_name: backup })).value).toBe(true)
  })
})
