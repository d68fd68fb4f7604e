import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { CollectionSpec, FieldSpec, IndexSpec } from '../schema/spec'
import { milvusCall } from './call'
import { toDataType } from './data-types'

/** CollectionSpec field -> SDK field (type params as the SDK spells them). */
export function toSdkField(f: FieldSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { name: f.name, data_type: toDataType(f.type) }
  if (f.description) out.description = f.description
  if (f.primaryKey) out.is_primary_key = true
  if (f.primaryKey) out.autoID = !!f.autoId
  if (f.dim !== undefined) out.dim = f.dim
  if (f.maxLength !== undefined) out.max_length = f.maxLength
  if (f.elementType) out.element_type = toDataType(f.elementType)
  if (f.maxCapacity !== undefined) out.max_capacity = f.maxCapacity
  if (f.nullable) out.nullable = true
  if (f.defaultValue !== undefined && f.defaultValue !== null) out.default_value = f.defaultValue
  if (f.partitionKey) out.is_partition_key = true
  if (f.clusteringKey) out.is_clustering_key = true
  if (f.functionOutput) out.is_function_output = true
  if (f.enableAnalyzer) out.enable_analyzer = true
  if (f.enableMatch) out.enable_match = true
  if (f.analyzerParams) out.analyzer_params = f.analyzerParams
  return out
}

export function toCreateCollectionParams(spec: CollectionSpec, name = spec.name): Record<string, unknown> {
  const params: Record<string, unknown> = {
    collection_name: name,
    fields: spec.fields.map(toSdkField),
    enable_dynamic_field: spec.enableDynamicField,
  }
  if (spec.description) params.description = spec.description
  if (spec.consistencyLevel) params.consistency_level = spec.consistencyLevel
  if (spec.shards) params.shards_num = spec.shards
  if (spec.numPartitions && spec.fields.some((f) => f.partitionKey)) params.num_partitions = spec.numPartitions
  if (Object.keys(spec.properties).length) params.properties = spec.properties
  if (spec.functions.length) {
    params.functions = spec.functions.map((fn) => ({
      name: fn.name,
      type: fn.type,
      description: fn.description ?? '',
      input_field_names: fn.inputFields,
      output_field_names: fn.outputFields,
      params: fn.params ?? {},
    }))
  }
  return params
}

/** One index; its name defaults to the field name, as in Milvus. */
export async function createIndex(client: MilvusClient, collection: string, idx: IndexSpec): Promise<void> {
  await milvusCall(`create index on '${collection}.${idx.field}'`, () =>
    client.createIndex({
      collection_name: collection,
      field_name: idx.field,
      index_name: idx.name ?? idx.field,
      index_type: idx.type,
      ...(idx.metric ? { metric_type: idx.metric } : {}),
      ...(idx.params ? { params: idx.params } : {}),
    } as never),
  )
}

/**
 * Creates a collection exactly as the spec says: schema, then partitions, then indexes, then load.
 * Each step is a separate call so a failure names the step that failed.
 */
export async function createCollectionFromSpec(client: MilvusClient, spec: CollectionSpec, name = spec.name): Promise<void> {
  const params = toCreateCollectionParams(spec, name)
  await milvusCall(`create collection '${name}'`, () => client.createCollection(params as never))
  for (const p of spec.partitions) {
    await milvusCall(`create partition '${p}' in '${name}'`, () => client.createPartition({ collection_name: name, partition_name: p }))
  }
  for (const idx of spec.indexes) await createIndex(client, name, idx)
  if (spec.loaded) {
    await milvusCall(`load collection '${name}'`, () => client.loadCollection({ collection_name: name }))
  }
}
