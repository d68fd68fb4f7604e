import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import { failpoint } from '../failpoints'
import { milvusCall } from '../milvus/call'
import { primaryKeyOf } from '../schema/spec'
import { Row } from './builder'
import { KeyDigest } from './keys'
import { readKeyWindows, readPages } from './pager'
import { AlterPlan, transformRow } from './plan'

/**
 * Bytes on the wire per page. Measured on Milvus Lite with 768-dim rows (bench/): pages of ~1 MB
 * (250 rows) copied 15% faster than pages of 3 MB and 30% faster than 12 MB, with less than half
 * the memory; it is also far under Milvus' 64 MB request limit at any dim.
 */
const TARGET_PAGE_BYTES = 1 << 20
const MAX_PAGE_ROWS = 4096

export interface CopyOptions {
  /** The bulk connection (see milvus/data-client.ts). */
  client: MilvusClient
  plan: AlterPlan
  sourceName: string
  targetName: string
  batchSize?: number
  /** Pages read ahead of the insert (memory: this many pages plus the one being written). */
  pagesInFlight?: number
  /** Accept server-generated keys where the target cannot take the source's (auto_id). */
  newIds?: boolean
  onProgress?: (rowsCopied: number) => void
}

export interface CopyResult {
  rowsCopied: number
  /** Digest of the source keys as read during the copy. */
  sourceKeys: KeyDigest
  batchSize: number
}

/** Rough protobuf size of a value: float vectors are 4 bytes a number, scalars 8, text as is. */
function wireBytes(v: unknown): number {
  if (v === null || v === undefined) return 1
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return 8
  if (typeof v === 'string') return Buffer.byteLength(v) + 2
  if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return (v as ArrayBufferView).byteLength
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + (typeof x === 'number' ? 4 : wireBytes(x)), 4)
  return Buffer.byteLength(JSON.stringify(v)) // JSON fields, sparse vectors, dynamic fields
}

/** Average bytes of one row, from a sample: what sets the page size. */
function rowBytes(rows: Row[]): number {
  if (!rows.length) return 1024
  let total = 0
  for (const r of rows) for (const v of Object.values(r)) total += wireBytes(v) + 4
  return Math.ceil(total / rows.length)
}

/**
 * Streams every row from source to target: read a page, transform it, insert it, with the reads
 * of the next pages overlapping this work (memory: a few pages, never the collection). Named partitions
 * are copied one by one so every row stays in its partition; a partition key routes rows by itself.
 */
export async function copyRows(opts: CopyOptions): Promise<CopyResult> {
  const { client, plan, sourceName, targetName } = opts
  const pk = primaryKeyOf(plan.source)!
  const targetPk = primaryKeyOf(plan.target)!
  const functionOutputs = new Set(plan.source.fields.filter((f) => f.functionOutput).map((f) => f.name))
  const outputFields = ['*']
  const sourceKeys = new KeyDigest()

  // Page size from the real row size (a small sample), unless the migration fixed it.
  let batchSize = opts.batchSize
  if (!batchSize) {
    const sample = await milvusCall(`sample ${sourceName}`, () =>
      client.query({ collection_name: sourceName, filter: '', output_fields: outputFields, limit: 32, consistency_level: 'Strong' } as never),
    )
    batchSize = Math.max(1, Math.min(MAX_PAGE_ROWS, Math.floor(TARGET_PAGE_BYTES / rowBytes(sample.data as Row[]))))
  }

  const keepPartitions = plan.target.partitions.length > 0 && !plan.source.fields.some((f) => f.partitionKey)
  const partitions: (string | undefined)[] = keepPartitions ? ['_default', ...plan.source.partitions] : [undefined]
  let rowsCopied = 0
  let checkedKeys = false

  /** Inserts one page and checks what the server did with it. */
  async function write(rows: Row[], partition: string | undefined, first: boolean): Promise<void> {
    const res = await milvusCall(`insert into ${targetName}`, () =>
      client.insert({ collection_name: targetName, data: rows, ...(partition && partition !== '_default' ? { partition_name: partition } : {}) } as never),
    )
    if (Number(res.insert_cnt) !== rows.length) {
      throw new MvmError('MILVUS_ERROR', `insert into ${targetName}: ${res.insert_cnt} of ${rows.length} rows accepted`)
    }
    if (first && !opts.newIds) {
      // The first page proves whether the server kept the keys we sent (auto_id collections).
      const ids = res.IDs as { int_id?: { data: unknown[] }; str_id?: { data: unknown[] } }
      const got = (ids?.int_id?.data ?? ids?.str_id?.data ?? []).map(String)
      const sent = rows.map((r) => String(r[targetPk.name]))
      if (got.length && got.join(',') !== sent.join(',')) {
        throw new MvmError('MIGRATION_INVALID', `The server generated new primary keys for ${targetName} instead of keeping the source's (auto_id)`, {
          hint: 'This server cannot insert explicit keys into an auto_id collection (Milvus >= 2.6.3 can, with allow_insert_auto_id). Pass { newIds: true } to accept new keys. The source is untouched.',
        })
      }
    }
    rowsCopied += rows.length
    opts.onProgress?.(rowsCopied)
    failpoint('alter:after-page')
  }

  // Reads run ahead of the writes, so the server reads the next pages while this process converts
  // rows and the server stores them. Measured on Milvus Lite: two pages ahead copy 10% faster than
  // one; more pages, or overlapping the writes too, gained nothing (the server is the bottleneck).
  const ahead = Math.max(1, opts.pagesInFlight ?? 2)
  for (const partition of partitions) {
    const pages = readPages({ client, collection: sourceName, pk, outputFields, partition, batchSize })
    // A read that fails before it is awaited must not count as an unhandled rejection (which would
    // end the process): each gets a no-op handler at once, and is awaited in order later.
    const handled = <T,>(p: Promise<T>) => (p.catch(() => undefined), p)
    const reading = [handled(pages.next())]
    for (;;) {
      while (reading.length < ahead) reading.push(handled(pages.next()))
      const current = await reading.shift()!
      if (current.done) break
      const rows: Row[] = []
      for (const r of current.value.rows) {
        sourceKeys.add(String(r[pk.name]))
        const out = await transformRow(plan, r)
        for (const f of functionOutputs) delete out[f]
        rows.push(out)
      }
      if (!rows.length) continue
      await write(rows, partition, !checkedKeys)
      checkedKeys = true
    }
  }
  return { rowsCopied, sourceKeys, batchSize }
}

