import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { connectMilvus } from '../../src/milvus/connect'
import { loadCollection } from '../../src/milvus/collections'
import { openDataClient } from '../../src/milvus/data-client'
import {
  FLOAT_COLUMNS,
  floatVectorDeserializer,
  installFloatVectorWire,
  withFloatColumns,
} from '../../src/milvus/float-vector-wire'
import { KEY_COLUMN, keyColumnOf, keyColumnReader } from '../../src/milvus/key-column-wire'
import { insertRows, queryKeys, queryRows } from '../../src/milvus/rows'
import { fileDatabases, lacks, milvusToken, milvusUri } from '../helpers/milvus'
import { cli, tempProject, writeMigration } from '../helpers/project'

const clients: MilvusClient[] = []
const databases = fileDatabases()
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
  await databases.dropAll()
})

/** A fresh database for one test, dropped after the file. */
async function testDatabase(prefix: string) {
  const db = await databases.fresh(prefix)
  clients.push(db.client)
  return db
}

/** Calls to JSON.stringify whose argument is an insert request carrying rows (the SDK's retry log line). */
async function stringifiedInserts(run: () => Promise<unknown>): Promise<number> {
  const original = JSON.stringify
  let n = 0
  JSON.stringify = ((value: unknown, ...rest: unknown[]) => {
    if (value && typeof value === 'object' && 'fields_data' in (value as object)) n++
    return (original as (...a: unknown[]) => string)(value, ...rest)
  }) as typeof JSON.stringify
  try {
    await run()
  } finally {
    JSON.stringify = original
  }
  return n
}

describe('the bulk data connection', () => {
  it('drops the SDK interceptor that JSON-encodes every request, and still reads and writes the same rows', async () => {
    const { client } = await testDatabase('data')
    await client.createCollection({
      collection_name: 'c',
      fields: [
        { name: 'id', data_type: 5, is_primary_key: true },
        { name: 'v', data_type: 101, dim: 4 },
        { name: 't', data_type: 21, max_length: 16 },
      ],
    })
    await client.createIndex({ collection_name: 'c', field_name: 'v', index_type: 'FLAT', metric_type: 'L2' })
    await client.loadCollection({ collection_name: 'c' })
    const rows = (from: number) =>
      Array.from({ length: 50 }, (_, i) => ({
        id: String(from + i),
        v: [i, 0.5, -1, 2].map(Math.fround),
        t: `row ${from + i}`,
      }))

    const data = await openDataClient(client)
    try {
      // The SDK version in package-lock has the interceptor this removes; an upgrade that changes it shows here.
      expect(data.lean).toBe(true)
      expect(await stringifiedInserts(() => client.insert({ collection_name: 'c', data: rows(0) }))).toBeGreaterThan(0)
      expect(await stringifiedInserts(() => data.client.insert({ collection_name: 'c', data: rows(100) }))).toBe(0)
      // Same database, same rows, whichever connection reads them.
      const viaData = await data.client.query({
        collection_name: 'c',
        filter: 'id >= 0',
        output_fields: ['*'],
        consistency_level: 'Strong',
      } as never)
      const viaMain = await client.query({
        collection_name: 'c',
        filter: 'id >= 0',
        output_fields: ['*'],
        consistency_level: 'Strong',
      } as never)
      const byId = (rs: Record<string, unknown>[]) => Object.fromEntries(rs.map((r) => [String(r.id), r]))
      expect(viaData.data).toHaveLength(100)
      expect(byId(viaData.data)).toEqual(byId(viaMain.data))
      expect(byId(viaData.data)['120']).toMatchObject({ t: 'row 120', v: [20, 0.5, -1, 2] })
    } finally {
      await data.close()
    }
  })
})

