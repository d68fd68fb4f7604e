import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import { failpoint, failpointDelay } from '../failpoints'
import { stopIfAborted } from '../util/interrupt'
import { type ReadAfter, deleteRows, insertRows, queryKeys, upsertRows } from '../milvus/rows'
import { type FieldSpec, primaryKeyOf } from '../schema/spec'
import type { Row } from './builder'
import { ContentDigest, type RowHash, RowHasher, sameHash } from './content'
import { INT64_MAX, type Key, KeyDigest, keyComparator, keyLiteral, rangeFilter } from './keys'
import { type KeyListing, MAX_QUERY_WINDOW, readKeyWindows, readPages, readRowsByKeys } from './pager'
import type { CopyPartitions } from './resume'
import type { AlterPlan } from './types'
import { changesPrimaryKey } from './plan'
import { canReuseBackfills, hasBackfills, transformRows, unstorableValue } from './values'
import { rowComparer } from './verify'
import { type KeyWindow, type WindowTable, digestOf, setWritten, sourceByKey, writtenByKey } from './windows'
import type { Backfiller } from './backfill'

/**
 * Online alters: writers keep writing to the source while it is copied. Milvus gives a client no
 * change stream, so changes are found by reading: a pass re-reads the source window by window
 * (a whole read of it), compares each window's digest by value with the one recorded when it was
 * copied, and re-copies only the windows that changed (keys gone are deleted, changed rows written
 * again, converted as the alter converts). Passes repeat while they shrink enough (engine.ts).
 *
 * After the swap the same pass runs as a sweep over the old collection: writes that landed there
 * after the last pass (requests in flight, clients with stale name caches). The new collection is
 * live by then, so each changed key is judged three ways: the old collection's row now, the new
 * collection's row now, and the row as the copy wrote it. A key the application has not written in
 * the new collection since is brought over; a key written on both sides is a conflict: reported,
 * kept in the backup, never overwritten.
 */
export interface PassOptions {
  client: MilvusClient
  plan: AlterPlan
  /** Read from. */
  source: string
  /** Written to. */
  target: string
  windows: WindowTable
  partitions: CopyPartitions
  batchSize: number
  readAfter?: ReadAfter
  typedVectors?: ReadonlySet<string>
  /** The target takes explicit keys only by delete + insert (auto_id), not by upsert. */
  autoIdTarget?: boolean
  floatVectors?: { name: string; dim: number }[]
  /** Aborted (Ctrl-C): a catch-up pass stops after its current page (the next run continues from the copy's checkpoint). */
  signal?: AbortSignal
  /** Runs the backfills of changed rows (batched ones in batches, with retries). */
  backfiller?: Backfiller
  /** Keys learned per query (default: the server's window); smaller windows tell a sweep more finely what it read when. */
  keyWindow?: number
  /**
   * A sweep reading only part of the source, per partition (by index; absent: all of it): 'all',
   * 'none', or up to a key, inclusive, extended to the end of the window holding it (a window is judged
   * whole or not at all).
   */
  readUpTo?: ReadUpTo[]
  /**
   * Sweep: called before a page's deletions are applied when they are many (a page of them at
   * once looks like rows lost, not deleted): throws ImplausibleSweep when the old collection lost rows.
   */
  beforeManyDeletes?: (deletes: number) => Promise<void>
}

/**
 * A sweep found more keys gone from the old collection than writers could have deleted: Milvus
 * lost rows of it (Milvus Lite has lost a renamed collection's data file), or something deleted in
 * bulk. Its deletions are not applied to the live collection.
 */
export class ImplausibleSweep extends Error {
  constructor(readonly what: string) {
    super(`the old collection ${what}`)
  }
}

/** Deletions in one page of a sweep from which the old collection's row count is checked first. */
const MANY_DELETES = 50

export type ReadUpTo = 'all' | 'none' | { key: Key }

