import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import type { CollectionSpec, ConsistencyLevel, FieldSpec, FunctionSpec, IndexSpec, ScalarValue } from '../schema/spec'
import { MvmError } from '../errors'
import { aliasesOf, collectionNameOf, describeRaw, isLoaded, listPartitions } from './collections'
import { fromDataType } from './data-types'

type KV = { key: string; value: string }
const kvToObject = (kvs: KV[] | undefined): Record<string, string> =>
  Object.fromEntries((kvs ?? []).map((p) => [p.key, p.value]))

/** The SDK gives a default as a proto ValueField ({ long_data: "5" }) or null. */
function defaultFromSdk(v: unknown, type: FieldSpec['type']): ScalarValue | undefined {
  if (v === null || v === undefined) return undefined
  if (typeof v !== 'object') return v as ScalarValue
  const o = v as Record<string, unknown>
  for (const key of ['bool_data', 'int_data', 'long_data', 'float_data', 'double_data', 'string_data']) {
    if (o[key] !== undefined && o[key] !== null) {
      const raw = o[key]
      if (key === 'long_data') return type === 'Int64' ? String(raw) : Number(raw)
      return raw as ScalarValue
    }
  }
  return undefined
}

function fieldFromSdk(raw: Record<string, unknown>): FieldSpec {
  const params = { ...kvToObject(raw.type_params as KV[]), ...kvToObject(raw.index_params as KV[]) }
  const type = fromDataType(raw.data_type)
  if (!type) throw new Error(`field '${raw.name}' has a type mvmigrate does not know: ${String(raw.data_type)}`)
  const f: FieldSpec = { name: String(raw.name), type }
  if (raw.description) f.description = String(raw.description)
  if (raw.is_primary_key) f.primaryKey = true
  if (raw.is_primary_key && raw.autoID) f.autoId = true
  if (params.dim) f.dim = Number(params.dim)
  if (params.max_length) f.maxLength = Number(params.max_length)
  const elementType = fromDataType(raw.element_type)
  if (type === 'Array' && elementType) f.elementType = elementType
  if (params.max_capacity) f.maxCapacity = Number(params.max_capacity)
  if (raw.nullable) f.nullable = true
  const dv = defaultFromSdk(raw.default_value, type)
  if (dv !== undefined) f.defaultValue = dv
  if (raw.is_partition_key) f.partitionKey = true
  if (raw.is_clustering_key) f.clusteringKey = true
  if (raw.is_function_output) f.functionOutput = true
  if (params.enable_analyzer === 'true') f.enableAnalyzer = true
  if (params.enable_match === 'true') f.enableMatch = true
  if (params.analyzer_params) f.analyzerParams = JSON.parse(params.analyzer_params)
  return f
}

function indexFromSdk(raw: { index_name: string; field_name: string; params: KV[] }): IndexSpec {
  const p = kvToObject(raw.params)
  const idx: IndexSpec = { name: raw.index_name, field: raw.field_name, type: p.index_type }
  // Scalar indexes have no metric; Milvus Lite says NONE.
  if (p.metric_type && p.metric_type !== 'NONE') idx.metric = p.metric_type
  const extra: Record<string, string | number | boolean> = {}
  if (p.params) Object.assign(extra, JSON.parse(p.params))
  for (const [k, v] of Object.entries(p))
    if (!['index_type', 'metric_type', 'params', 'mmap.enabled'].includes(k)) extra[k] = v
  if (Object.keys(extra).length) idx.params = extra
  return idx
}

/** The schema part of a collection: fields, dynamic field, functions. */
function schemaOf(d: Record<string, unknown>): {
  fields: FieldSpec[]
  enableDynamicField: boolean
  functions: FunctionSpec[]
} {
  const schema = d.schema as Record<string, unknown>
  const fields = (schema.fields as Record<string, unknown>[]).map(fieldFromSdk)
  const functions: FunctionSpec[] = ((schema.functions as Record<string, unknown>[] | undefined) ?? []).map((fn) => ({
    name: String(fn.name),
    type: String(fn.type),
    inputFields: (fn.input_field_names as string[]) ?? [],
    outputFields: (fn.output_field_names as string[]) ?? [],
    ...(fn.description ? { description: String(fn.description) } : {}),
    params: kvToObject(fn.params as KV[]),
  }))
  return { fields, enableDynamicField: !!schema.enable_dynamic_field, functions }
}

/** Fields as the server made them, and how many functions it kept (read back after a create). */
export async function describeFields(
  client: MilvusClient,
  name: string,
): Promise<{ fields: FieldSpec[]; enableDynamicField: boolean; functions: number }> {
  const s = schemaOf(await describeRaw(client, name))
  return { fields: s.fields, enableDynamicField: s.enableDynamicField, functions: s.functions.length }
}

/** Reads a live collection completely into a CollectionSpec. */
export async function describeCollectionSpec(client: MilvusClient, name: string): Promise<CollectionSpec> {
  const d = await describeRaw(client, name)
  const schema = d.schema as unknown as Record<string, unknown>
  const { fields, enableDynamicField, functions } = schemaOf(d)

  const idx = await client.describeIndex({ collection_name: name })
  // "index not found" is how the server says there are none.
  const indexes =
    idx.status?.code === 0 || idx.status?.error_code === 'Success'
      ? (idx.index_descriptions ?? []).map((i) => indexFromSdk(i as never))
      : []

  const hasPartitionKey = fields.some((f) => f.partitionKey)
  let partitionNames: string[] = []
  try {
    partitionNames = await listPartitions(client, name)
  } catch (e) {
    // A server without partitions at all (Milvus Lite 2.5) has none to describe.
    if (!(e instanceof MvmError && e.code === 'UNSUPPORTED_BY_SERVER')) throw e
  }
  const partitions = hasPartitionKey ? [] : partitionNames.filter((p) => p !== '_default')

  const aliases = await aliasesOf(client, name, d.aliases as string[] | undefined)

  return {
    name: await collectionNameOf(client, d, name),
    ...(schema.description ? { description: String(schema.description) } : {}),
    fields,
    enableDynamicField,
    functions,
    indexes,
    partitions,
    ...(hasPartitionKey ? { numPartitions: Number(d.num_partitions) } : {}),
    properties: kvToObject(d.properties as unknown as KV[]),
    consistencyLevel: d.consistency_level as ConsistencyLevel,
    shards: d.shards_num as number | undefined,
    aliases: [...aliases].sort(),
    loaded: await isLoaded(client, name),
  }
}