describe('float vectors as bytes on the bulk connection', () => {
  /** Floats that are not exact in float32, near its limits, signed zero and subnormal. */
  const tricky = [0.1, -0.3333333333, 3.3e38, -3.3e38, 1.17549435e-38, 1e-45, -0, 123456.789]
  const vector = (i: number) => tricky.map((x, d) => (d === i % 8 ? x : x / (i + 1))) // finite in float32: servers refuse infinities

  it('stores and reads back exactly the float32 values the SDK itself would (for each vector field of a row, where the server allows two)', async () => {
    const { client } = await testDatabase('wire')
    // Milvus 2.3 allows one vector field per collection; there the test runs with one.
    const vectorFields = lacks('multipleVectors') ? ['a'] : ['a', 'b']
    const dims: Record<string, number> = { a: 8, b: 2 }
    await client.createCollection({
      collection_name: 'c',
      fields: [
        { name: 'id', data_type: 5, is_primary_key: true },
        ...vectorFields.map((name) => ({ name, data_type: 101, dim: dims[name] })),
        { name: 'n', data_type: 21, max_length: 8 },
      ],
    })
    for (const f of vectorFields)
      await client.createIndex({ collection_name: 'c', field_name: f, index_type: 'FLAT', metric_type: 'L2' })
    await client.loadCollection({ collection_name: 'c' })
    const rows = (from: number) =>
      Array.from({ length: 40 }, (_, i) => ({
        id: String(from + i),
        a: vector(from + i),
        ...(vectorFields.includes('b') ? { b: [from + i, -(from + i) / 7] } : {}),
        n: `r${from + i}`,
      }))

    const data = await openDataClient(client)
    try {
      expect(data.floatVectorBytes).toBe(true)
      expect((await client.insert({ collection_name: 'c', data: rows(0) })).insert_cnt).toBe('40') // the SDK's own encoding
      expect((await data.client.insert({ collection_name: 'c', data: rows(100) })).insert_cnt).toBe('40') // bytes
      // Vectors as columns beside the rows (the copy's inserts).
      const asColumns = vectorFields.map((name) => ({ name, dim: dims[name] }))
      expect(withFloatColumns(data.client, rows(200), asColumns)?.rows[0]).toEqual({ id: '200', n: 'r200' })
      expect((await insertRows(data.client, 'c', rows(200), undefined, asColumns)).count).toBe(40)
      const read = async (c: MilvusClient) =>
        (
          await c.query({
            collection_name: 'c',
            filter: 'id >= 0',
            output_fields: ['*'],
            consistency_level: 'Strong',
          } as never)
        ).data
      const viaMain = await read(client)
      const viaData = await read(data.client)
      const byId = (rs: Record<string, unknown>[]) => Object.fromEntries(rs.map((r) => [String(r.id), r]))
      expect(viaData).toHaveLength(120)
      expect(byId(viaData)).toEqual(byId(viaMain))
      for (const r of [...rows(0), ...rows(100), ...rows(200)]) {
        const got = byId(viaData)[r.id]
        expect(got.a, r.id).toEqual(r.a.map(Math.fround))
        if (r.b) expect(got.b, r.id).toEqual(r.b.map(Math.fround))
        expect(got.n).toBe(r.n)
      }
    } finally {
      await data.close()
    }
  })

  it('gives a copy Float32Array views of the vectors it passes on, and stores them exactly on either connection', async () => {
    const { client } = await testDatabase('typed')
    for (const name of ['src', 'viaBulk', 'viaSession']) {
      await client.createCollection({
        collection_name: name,
        fields: [
          { name: 'id', data_type: 5, is_primary_key: true },
          { name: 'a', data_type: 101, dim: 8 },
        ],
      })
      await client.createIndex({ collection_name: name, field_name: 'a', index_type: 'FLAT', metric_type: 'L2' })
      await client.loadCollection({ collection_name: name })
    }
    const rows = Array.from({ length: 30 }, (_, i) => ({ id: String(i), a: vector(i).map(Math.fround) }))
    await insertRows(client, 'src', rows)
    const data = await openDataClient(client)
    try {
      const read = (c: MilvusClient, typed?: Set<string>) =>
        queryRows(c, 'src', { filter: 'id >= 0', outputFields: ['*'], typedVectors: typed })
      const typed = await read(data.client, new Set(['a']))
      expect(typed).toHaveLength(30)
      for (const r of typed) expect(r.a).toBeInstanceOf(Float32Array)
      // Without asking, and on the session connection (no columns there), arrays of numbers.
      expect(Array.isArray((await read(data.client))[0].a)).toBe(true)
      expect(Array.isArray((await read(client, new Set(['a'])))[0].a)).toBe(true)
      // Inserted as columns (bulk) and through the SDK's own encoding (session): the same floats.
      await insertRows(data.client, 'viaBulk', typed, undefined, [{ name: 'a', dim: 8 }])
      await insertRows(client, 'viaSession', typed, undefined, [{ name: 'a', dim: 8 }])
      for (const name of ['viaBulk', 'viaSession']) {
        const back = await queryRows(client, name, { filter: 'id >= 0', outputFields: ['*'] })
        const byId = new Map(back.map((r) => [String(r.id), r.a]))
        expect(back).toHaveLength(30)
        for (const r of rows) expect(byId.get(r.id), `${name} ${r.id}`).toEqual(r.a)
      }
    } finally {
      await data.close()
    }
  })

  it('is not installed where the SDK encodes differently than expected', () => {
    // A method whose own functions disagree with what the probe expects (it drops fields) is left as it was.
    const lossy = Object.assign(() => undefined, {
      path: '/x',
      requestSerialize: () => Buffer.alloc(0),
      requestDeserialize: () => ({}),
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: () => ({}),
    })
    class Service {}
    Object.assign(Service.prototype, { Insert: lossy, Query: lossy })
    const client = {}
    expect(installFloatVectorWire(client, Service)).toBe(false)
    expect((Service.prototype as Record<string, unknown>).Insert).toBe(lossy)
    expect(installFloatVectorWire(client, undefined)).toBe(false)
    // Nor are vectors split out as columns for such a connection: the SDK gets the rows whole.
    expect(withFloatColumns(client, [{ id: '1', v: [1, 2] }], [{ name: 'v', dim: 2 }])).toBeUndefined()
  })

  it('never sends an insert without a column it was given, and leaves vectors of the wrong length to the SDK', async () => {
    const { client } = await testDatabase('columns')
    const data = await openDataClient(client)
    try {
      // A column for a field the request has no entry for: refused before anything is sent.
      const serialize = (
        data.client as unknown as {
          _MilvusService: { prototype: Record<string, { requestSerialize: (r: unknown) => Buffer }> }
        }
      )._MilvusService.prototype.Insert.requestSerialize
      const request = {
        collection_name: 'c',
        num_rows: 1,
        fields_data: [{ type: 'FloatVector', field_name: 'a', vectors: { dim: 2, float_vector: { data: [] } } }],
      }
      expect(() => serialize({ ...request, [FLOAT_COLUMNS]: { b: new Float32Array(2) } })).toThrow(
        /no entry for float vector field\(s\) b/,
      )
      expect(() => serialize({ ...request, fields_data: [], [FLOAT_COLUMNS]: { a: new Float32Array(2) } })).toThrow(
        /no field for them/,
      )
      // A row whose vector is not `dim` numbers: no columns, so the SDK sees the row as it is.
      expect(withFloatColumns(data.client, [{ id: '1', v: [1, 2, 3] }], [{ name: 'v', dim: 2 }])).toBeUndefined()
      expect(withFloatColumns(data.client, [{ id: '1', v: [1, 2] }], [{ name: 'v', dim: 2 }])?.columns.v).toEqual({
        dim: 2,
        vectors: [[1, 2]],
      })
    } finally {
      await data.close()
    }
  })

  it('leaves bytes it cannot read to the SDK', () => {
    const sdk = (b: Buffer) => ({ decodedBy: 'sdk', length: b.length })
    const read = floatVectorDeserializer(sdk, { fieldsData: 18, vectors: 34, dim: 8, floatVector: 18, floatData: 10 })
    // A fields_data entry whose length runs past the end, and a varint that never ends.
    expect(read(Buffer.from([18, 50, 1, 2]))).toEqual({ decodedBy: 'sdk', length: 4 })
    expect(read(Buffer.from([18, 0x80, 0x80]))).toEqual({ decodedBy: 'sdk', length: 3 })
  })
})