export interface PassResult {
  /** Windows whose digest differed (or was not known). */
  windowsChanged: number
  windows: number
  /** Rows written to the target again, and keys deleted from it. */
  rowsWritten: number
  rowsDeleted: number
  /** Sweep only: keys written on both sides since the swap, left as they are in the new collection. */
  conflicts: Key[]
  /** Digest of the source's keys as this pass read them, and how many rows it read. */
  sourceKeys: KeyDigest
  rowsRead: number
  /** Whether the pass read a row keyed with the Int64 maximum (Milvus 2.3 hides such a row from queries). */
  sawInt64Max?: boolean
  durationMs: number
  /** Per partition read, the windows of keys as they were learned, and when (pager.ts KeyListing). */
  listings: KeyListing[][]
}

/** The target's keys in (lower, upper] of one partition. */
async function keysInRange(
  client: MilvusClient,
  collection: string,
  pk: FieldSpec,
  partition: string | undefined,
  lower: Key | undefined,
  upper: Key | undefined,
  after?: ReadAfter,
): Promise<Key[]> {
  const filter = rangeFilter(pk, lower, upper, true)
  const found = await queryKeys(client, collection, pk.name, { filter, limit: MAX_QUERY_WINDOW, partition, after })
  if (found.length < MAX_QUERY_WINDOW) return found
  // A window grown past a query's limit (a burst of inserts): read it window by window.
  const cmp = keyComparator(pk)
  const out: Key[] = []
  for await (const keys of readKeyWindows({ client, collection, pk, partition, after: lower, readAfter: after })) {
    for (const k of keys) {
      if (upper !== undefined && cmp(k, upper) > 0) return out
      out.push(k)
    }
  }
  return out
}

const inList = (pk: FieldSpec, keys: Key[]) => `${pk.name} in [${keys.map((k) => keyLiteral(pk, k)).join(', ')}]`

