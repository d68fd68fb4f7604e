import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { type ReadAfter, queryKeys, queryRows } from '../milvus/rows'
import { serverTraits } from '../milvus/server-traits'
import type { FieldSpec } from '../schema/spec'
import type { Row } from './builder'
import { INT64_MIN, type Key, keyComparator, keyLiteral, rangeFilter } from './keys'

export interface PageOptions {
  client: MilvusClient
  collection: string
  pk: FieldSpec
  outputFields: string[]
  partition?: string
  batchSize: number
  /** Start after this key (exclusive): resuming from a checkpoint. */
  after?: Key
  /** Keys learned per window; tests use small windows. */
  window?: number
  /** 'counted' learns windows the general way even where the server sorts (tests cover both). */
  keyWindows?: 'auto' | 'counted'
  /** How current the reads must be (default strong). */
  readAfter?: ReadAfter
  /** Float vector fields the rows get as Float32Array views (see QueryOptions.typedVectors). */
  typedVectors?: ReadonlySet<string>
  /** Told of each window of keys as it is learned: what a sweep needs to know what it read when. */
  onKeyWindow?: (w: KeyListing) => void
}

/**
 * One window of keys learned: when its first query was sent, and the last key it covers (absent:
 * it reached the end). It covers the keys after the previous window's last key up to its own, so
 * a row inserted in that range after `requestedAt` may be missing from it.
 */
export interface KeyListing {
  requestedAt: number
  lastKey?: Key
}

/** Milvus caps offset + limit of one query at 16384 (maxQueryResultWindow). */
export const MAX_QUERY_WINDOW = 16384
/** Milvus Lite has no such cap, and each of its queries scans the collection: fewer, larger windows. */
const LITE_WINDOW = 65536
/** Keys-only responses and key lists in filters stay far under the 64 MB message limit. */
const KEY_BYTES_PER_WINDOW = 32 << 20
const KEY_BYTES_PER_FILTER = 4 << 20

type Query = (
  filter: string,
  outputFields: string[],
  limit?: number,
  params?: Record<string, unknown>,
) => Promise<Row[]>

/** Strong-consistency queries on one collection (and partition), answering rows. */
function queryFn(opts: Pick<PageOptions, 'client' | 'collection' | 'partition' | 'readAfter' | 'typedVectors'>): Query {
  const { client, collection, partition, readAfter, typedVectors } = opts
  return (filter, outputFields, limit, params) =>
    queryRows(client, collection, { filter, outputFields, limit, partition, params, after: readAfter, typedVectors })
}

/**
 * Every key of the collection (or partition) exactly once, as complete, sorted windows.
 *
 * "pk > last LIMIT n" paging is only correct when the server returns the n smallest keys, and
 * servers differ. On a server known to sort iterator queries (Milvus Lite 3.x) one keys-only query
 * per window is enough; each window is still checked to be ascending and above the last one, and
 * anything else falls back to the general way. The general way, for any server: a keys-only sample
 * of up to a window above `last`; if it returned fewer than asked, that is every remaining key.
 * Otherwise the sample is sorted and the largest sample key k with count(last < pk <= k) <= window
 * is found (one count on a server that sorts; otherwise a guess from the total count, halved until
 * it fits), and the keys of (last, k] are read completely (there are fewer than the limit). Where
 * that count equals the sample's size (Milvus 2.3 samples the smallest keys), the sample is
 * already every key of the window and is not read again.
 */
