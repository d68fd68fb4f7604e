import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import { failpoint, failpointDelay } from '../failpoints'
import { interrupted, isInterrupted, unlessAborted } from '../util/interrupt'
import { type ReadAfter, insertRows, queryRows } from '../milvus/rows'
import { serverTraits } from '../milvus/server-traits'
import { primaryKeyOf } from '../schema/spec'
import type { Row } from './builder'
import { type Key, KeyDigest, keyComparator } from './keys'
import type { CopyCheckpoint, CopyPartitions } from './resume'
import { readPages } from './pager'
import type { AlterPlan } from './types'
import { transformRows, unstorableValue } from './values'
import { ContentDigest, RowHasher, type RowHash } from './content'
import { type KeyWindow, type WindowTable, setWritten } from './windows'
import { BackfillFailed, type Backfiller } from './backfill'
import { changesPrimaryKey } from './plan'

/**
 * Bytes on the wire per page. Measured on Milvus Lite with 768-dim rows (bench/): pages of ~1 MB
 * (250 rows) copied 15% faster than pages of 3 MB and 30% faster than 12 MB, with less than half
 * the memory; it is also far under Milvus' 64 MB request limit at any dim.
 */
const TARGET_PAGE_BYTES = 1 << 20
const MAX_PAGE_ROWS = 4096
/** How long a stopping copy waits for model calls in flight (their page is abandoned either way). */
export const STOP_WAIT_MS = 1000

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
  /** Continue after this checkpoint (its rows are in the target already, proven by the caller). */
  resumeFrom?: CopyCheckpoint
  /** Called after every `checkpointEvery` rows written (and once at the end): the journal records it. */
  onCheckpoint?: (cp: CopyCheckpoint) => Promise<void>
  checkpointEvery?: number
  /** How current the source reads must be (default strong). */
  readAfter?: ReadAfter
  /** Records each page as a key window with its rows' digests (online alters catch up from it). */
  windows?: WindowTable
  /**
   * Aborted (Ctrl-C): stops at the last page written, with a checkpoint there. A page being
   * written is finished; pages being transformed are abandoned (no new model call starts, calls in
   * flight are waited for STOP_WAIT_MS at most).
   */
  signal?: AbortSignal
  /** Runs the backfills (batched ones a batch at a time, pages transformed ahead of the writes). */
  backfiller?: Backfiller
}

