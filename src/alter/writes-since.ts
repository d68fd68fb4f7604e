import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import type { JournalEntry } from '../ledger/journal'
import { countRows, dropProperties, ensureLoaded, flush, listPartitions, setProperties } from '../milvus/collections'
import { describeCollectionSpec } from '../milvus/describe'
import { deleteRows, insertRows } from '../milvus/rows'
import { type CollectionSpec, type FieldSpec, primaryKeyOf } from '../schema/spec'
import type { Row } from './builder'
import { backConverter } from './convert-back'
import { type Key, keyComparator, keyLiteral } from './keys'
import { readKeyWindows, readPages, readRowsByKeys } from './pager'
import { ContentDigest, RowHasher } from './content'
import { openDataClient } from '../milvus/data-client'
import type { AlterPlan } from './types'
import { transformRow } from './values'
import { keyDigest, rowComparer } from './verify'

/**
 * Rows written to an altered collection after its alter: what `down` must not silently leave
 * behind. At the swap the journal recorded the altered collection's row count and key digest; if
 * they still match (and values are not asked for) nothing was written. Otherwise the altered
 * collection's keys are merged with the backup's (both read in key order, keys only): keys only in
 * the altered collection were inserted since, keys only in the backup were deleted since. With
 * `verify: 'full'` rows in both are compared too: the backup row transformed as the alter did,
 * against the altered row.
 */
export interface WritesReport {
  /** The name the migration altered. */
  name: string
  /** The collection holding the alter's result now. */
  collection: string
  backup: string
  rowsAtSwap?: number
  rowsNow: number
  inserted: number
  deleted: number
  /** Rows whose values changed (only with verify 'full'). */
  changed?: number
  /** False when keys cannot be matched across the alter (new ids, a retyped primary key). */
  matchable: boolean
  /**
   * True when the altered collection's values differ from what the alter left (its content digest)
   * though no changed row could be named (the alter could not be planned again to compare rows).
   */
  contentChanged?: boolean
  /** 'content': values compared by digest (and rows, when they differ); 'keys': keys only (an alter recorded before content digests); 'full': every row compared. */
  checked: 'keys' | 'content' | 'full'
  examples: { inserted: Key[]; deleted: Key[]; changed: Key[] }
}

export function hasWrites(r: WritesReport): boolean {
  return (
    r.inserted + r.deleted + (r.changed ?? 0) > 0 || !!r.contentChanged || (!r.matchable && r.rowsNow !== r.rowsAtSwap)
  )
}

export function describeWrites(r: WritesReport): string {
  if (!r.matchable && r.contentChanged)
    return `'${r.collection}' was written since the alter (${r.rowsNow} rows now, ${r.rowsAtSwap ?? 'an unknown number'} at the alter, and its rows differ from what the alter left), and its keys cannot be matched with the backup's to name or carry the rows`
  if (r.contentChanged && !r.inserted && !r.deleted)
    return `values of rows of '${r.collection}' changed since the alter (upserts; which rows could not be named: the alter could not be planned again)`
  if (!r.matchable)
    return `'${r.collection}' has ${r.rowsNow} rows, ${r.rowsAtSwap ?? 'an unknown number'} at the alter, and its keys cannot be matched with the backup's`
  const parts = [
    `${r.inserted} inserted`,
    `${r.deleted} deleted`,
    ...(r.changed !== undefined ? [`${r.changed} changed`] : []),
  ]
  const ex = [
    ...r.examples.inserted.map((k) => `+${k}`),
    ...r.examples.deleted.map((k) => `-${k}`),
    ...r.examples.changed.map((k) => `~${k}`),
  ].slice(0, 6)
  return `${r.inserted + r.deleted + (r.changed ?? 0)} row(s) of '${r.collection}' written since the alter (${parts.join(', ')}${ex.length ? `; keys ${ex.join(' ')}` : ''})`
}

/** A cursor over keys read window by window, in key order. */
class KeyCursor {
  private buf: Key[] = []
  private i = 0
  private done = false
  constructor(private readonly windows: AsyncIterator<Key[]>) {}
  async peek(): Promise<Key | undefined> {
    while (this.i >= this.buf.length) {
      if (this.done) return undefined
      const n = await this.windows.next()
      if (n.done) {
        this.done = true
        return undefined
      }
      this.buf = n.value
      this.i = 0
    }
    return this.buf[this.i]
  }
  advance(): void {
    this.i++
  }
}

export interface KeyDiff {
  onlyAltered: Key[]
  onlyBackup: Key[]
  both: Key[]
}