/** One pass over the source ('catch-up', before the swap) or the old collection ('sweep', after it). */
export async function runPass(opts: PassOptions, mode: 'catch-up' | 'sweep'): Promise<PassResult> {
  const started = Date.now()
  const { client, plan, windows } = opts
  const pk = primaryKeyOf(plan.source)!
  const targetPk = primaryKeyOf(plan.target)!
  const cmp = keyComparator(pk)
  const sourceHasher = new RowHasher(plan.source.fields)
  const targetHasher = new RowHasher(plan.target.fields)
  const functionOutputs = plan.target.fields.filter((f) => f.functionOutput).map((f) => f.name)
  const result: PassResult = {
    windowsChanged: 0,
    windows: 0,
    rowsWritten: 0,
    rowsDeleted: 0,
    conflicts: [],
    sourceKeys: new KeyDigest(),
    rowsRead: 0,
    durationMs: 0,
    listings: [],
  }

  async function deleteKeys(partition: string | undefined, keys: Key[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000)
      await deleteRows(client, opts.target, inList(targetPk, keys.slice(i, i + 1000)), partition)
  }

  // Before the swap, writes are gathered over windows and sent a page at a time: one delete and
  // one insert per page of changed rows, not per window (each call is a round trip; on Milvus Lite
  // a delete also scans). Deletes go first: a replaced key is deleted, then written again.
  let pendingDelete: Key[] = []
  let pendingRows: Row[] = []
  let pendingPartition: string | undefined

  async function flush(): Promise<void> {
    if (pendingDelete.length) await deleteKeys(pendingPartition, pendingDelete)
    const rows = pendingRows
    pendingDelete = []
    pendingRows = []
    if (rows.length) {
      for (const r of rows) for (const f of functionOutputs) delete r[f]
      // Before the swap nobody else writes to the target: delete + insert is as good as upsert, and
      // works where upsert does not (auto_id targets that keep the source's keys).
      await insertRows(client, opts.target, rows, pendingPartition, opts.floatVectors)
      result.rowsWritten += rows.length
    }
    failpoint(`alter:${mode}-window`)
  }

  async function writeRows(partition: string | undefined, rows: Row[], remove: Key[]): Promise<void> {
    if (partition !== pendingPartition) await flush()
    pendingPartition = partition
    pendingDelete.push(...remove)
    pendingRows.push(...rows)
    if (pendingRows.length >= opts.batchSize || pendingDelete.length >= 1000) await flush()
  }

  /** A changed window, its source rows converted and hashed, not yet decided. */
  interface Changed {
    w: KeyWindow
    digest: string
    known: boolean
    partition: string | undefined
    /** Every key the window holds on either side, and the target's keys in it. */
    keys: Key[]
    targetKeys: Key[]
    written?: Map<Key, RowHash>
    /** Source rows now, converted, and their hashes. */
    transformed: Map<Key, Row>
    now: Map<Key, RowHash>
    /** Keys whose target row must be read to decide (the others are as written). */
    unsure: Key[]
    /** Backfilled alters: each row's source hash now, and as it was when written (windows.ts). */
    backfilled: boolean
    sourceNow: Map<Key, RowHash>
    sourceThen?: Map<Key, RowHash>
  }

  /** Reads a window's source rows into a Changed (undefined when its digest is unchanged). */
  async function prepare(
    w: KeyWindow,
    lower: Key | undefined,
    rows: Row[],
    partition: string | undefined,
  ): Promise<Changed | undefined> {
    result.windows++
    const rowHashes = rows.map((r) => sourceHasher.hash(r))
    const window = new ContentDigest()
    for (const h of rowHashes) window.add(h)
    const digest = window.toString()
    if (w.source === digest) return undefined
    const transformed = new Map<Key, Row>()
    const now = new Map<Key, RowHash>()
    const written = writtenByKey(w)
    const backfilled = hasBackfills(plan)
    // Each row's source hash now, and as it was when written: a row unchanged since is not
    // converted (nor hashed) again, and a backfill is not computed again (a model is called once per
    // change, and one whose floats differ between calls does not look changed).
    const sourceNow = new Map<Key, RowHash>()
    const sourceThen = sourceByKey(w)
    let toTransform: Row[] = []
    rows.forEach((r, i) => {
      const key = String(r[pk.name])
      const sh = rowHashes[i]
      sourceNow.set(key, sh)
      const before = sourceThen?.get(key)
      if (before && written?.has(key) && sameHash(sh, before)) now.set(key, written.get(key)!)
      else toTransform.push(r)
    })
    if (backfilled) {
      // A window an interrupted run copied is known only as a range: its rows' backfilled values are
      // taken from the target when every other value of the row comes out the same.
      if (!written && toTransform.length && canReuseBackfills(plan)) {
        const keys = toTransform.map((r) => String(r[pk.name]))
        const held = new Map<Key, Row>()
        for (let i = 0; i < keys.length; i += opts.batchSize)
          for (const r of await readRowsByKeys(
            {
              client,
              collection: opts.target,
              pk: targetPk,
              outputFields: ['*'],
              partition,
              readAfter: opts.readAfter,
            },
            keys.slice(i, i + opts.batchSize),
          ))
            held.set(String(r[targetPk.name]), r)
        const reuse = keys.map((k) => held.get(k))
        const candidates = await transformRows(plan, toTransform, { reuse })
        const still: Row[] = []
        toTransform.forEach((r, i) => {
          const h = targetHasher.hash(candidates[i])
          if (reuse[i] && sameHash(h, targetHasher.hash(reuse[i]!))) {
            transformed.set(keys[i], candidates[i])
            now.set(keys[i], h)
          } else still.push(r)
        })
        toTransform = still
      }
    }
    // A catch-up pass stops on request (its window not written: the next run's pass does it); a sweep never.
    const outs = await transformRows(plan, toTransform, {
      backfiller: opts.backfiller,
      signal: mode === 'catch-up' ? opts.signal : undefined,
    })
    for (let i = 0; i < toTransform.length; i++) {
      const r = toTransform[i]
      const out = outs[i]
      const bad = unstorableValue(plan, out)
      if (bad) {
        throw new MvmError(
          'MIGRATION_INVALID',
          `The row with key ${String(r[pk.name])} of '${opts.source}' (written during the alter) would store ${typeof bad.value === 'string' ? JSON.stringify(bad.value) : String(bad.value)} in field '${bad.field}': ${bad.why}`,
          {
            hint: 'Make the converter or backfill handle such values (or fix that row in the source), then run the migration again. The source is untouched.',
          },
        )
      }
      const key = String(out[targetPk.name])
      transformed.set(key, out)
      now.set(key, targetHasher.hash(out))
    }
    // The target's keys in this window: before the swap exactly those written to it; after it, the
    // ones among those written or now in the source (a key the application inserted into the new
    // collection since is its own write, to keep). Only a window copied by an interrupted run needs
    // a range query (on Milvus Lite each one scans the collection).
    let targetKeys: Key[]
    if (written && mode === 'catch-up') targetKeys = [...written.keys()]
    else if (written) targetKeys = [...new Set([...written.keys(), ...transformed.keys()])]
    else
      targetKeys = await keysInRange(
        client,
        opts.target,
        targetPk,
        partition,
        lower,
        w.upper,
        mode === 'sweep' ? 'strong' : opts.readAfter,
      )
    const keys = [...new Set([...targetKeys, ...transformed.keys(), ...now.keys()])]
    // Before the swap nobody else writes to the target: it holds what was written. After it, only
    // keys whose old row changed since it was written need the new collection's row: for the
    // others, whatever the new collection holds is as new as it gets.
    const unsure =
      mode === 'catch-up' && written ? [] : keys.filter((k) => !written || !sameHash(now.get(k), written.get(k)))
    return {
      w,
      digest,
      known: w.source !== undefined,
      partition,
      keys,
      targetKeys,
      written,
      transformed,
      now,
      unsure,
      backfilled,
      sourceNow,
      sourceThen,
    }
  }

  /**
   * Decides each key of a changed window from the target's rows as read (`held`, for its unsure
   * keys) and records the window as written. Returns the rows to write and the keys to delete.
   */
  function decide(c: Changed, held: Map<Key, RowHash>): { write: Row[]; remove: Key[]; replace: Key[] } {
    const { written, now } = c
    const keep = written ?? new Map<Key, RowHash>()
    const read = new Set(c.unsure)
    // Keys read and not found are not in the target (deleted there since, or never written);
    // those not read are unchanged in the old collection: taken as they were written.
    const targetSet = new Set(c.targetKeys.filter((k) => (read.has(k) ? held.has(k) : written?.has(k))))
    const holds = (k: Key) => (read.has(k) ? held.get(k) : written?.get(k))
    const conflictsBefore = result.conflicts.length
    const write: Row[] = []
    const remove: Key[] = []
    const replace: Key[] = []
    // Keys left as they were written (the sweep's conflicts and newer writes): their old source hash stays.
    const leftAsWritten = new Set<Key>()
    for (const k of c.keys) {
      const s = now.get(k)
      const t = targetSet.has(k) ? holds(k) : undefined
      if (sameHash(s, t)) {
        if (s) keep.set(k, s)
        continue
      }
      if (mode === 'sweep') {
        const wv = written?.get(k)
        const targetUntouched = written !== undefined && sameHash(t, wv)
        if (!targetUntouched) {
          // The application wrote this key in the new collection since the swap: if the old side
          // did not change it either, the new collection is simply newer; otherwise both changed.
          if (!(written !== undefined && sameHash(s, wv))) result.conflicts.push(k)
          leftAsWritten.add(k)
          continue
        }
      }
      if (s) {
        write.push(c.transformed.get(k)!)
        if (targetSet.has(k)) replace.push(k)
        keep.set(k, s)
      } else {
        remove.push(k)
        keep.delete(k)
      }
    }
    // A window known only as a range (copied by an interrupted run) counts when something in it differed.
    if (c.known || remove.length || write.length || result.conflicts.length > conflictsBefore) result.windowsChanged++
    result.rowsDeleted += remove.length
    c.w.source = c.digest
    const sources = new Map<Key, RowHash>()
    for (const k of keep.keys()) {
      const h = leftAsWritten.has(k) ? c.sourceThen?.get(k) : (c.sourceNow.get(k) ?? c.sourceThen?.get(k))
      if (h) sources.set(k, h)
    }
    setWritten(c.w, keep, keyComparator(targetPk), sources)
    return { write, remove, replace }
  }

  /** The target's rows for these keys, by hash: read strongly after the swap (see settle). */
  async function readHeld(partition: string | undefined, keys: Key[], after: ReadAfter | undefined) {
    const held = new Map<Key, RowHash>()
    for (let i = 0; i < keys.length; i += opts.batchSize) {
      const got = await readRowsByKeys(
        { client, collection: opts.target, pk: targetPk, outputFields: ['*'], partition, readAfter: after },
        keys.slice(i, i + opts.batchSize),
      )
      for (const r of got) held.set(String(r[targetPk.name]), targetHasher.hash(r))
    }
    return held
  }

  /** Before the swap: each changed window decided at once, its writes gathered over windows. */
  async function reconcile(w: KeyWindow, lower: Key | undefined, rows: Row[], partition: string | undefined) {
    const c = await prepare(w, lower, rows, partition)
    if (!c) return
    if (mode === 'sweep') return defer(c)
    const held = c.unsure.length ? await readHeld(partition, c.unsure, opts.readAfter) : c.written!
    const d = decide(c, held)
    await writeRows(partition, d.write, [...d.remove, ...d.replace])
  }

  // After the swap the new collection is live and there is no compare-and-set in Milvus: a decision
  // must rest on a read of the new collection that sees every write acknowledged before it (a
  // strong read: a read after an older timestamp may miss an upsert the application just made, and
  // the sweep would write an older value over it), and be written at once after that read. So the
  // sweep gathers changed windows until a page of unsure keys, reads their new rows in one strong
  // query, and writes its decisions straight after: the race with the application is one query and
  // one write long, and a strong read (a time tick on Milvus 2.3) is paid per page, not per window.
  let deferred: Changed[] = []
  let deferredKeys = 0

  async function defer(c: Changed): Promise<void> {
    if (!c.unsure.length) {
      decide(c, new Map())
      return
    }
    if (deferred.length && deferred[0].partition !== c.partition) await settle()
    // Only unsure keys can be written (the others are as written on both sides): the rest of the
    // window's rows are not kept while it waits.
    const unsure = new Set(c.unsure)
    for (const k of c.transformed.keys()) if (!unsure.has(k)) c.transformed.delete(k)
    deferred.push(c)
    deferredKeys += c.unsure.length
    if (deferredKeys >= opts.batchSize) await settle()
  }

  async function settle(): Promise<void> {
    if (!deferred.length) return
    const batch = deferred
    deferred = []
    deferredKeys = 0
    const partition = batch[0].partition
    const held = await readHeld(
      partition,
      batch.flatMap((c) => c.unsure),
      'strong',
    )
    const write: Row[] = []
    const remove: Key[] = []
    for (const c of batch) {
      const d = decide(c, held)
      write.push(...d.write)
      remove.push(...d.remove)
    }
    if (remove.length >= MANY_DELETES) await opts.beforeManyDeletes?.(remove.length)
    for (const r of write) for (const f of functionOutputs) delete r[f]
    if (opts.autoIdTarget) {
      // An auto_id target keeps the source's keys only through insert: a replaced key is deleted first.
      const replaced = write.map((r) => String(r[targetPk.name]))
      if (remove.length || replaced.length) await deleteKeys(partition, [...remove, ...replaced])
      if (write.length) await insertRows(client, opts.target, write, partition, opts.floatVectors)
    } else {
      if (write.length) await upsertRows(client, opts.target, write, partition)
      if (remove.length) await deleteKeys(partition, remove)
    }
    result.rowsWritten += write.length
    failpoint(`alter:${mode}-window`)
  }

  for (let p = 0; p < opts.partitions.length; p++) {
    const partition = opts.partitions[p]
    const upTo = opts.readUpTo?.[p]
    if (upTo === 'none') continue
    let ws = windows.of(p)
    let wi = 0
    let buffer: Row[] = []
    // The last window to judge: the one holding upTo's key (undefined: the last window, to the end).
    const lastUpper =
      typeof upTo === 'object' ? ws.find((w) => w.upper === undefined || cmp(upTo.key, w.upper) <= 0)?.upper : undefined
    const beyond = (key: Key) => lastUpper !== undefined && cmp(key, lastUpper) > 0
    const lowerOf = (i: number) => (i === 0 ? undefined : ws[i - 1].upper)
    const finish = async () => {
      await reconcile(ws[wi], lowerOf(wi), buffer, partition)
      buffer = []
      wi++
    }
    const listings: KeyListing[] = []
    result.listings[p] = listings
    const pages = readPages({
      client,
      collection: opts.source,
      pk,
      outputFields: ['*'],
      partition,
      batchSize: opts.batchSize,
      readAfter: opts.readAfter,
      typedVectors: opts.typedVectors,
      window: opts.keyWindow,
      onKeyWindow: (l) => listings.push(l),
    })
    let reachedBound = false
    for await (const page of pages) {
      for (const row of page.rows) {
        const key = String(row[pk.name])
        if (beyond(key)) {
          reachedBound = true
          break
        }
        while (ws[wi].upper !== undefined && cmp(key, ws[wi].upper!) > 0) await finish()
        buffer.push(row)
        result.sourceKeys.add(key)
        result.rowsRead++
        if (key === INT64_MAX) result.sawInt64Max = true
        // A window known only as a range (an interrupted run copied it): split into pages as it is read.
        if (ws[wi].source === undefined && buffer.length >= opts.batchSize) {
          const part: KeyWindow = { partition: p, upper: key }
          windows.split(ws[wi], [part, ws[wi]])
          ws = windows.of(p)
          await finish()
        }
      }
      await failpointDelay(`alter:${mode}-page`)
      // Never the sweep: it runs after the swap, and the next run cannot tell where it stopped.
      if (mode === 'catch-up') stopIfAborted(opts.signal, () => 'a catch-up pass stopped after a page')
      if (reachedBound) break
    }
    // Every window up to the bound is judged, those the read found empty too.
    while (
      wi < ws.length &&
      (lastUpper === undefined || (ws[wi].upper !== undefined && cmp(ws[wi].upper!, lastUpper) <= 0))
    )
      await finish()
    await flush()
    await settle()
  }
  result.durationMs = Date.now() - started
  return result
}