export async function* readKeyWindows(opts: Omit<PageOptions, 'outputFields' | 'batchSize'>): AsyncGenerator<Key[]> {
  const { pk } = opts
  const cmp = keyComparator(pk)
  const query = queryFn(opts)
  const { client, collection, partition, readAfter } = opts
  const keys = (filter: string, limit: number, params?: Record<string, unknown>) =>
    queryKeys(client, collection, pk.name, { filter, limit, partition, params, after: readAfter })
  const ordered = opts.keyWindows !== 'counted' && (await serverTraits(opts.client)).sortsIteratorQueries
  const cap = ordered ? LITE_WINDOW : MAX_QUERY_WINDOW
  const window =
    opts.window ??
    (pk.type === 'VarChar'
      ? Math.max(64, Math.min(cap, Math.floor(KEY_BYTES_PER_WINDOW / (pk.maxLength ?? 65535))))
      : cap)

  const count = async (filter: string) => Number((await query(filter, ['count(*)']))[0]['count(*)'])
  const sortedKeys = async (lower: Key | undefined, upper: Key | undefined, inclusive: boolean) =>
    (await keys(rangeFilter(pk, lower, upper, inclusive), window)).sort(cmp)

  async function orderedWindow(lower: Key | undefined): Promise<{ keys: Key[]; final: boolean } | undefined> {
    const found = await keys(rangeFilter(pk, lower, undefined), window, { iterator: true })
    for (let i = 0; i < found.length; i++) {
      const previous = i === 0 ? lower : found[i - 1]
      if (previous !== undefined && cmp(previous, found[i]) >= 0) return undefined // not what was promised
    }
    return { keys: found, final: found.length < window }
  }

  async function countedWindow(lower: Key | undefined): Promise<{ keys: Key[]; final: boolean }> {
    let upper: Key | undefined // exclusive bound while narrowing a skewed sample
    for (;;) {
      const sample = await sortedKeys(lower, upper, false)
      if (sample.length < window) {
        // Fewer than asked: that is every key in the range.
        return { keys: sample, final: upper === undefined }
      }
      const fits = async (i: number) => (await count(rangeFilter(pk, lower, sample[i], true))) <= window
      const inSample = await count(rangeFilter(pk, lower, sample[sample.length - 1], true))
      // A server that returns keys in order: the range holds exactly the sample's distinct keys, so
      // the sample is the window (reading it again would read every key twice).
      if (inSample === sample.length && sample.every((k, i) => i === 0 || cmp(sample[i - 1], k) < 0))
        return { keys: sample, final: false }
      let good: number
      if (inSample <= window) good = sample.length - 1
      else {
        // The sample is spread over the remaining keys: guess the sample index whose range holds
        // about 90% of a window, and halve the guess until the range fits.
        const total = await count(rangeFilter(pk, lower, upper, false))
        let guess = Math.min(sample.length - 2, Math.floor(((sample.length * window) / Math.max(total, 1)) * 0.9))
        while (guess >= 0 && !(await fits(guess))) guess = guess === 0 ? -1 : Math.floor(guess / 2)
        good = guess
      }
      if (good < 0) {
        upper = sample[0] // even (lower, smallest sampled key] holds too many: look below it
        continue
      }
      return { keys: await sortedKeys(lower, sample[good], true), final: false }
    }
  }

  let lower = opts.after
  for (;;) {
    const requestedAt = Date.now()
    const { keys, final } = (ordered ? await orderedWindow(lower) : undefined) ?? (await countedWindow(lower))
    opts.onKeyWindow?.({ requestedAt, ...(final || !keys.length ? {} : { lastKey: keys[keys.length - 1] }) })
    if (keys.length) yield keys
    if (final || !keys.length) return
    lower = keys[keys.length - 1]
  }
}

/**
 * Reads every row exactly once, in primary-key order: the keys come from `readKeyWindows`, the
 * rows of each page by an explicit key list ("pk in [...]"), which every server answers from its
 * primary-key index instead of evaluating a range over the whole collection. Pages run across
 * window boundaries, so every page but the last is full whatever windows the server allows (the
 * same pages, and checkpoints, on every server; no short page at the end of each window).
 */
export async function* readPages(opts: PageOptions): AsyncGenerator<{ rows: Row[]; lastKey: Key }> {
  let pending: Key[] = []
  let pendingBytes = 0
  const page = async (keys: Key[]) => ({ rows: await readRowsByKeys(opts, keys), lastKey: keys[keys.length - 1] })
  for await (const keys of readKeyWindows(opts)) {
    for (const key of keys) {
      // A page: at most batchSize keys, and a filter of at most KEY_BYTES_PER_FILTER.
      if (
        pending.length &&
        (pending.length >= opts.batchSize || pendingBytes + key.length + 4 > KEY_BYTES_PER_FILTER)
      ) {
        yield await page(pending)
        pending = []
        pendingBytes = 0
      }
      pending.push(key)
      pendingBytes += key.length + 4
    }
  }
  if (pending.length) yield await page(pending)
}

/**
 * The rows with these keys, in the order of `keys` (keys without a row are left out). One
 * "pk in [...]" query: keep `keys` to a page (the filter must stay under the message limit).
 */
export async function readRowsByKeys(
  opts: Pick<PageOptions, 'client' | 'collection' | 'partition' | 'pk' | 'outputFields' | 'readAfter' | 'typedVectors'>,
  keys: Key[],
): Promise<Row[]> {
  const { pk } = opts
  const query = queryFn(opts)
  const isInt64Min = (k: Key) => pk.type === 'Int64' && k === INT64_MIN
  const literals = keys.filter((k) => !isInt64Min(k)).map((k) => keyLiteral(pk, k))
  const rows = literals.length
    ? await query(`${pk.name} in [${literals.join(', ')}]`, opts.outputFields, literals.length)
    : []
  // Milvus 2.3 cannot parse the Int64 minimum as a literal: that one key is read by range.
  if (literals.length < keys.length)
    rows.push(...(await query(rangeFilter(pk, undefined, INT64_MIN, true), opts.outputFields, 1)))
  const order = new Map(keys.map((k, i) => [k, i]))
  return rows.sort((a, b) => order.get(String(a[pk.name]))! - order.get(String(b[pk.name]))!)
}