/** Merges the key sets of two collections (same primary-key type), in batches of about `batch` keys. */
export async function* diffKeys(
  client: MilvusClient,
  altered: { collection: string; pk: FieldSpec },
  backup: { collection: string; pk: FieldSpec },
  batch = 4096,
): AsyncGenerator<KeyDiff> {
  const cmp = keyComparator(altered.pk)
  const a = new KeyCursor(
    readKeyWindows({ client, collection: altered.collection, pk: altered.pk })[Symbol.asyncIterator](),
  )
  const b = new KeyCursor(
    readKeyWindows({ client, collection: backup.collection, pk: backup.pk })[Symbol.asyncIterator](),
  )
  let out: KeyDiff = { onlyAltered: [], onlyBackup: [], both: [] }
  const size = () => out.onlyAltered.length + out.onlyBackup.length + out.both.length
  for (;;) {
    const [x, y] = [await a.peek(), await b.peek()]
    if (x === undefined && y === undefined) break
    const c = x === undefined ? 1 : y === undefined ? -1 : cmp(x, y)
    if (c < 0) {
      out.onlyAltered.push(x!)
      a.advance()
    } else if (c > 0) {
      out.onlyBackup.push(y!)
      b.advance()
    } else {
      out.both.push(x!)
      a.advance()
      b.advance()
    }
    if (size() >= batch) {
      yield out
      out = { onlyAltered: [], onlyBackup: [], both: [] }
    }
  }
  if (size()) yield out
}

/** Keys in `both` whose altered row differs from the backup row transformed by the alter's plan. */
async function changedKeys(
  client: MilvusClient,
  keys: Key[],
  altered: CollectionSpec,
  alteredName: string,
  backup: CollectionSpec,
  backupName: string,
  plan: AlterPlan,
): Promise<Key[]> {
  if (!keys.length) return []
  const apk = primaryKeyOf(altered)!
  const bpk = primaryKeyOf(backup)!
  const differs = rowComparer(altered.fields)
  const now = new Map(
    (await readRowsByKeys({ client, collection: alteredName, pk: apk, outputFields: ['*'] }, keys)).map((r) => [
      String(r[apk.name]),
      r,
    ]),
  )
  const then = await readRowsByKeys({ client, collection: backupName, pk: bpk, outputFields: ['*'] }, keys)
  // A model (a batched backfill) is not called for every row again: its fields are taken as they
  // are now, and a row differs when any other value does.
  const model = [...plan.fields.values()].some((s) => s.backfillSpec?.batchSize !== undefined)
  const out: Key[] = []
  for (const r of then) {
    const key = String(r[bpk.name])
    const actual = now.get(key)
    if (actual && differs(await transformRow(plan, r, model ? { reused: actual } : {}), actual)) out.push(key)
  }
  return out
}

export interface WritesCheckOptions {
  verify?: 'count' | 'full'
  /** The alter's plan against the backup's schema (needed for verify 'full'). */
  plan?: AlterPlan
  /**
   * The plan, found only when values differ (planning a migration's up() again can fail, e.g. one
   * that creates the collection it alters); undefined or a failure: changed rows are detected, not named.
   */
  planIfNeeded?: () => Promise<AlterPlan | undefined>
}

/** The altered collection of a done alter, and whether its keys can be matched with the backup's. */
async function sides(client: MilvusClient, entry: JournalEntry, alteredName: string) {
  await ensureLoaded(client, alteredName)
  await ensureLoaded(client, entry.backup)
  const altered = await describeCollectionSpec(client, alteredName)
  const backup = await describeCollectionSpec(client, entry.backup)
  const apk = primaryKeyOf(altered)!
  const bpk = primaryKeyOf(backup)!
  return { altered, backup, apk, bpk, matchable: !entry.newIds && !entry.keysChanged && apk.type === bpk.type }
}

