import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import type { Journal, JournalEntry } from '../ledger/journal'
import {
  countRows,
  dropCollection,
  isLoaded,
  listCollectionNames,
  loadCollection,
  releaseCollection,
  resolveName,
  statisticsRowCount,
  unlessGone,
} from '../milvus/collections'
import { describeCollectionSpec } from '../milvus/describe'
import { primaryKeyOf } from '../schema/spec'
import { type LeftoverKind, parseAlterName } from './names'
import { diffKeys } from './writes-since'
import { canonicalJson } from './content'
import { readRowsByKeys } from './pager'
import type { FieldSpec } from '../schema/spec'

/**
 * Collections alters leave behind: kept backups, altered collections a `down` set aside (rows
 * written after the alter may live only there), and partial copies of an interrupted alter.
 * `status` lists them with their row counts; `prune` drops them, but never one holding rows that
 * exist nowhere else unless told to discard them.
 */
export interface LeftoverCollection {
  collection: string
  kind: LeftoverKind
  /** The migration version and the altered name it belongs to. */
  version: string
  of: string
  /** Row count: exact when the collection is loaded, else the server's statistics (approximate). */
  rows: number | null
  rowsApproximate?: boolean
  /**
   * For a set-aside altered collection: how many of its rows (by primary key) are not in the
   * collection `of` resolves to. null when unknown (not loaded). Not for a partial copy: every row
   * of it was copied from the source, and nothing else writes to it.
   */
  uniqueRows?: number | null
}

/**
 * Rows of `collection` that exist nowhere else: keys not in the collection `of` resolves to (all of
 * them when that is gone), and rows of keys in both whose values differ (an upsert made after the
 * alter lives only here). Values are compared on the fields the two schemas share, each read as its
 * own type (a widened Int32 -> Int64 holds the same number).
 */
async function uniqueRows(
  client: MilvusClient,
  collection: string,
  of: string,
  rows: number,
  fieldMap: Record<string, string | null> | undefined,
  onLoad?: (collection: string) => void,
): Promise<number> {
  const live = await resolveName(client, of)
  if (!live) return rows
  if (!(await isLoaded(client, live.collection))) {
    await loadCollection(client, live.collection)
    onLoad?.(live.collection)
  }
  const mineSpec = await describeCollectionSpec(client, collection)
  const theirsSpec = await describeCollectionSpec(client, live.collection)
  const mine = primaryKeyOf(mineSpec)!
  const theirs = primaryKeyOf(theirsSpec)!
  if (mine.type !== theirs.type) return rows // keys cannot be matched: every row counts as its own
  // Field of this collection -> field of the live one holding the same value (renames followed).
  const pairs = mineSpec.fields
    .filter((f) => !f.functionOutput)
    .map((f) => [f, theirsSpec.fields.find((t) => t.name === (fieldMap ? fieldMap[f.name] : f.name))] as const)
    .filter((p): p is readonly [FieldSpec, FieldSpec] => !!p[1] && !p[1].functionOutput)
  let n = 0
  for await (const d of diffKeys(client, { collection, pk: mine }, { collection: live.collection, pk: theirs })) {
    n += d.onlyAltered.length
    if (!d.both.length) continue
    const read = (name: string, pk: FieldSpec) =>
      readRowsByKeys({ client, collection: name, pk, outputFields: ['*'] }, d.both)
    const here = await read(collection, mine)
    const there = new Map((await read(live.collection, theirs)).map((r) => [String(r[theirs.name]), r]))
    for (const r of here) {
      const other = there.get(String(r[mine.name]))
      if (other && pairs.some(([a, b]) => looseText(a, r[a.name]) !== looseText(b, other[b.name]))) n++
    }
  }
  return n
}

/** A value as text that stays the same across the conversions an alter makes (widening, to and from text). */
function looseText(field: FieldSpec, v: unknown): string {
  if (v === null || v === undefined) return ''
  if (field.type === 'Float') return String(Math.fround(Number(v)))
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || typeof v === 'string')
    return String(v)
  if (field.type === 'FloatVector' && (Array.isArray(v) || v instanceof Float32Array))
    return Array.from(v as ArrayLike<number>, (x) => Math.fround(x)).join(',')
  return canonicalJson(v)
}

export interface FindOptions {
  /** Load a leftover that is not loaded, to count it exactly (prune does; status does not change load states). */
  load?: boolean
  /** Told of every collection loaded to count it (prune --dry-run releases them again). */
  onLoad?: (collection: string) => void
}