describe('keys read from the wire on the bulk connection', () => {
  /** Int64 keys at the edges of the decoder's branches, and random ones over the whole range. */
  function edgeKeys(): string[] {
    const keys = new Set(['0', '1', '-1', '127', '128', '-129', '4294967295', '4294967296', '-4294967296'])
    for (const k of ['9007199254740991', '9007199254740993', '-9007199254740993', '-9223372036854775807']) keys.add(k)
    keys.add('9223372036854775806') // not the maximum itself: Milvus 2.3 never returns that key
    let x = 0x9e3779b97f4a7c15n
    while (keys.size < 3000) {
      x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn
      keys.add(BigInt.asIntN(64, x >> BigInt(Number(x % 40n))).toString()) // small and large magnitudes
    }
    return [...keys].filter((k) => k !== '9223372036854775807' && k !== '-9223372036854775808')
  }

  it('gives exactly the keys the SDK reads, Int64 and VarChar, without building rows', async () => {
    const { client } = await testDatabase('keywire')
    const int64 = edgeKeys()
    const text = ['a', 'é', 'x'.repeat(200), '\u{1F600} key', 'Z', ...int64.slice(0, 500).map((k) => `k${k}`)]
    for (const [name, pk, keys] of [
      ['ints', { name: 'id', data_type: 5, is_primary_key: true }, int64],
      ['texts', { name: 'id', data_type: 21, is_primary_key: true, max_length: 256 }, text],
    ] as const) {
      await client.createCollection({
        collection_name: name,
        fields: [pk, { name: 'v', data_type: 101, dim: 2 }],
      })
      await client.createIndex({ collection_name: name, field_name: 'v', index_type: 'FLAT', metric_type: 'L2' })
      await client.loadCollection({ collection_name: name })
      await insertRows(
        client,
        name,
        keys.map((id) => ({ id, v: [1, 2] })),
      )
    }
    const data = await openDataClient(client)
    try {
      for (const [name, keys, filter] of [
        ['ints', int64, 'id >= -9223372036854775807'],
        ['texts', text, 'id >= ""'],
      ] as const) {
        // The SDK's rows on the session connection; the wire on the bulk connection.
        const viaSdk = await queryKeys(client, name, 'id', { filter, limit: 16384 })
        const viaWire = await queryKeys(data.client, name, 'id', { filter, limit: 16384 })
        expect([...viaSdk].sort()).toEqual([...keys].sort())
        expect(viaWire).toEqual(viaSdk)
        // It came from the wire: the SDK built no rows, the keys are on the status.
        const res = await data.client.query({
          [KEY_COLUMN]: true,
          collection_name: name,
          filter,
          output_fields: ['id'],
          limit: 16384,
          consistency_level: 'Strong',
        } as never)
        expect(res.data).toEqual([])
        expect(keyColumnOf(res.status, 'id')).toEqual(viaSdk)
      }
    } finally {
      await data.close()
    }
  })

  it('leaves results it does not expect to the SDK (null values, bytes it cannot read)', async () => {
    const { client } = await testDatabase('keywire2')
    const data = await openDataClient(client)
    try {
      const query = (data.client as unknown as { _MilvusService: { prototype: { Query: never } } })._MilvusService
        .prototype.Query as { responseSerialize: (m: unknown) => Buffer; responseDeserialize: (b: Buffer) => unknown }
      const read = keyColumnReader(query)!
      expect(read).toBeDefined()
      const result = (valid: boolean[]) =>
        query.responseSerialize({
          status: { code: 0 },
          fields_data: [
            { type: 'Int64', field_name: 'id', scalars: { long_data: { data: ['5', '-6'] } }, valid_data: valid },
          ],
        })
      const keysOf = (m: unknown) => keyColumnOf((m as { status: unknown }).status, 'id')
      expect(keysOf(read(result([])))).toEqual(['5', '-6'])
      expect(keysOf(read(result([true, true])))).toEqual(['5', '-6'])
      // A null among them: the SDK reads the whole result, as it would without this.
      const withNull = read(result([true, false]))
      expect(keysOf(withNull)).toBeUndefined()
      expect(withNull).toEqual(query.responseDeserialize(result([true, false])))
      // A fields_data entry whose length runs past the end.
      const cut = result([]).subarray(0, result([]).length - 2)
      expect(() => read(cut)).toThrow()
      expect(() => query.responseDeserialize(cut)).toThrow()
    } finally {
      await data.close()
    }
  })
})