/**
 * `verify: 'full'` of an online alter: every row of the target, read back, is what the copy (and
 * the passes) wrote, by value. Nothing is read from the source again (it keeps changing), and no
 * converter or backfill runs twice.
 */
export async function verifyWritten(opts: PassOptions): Promise<void> {
  const targetPk = primaryKeyOf(opts.plan.target)!
  const hasher = new RowHasher(opts.plan.target.fields)
  for (let p = 0; p < opts.partitions.length; p++) {
    for (const w of opts.windows.of(p)) {
      const written = writtenByKey(w)
      if (!written) continue
      const keys = [...written.keys()]
      for (let i = 0; i < keys.length; i += opts.batchSize) {
        const page = keys.slice(i, i + opts.batchSize)
        const rows = await readRowsByKeys(
          {
            client: opts.client,
            collection: opts.target,
            pk: targetPk,
            outputFields: ['*'],
            partition: opts.partitions[p],
            readAfter: opts.readAfter,
          },
          page,
        )
        const found = new Map(rows.map((r) => [String(r[targetPk.name]), r]))
        for (const k of page) {
          const r = found.get(k)
          if (!r || !sameHash(hasher.hash(r), written.get(k))) {
            throw new MvmError(
              'MIGRATION_FAILED',
              `Verification (full) failed: the row with key ${k} in '${opts.target}' ${r ? 'differs from what the copy wrote' : 'is missing'}; the copy was dropped and the source is untouched`,
              { hint: 'Run the migration again; report this if it repeats.' },
            )
          }
        }
      }
    }
  }
}

