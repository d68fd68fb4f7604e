import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { afterAll, describe, expect, it } from 'vitest'
import { MigrationContext } from '../../src/context/context'
import { silentLogger } from '../../src/context/logger'
import type { MvmError } from '../../src/errors'
import { freshDatabase } from '../helpers/milvus'

/**
 * Every type Milvus Lite supports, nullable and default fields, dynamic keys, partitions or a
 * partition key, explicit Int64 keys (extremes included) or VarChar keys, many pages inserted in
 * many batches out of key order: after an alter, every untouched value is identical row by row,
 * renamed fields carry their values, new fields hold their default, dropped fields are gone.
 * (Binary, Float16, BFloat16 and Int8 vectors: Milvus Lite does not have them.)
 */
const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

const ctxFor = (client: MilvusClient) =>
  new MigrationContext(
    client,
    { version: '20260401000000', name: 'matrix', file: 'migrations/20260401000000_matrix.ts' },
    silentLogger,
  )

async function readAll(
  client: MilvusClient,
  collection: string,
  pk: string,
): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>()
  const { readPages } = await import('../../src/alter/pager')
  const type = pk === 'pk' ? 'Int64' : 'VarChar'
  for await (const page of readPages({
    client,
    collection,
    pk: { name: pk, type, maxLength: 64 },
    outputFields: ['*'],
    batchSize: 4000,
  })) {
    for (const r of page.rows) out.set(String(r[pk]), r)
  }
  return out
}

function scrambled<T>(xs: T[]): T[] {
  return xs
    .map((x, i) => ({ x, r: (i * 2654435761) % 4294967296 }))
    .sort((a, b) => a.r - b.r)
    .map((o) => o.x)
}

