import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { afterAll, describe, expect, it } from 'vitest'
import { connectMilvus } from '../../src/milvus/connect'
import { Migrator } from '../../src/migrator'
import type { AlterSummary } from '../../src/alter/types'
import { fileDatabases, lacks, milvusToken, milvusUri } from '../helpers/milvus'
import { type WriterLog, checkReplay, startReader, startWriter } from '../helpers/live-app'
import { tempProject, writeMigration } from '../helpers/project'

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
  const m = new Migrator({
    client: runner,
    migrationsDir: `${dir}/migrations`,
    logger: { info: (l) => logs.push(l), warn: (l) => logs.push(`WARN ${l}`), debug() {} },
  })
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
  try {
    result = await m.up()
  } finally {
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
      writer: {
        ...log.acknowledged,
        failures: log.failures,
        longestRefusalMs: log.longestRefusalMs,
        errors: log.errors,
      },
      reader: read,
    }),
  )
  return { result, log, read, app, logs, summary, alters }
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
  it('by name: grow a VarChar and widen Int32 -> Int64 (and add a defaulted field where the server has defaults): every acknowledged write survives', async () => {
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
          t.alterField('n', { type: 'Int64' })
          ${addDefaulted ? "t.addField({ name: 'page', type: 'Int64', default: 7 })" : ''}
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
    expect(check.missing, report).toEqual([])
    expect(check.stale, report).toEqual([])
    expect(check.extra, report).toEqual([])
    expect(await count(client, 'docs')).toBe(expectedCount(ROWS, run.log))
    const spec = await client.describeCollection({ collection_name: 'docs' })
    const title = spec.schema.fields.find((f) => f.name === 'title')!
    expect(String(title.type_params.find((p) => p.key === 'max_length')?.value)).toBe('512')
    expect(run.summary, run.logs.join('\n')).toMatch(/online: \d+ catch-up pass\(es\) re-copied \d+ rows/)
    // Writes fail only while the name is missing (between the two renames), and say so.
    for (const e of run.log.errors)
      expect(e).toMatch(/not exist|not found|can't find collection|not load|WAL already closed/i)
    expect(run.read.searches).toBeGreaterThan(10)
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
    const report = JSON.stringify({ ...check, writer: run.log, reader: run.read, summary: run.summary })
    expect(check.missing, report).toEqual([])
    expect(check.stale, report).toEqual([])
    expect(check.extra, report).toEqual([])
    expect(run.log.failures, report).toBe(0)
    expect(run.read.failed, report).toBe(0)
    expect(run.summary, report).toContain('the name was missing for 0 ms')
  })
})