/** Digest of every key in a collection (keys only: the key windows, no rows are read). */
export async function keyDigest(client: MilvusClient, collection: string, plan: AlterPlan, which: 'source' | 'target'): Promise<KeyDigest> {
  const pk = primaryKeyOf(which === 'source' ? plan.source : plan.target)!
  const digest = new KeyDigest()
  for await (const keys of readKeyWindows({ client, collection, pk })) for (const k of keys) digest.add(k)
  return digest
}

/** Rows compared field by field: dynamic keys flattened, function outputs (server-computed) left out. */
function comparable(row: Row, skip: Set<string>): string {
  const flat: Row = { ...((row.$meta as Row | undefined) ?? {}), ...row }
  delete flat.$meta
  for (const k of skip) delete flat[k]
  for (const [k, v] of Object.entries(flat)) if (v === undefined) delete flat[k]
  return JSON.stringify(Object.keys(flat).sort().map((k) => [k, flat[k]]))
}

/**
 * `verify: 'full'`: reads the source again, transforms each row as the copy did, and compares it
 * with the target's row of the same key, value by value.
 */
export async function verifyValues(client: MilvusClient, plan: AlterPlan, sourceName: string, targetName: string, batchSize: number): Promise<void> {
  const pk = primaryKeyOf(plan.source)!
  const targetPk = primaryKeyOf(plan.target)!
  const skip = new Set(plan.target.fields.filter((f) => f.functionOutput).map((f) => f.name))
  for await (const page of readPages({ client, collection: sourceName, pk, outputFields: ['*'], batchSize })) {
    const keys = page.rows.map((r) => String(r[pk.name]))
    const literal = keys.map((k) => (targetPk.type === 'Int64' ? k : JSON.stringify(k))).join(', ')
    const res = await milvusCall(`read ${targetName}`, () =>
      client.query({ collection_name: targetName, filter: `${targetPk.name} in [${literal}]`, output_fields: ['*'], limit: keys.length, consistency_level: 'Strong' } as never),
    )
    const byKey = new Map((res.data as Row[]).map((r) => [String(r[targetPk.name]), r]))
    for (const r of page.rows) {
      const key = String(r[pk.name])
      const expected = await transformRow(plan, r)
      const actual = byKey.get(key)
      if (!actual || comparable(expected, skip) !== comparable(actual, skip)) {
        throw new MvmError('MIGRATION_FAILED', `Verification (full) failed: the row with key ${key} in '${targetName}' differs from the transformed source row; the copy was dropped and the source is untouched`, {
          hint: 'A transform that is not deterministic (random values, the clock) cannot be verified in full; use the default verification, or make it deterministic.',
        })
      }
    }
  }
}
