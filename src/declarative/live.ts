import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { isToolCollection } from '../ledger/tool-collections'
import { listCollectionNames, unlessGone } from '../milvus/collections'
import { describeCollectionSpec } from '../milvus/describe'
import type { CollectionSpec } from '../schema/spec'

/**
 * A collection as drift, `diff` and `pull` compare it: everything a schema is (fields, dynamic
 * field, functions, indexes with parameters, partitions, properties, aliases, consistency level,
 * shards), nothing a run changes (rows, load state), in a stable order.
 */
export function comparable(spec: CollectionSpec): CollectionSpec {
  return {
    ...spec,
    loaded: false,
    aliases: [...spec.aliases].sort(),
    partitions: [...spec.partitions].sort(),
    indexes: [...spec.indexes].sort((a, b) => a.field.localeCompare(b.field)),
    properties: Object.fromEntries(Object.entries(spec.properties).sort(([a], [b]) => a.localeCompare(b))),
  }
}

/** Every user collection of the database (mvmigrate's own left out), described and comparable. */
export async function describeDatabase(client: MilvusClient): Promise<CollectionSpec[]> {
  const names = (await listCollectionNames(client)).filter((n) => !isToolCollection(n)).sort()
  const out: CollectionSpec[] = []
  for (const name of names) {
    // One renamed or dropped since it was listed (a runner swapping an alter in) is no longer part of it.
    const spec = await unlessGone(client, name, () => describeCollectionSpec(client, name))
    if (spec) out.push(comparable(spec))
  }
  return out
}
