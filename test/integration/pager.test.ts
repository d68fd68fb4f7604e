import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { afterAll, describe, expect, it } from 'vitest'
import { readPages } from '../../src/alter/pager'
import { INT64_MIN } from '../../src/alter/keys'
import { freshDatabase } from '../helpers/milvus'
import { countRows } from '../../src/milvus/collections'

/**
 * The copy reads every row exactly once whatever order the server returns rows in, both with the
 * server's own key order (where it is trusted) and with counted windows: keys inserted
 * in many batches out of order (some flushed into segments, some still in memory), deleted rows,
 * the Int64 minimum and maximum, and VarChar keys.
 */
const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

async function collectionWith(keys: string[], type: 'Int64' | 'VarChar', deleted: string[] = []) {
  const { client } = await freshDatabase('page')
  clients.push(client)
  await client.createCollection({
    collection_name: 'c',
    fields: [
      { name: 'pk', data_type: type === 'Int64' ? 5 : 21, is_primary_key: true, max_length: 64 },
      { name: 'v', data_type: 101, dim: 2 },
    ],
  })
  await client.createIndex({ collection_name: 'c', field_name: 'v', index_type: 'FLAT', metric_type: 'L2' })
  await client.loadCollection({ collection_name: 'c' })
  // Insert in 25 batches in a scrambled order, flushing every few batches so rows sit in several segments and in memory.
  const order = keys
    .map((k, i) => ({ k, r: (i * 2654435761) % 4294967296 }))
    .sort((a, b) => a.r - b.r)
    .map((x) => x.k)
  const per = Math.ceil(order.length / 25)
  for (let b = 0; b < 25; b++) {
    const batch = order.slice(b * per, (b + 1) * per)
    if (batch.length) await client.insert({ collection_name: 'c', data: batch.map((k) => ({ pk: k, v: [1, 0] })) })
    if (b % 6 === 5) await client.flush({ collection_names: ['c'] })
  }
  for (let i = 0; i < deleted.length; i += 500) {
    const part = deleted.slice(i, i + 500)
    await client.delete({
      collection_name: 'c',
      filter: `pk in [${part.map((k) => (type === 'Int64' ? k : JSON.stringify(k))).join(',')}]`,
    })
  }
  return client
}

async function readAll(
  client: MilvusClient,
  pk: { name: string; type: 'Int64' | 'VarChar' },
  batchSize: number,
  window?: number,
  keyWindows: 'auto' | 'counted' = 'auto',
) {
  const seen: string[] = []
  let pages = 0
  for await (const page of readPages({
    client,
    collection: 'c',
    pk,
    outputFields: ['pk'],
    batchSize,
    window,
    keyWindows,
  })) {
    pages++
    for (const r of page.rows) seen.push(String(r.pk))
  }
  return { seen, pages }
}

/** The key-window reads (key ranges with a limit of `window`; not the pages' "pk in [...]") `run` makes on `client`. */
async function keyReadsOf(client: MilvusClient, window: number, run: () => Promise<unknown>): Promise<number> {
  const original = client.query.bind(client)
  let n = 0
  client.query = ((req: { filter?: string; limit?: number }) => {
    if (req.limit === window && !req.filter?.includes(' in [')) n++
    return original(req as never)
  }) as typeof client.query
  try {
    await run()
  } finally {
    client.query = original
  }
  return n
}

