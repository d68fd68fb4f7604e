import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import { failpoint } from '../failpoints'
import { milvusCall } from '../milvus/call'
import { primaryKeyOf } from '../schema/spec'
import { Row } from './builder'
import { KeyDigest } from './keys'
import { readPages } from './pager'
import { AlterPlan, transformRow } from './plan'

/** Stay far under Milvus' 64 MB limit per request, whatever the row size. */
const TARGET_PAGE_BYTES = 16 << 20

export interface CopyOptions {
  client: MilvusClient
  plan: AlterPlan
  sourceName: string
  targetName: string
  batchSize?: number
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

/** Rough bytes of one row, from a sample: what sets the page size. */
function rowBytes(rows: Row[]): number {
  if (!rows.length) return 1024
  return Math.ceil(Buffer.byteLength(JSON.stringify(rows)) / rows.length)
}

/**
 * Streams every row from source to target: read a page, transform it, insert it, with the read of
 * the next page overlapping the insert of this one (memory: two pages). Named partitions are copied
 * one by one so every row stays in its partition; a partition key routes rows by itself.
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
    batchSize = Math.max(1, Math.min(4096, Math.floor(TARGET_PAGE_BYTES / (2 * rowBytes(sample.data as Row[])))))
  }

  const keepPartitions = plan.target.partitions.length > 0 && !plan.source.fields.some((f) => f.partitionKey)
  const partitions: (string | undefined)[] = keepPartitions ? ['_default', ...plan.source.partitions] : [undefined]
  let rowsCopied = 0
  let checkedKeys = false

  for (const partition of partitions) {
    const pages = readPages({ client, collection: sourceName, pk, outputFields, partition, batchSize })
    let next = pages.next()
    for (;;) {
      const current = await next
      if (current.done) break
      next = pages.next() // read ahead while this page is transformed and written
      const rows: Row[] = []
      for (const r of current.value.rows) {
        sourceKeys.add(String(r[pk.name]))
        const out = await transformRow(plan, r)
        for (const f of functionOutputs) delete out[f]
        rows.push(out)
      }
      if (!rows.length) continue
      const res = await milvusCall(`insert into ${targetName}`, () =>
        client.insert({ collection_name: targetName, data: rows, ...(partition && partition !== '_default' ? { partition_name: partition } : {}) } as never),
      )
      if (Number(res.insert_cnt) !== rows.length) {
        throw new MvmError('MILVUS_ERROR', `insert into ${targetName}: ${res.insert_cnt} of ${rows.length} rows accepted`)
      }
      if (!checkedKeys && !opts.newIds) {
        // The first page proves whether the server kept the keys we sent (auto_id collections).
        const ids = (res.IDs as { int_id?: { data: unknown[] }; str_id?: { data: unknown[] } })
        const got = (ids?.int_id?.data ?? ids?.str_id?.data ?? []).map(String)
        const sent = rows.map((r) => String(r[targetPk.name]))
        if (got.length && got.join(',') !== sent.join(',')) {
          throw new MvmError('MIGRATION_INVALID', `The server generated new primary keys for ${targetName} instead of keeping the source's (auto_id)`, {
            hint: 'This server cannot insert explicit keys into an auto_id collection (Milvus >= 2.6.3 can, with allow_insert_auto_id). Pass { newIds: true } to accept new keys. The source is untouched.',
          })
        }
        checkedKeys = true
      }
      rowsCopied += rows.length
      opts.onProgress?.(rowsCopied)
      failpoint('alter:after-page')
    }
  }
  return { rowsCopied, sourceKeys, batchSize }
}

/** Digest of every key in a collection (keys only: cheap next to a full read). */
export async function keyDigest(client: MilvusClient, collection: string, plan: AlterPlan, which: 'source' | 'target'): Promise<KeyDigest> {
  const pk = primaryKeyOf(which === 'source' ? plan.source : plan.target)!
  const digest = new KeyDigest()
  for await (const page of readPages({ client, collection, pk, outputFields: [pk.name], batchSize: 16384 })) {
    for (const r of page.rows) digest.add(String(r[pk.name]))
  }
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