export interface CopyResult {
  /** Rows the target holds: those of a resumed checkpoint and those copied by this run. */
  rowsCopied: number
  /** Of those, the rows an earlier, interrupted run had copied. */
  rowsResumed: number
  /** Digest of the source keys as read during the copy. */
  sourceKeys: KeyDigest
  /** Digest of the keys written, where they may differ from the source's (a changed primary key, mapRows). */
  writtenKeys?: KeyDigest
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

/** The partitions a copy walks, in order: named partitions one by one ('_default' first), or the whole collection. */
export function copyPartitions(plan: AlterPlan): CopyPartitions {
  const keepPartitions = plan.target.partitions.length > 0 && !plan.source.fields.some((f) => f.partitionKey)
  return keepPartitions ? ['_default', ...plan.source.partitions] : [undefined]
}

/**
 * The source's float vector fields whose values the copy only passes on: each becomes a target
 * field inserted as a column of bytes (`floatVectors`), of the same dim, and no code of the
 * migration sees the rows (no backfill, converter or row map). Their rows get Float32Array views
 * instead of arrays of numbers: profiled on 2.3, those arrays were most of what a copy still
 * allocated (docs/performance.md, memory).
 */
export function passedThroughVectors(plan: AlterPlan, floatVectors: { name: string; dim: number }[]): Set<string> {
  const out = new Set<string>()
  const sources = [...plan.fields.values()]
  if (plan.mapRows.length || sources.some((s) => s.backfill || s.convert)) return out
  for (const { name, dim } of floatVectors) {
    const from = plan.fields.get(name)?.from
    const field = plan.source.fields.find((f) => f.name === from)
    if (field && field.type === 'FloatVector' && !field.nullable && field.dim === dim) out.add(field.name)
  }
  return out
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
  // Moved as columns of bytes on the bulk connection (milvus/float-vector-wire.ts).
  const floatVectors = plan.target.fields
    .filter((f) => f.type === 'FloatVector' && !f.nullable && !f.functionOutput && f.dim)
    .map((f) => ({ name: f.name, dim: f.dim! }))
  const typedVectors = passedThroughVectors(plan, floatVectors)
  const functionOutputs = new Set(plan.source.fields.filter((f) => f.functionOutput).map((f) => f.name))
  const outputFields = ['*']
  const resume = opts.resumeFrom
  const sourceKeys = resume ? KeyDigest.parse(resume.keys) : new KeyDigest()
  // Such a copy is never resumed (its keys cannot be matched with the source's: resume.ts), so this starts empty.
  const writtenKeys = changesPrimaryKey(plan) || plan.mapRows.length ? new KeyDigest() : undefined

  // Page size from the real row size (a small sample), unless the migration fixed it.
  let batchSize = opts.batchSize
  if (!batchSize) {
    const sample = await queryRows(client, sourceName, { filter: '', outputFields, limit: 32, after: opts.readAfter })
    batchSize = Math.max(1, Math.min(MAX_PAGE_ROWS, Math.floor(TARGET_PAGE_BYTES / rowBytes(sample))))
    // Pages a whole number of backfill batches: a page's last batch is never a short one (each is a model call).
    const b = opts.backfiller?.largestBatch ?? 0
    // And at most one round of every call slot: small rows made the whole collection one page, and a
    // run stopped in it paid the model again for every row it had computed (a tester: 3,000 rows).
    if (b) batchSize = Math.min(batchSize, Math.max(b, Math.floor((opts.backfiller?.rowsInFlight ?? 0) / b) * b))
    if (b) batchSize = batchSize >= b ? Math.floor(batchSize / b) * b : batchSize
  }

  const partitions = copyPartitions(plan)
  let rowsCopied = resume?.rows ?? 0
  let checkedKeys = false
  const every = Math.max(1, opts.checkpointEvery ?? Number.MAX_SAFE_INTEGER)
  let lastCheckpoint = rowsCopied
  /** Where the last page written ends: a failed backfill checkpoints there, so a rerun never sends it to the model again. */
  let lastWritten: { partition: number; lastKey: string } | undefined

  /** Inserts one page and checks what the server did with it; records a checkpoint now and then. */
  async function write(
    rows: Row[],
    partition: string | undefined,
    first: boolean,
    at: { partition: number; lastKey: string },
  ): Promise<void> {
    const res = await insertRows(client, targetName, rows, partition, floatVectors)
    if (writtenKeys) for (const r of rows) writtenKeys.add(String(r[targetPk.name]))
    if (first && !opts.newIds) {
      // The first page proves whether the server kept the keys we sent (auto_id collections).
      const got = res.ids
      const sent = rows.map((r) => String(r[targetPk.name]))
      if (got.length && got.join(',') !== sent.join(',')) {
        throw new MvmError(
          'MIGRATION_INVALID',
          `The server generated new primary keys for ${targetName} instead of keeping the source's (auto_id)`,
          {
            hint: 'This server cannot insert explicit keys into an auto_id collection (Milvus >= 2.6.3 can, with allow_insert_auto_id). Pass { newIds: true } to accept new keys. The source is untouched.',
          },
        )
      }
    }
    rowsCopied += rows.length
    lastWritten = at
    opts.onProgress?.(rowsCopied)
    if (rowsCopied - lastCheckpoint >= every) await checkpoint(at)
    failpoint('alter:after-page')
    await failpointDelay('alter:after-page')
    if (opts.signal?.aborted) throw interrupted(opts.signal, `the copy stopped after ${rowsCopied} rows`)
  }

  async function checkpoint(at: { partition: number; lastKey: string }): Promise<void> {
    if (!opts.onCheckpoint) return
    lastCheckpoint = rowsCopied
    await opts.onCheckpoint({
      partition: at.partition,
      lastKey: at.lastKey,
      rows: rowsCopied,
      keys: sourceKeys.toString(),
    })
  }

  // Reads run ahead of the writes, so the server reads the next pages while this process converts
  // rows and the server stores them. Measured on Milvus Lite: two pages ahead copy 10% faster than
  // one; more pages, or overlapping the writes too, gained nothing (the server is the bottleneck).
  // With batched backfills the pages ahead are also transformed ahead, enough of them to keep every
  // call slot of the model busy (memory: still a bounded number of pages; the reads wait for them).
  const backfiller = opts.backfiller
  const inFlightRows = backfiller?.rowsInFlight ?? 0
  const ahead = Math.max(
    1,
    opts.pagesInFlight ?? (await serverTraits(client)).readAheadPages,
    inFlightRows ? Math.min(32, Math.ceil((2 * inFlightRows) / batchSize)) : 0,
  )
  const windows = opts.windows
  const sourceHasher = new RowHasher(plan.source.fields)
  const targetHasher = new RowHasher(plan.target.fields)
  const cmp = keyComparator(targetPk)
  // Each row's source hash is kept too: a catch-up pass then converts (and hashes) again only the
  // rows that changed, not every row of a changed window, and a model is called once per change.

  /** One page transformed: the rows to insert and, for the window table, what was read and written. */
  async function transformPage(p: number, page: { rows: Row[]; lastKey: string }) {
    const outs = await transformRows(plan, page.rows, { backfiller, signal: opts.signal })
    const rows: Row[] = []
    const written = new Map<Key, RowHash>()
    const sources = new Map<Key, RowHash>()
    const digest = new ContentDigest()
    page.rows.forEach((r, i) => {
      const out = outs[i]
      const bad = unstorableValue(plan, out)
      if (bad) {
        throw new MvmError(
          'MIGRATION_INVALID',
          `The row with key ${String(r[pk.name])} of '${sourceName}' would store ${typeof bad.value === 'string' ? JSON.stringify(bad.value) : String(bad.value)} in field '${bad.field}': ${bad.why}`,
          {
            hint: 'Make the converter or backfill return a value the field can hold (a Float holds up to ±3.4e38), or fix the row in the source first. The source is untouched.',
          },
        )
      }
      if (windows) {
        const sh = sourceHasher.hash(r)
        digest.add(sh)
        const key = String(out[targetPk.name])
        written.set(key, targetHasher.hash(out))
        sources.set(key, sh)
      }
      for (const f of functionOutputs) delete out[f]
      rows.push(out)
    })
    let window: KeyWindow | undefined
    if (windows) {
      window = { partition: p, upper: page.lastKey, source: digest.toString() }
      setWritten(window, written, cmp, sources)
    }
    return { rows, window }
  }

  try {
    for (let p = resume?.partition ?? 0; p < partitions.length; p++) {
      const partition = partitions[p]
      const after = resume && p === resume.partition ? resume.lastKey : undefined
      const pages = readPages({
        client,
        collection: sourceName,
        pk,
        outputFields,
        partition,
        batchSize,
        after,
        readAfter: opts.readAfter,
        typedVectors,
      })
      // A read that fails before it is awaited must not count as an unhandled rejection (which would
      // end the process): each gets a no-op handler at once, and is awaited in order later.
      const handled = <T>(p: Promise<T>) => (p.catch(() => undefined), p)
      const next = () =>
        handled(
          pages.next().then(async (current) => {
            if (current.done) return undefined
            // Transformed ahead only when batched backfills wait on a model; otherwise in order, as before.
            const transformed = inFlightRows ? transformPage(p, current.value) : undefined
            if (transformed) handled(transformed)
            return { page: current.value, transformed }
          }),
        )
      const reading = [next()]
      for (;;) {
        while (reading.length < ahead) reading.push(next())
        const current = await reading.shift()!
        if (!current) break
        // Stopping: a page not written yet is abandoned at once, not waited for (its model calls).
        const abandon = () => interrupted(opts.signal!, `the copy stopped after ${rowsCopied} rows`)
        if (opts.signal?.aborted) throw abandon()
        const { rows, window } = await unlessAborted(
          current.transformed ?? transformPage(p, current.page),
          opts.signal,
          abandon,
        )
        // Counted once the page is transformed: a checkpoint's key digest covers exactly the pages written.
        for (const r of current.page.rows) sourceKeys.add(String(r[pk.name]))
        if (window) windows!.add(window)
        if (!rows.length) continue
        await write(rows, partition, !checkedKeys, { partition: p, lastKey: current.page.lastKey })
        checkedKeys = true
      }
      windows?.closePartition(p)
    }
    // The end of the copy is a checkpoint too: a run stopped later (verify, before the swap) copies nothing again.
    if (lastWritten && rowsCopied > lastCheckpoint) await checkpoint(lastWritten)
  } catch (e) {
    // A backfill that failed for good, or a stop on request: everything written so far is
    // checkpointed, so the next run continues after it and no finished window goes to the model again.
    const stopping = isInterrupted(e) && !!opts.signal?.aborted
    if ((e instanceof BackfillFailed || stopping) && opts.onCheckpoint && lastWritten && rowsCopied > lastCheckpoint) {
      lastCheckpoint = rowsCopied
      await opts.onCheckpoint({ ...lastWritten, rows: rowsCopied, keys: sourceKeys.toString() })
    }
    if (stopping) {
      // Calls in flight (of abandoned pages) are given a moment to end, not more.
      await backfiller?.idle(STOP_WAIT_MS)
      throw interrupted(opts.signal!, `the copy stopped after ${rowsCopied} rows`, { rowsCopied })
    }
    throw e
  }
  return { rowsCopied, rowsResumed: resume?.rows ?? 0, sourceKeys, writtenKeys, batchSize }
}