describe('readPages', () => {
  it('Int64 keys: every row exactly once, including the minimum and maximum, after deletes', async () => {
    const keys = new Set<string>([INT64_MIN, '9223372036854775807', '-1', '0', '1', '9007199254740993'])
    for (let i = 0; i < 12000; i++) keys.add(String(BigInt(i) * 7919n * 1000003n - 50000000000n))
    const all = [...keys]
    const deleted = all.filter((_, i) => i % 17 === 3 && i > 6)
    const client = await collectionWith(all, 'Int64', deleted)
    let expected = all.filter((k) => !deleted.includes(k))
    // Milvus 2.3 accepts a row with the Int64 maximum as its key but never returns it, to any query
    // (seen with milvus 2.3.5). What the server cannot show, no reader can copy: leave it out there.
    const maxVisible =
      (
        await client.query({
          collection_name: 'c',
          filter: 'pk >= 9223372036854775800',
          output_fields: ['pk'],
          consistency_level: 'Strong',
        } as never)
      ).data.length > 0
    if (!maxVisible) {
      console.log('this server never returns the row keyed 9223372036854775807; it is left out of the expectation')
      expected = expected.filter((k) => k !== '9223372036854775807')
    }
    // A small key window forces the sampling path (windows of 2000 keys over 11,300 rows) that a
    // collection of more than 16384 rows takes with the default window.
    for (const how of ['auto', 'counted'] as const) {
      const windowed = await readAll(client, { name: 'pk', type: 'Int64' }, 700, 2000, how)
      expect(windowed.seen.length, how).toBe(expected.length)
      expect(new Set(windowed.seen), how).toEqual(new Set(expected))
      // Pages run across windows of 2000 keys: every page but the last holds 700 rows.
      expect(windowed.pages, how).toBe(Math.ceil(expected.length / 700))
    }
    // Counted windows read each window's keys once where the server's sample is already every key
    // of the window (it returns the smallest keys, as Milvus 2.3 does; Milvus Lite does not).
    const keyReads = await keyReadsOf(client, 2000, () =>
      readAll(client, { name: 'pk', type: 'Int64' }, 700, 2000, 'counted'),
    )
    const sample = (
      await client.query({
        collection_name: 'c',
        filter: '',
        output_fields: ['pk'],
        limit: 2000,
        consistency_level: 'Strong',
      } as never)
    ).data.map((r) => BigInt(r.pk as string))
    const smallestFirst = [...expected]
      .map(BigInt)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, 2000)
    const fullWindows = Math.floor(expected.length / 2000) // then one short (or empty) final window
    const sortedSample = [...sample].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const returnsSmallest = sortedSample.every((k, i) => k === smallestFirst[i])
    // Elsewhere every window but the last is read twice, and windows may come out smaller than 2000.
    if (returnsSmallest) expect(keyReads).toBe(fullWindows + 1)
    else expect(keyReads).toBeGreaterThanOrEqual(fullWindows * 2 + 1)
    const { seen, pages } = await readAll(client, { name: 'pk', type: 'Int64' }, 1000)
    expect(seen.length).toBe(expected.length)
    expect(new Set(seen).size).toBe(seen.length)
    expect(new Set(seen)).toEqual(new Set(expected))
    expect(seen).toContain(INT64_MIN)
    if (maxVisible) expect(seen).toContain('9223372036854775807')
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / 1000))
    // Emitted in key order
    const sorted = [...seen].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0))
    expect(seen).toEqual(sorted)
  })

  it('VarChar keys, including the empty string and non-ASCII: every row exactly once', async () => {
    const keys = new Set<string>(['', 'a', 'A', 'zz', 'é', '日本', 'x"quote', 'back\\slash'])
    for (let i = 0; i < 6000; i++) keys.add(`k-${(i * 7919) % 100000}-${i % 7}`)
    const all = [...keys]
    const deleted = all.filter((_, i) => i % 23 === 5)
    const client = await collectionWith(all, 'VarChar', deleted)
    const expected = all.filter((k) => !deleted.includes(k))
    for (const how of ['auto', 'counted'] as const) {
      const windowed = await readAll(client, { name: 'pk', type: 'VarChar' }, 300, 1000, how)
      expect(windowed.seen.length, how).toBe(expected.length)
      expect(new Set(windowed.seen), how).toEqual(new Set(expected))
    }
    const { seen } = await readAll(client, { name: 'pk', type: 'VarChar' }, 700)
    expect(seen.length).toBe(expected.length)
    expect(new Set(seen)).toEqual(new Set(expected))
  })

  it('a collection released under the reads (as Milvus Lite does around a rename) is loaded again and read', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => String(i * 7))
    const client = await collectionWith(keys, 'Int64')
    await client.flush({ collection_names: ['c'] })
    await client.releaseCollection({ collection_name: 'c' })
    const pk = { name: 'pk', type: 'Int64' } as const
    const read: string[] = []
    for await (const page of readPages({ client, collection: 'c', pk, outputFields: ['pk'], batchSize: 100 }))
      read.push(...page.rows.map((r) => String(r.pk)))
    expect(read.sort((a, b) => Number(a) - Number(b))).toEqual(keys)
    expect(await countRows(client, 'c')).toBe(300)
    expect(String((await client.getLoadState({ collection_name: 'c' })).state)).toBe('LoadStateLoaded')
  })
})