export async function findLeftovers(
  client: MilvusClient,
  journal: Journal | JournalEntry[],
  opts: FindOptions = {},
): Promise<LeftoverCollection[]> {
  // The journal's entries when the caller has just read them (status reads them once for all it shows).
  const entries = Array.isArray(journal) ? journal : await journal.list()
  const names = new Set(await listCollectionNames(client))
  const found = new Map<string, Omit<LeftoverCollection, 'rows'>>()
  const held = new Map<string, number | null>()
  // How a set-aside altered collection's fields map onto the restored one's (from its retired entry).
  const fieldMaps = new Map(entries.filter((j) => j.retired && j.undone).map((j) => [j.undone!, j.fieldMap]))
  // What `down` found only in it when it set it aside (recorded since; older entries are compared again).
  const onlyHere = new Map(
    entries
      .filter((j) => j.retired && j.undone && j.rowsOnlyHere !== undefined)
      .map((j) => [j.undone!, j.rowsOnlyHere!]),
  )
  for (const j of entries)
    if (j.state === 'done' && j.backup && names.has(j.backup)) {
      found.set(j.backup, { collection: j.backup, kind: 'backup', version: j.version, of: j.name })
      // An online alter's backup keeps the old side of conflicting writes (or of late writes an
      // interrupted sweep may have missed): those rows exist nowhere else.
      if (j.conflicts) held.set(j.backup, j.conflicts)
      else if (j.sweepIncomplete) held.set(j.backup, null)
    }
  for (const n of names) {
    const parsed = parseAlterName(n)
    if (parsed && parsed.kind !== 'backup' && !found.has(n)) found.set(n, { collection: n, ...parsed })
  }
  const out: LeftoverCollection[] = []
  for (const l of [...found.values()].sort((a, b) => a.collection.localeCompare(b.collection))) {
    // One gone since it was listed (a runner swapped its alter in, or pruned it) is left out.
    const item = await unlessGone(client, l.collection, () =>
      describeLeftover(client, l, opts, fieldMaps, onlyHere.get(l.collection)),
    )
    if (item && held.has(l.collection)) item.uniqueRows = held.get(l.collection)!
    if (item) out.push(item)
  }
  return out
}

async function describeLeftover(
  client: MilvusClient,
  l: Omit<LeftoverCollection, 'rows'>,
  opts: FindOptions,
  fieldMaps: Map<string, Record<string, string | null> | undefined>,
  /** Rows only in it as `down` recorded when it set it aside (an undone collection). */
  onlyHere?: number,
): Promise<LeftoverCollection> {
  let loaded = await isLoaded(client, l.collection)
  if (!loaded && opts.load) {
    loaded = await loadCollection(client, l.collection).then(
      () => true,
      () => false,
    )
    if (loaded) opts.onLoad?.(l.collection)
  }
  const rows = loaded
    ? await countRows(client, l.collection)
    : await statisticsRowCount(client, l.collection).catch(() => null)
  const item: LeftoverCollection = { ...l, rows, ...(loaded ? {} : { rowsApproximate: true }) }
  if (l.kind === 'undone')
    item.uniqueRows =
      onlyHere !== undefined
        ? onlyHere
        : loaded && rows !== null
          ? await uniqueRows(client, l.collection, l.of, rows, fieldMaps.get(l.collection), opts.onLoad)
          : null
  return item
}

/**
 * Drops leftovers (not partial copies of an alter still in the journal); refuses any holding unique
 * rows unless `discardWrites`. A dry run reaches the same verdict the same way (refusal included:
 * the same error), then releases what it loaded to count, and drops nothing.
 */
export async function pruneLeftovers(
  client: MilvusClient,
  journal: Journal,
  opts: { discardWrites?: boolean; dryRun?: boolean; onDrop?: (l: LeftoverCollection) => void } = {},
): Promise<LeftoverCollection[]> {
  const loadedHere: string[] = []
  let todo: LeftoverCollection[]
  try {
    const active = new Set(
      (await journal.list()).filter((j) => j.state !== 'done').flatMap((j) => [j.target, j.undone ?? '']),
    )
    todo = (
      await findLeftovers(client, journal, { load: true, onLoad: opts.dryRun ? (c) => loadedHere.push(c) : undefined })
    ).filter((l) => !active.has(l.collection))
  } finally {
    // A dry run leaves load states as it found them.
    for (const c of loadedHere) await unlessGone(client, c, () => releaseCollection(client, c))
  }
  const holding = todo.filter((l) => l.uniqueRows === null || (l.uniqueRows ?? 0) > 0)
  if (holding.length && !opts.discardWrites) {
    const what = holding
      .map(
        (l) =>
          `'${l.collection}' (${l.uniqueRows === null ? 'rows it cannot count' : `${l.uniqueRows} of its ${l.rows} rows exist nowhere else`})`,
      )
      .join(', ')
    throw new MvmError('WRITES_SINCE_ALTER', `prune would delete rows that exist nowhere else: ${what}`, {
      hint: 'Nothing was dropped. Copy the rows you need out of it first, or {{pruneDiscard}} to drop them anyway.',
      details: { holding },
    })
  }
  if (opts.dryRun) return todo
  const entries = await journal.list()
  for (const l of todo) {
    await dropCollection(client, l.collection)
    if (l.kind === 'backup') {
      const entry = entries.find((j) => j.backup === l.collection)
      if (entry) await journal.write({ ...entry, backup: '', backupPrunedAt: new Date().toISOString() })
    }
    opts.onDrop?.(l)
  }
  return todo
}
