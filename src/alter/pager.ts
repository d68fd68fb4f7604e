import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { milvusCall } from '../milvus/call'
import { FieldSpec } from '../schema/spec'
import { Row } from './builder'
import { Key, keyComparator, rangeFilter } from './keys'

export interface PageOptions {
  client: MilvusClient
  collection: string
  pk: FieldSpec
  outputFields: string[]
  partition?: string
  batchSize: number
  /** Start after this key (exclusive): resuming from a checkpoint. */
  after?: Key
  /** Keys learned per window (default and maximum 16384); tests use small windows. */
  window?: number
}

/** Milvus caps offset + limit of one query at 16384 (maxQueryResultWindow). */
export const MAX_QUERY_WINDOW = 16384

/**
 * Reads every row exactly once, in primary-key order, whatever order the server returns rows in.
 *
 * "pk > last LIMIT n" paging is only correct when the server returns the n smallest keys, and
 * Milvus Lite, for one, returns rows segment by segment instead. So the reader first learns the
 * exact keys of a window: a keys-only query of up to 16384 keys above `last`; if it returned fewer
 * than asked, that is every remaining key. Otherwise the sample is sorted and the largest sample key
 * k with count(last < pk <= k) <= 16384 is found (one count on a server that sorts; otherwise a
 * guess from the total count, halved until it fits), and the keys of (last, k] are read
 * completely (there are fewer than the limit).
 * Pages of full rows are then read by exact key ranges within the window.
 */
export async function* readPages(opts: PageOptions): AsyncGenerator<{ rows: Row[]; lastKey: Key }> {
  const { client, collection, pk, partition } = opts
  const cmp = keyComparator(pk)
  const partitions = partition ? { partition_names: [partition] } : {}
  const keyOf = (r: Row) => String(r[pk.name])
  // Keys-only responses must stay well under the 64 MB message limit, even for long VarChar keys.
  const window = opts.window ?? (pk.type === 'VarChar' ? Math.max(64, Math.min(MAX_QUERY_WINDOW, Math.floor((32 << 20) / (pk.maxLength ?? 65535)))) : MAX_QUERY_WINDOW)
  const query = (filter: string, outputFields: string[], limit: number) =>
    milvusCall(`read ${collection}`, () =>
      client.query({ collection_name: collection, filter, output_fields: outputFields, limit, consistency_level: 'Strong', ...partitions } as never),
    ).then((r) => r.data as Row[])
  const count = async (filter: string) => {
    const r = await milvusCall(`count ${collection}`, () =>
      client.query({ collection_name: collection, filter, output_fields: ['count(*)'], consistency_level: 'Strong', ...partitions } as never),
    )
    return Number((r.data as Row[])[0]['count(*)'])
  }
  const sortedKeys = async (lower: Key | undefined, upper: Key | undefined, inclusive: boolean) =>
    (await query(rangeFilter(pk, lower, upper, inclusive), [pk.name], window)).map(keyOf).sort(cmp)

  /** The complete, sorted keys of a window above `lower`, and whether they are all that is left. */
  async function windowKeys(lower: Key | undefined): Promise<{ keys: Key[]; final: boolean }> {
    let upper: Key | undefined // exclusive bound while narrowing a skewed sample
    for (;;) {
      const sample = await sortedKeys(lower, upper, false)
      if (sample.length < window) {
        // Fewer than asked: that is every key in the range.
        return { keys: sample, final: upper === undefined }
      }
      const fits = async (i: number) => (await count(rangeFilter(pk, lower, sample[i], true))) <= window
      let good = -1
      if (await fits(sample.length - 1)) good = sample.length - 1 // a server that returns keys in order
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
      const keys = await sortedKeys(lower, sample[good], true)
      return { keys, final: false }
    }
  }

  let lower = opts.after
  for (;;) {
    const { keys, final } = await windowKeys(lower)
    for (let i = 0; i < keys.length; i += opts.batchSize) {
      const chunk = keys.slice(i, i + opts.batchSize)
      const from = i === 0 ? lower : keys[i - 1]
      const to = chunk[chunk.length - 1]
      const rows = await query(rangeFilter(pk, from, to, true), opts.outputFields, chunk.length)
      rows.sort((a, b) => cmp(keyOf(a), keyOf(b)))
      yield { rows, lastKey: to }
    }
    if (final || !keys.length) return
    lower = keys[keys.length - 1]
  }
}

/** Total rows (of one partition, if given). */
export async function countRows(client: MilvusClient, collection: string, partition?: string): Promise<number> {
  const r = await milvusCall(`count ${collection}`, () =>
    client.query({ collection_name: collection, filter: '', output_fields: ['count(*)'], consistency_level: 'Strong', ...(partition ? { partition_names: [partition] } : {}) } as never),
  )
  return Number((r.data as Row[])[0]['count(*)'])
}
