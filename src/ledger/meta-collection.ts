import { DataType, FieldType, MilvusClient } from '@zilliz/milvus2-sdk-node'
import { milvusCall } from '../milvus/call'

// Milvus requires a vector field and an index before a collection can be queried. mvmigrate's own
// bookkeeping collections (_migrations, _migrations_journal) carry this one for that reason only.
export const HIDDEN_VECTOR = '_placeholder_vector'
export const HIDDEN_VECTOR_VALUE = [1, 0]

/** Creates one of mvmigrate's bookkeeping collections if missing, and makes sure it is loaded. */
export async function ensureMetaCollection(client: MilvusClient, name: string, description: string, fields: FieldType[]): Promise<void> {
  const has = await milvusCall(`check for ${name}`, () => client.hasCollection({ collection_name: name }))
  if (!has.value) {
    await milvusCall(`create ${name}`, () =>
      client.createCollection({
        collection_name: name,
        description,
        consistency_level: 'Strong',
        fields: [...fields, { name: HIDDEN_VECTOR, data_type: DataType.FloatVector, dim: 2 }],
      }),
    )
    await milvusCall(`index ${name}`, () => client.createIndex({ collection_name: name, field_name: HIDDEN_VECTOR, index_type: 'FLAT', metric_type: 'L2' }))
  }
  await ensureLoaded(client, name)
}

/** Servers release collections on restart (and Milvus Lite on rename): load before reading. */
export async function ensureLoaded(client: MilvusClient, name: string): Promise<void> {
  const load = await milvusCall(`load state of ${name}`, () => client.getLoadState({ collection_name: name }))
  if (String(load.state) !== 'LoadStateLoaded') {
    await milvusCall(`load ${name}`, () => client.loadCollection({ collection_name: name }))
  }
}