export async function writesSinceAlter(
  client: MilvusClient,
  entry: JournalEntry,
  alteredName: string,
  opts: WritesCheckOptions = {},
): Promise<WritesReport> {
  const full = opts.verify === 'full'
  const { altered, backup, apk, bpk, matchable } = await sides(client, entry, alteredName)
  const report: WritesReport = {
    name: entry.name,
    collection: alteredName,
    backup: entry.backup,
    rowsAtSwap: entry.swappedRows,
    rowsNow: 0,
    inserted: 0,
    deleted: 0,
    ...(full ? { changed: 0 } : {}),
    matchable,
    checked: full ? 'full' : 'keys',
    examples: { inserted: [], deleted: [], changed: [] },
  }
  await flush(client, alteredName)
  report.rowsNow = await countRows(client, alteredName)
  // Values, not only keys: an upsert that changed only values is a write (DESIGN.md, promise 10).
  let compareValues = full
  if (entry.swappedContent) {
    if (!full) report.checked = 'content'
    if ((await contentDigest(client, alteredName, altered)) === entry.swappedContent) return report
    // Written since (inserts, upserts or deletes), and rows cannot be matched with the backup's to name them.
    if (!matchable) {
      report.contentChanged = true
      return report
    }
    opts = { ...opts, plan: opts.plan ?? (await opts.planIfNeeded?.().catch(() => undefined)) }
    compareValues = !!opts.plan
    if (!opts.plan) report.contentChanged = true
  } else if (entry.swappedKeys && !full) {
    const now = await keyDigest(client, alteredName, apk)
    if (now.toString() === entry.swappedKeys) return report
    if (!matchable) {
      report.contentChanged = true
      return report
    }
  } else if (!matchable) return report // only its row count to go on (hasWrites compares it)
  if (full && !opts.plan)
    throw new MvmError('INTERNAL', `verify 'full' of the alter of '${entry.name}' needs the alter's plan`)
  if (compareValues) report.changed = 0
  for await (const d of diffKeys(client, { collection: alteredName, pk: apk }, { collection: entry.backup, pk: bpk })) {
    report.inserted += d.onlyAltered.length
    report.deleted += d.onlyBackup.length
    report.examples.inserted.push(...d.onlyAltered.slice(0, 3 - report.examples.inserted.length))
    report.examples.deleted.push(...d.onlyBackup.slice(0, 3 - report.examples.deleted.length))
    if (compareValues) {
      const changed = await changedKeys(client, d.both, altered, alteredName, backup, entry.backup, opts.plan!)
      report.changed! += changed.length
      report.examples.changed.push(...changed.slice(0, 3 - report.examples.changed.length))
    }
  }
  if (compareValues && report.changed) report.contentChanged = undefined
  return report
}

/** Digest of every row of a collection by value (alter/content.ts), read over the bulk connection. */
export async function contentDigest(client: MilvusClient, collection: string, spec: CollectionSpec): Promise<string> {
  const hasher = new RowHasher(spec.fields)
  const digest = new ContentDigest()
  const data = await openDataClient(client)
  try {
    for await (const page of readPages({
      client: data.client,
      collection,
      pk: primaryKeyOf(spec)!,
      outputFields: ['*'],
      batchSize: 500,
    }))
      for (const r of page.rows) digest.add(hasher.hash(r))
  } finally {
    await data.close()
  }
  return digest.toString()
}

/**
 * `down --carry-writes`: copies the rows written since the alter back into the backup (converted
 * back), deletes there the keys deleted since, then proves the backup holds exactly the altered
 * collection's keys. Every row is converted before anything is written, so a row that does not
 * convert changes nothing. Idempotent: a rerun after a crash finds only what is left to carry.
 */