describe('idle connections', () => {
  // With the SDK's default keepalive (a ping every 10 s, also when idle) Milvus Lite answers the
  // third idle ping with GOAWAY ("excess pings", logged by grpc-js), and calls in flight then fail
  // with RESOURCE_EXHAUSTED (seen after ~65 s idle in the benchmark).
  it('a session connection and a bulk connection left idle for 70 s are not sent away, and answer the next calls', async () => {
    const logged: string[] = []
    const spy = vi
      .spyOn(console, 'error')
      .mockImplementation((...a: unknown[]) => void logged.push(a.map(String).join(' ')))
    const { uri, database } = await testDatabase('idle')
    const session = await connectMilvus({ uri, database, token: milvusToken() })
    clients.push(session)
    const data = await openDataClient(session)
    try {
      await new Promise((r) => setTimeout(r, 70_000))
      const calls = await Promise.all([
        session.listCollections(),
        session.listCollections(),
        data.client.listCollections(),
        data.client.listCollections(),
      ])
      for (const r of calls) expect(r.status.error_code).toBe('Success')
      expect(logged.filter((l) => /excess pings|GOAWAY|ENHANCE_YOUR_CALM/i.test(l))).toEqual([])
    } finally {
      spy.mockRestore()
      await data.close()
    }
  }, 120_000)
})