/**
 * `verify: 'full'`, second half: the transform reproduces. The source rows of every window that did
 * not change since it was last copied are transformed again and must equal what was written (a
 * converter that is not deterministic fails here, as offline). Windows changed since are skipped:
 * writers are still writing them, and the sweep after the swap judges them.
 */
export async function verifyTransforms(opts: PassOptions): Promise<void> {
  const { plan } = opts
  const pk = primaryKeyOf(plan.source)!
  const targetPk = primaryKeyOf(plan.target)!
  const cmp = keyComparator(pk)
  const sourceHasher = new RowHasher(plan.source.fields)
  const targetHasher = new RowHasher(plan.target.fields)
  const differs = rowComparer(plan.target.fields)
  // Backfilled fields are not computed again (verifyWritten compared them with what the copy wrote):
  // each row takes them from the target, and every other value is transformed and compared.
  const backfilled = hasBackfills(plan)
  async function check(w: KeyWindow, rows: Row[], partition: string | undefined) {
    const written = writtenByKey(w)
    if (!written || w.source === undefined || w.source !== digestOf(rows, sourceHasher)) return
    let reuse: (Row | undefined)[] | undefined
    if (backfilled) {
      const keys = rows.map((r) => String(r[pk.name]))
      const held = new Map<Key, Row>()
      for (let i = 0; i < keys.length; i += opts.batchSize)
        for (const r of await readRowsByKeys(
          {
            client: opts.client,
            collection: opts.target,
            pk: targetPk,
            outputFields: ['*'],
            partition,
            readAfter: opts.readAfter,
          },
          keys.slice(i, i + opts.batchSize),
        ))
          held.set(String(r[targetPk.name]), r)
      reuse = keys.map((k) => held.get(k))
      const missing = keys.find((k) => !held.has(k))
      if (missing !== undefined)
        throw new MvmError(
          'MIGRATION_FAILED',
          `Verification (full) failed: the row with key ${missing} in '${opts.target}' is missing; the copy was dropped and the source is untouched`,
          { hint: 'Run the migration again; report this if it repeats.' },
        )
    }
    const outs = await transformRows(plan, rows, { reuse })
    for (const out of outs) {
      const key = String(out[targetPk.name])
      if (sameHash(targetHasher.hash(out), written.get(key))) continue
      const [actual] = await readRowsByKeys(
        { client: opts.client, collection: opts.target, pk: targetPk, outputFields: ['*'], partition },
        [key],
      )
      throw new MvmError(
        'MIGRATION_FAILED',
        `Verification (full) failed: the row with key ${key} in '${opts.target}' differs from the transformed source row (${actual ? (differs(out, actual) ?? 'by value') : 'the row is missing'}); the copy was dropped and the source is untouched`,
        {
          hint: 'A transform that is not deterministic (random values, the clock) cannot be verified in full; use the default verification, or make it deterministic.',
        },
      )
    }
  }
  for (let p = 0; p < opts.partitions.length; p++) {
    const partition = opts.partitions[p]
    const ws = opts.windows.of(p)
    let wi = 0
    let buffer: Row[] = []
    const finish = async () => {
      await check(ws[wi], buffer, partition)
      buffer = []
      wi++
    }
    for await (const page of readPages({
      client: opts.client,
      collection: opts.source,
      pk,
      outputFields: ['*'],
      partition,
      batchSize: opts.batchSize,
      readAfter: opts.readAfter,
    })) {
      for (const row of page.rows) {
        const key = String(row[pk.name])
        while (wi < ws.length - 1 && ws[wi].upper !== undefined && cmp(key, ws[wi].upper!) > 0) await finish()
        buffer.push(row)
      }
    }
    while (wi < ws.length) await finish()
  }
}

/** Whether an alter can catch up with writers: keys must match one to one across it. */
export function catchUpProblem(plan: AlterPlan, newIds: boolean): string | undefined {
  if (newIds) return 'the alter gives rows new primary keys (newIds)'
  if (changesPrimaryKey(plan)) return 'the alter changes the primary key'
  return undefined
}