export async function carryWrites(
  client: MilvusClient,
  entry: JournalEntry,
  alteredName: string,
  opts: WritesCheckOptions = {},
): Promise<{ carried: number; deleted: number }> {
  const { altered, backup, apk, bpk, matchable } = await sides(client, entry, alteredName)
  if (!matchable) {
    throw new MvmError(
      'WRITES_SINCE_ALTER',
      `cannot carry writes of '${alteredName}' back: ${entry.newIds ? 'the alter gave its rows new primary keys' : apk.type !== bpk.type ? 'the alter changed the primary key type' : "the alter changed the primary key's values"}, so its rows cannot be matched with the backup's`,
      {
        hint: 'Nothing was changed. Roll back with {{discardWrites}} (the rows stay in the leftover collection), or write a down() that alters back with ctx.alter.',
      },
    )
  }
  // Changed values are carried too: found by comparing rows, which needs the alter's plan.
  if (
    entry.swappedContent &&
    !opts.plan &&
    (await contentDigest(client, alteredName, altered)) !== entry.swappedContent
  )
    opts = { ...opts, plan: await opts.planIfNeeded?.().catch(() => undefined) }
  const full = opts.verify === 'full' || !!opts.plan
  if (entry.swappedContent && !opts.plan) {
    const now = await contentDigest(client, alteredName, altered)
    if (now !== entry.swappedContent)
      throw new MvmError(
        'WRITES_SINCE_ALTER',
        `cannot carry writes of '${alteredName}' back: values of its rows changed since the alter, and the alter could not be planned again to tell which`,
        {
          hint: 'Nothing was changed. Roll back with {{discardWrites}} (the rows stay in the leftover collection), or write a down() that alters back with ctx.alter.',
        },
      )
  }
  const convert = backConverter(
    entry.fieldMap ?? Object.fromEntries(altered.fields.map((f) => [f.name, f.name])),
    altered,
    backup,
  )
  const partitions =
    backup.partitions.length && !backup.fields.some((f) => f.partitionKey)
      ? (await listPartitions(client, alteredName)).filter((p) => p !== '_default')
      : []
  const inList = (pk: FieldSpec, keys: Key[]) => `${pk.name} in [${keys.map((k) => keyLiteral(pk, k)).join(', ')}]`

  /** The rows to carry of one diff batch, converted, grouped by the partition they are in; and the changed keys among them. */
  const converted = async (d: KeyDiff): Promise<{ groups: Map<string | undefined, Row[]>; changed: Key[] }> => {
    const changed = full
      ? await changedKeys(client, d.both, altered, alteredName, backup, entry.backup, opts.plan!)
      : []
    const keys = [...d.onlyAltered, ...changed]
    const byPartition = new Map<string | undefined, Row[]>()
    if (!keys.length) return { groups: byPartition, changed }
    const seen = new Set<Key>()
    for (const p of partitions) {
      const rows = await readRowsByKeys(
        { client, collection: alteredName, pk: apk, outputFields: ['*'], partition: p },
        keys,
      )
      rows.forEach((r) => seen.add(String(r[apk.name])))
      if (rows.length) byPartition.set(p, rows.map(convert))
    }
    const rest = (await readRowsByKeys({ client, collection: alteredName, pk: apk, outputFields: ['*'] }, keys)).filter(
      (r) => !seen.has(String(r[apk.name])),
    )
    if (rest.length) byPartition.set(undefined, rest.map(convert))
    return { groups: byPartition, changed }
  }

  // 1. Convert everything first: a row that does not fit stops here, with nothing written.
  for await (const d of diffKeys(client, { collection: alteredName, pk: apk }, { collection: entry.backup, pk: bpk }))
    await converted(d)

  // 2. Write. Keys are kept, also in an auto_id backup (allow_insert_auto_id, as the copy does).
  const autoId = !!bpk.autoId
  if (autoId) await setProperties(client, entry.backup, { allow_insert_auto_id: 'true' })
  let carried = 0
  let deleted = 0
  try {
    for await (const d of diffKeys(
      client,
      { collection: alteredName, pk: apk },
      { collection: entry.backup, pk: bpk },
    )) {
      const { groups, changed } = await converted(d)
      if (changed.length) await deleteRows(client, entry.backup, inList(bpk, changed))
      for (const [partition, rows] of groups) {
        const res = await insertRows(client, entry.backup, rows, partition)
        const sent = rows.map((r) => String(r[bpk.name]))
        if (res.ids.length && res.ids.join(',') !== sent.join(',')) {
          await deleteRows(client, entry.backup, inList(bpk, res.ids))
          throw new MvmError(
            'UNSUPPORTED_BY_SERVER',
            `cannot carry writes back into '${entry.backup}': the server gave the rows new primary keys instead of keeping them (auto_id)`,
            {
              hint: 'The rows it stored were deleted again; nothing else changed. Roll back with {{discardWrites}}, or write a down() that alters back with ctx.alter.',
            },
          )
        }
        carried += rows.length
      }
      if (d.onlyBackup.length) {
        await deleteRows(client, entry.backup, inList(bpk, d.onlyBackup))
        deleted += d.onlyBackup.length
      }
    }
  } finally {
    if (autoId) await dropProperties(client, entry.backup, ['allow_insert_auto_id']).catch(() => undefined)
  }
  // 3. Prove it: the backup now holds exactly the altered collection's keys.
  await flush(client, entry.backup)
  const [a, b] = [await keyDigest(client, alteredName, apk), await keyDigest(client, entry.backup, bpk)]
  if (a.toString() !== b.toString()) {
    throw new MvmError(
      'MIGRATION_FAILED',
      `after carrying writes back, '${entry.backup}' holds ${b.count} rows and '${alteredName}' ${a.count}, with different keys; nothing was swapped`,
      {
        hint: 'Stop writers to the collection while rolling back, then roll back with {{carryWrites}} again (it carries only what is still missing).',
      },
    )
  }
  return { carried, deleted }
}
