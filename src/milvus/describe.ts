import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { CollectionSpec, ConsistencyLevel, FieldSpec, FunctionSpec, IndexSpec, ScalarValue } from '../schema/spec'
import { MvmError } from '../errors'
import { milvusCall } from './call'
import { fromDataType } from './data-types'

type KV = { key: string; value: string }
const kvToObject = (kvs: KV[] | undefined): Record<string, string> => Object.fromEntries((kvs ?? []).map((p) => [p.key, p.value]))

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
  if (p.metric_type) idx.metric = p.metric_type
  const extra: Record<string, string | number | boolean> = {}
  if (p.params) Object.assign(extra, JSON.parse(p.params))
  for (const [k, v] of Object.entries(p)) if (!['index_type', 'metric_type', 'params', 'mmap.enabled'].includes(k)) extra[k] = v
  if (Object.keys(extra).length) idx.params = extra
  return idx
}

/** Reads a live collection completely into a CollectionSpec. */
type Described = { collection_name?: string; collectionID?: unknown; schema?: { name?: string } }

/**
 * The real name of the collection a describe answered for. Newer servers put it in collection_name
 * even when asked through an alias; Milvus 2.3 puts the alias there and the real name only in
 * schema.name, which is trusted once the collection of that name proves to be the same one.
 */
export async function collectionNameOf(client: MilvusClient, d: Described, asked: string): Promise<string> {
  const named = d.collection_name || asked
  const schemaName = d.schema?.name
  if (named !== asked || !schemaName || schemaName === asked) return named
  const real = (await client.describeCollection({ collection_name: schemaName }).catch(() => undefined)) as (Described & { status?: { error_code?: string; code?: number } }) | undefined
  const found = real && real.status?.error_code === 'Success' && !real.status?.code
  return found && String(real.collectionID) === String(d.collectionID) ? schemaName : named
}

export async function describeCollectionSpec(client: MilvusClient, name: string): Promise<CollectionSpec> {
  const d = await milvusCall(`describe collection '${name}'`, () => client.describeCollection({ collection_name: name }))
  const schema = d.schema as unknown as Record<string, unknown>
  const fields = (schema.fields as Record<string, unknown>[]).map(fieldFromSdk)
  const functions: FunctionSpec[] = ((schema.functions as Record<string, unknown>[] | undefined) ?? []).map((fn) => ({
    name: String(fn.name),
    type: String(fn.type),
    inputFields: (fn.input_field_names as string[]) ?? [],
    outputFields: (fn.output_field_names as string[]) ?? [],
    ...(fn.description ? { description: String(fn.description) } : {}),
    params: kvToObject(fn.params as KV[]),
  }))

  const idx = await client.describeIndex({ collection_name: name })
  // "index not found" is how the server says there are none.
  const indexes = idx.status?.code === 0 || idx.status?.error_code === 'Success' ? (idx.index_descriptions ?? []).map((i) => indexFromSdk(i as never)) : []

  const parts = await milvusCall(`list partitions of '${name}'`, () => client.listPartitions({ collection_name: name }))
  const hasPartitionKey = fields.some((f) => f.partitionKey)
  const partitions = hasPartitionKey ? [] : (parts.partition_names ?? []).filter((p) => p !== '_default')

  const aliases = await aliasesOf(client, name, d.aliases)
  const load = await milvusCall(`get load state of '${name}'`, () => client.getLoadState({ collection_name: name }))

  return {
    name: await collectionNameOf(client, d as Described, name),
    ...(schema.description ? { description: String(schema.description) } : {}),
    fields,
    enableDynamicField: !!schema.enable_dynamic_field,
    functions,
    indexes,
    partitions,
    ...(hasPartitionKey ? { numPartitions: Number(d.num_partitions) } : {}),
    properties: kvToObject(d.properties as unknown as KV[]),
    consistencyLevel: d.consistency_level as ConsistencyLevel,
    shards: d.shards_num,
    aliases: [...aliases].sort(),
    loaded: String(load.state) === 'LoadStateLoaded',
  }
}

/**
 * Aliases of a collection. ListAliases is Milvus 2.4+; older servers list them in the describe
 * response instead (pass it as `fromDescribe` when at hand).
 */
export async function aliasesOf(client: MilvusClient, name: string, fromDescribe?: string[]): Promise<string[]> {
  try {
    const res = await milvusCall(`list aliases of '${name}'`, () => client.listAliases({ collection_name: name }))
    return res.aliases ?? []
  } catch (e) {
    if (!(e instanceof MvmError) || e.code !== 'MILVUS_ERROR') throw e
    if (fromDescribe) return fromDescribe
    const d = await milvusCall(`describe collection '${name}'`, () => client.describeCollection({ collection_name: name }))
    return d.aliases ?? []
  }
}