describe('alter matrix on Milvus Lite', () => {
  it('all scalar, array, JSON and vector types; nullable/default; dynamic keys; partitions; Int64 keys: 20,000 rows', async () => {
    const { client } = await freshDatabase('matrix')
    clients.push(client)
    const ctx = ctxFor(client)
    await ctx.createCollection({
      name: 'm',
      enableDynamicField: true,
      partitions: ['p1', 'p2'],
      fields: [
        { name: 'pk', type: 'Int64', primaryKey: true },
        { name: 'b', type: 'Bool' },
        { name: 'i8', type: 'Int8' },
        { name: 'i16', type: 'Int16' },
        { name: 'i32', type: 'Int32', nullable: true },
        { name: 'i64', type: 'Int64' },
        { name: 'f', type: 'Float' },
        { name: 'd', type: 'Double', default: 1.5 },
        { name: 's', type: 'VarChar', maxLength: 100, nullable: true },
        { name: 'j', type: 'JSON', nullable: true },
        { name: 'ab', type: 'Array', elementType: 'Bool', maxCapacity: 3 },
        { name: 'ai8', type: 'Array', elementType: 'Int8', maxCapacity: 3 },
        { name: 'ai16', type: 'Array', elementType: 'Int16', maxCapacity: 3 },
        { name: 'ai32', type: 'Array', elementType: 'Int32', maxCapacity: 3 },
        { name: 'ai64', type: 'Array', elementType: 'Int64', maxCapacity: 3 },
        { name: 'af', type: 'Array', elementType: 'Float', maxCapacity: 3 },
        { name: 'ad', type: 'Array', elementType: 'Double', maxCapacity: 3 },
        { name: 'as', type: 'Array', elementType: 'VarChar', maxCapacity: 3, maxLength: 10 },
        { name: 'fv', type: 'FloatVector', dim: 8 },
        { name: 'sv', type: 'SparseFloatVector' },
        { name: 'old', type: 'VarChar', maxLength: 10 },
      ],
      indexes: [
        { field: 'fv', type: 'HNSW', metric: 'L2', params: { M: 8, efConstruction: 32 } },
        { field: 'sv', type: 'SPARSE_INVERTED_INDEX', metric: 'IP' },
      ],
    })
    const keys = ['-9223372036854775808', '9223372036854775807', '9007199254740993', '-9007199254740993', '0']
    for (let i = 0; i < 19995; i++) keys.push(String(BigInt(i) * 461168601842738n - 4611686018427387904n))
    const row = (k: string, i: number) => ({
      pk: k,
      b: i % 2 === 0,
      i8: (i % 255) - 127,
      i16: (i % 65535) - 32767,
      i32: i % 9 === 0 ? null : i * 7 - 70000,
      i64: String(BigInt(k) / 3n),
      f: Math.fround(i / 7),
      ...(i % 4 === 0 ? {} : { d: i / 13 }),
      s: i % 10 === 0 ? null : `s${i}é`,
      j: i % 6 === 0 ? null : { i, nested: { a: [i, 'x'] } },
      ab: [true, i % 3 === 0],
      ai8: [1, -2],
      ai16: [300, -300],
      ai32: [i, -i],
      ai64: [k, '1'],
      af: [Math.fround(0.25), Math.fround(i / 3)],
      ad: [i / 11],
      as: ['a', `v${i % 100}`],
      fv: Array.from({ length: 8 }, (_, d) => Math.fround(Math.sin(i * 0.01 + d))),
      sv: { [i % 50]: Math.fround(0.5), [(i % 50) + 51]: Math.fround(i / 20000) },
      old: 'x',
      ...(i % 5 === 0 ? { dyn: i, tag: `t${i % 3}` } : {}),
    })
    const batches = scrambled(keys.map((k, i) => ({ k, i })))
    for (let b = 0; b < batches.length; b += 1000) {
      const chunk = batches.slice(b, b + 1000)
      const partition = (b / 1000) % 3 === 0 ? undefined : (b / 1000) % 3 === 1 ? 'p1' : 'p2'
      await ctx.insert(
        'm',
        chunk.map(({ k, i }) => row(k, i)),
        { partition },
      )
      if ((b / 1000) % 5 === 4) await client.flush({ collection_names: ['m'] })
    }
    const before = await readAll(client, 'm', 'pk')
    expect(before.size).toBe(20000)

    const summary = await ctx.alter(
      'm',
      (t) => {
        t.renameField('s', 'str')
        t.dropField('old')
        t.addField({ name: 'added', type: 'Int16', default: 7 })
        t.addField({ name: 'added_null', type: 'JSON', nullable: true })
      },
      { verify: 'full' },
    )
    expect(summary.rowsCopied).toBe(20000)
    const after = await readAll(client, 'm', 'pk')
    expect(after.size).toBe(20000)
    for (const [k, old] of before) {
      const now = after.get(k)!
      expect(now, k).toBeDefined()
      const { s, old: _dropped, ...rest } = old
      expect(now.str, `${k}.str`).toEqual(s)
      expect(now.old).toBeUndefined()
      expect(now.added).toBe(7)
      expect(now.added_null).toBeNull()
      for (const [f, v] of Object.entries(rest)) expect(now[f], `${k}.${f}`).toEqual(v)
    }
    const spec = await ctx.describeCollection('m')
    expect(spec.partitions.sort()).toEqual(['p1', 'p2'])
    expect(spec.indexes.map((i) => `${i.field}:${i.type}`).sort()).toEqual(['fv:HNSW', 'sv:SPARSE_INVERTED_INDEX'])
    expect(spec.fields.find((f) => f.name === 'd')?.defaultValue).toBe(1.5)
    expect(spec.enableDynamicField).toBe(true)
  })

  it('VarChar keys and a partition key, dynamic field off: 8,000 rows', async () => {
    const { client } = await freshDatabase('matrix')
    clients.push(client)
    const ctx = ctxFor(client)
    await ctx.createCollection({
      name: 'v',
      numPartitions: 8,
      fields: [
        { name: 'key', type: 'VarChar', maxLength: 64, primaryKey: true },
        { name: 'tenant', type: 'VarChar', maxLength: 16, partitionKey: true },
        { name: 'n', type: 'Int32', default: 3 },
        { name: 'emb', type: 'FloatVector', dim: 4 },
      ],
      indexes: [{ field: 'emb', type: 'FLAT', metric: 'COSINE' }],
    })
    const keys = scrambled(Array.from({ length: 8000 }, (_, i) => `key-${(i * 7919) % 100003}-${i}`))
    for (let b = 0; b < keys.length; b += 800) {
      await ctx.insert(
        'v',
        keys.slice(b, b + 800).map((k, j) => ({
          key: k,
          tenant: `t${(b + j) % 5}`,
          ...((b + j) % 2 ? { n: b + j } : {}),
          emb: [1, (b + j) / 8000, 0.5, 0.25],
        })),
      )
    }
    const before = await readAll(client, 'v', 'key')
    await ctx.alter('v', (t) => {
      t.alterField('n', { type: 'Int64' })
      t.renameField('tenant', 'org')
    })
    const after = await readAll(client, 'v', 'key')
    expect(after.size).toBe(8000)
    for (const [k, old] of before) {
      const now = after.get(k)!
      expect(now.org).toBe(old.tenant)
      expect(now.n).toBe(String(old.n))
      expect(now.emb).toEqual(old.emb)
    }
    const spec = await ctx.describeCollection('v')
    expect(spec.fields.find((f) => f.name === 'org')?.partitionKey).toBe(true)
    expect(spec.fields.find((f) => f.name === 'n')?.type).toBe('Int64')
  })

  it("verify: 'full' catches a transform that does not reproduce, and leaves the source untouched", async () => {
    const { client } = await freshDatabase('matrix')
    clients.push(client)
    const ctx = ctxFor(client)
    await ctx.createCollection({
      name: 'r',
      fields: [
        { name: 'pk', type: 'Int64', primaryKey: true },
        { name: 'x', type: 'Double' },
        { name: 'emb', type: 'FloatVector', dim: 2 },
      ],
      indexes: [{ field: 'emb', type: 'FLAT', metric: 'L2' }],
    })
    await ctx.insert(
      'r',
      Array.from({ length: 300 }, (_, i) => ({ pk: String(i + 1), x: i, emb: [1, i] })),
    )
    const e = await ctx
      .alter('r', (t) => t.mapRows((row) => ({ ...row, x: Math.random() })), { verify: 'full' })
      .then(
        () => undefined,
        (x) => x as MvmError,
      )
    expect(e?.message).toMatch(
      /Verification \(full\) failed: the row with key \d+ in 'r__mvm_tmp_20260401000000' differs from the transformed source row \(field 'x': expected [-\d.e]+, found [-\d.e]+\)/,
    )
    expect(await ctx.hasCollection('r__mvm_tmp_20260401000000')).toBe(false)
    const rows = await client.query({
      collection_name: 'r',
      filter: 'pk == 5',
      output_fields: ['x'],
      consistency_level: 'Strong',
    } as never)
    expect(rows.data[0].x).toBe(4)
  })
})
