import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { randomBytes } from 'node:crypto'
import { connectMilvus } from '../../src/milvus/connect'
import type { Feature } from './milvus'

/**
 * Finds out, by trying, which features the test server lacks (test/helpers/milvus.ts `lacks`):
 * each probe creates a small collection in a scratch database and checks what the server did.
 * Run once per test run by the global setups, so no server's abilities are hard-coded.
 */
export async function probeServerLacks(uri: string, token?: string): Promise<Feature[]> {
  const database = `probe_${randomBytes(4).toString('hex')}`
  const admin = await connectMilvus({ uri, token })
  await admin.createDatabase({ db_name: database })
  const client = await connectMilvus({ uri, token, database })
  const lacking: Feature[] = []
  const vector = { name: 'v', data_type: 101, dim: 2 }
  // An older server drops what its protocol does not know (nullable, functions) and still says
  // Success, so every probe reads the collection back.
  const creates = async (name: string, body: Record<string, unknown>, kept: (d: Described) => boolean = () => true) => {
    try {
      const r = await client.createCollection({ collection_name: name, ...body } as never)
      if (r.error_code !== 'Success' || (r as { code?: number }).code) return false
      return kept((await client.describeCollection({ collection_name: name })) as unknown as Described)
    } catch {
      return false
    }
  }
  const indexes = async (collection: string, fieldName: string, params: Record<string, string>) => {
    try {
      const r = await client.createIndex({ collection_name: collection, field_name: fieldName, ...params } as never)
      return r.error_code === 'Success' && !(r as { code?: number }).code
    } catch {
      return false
    }
  }
  const field = (d: Described, name: string) => d.schema?.fields?.find((f) => f.name === name)
  try {
    const nullable = await creates(
      'nullable',
      {
        fields: [
          { name: 'id', data_type: 5, is_primary_key: true },
          vector,
          { name: 'n', data_type: 21, max_length: 8, nullable: true },
        ],
      },
      (d) => field(d, 'n')?.nullable === true,
    )
    if (!nullable) lacking.push('nullable')
    const sparse = await creates(
      'sparse',
      {
        fields: [
          { name: 'id', data_type: 5, is_primary_key: true },
          { name: 's', data_type: 104 },
        ],
      },
      (d) => ['SparseFloatVector', 104].includes(field(d, 's')?.data_type as never),
    )
    if (!sparse || !(await indexes('sparse', 's', { index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'IP' })))
      lacking.push('sparse')
    await creates('inverted', {
      fields: [{ name: 'id', data_type: 5, is_primary_key: true }, vector, { name: 't', data_type: 21, max_length: 8 }],
    })
    if (!(await indexes('inverted', 't', { index_type: 'INVERTED' }))) lacking.push('invertedIndex')
    const bm25 = await creates(
      'functions',
      {
        fields: [
          { name: 'id', data_type: 5, is_primary_key: true },
          { name: 'body', data_type: 21, max_length: 64, enable_analyzer: true },
          { name: 's', data_type: 104 },
        ],
        functions: [{ name: 'bm25', type: 1, input_field_names: ['body'], output_field_names: ['s'], params: {} }],
      },
      (d) => (d.schema?.functions?.length ?? 0) > 0,
    )
    if (!bm25) lacking.push('functions')
    if (!(await keepsAutoIdKeys(client, creates))) lacking.push('keepAutoIdKeys')
    const twoVectors = await creates(
      'two_vectors',
      { fields: [{ name: 'id', data_type: 5, is_primary_key: true }, vector, { ...vector, name: 'w' }] },
      (d) => !!field(d, 'w'),
    )
    if (!twoVectors) lacking.push('multipleVectors')
    // Milvus Lite reports every collection as Strong, whatever it was created with.
    const session = await creates(
      'consistency',
      { fields: [{ name: 'id', data_type: 5, is_primary_key: true }, vector], consistency_level: 'Session' },
      (d) => (d as { consistency_level?: string }).consistency_level === 'Session',
    )
    if (!session) lacking.push('consistencyLevel')
    // Milvus 2.3 sets collection properties but cannot remove one.
    await client.alterCollectionProperties({
      collection_name: 'consistency',
      properties: { 'collection.ttl.seconds': 60 },
    })
    const dropped = await client
      .dropCollectionProperties({ collection_name: 'consistency', properties: ['collection.ttl.seconds'] })
      .then((r) => r.error_code === 'Success' && !(r as { code?: number }).code)
      .catch(() => false)
    const after = await client.describeCollection({ collection_name: 'consistency' })
    if (!dropped || (after.properties ?? []).some((p) => p.key === 'collection.ttl.seconds'))
      lacking.push('dropProperties')
  } finally {
    for (const c of (await client.listCollections()).data ?? [])
      await client.dropCollection({ collection_name: c.name })
    await client.closeConnection()
    await admin.dropDatabase({ db_name: database }).catch(() => undefined)
    await admin.closeConnection()
  }
  return lacking
}

interface Described {
  schema?: { fields?: { name: string; nullable?: boolean; data_type?: unknown }[]; functions?: unknown[] }
}

/** Does an auto_id collection with allow_insert_auto_id keep the key a client sends? */
async function keepsAutoIdKeys(
  client: MilvusClient,
  creates: (name: string, body: Record<string, unknown>) => Promise<boolean>,
): Promise<boolean> {
  const ok = await creates('autoid', {
    fields: [
      { name: 'id', data_type: 5, is_primary_key: true, autoID: true },
      { name: 'v', data_type: 101, dim: 2 },
    ],
    properties: { allow_insert_auto_id: 'true' },
  })
  if (!ok) return false
  try {
    const r = await client.insert({ collection_name: 'autoid', data: [{ id: '4242', v: [0.1, 0.2] }] })
    const ids = (r.IDs as { int_id?: { data: unknown[] } })?.int_id?.data ?? []
    return ids.length === 1 && String(ids[0]) === '4242'
  } catch {
    return false
  }
}
