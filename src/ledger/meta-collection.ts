import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { collectionExists } from '../milvus/collections'
import { createCollectionFromSpec } from '../milvus/create'
import type { FieldSpec } from '../schema/spec'

// Milvus requires a vector field and an index before a collection can be queried. mvmigrate's own
// bookkeeping collections (_migrations, _migrations_journal) carry this one for that reason only.
export const HIDDEN_VECTOR = '_placeholder_vector'
export const HIDDEN_VECTOR_VALUE = [1, 0]

/**
 * Creates one of mvmigrate's bookkeeping collections if missing; true when it did. Its load runs
 * in the background: writes need none, and every reader loads it first (ensureLoaded), waiting
 * only if it must. A caller that just created it knows it is empty and need not read it at all.
 */
export async function ensureMetaCollection(
  client: MilvusClient,
  name: string,
  description: string,
  fields: FieldSpec[],
): Promise<boolean> {
  if (await collectionExists(client, name)) return false
  await createCollectionFromSpec(
    client,
    {
      name,
      description,
      consistencyLevel: 'Strong',
      fields: [...fields, { name: HIDDEN_VECTOR, type: 'FloatVector', dim: 2 }],
      enableDynamicField: false,
      functions: [],
      indexes: [{ field: HIDDEN_VECTOR, type: 'FLAT', metric: 'L2' }],
      partitions: [],
      properties: {},
      aliases: [],
      loaded: true,
    },
    name,
    { loadInBackground: true },
  )
  return true
}
