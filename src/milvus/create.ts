import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import type { CollectionSpec, FieldSpec, IndexSpec } from '../schema/spec'
import { milvusCall, unsupported } from './call'
import {
  createPartition,
  dropCollection,
  forgetCollectionInfo,
  loadCollection,
  propertiesOf,
  setProperties,
} from './collections'
import { toDataType } from './data-types'
import { describeFields } from './describe'

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

/** One index; its name defaults to the field name, as in Milvus. Read back: some servers answer OK and keep the old one. */
export async function createIndex(client: MilvusClient, collection: string, idx: IndexSpec): Promise<void> {
  const what = `create index on '${collection}.${idx.field}'`
  await milvusCall(
    what,
    () =>
      client.createIndex({
        collection_name: collection,
        field_name: idx.field,
        index_name: idx.name ?? idx.field,
        index_type: idx.type,
        ...(idx.metric ? { metric_type: idx.metric } : {}),
        ...(idx.params ? { params: idx.params } : {}),
      } as never),
    { rpc: 'CreateIndex' },
  )
  const res = await milvusCall(
    `describe indexes of '${collection}'`,
    () => client.describeIndex({ collection_name: collection }),
    { rpc: 'DescribeIndex' },
  )
  const found = (res.index_descriptions ?? []).find((d) => d.field_name === idx.field)
  const type =
    found &&
    Object.fromEntries(((found.params ?? []) as { key: string; value: string }[]).map((p) => [p.key, p.value]))
      .index_type
  if (!found || (type && idx.type !== 'AUTOINDEX' && type.toUpperCase() !== idx.type.toUpperCase())) {
    throw unsupported(
      what,
      'CreateIndex',
      `it answered OK, but '${idx.field}' has ${found ? `a ${type} index` : 'no index'}`,
    )
  }
}

/** The differences between the fields asked for and the fields the server made (what it silently dropped). */
function fieldMismatches(wanted: FieldSpec[], got: FieldSpec[]): string[] {
  const out: string[] = []
  for (const w of wanted) {
    const g = got.find((f) => f.name === w.name)
    if (!g) {
      out.push(`field '${w.name}' is missing`)
      continue
    }
    const checks: [string, unknown, unknown][] = [
      ['type', w.type, g.type],
      ['dim', w.dim, g.dim],
      ['primary key', !!w.primaryKey, !!g.primaryKey],
      ['auto_id', !!w.autoId, !!g.autoId],
      ['nullable', !!w.nullable, !!g.nullable],
      ['partition key', !!w.partitionKey, !!g.partitionKey],
      ['element type', w.elementType, g.elementType],
      ['max capacity', w.maxCapacity, g.maxCapacity],
      // Milvus Lite does not report max_length of VarChar array elements back.
      ['max length', w.type === 'Array' ? undefined : w.maxLength, w.type === 'Array' ? undefined : g.maxLength],
      [
        'default',
        w.defaultValue === undefined || w.defaultValue === null ? undefined : String(w.defaultValue),
        g.defaultValue === undefined || g.defaultValue === null ? undefined : String(g.defaultValue),
      ],
    ]
    for (const [label, a, b] of checks)
      if (a !== b)
        out.push(`field '${w.name}' ${label}: asked ${JSON.stringify(a)}, the server made ${JSON.stringify(b)}`)
  }
  return out
}

/**
 * Creates a collection exactly as the spec says: schema, then partitions, then indexes, then load.
 * Each step is a separate call so a failure names the step that failed, and each is read back:
 * an older server answers Success to a field parameter it does not know (nullable, functions) and
 * drops it. A collection the server did not make as asked is dropped again (it is new and empty)
 * and the error says what the server did not keep.
 */
export async function createCollectionFromSpec(
  client: MilvusClient,
  spec: CollectionSpec,
  name = spec.name,
  opts: { loadInBackground?: boolean } = {},
): Promise<void> {
  const params = toCreateCollectionParams(spec, name)
  await milvusCall(`create collection '${name}'`, () => client.createCollection(params as never), {
    rpc: 'CreateCollection',
  })
  forgetCollectionInfo(client, name)
  try {
    const made = await describeFields(client, name)
    const problems = fieldMismatches(spec.fields, made.fields)
    if (spec.enableDynamicField && !made.enableDynamicField) problems.push('the dynamic field is off')
    if (made.functions < spec.functions.length)
      problems.push(`${spec.functions.length - made.functions} function(s) missing`)
    if (problems.length) {
      throw new MvmError(
        'UNSUPPORTED_BY_SERVER',
        `create collection '${name}': the server answered OK but did not make it as asked: ${problems.join('; ')}`,
        {
          hint: 'This Milvus server does not support part of the definition (nullable fields and functions need Milvus 2.5 or newer). Change the definition, or use a newer server. The collection was not kept.',
        },
      )
    }
    // Some servers drop properties given at create; alter them in (read back) where they can.
    const props = await propertiesOf(client, name)
    const lost = Object.fromEntries(
      Object.entries(spec.properties).filter(
        ([k, v]) => props[k] === undefined || props[k].toLowerCase() !== String(v).toLowerCase(),
      ),
    )
    if (Object.keys(lost).length) await setProperties(client, name, lost)
    for (const p of spec.partitions) await createPartition(client, name, p)
    for (const idx of spec.indexes) await createIndex(client, name, idx)
  } catch (e) {
    // Nothing of it is in use yet: leave no half-made collection behind.
    await dropCollection(client, name).catch(() => undefined)
    throw e
  }
  if (spec.loaded) {
    // A load is waited for (the SDK polls until it is done: ~2.5 s for an empty collection on
    // Milvus 2.3) unless the caller reads it later: it then waits on its first read (ensureLoaded).
    if (opts.loadInBackground)
      await milvusCall(`load '${name}'`, () => client.loadCollectionAsync({ collection_name: name }), {
        rpc: 'LoadCollection',
      })
    else await loadCollection(client, name)
  }
}

/**
 * One create attempt with no read-back and no cleanup, for the lock: 'exists' when the server
 * refused because the name is taken (another runner won the create). Any other failure throws.
 */
export async function tryCreateCollection(
  client: MilvusClient,
  spec: CollectionSpec,
  name = spec.name,
): Promise<'created' | 'exists'> {
  try {
    await milvusCall(`create ${name}`, () => client.createCollection(toCreateCollectionParams(spec, name) as never), {
      rpc: 'CreateCollection',
    })
  } catch (e) {
    // "already exists" / "duplicate" (Milvus), "File exists" (Milvus Lite's losing racer).
    if (e instanceof MvmError && e.code === 'MILVUS_ERROR' && /exist|duplicate/i.test(e.message)) return 'exists'
    throw e
  }
  forgetCollectionInfo(client, name)
  return 'created'
}