describe('a migration busy for a minute in its own code', () => {
  // An embedding call, say: synchronous, so for 70 s the process reads nothing from its connections
  // and answers no ping. A client with the SDK's default pings was seen sent away by Milvus Lite in
  // that time (its next call: 8 RESOURCE_EXHAUSTED); the migration's own connection must not be.
  it('up keeps working after 70 s of blocking user code between two ctx calls', async () => {
    const { database, client } = await testDatabase('busy')
    const dir = tempProject({ uri: milvusUri(), database })
    writeMigration(
      dir,
      '20260101000000_busy.ts',
      `import { defineMigration } from 'mvmigrate'
import { execFileSync } from 'node:child_process'

export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({
      name: 'docs',
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true },
        { name: 'vector', type: 'FloatVector', dim: 2 },
      ],
      indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }],
    })
    execFileSync('sleep', ['70'])
    await ctx.insert('docs', [{ id: 1, vector: [1, 0] }, { id: 2, vector: [0, 1] }])
  },
})
`,
    )
    const r = await cli(dir, ['up'], { timeoutMs: 150_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).not.toMatch(/excess pings|RESOURCE_EXHAUSTED|GOAWAY/)
    const count = await client.query({
      collection_name: 'docs',
      filter: 'id > 0',
      output_fields: ['count(*)'],
      consistency_level: 'Strong',
    } as never)
    expect(Number(count.data[0]['count(*)'])).toBe(2)
  }, 180_000)
})

describe('loading a collection', () => {
  it('a load the server dropped (the collection released again at 0%) is asked for again, and the collection ends loaded', async () => {
    const { client } = await testDatabase('reload')
    const r = await client.createCollection({
      collection_name: 'docs',
      fields: [
        { name: 'id', data_type: 'Int64', is_primary_key: true },
        { name: 'v', data_type: 'FloatVector', dim: 2 },
      ],
      index_params: [{ field_name: 'v', index_type: 'FLAT', metric_type: 'L2' }],
    } as never)
    expect(r.error_code).toBe('Success')
    await client.insert({ collection_name: 'docs', data: [{ id: 1, v: [1, 2] }] })
    await client.releaseCollection({ collection_name: 'docs' })
    // As Milvus Lite did after a rename: the load is accepted, then the collection is not loading.
    const loadAsync = client.loadCollectionAsync.bind(client)
    let asked = 0
    client.loadCollectionAsync = (async (req: never) => {
      asked++
      const res = await loadAsync(req)
      if (asked === 1) await client.releaseCollection({ collection_name: 'docs' })
      return res
    }) as typeof client.loadCollectionAsync
    const started = Date.now()
    await loadCollection(client, 'docs')
    expect(asked).toBe(2)
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000)
    expect((await client.getLoadState({ collection_name: 'docs' })).state).toBe('LoadStateLoaded')
  })
})
