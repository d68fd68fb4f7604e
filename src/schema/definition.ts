import {
  ARRAY_ELEMENT_TYPES,
  DENSE_VECTOR_TYPES,
  FIELD_TYPES,
  PRIMARY_KEY_TYPES,
  isVectorType,
  parseFieldType,
} from './field-types'
import {
  type CollectionSpec,
  type ConsistencyLevel,
  type FieldSpec,
  type FunctionSpec,
  type IndexSpec,
  MAX_DIM,
  MAX_FIELDS,
  MAX_VARCHAR_LENGTH,
  type ScalarValue,
} from './spec'

/**
 * What a migration author writes. Fields accept our camelCase shape (`name`, `type`, `maxLength`)
 * and Milvus' snake_case shape (`field_name`, `datatype`/`data_type`, `max_length`), so schemas
 * teams already keep in pymilvus style can be pasted in.
 */
export interface FieldDefinition {
  name?: string
  field_name?: string
  type?: string
  datatype?: string
  data_type?: string
  description?: string
  primaryKey?: boolean
  is_primary?: boolean
  is_primary_key?: boolean
  autoId?: boolean
  auto_id?: boolean
  autoID?: boolean
  dim?: number
  maxLength?: number
  max_length?: number
  elementType?: string
  element_type?: string
  maxCapacity?: number
  max_capacity?: number
  nullable?: boolean
  default?: ScalarValue
  default_value?: ScalarValue
  partitionKey?: boolean
  is_partition_key?: boolean
  clusteringKey?: boolean
  is_clustering_key?: boolean
  enableAnalyzer?: boolean
  enable_analyzer?: boolean
  enableMatch?: boolean
  enable_match?: boolean
  analyzerParams?: Record<string, unknown>
  analyzer_params?: Record<string, unknown>
}

/** An index as a migration declares it: the same shape the CollectionSpec keeps. */
export type IndexDefinition = IndexSpec

/** A function (e.g. BM25: a VarChar input turned into a SparseFloatVector output), as the CollectionSpec keeps it. */
export type FunctionDefinition = FunctionSpec

export interface CollectionDefinition {
  name: string
  description?: string
  fields: FieldDefinition[]
  indexes?: IndexDefinition[]
  partitions?: string[]
  /** For a partition-key collection: how many partitions Milvus hashes keys into. */
  numPartitions?: number
  properties?: Record<string, string | number | boolean>
  enableDynamicField?: boolean
  functions?: FunctionDefinition[]
  consistencyLevel?: ConsistencyLevel
  shards?: number
  /** Load the collection after creating it (default true when it has an index on every vector field). */
  load?: boolean
  /** Aliases to create for it. */
  aliases?: string[]
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/

function pick<T>(...values: (T | undefined)[]): T | undefined {
  return values.find((v) => v !== undefined)
}

/** Turns one field definition into a FieldSpec, pushing every problem found onto `problems`. */
export function normalizeField(def: FieldDefinition, problems: string[], where = ''): FieldSpec | undefined {
  if (!def || typeof def !== 'object') {
    problems.push(`${where}a field definition must be an object, got ${JSON.stringify(def)}`)
    return undefined
  }
  const name = pick(def.name, def.field_name)
  const label = `${where}field ${name === undefined ? '(unnamed)' : `'${name}'`}`
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    problems.push(
      `${label}: a field needs a name of letters, digits and underscores, starting with a letter or underscore`,
    )
    return undefined
  }
  const rawType = pick(def.type, def.datatype, def.data_type)
  const type = parseFieldType(rawType)
  if (!type) {
    problems.push(`${label}: unknown type ${JSON.stringify(rawType)} (expected one of ${FIELD_TYPES.join(', ')})`)
    return undefined
  }
  const spec: FieldSpec = { name, type }
  const description = def.description
  if (description) spec.description = description
  if (pick(def.primaryKey, def.is_primary, def.is_primary_key)) spec.primaryKey = true
  if (pick(def.autoId, def.auto_id, def.autoID)) spec.autoId = true
  if (def.nullable) spec.nullable = true
  if (pick(def.partitionKey, def.is_partition_key)) spec.partitionKey = true
  if (pick(def.clusteringKey, def.is_clustering_key)) spec.clusteringKey = true
  if (pick(def.enableAnalyzer, def.enable_analyzer)) spec.enableAnalyzer = true
  if (pick(def.enableMatch, def.enable_match)) spec.enableMatch = true
  const analyzerParams = pick(def.analyzerParams, def.analyzer_params)
  if (analyzerParams) spec.analyzerParams = analyzerParams
  const defaultValue = pick(def.default, def.default_value)
  if (defaultValue !== undefined) spec.defaultValue = defaultValue

  if (DENSE_VECTOR_TYPES.has(type)) {
    if (!Number.isInteger(def.dim) || (def.dim as number) < 1 || (def.dim as number) > MAX_DIM) {
      problems.push(`${label}: ${type} needs a dim between 1 and ${MAX_DIM}, got ${JSON.stringify(def.dim)}`)
    } else spec.dim = def.dim
    if (type === 'BinaryVector' && spec.dim && spec.dim % 8 !== 0)
      problems.push(`${label}: BinaryVector dim must be a multiple of 8`)
  }
  const maxLength = pick(def.maxLength, def.max_length)
  const elementType = parseFieldType(pick(def.elementType, def.element_type))
  if (type === 'VarChar' || (type === 'Array' && elementType === 'VarChar')) {
    if (!Number.isInteger(maxLength) || (maxLength as number) < 1 || (maxLength as number) > MAX_VARCHAR_LENGTH) {
      problems.push(
        `${label}: VarChar needs maxLength between 1 and ${MAX_VARCHAR_LENGTH}, got ${JSON.stringify(maxLength)}`,
      )
    } else spec.maxLength = maxLength
  }
  if (type === 'Array') {
    const rawElement = pick(def.elementType, def.element_type)
    if (!elementType || !ARRAY_ELEMENT_TYPES.has(elementType)) {
      problems.push(
        `${label}: Array needs elementType, one of ${[...ARRAY_ELEMENT_TYPES].join(', ')}; got ${JSON.stringify(rawElement)}`,
      )
    } else spec.elementType = elementType
    const cap = pick(def.maxCapacity, def.max_capacity)
    if (!Number.isInteger(cap) || (cap as number) < 1 || (cap as number) > 4096) {
      problems.push(`${label}: Array needs maxCapacity between 1 and 4096, got ${JSON.stringify(cap)}`)
    } else spec.maxCapacity = cap
  }
  if (spec.primaryKey) {
    if (!PRIMARY_KEY_TYPES.has(type)) problems.push(`${label}: a primary key must be Int64 or VarChar, not ${type}`)
    if (spec.nullable) problems.push(`${label}: a primary key cannot be nullable`)
    if (spec.defaultValue !== undefined) problems.push(`${label}: a primary key cannot have a default`)
  } else if (spec.autoId) {
    problems.push(`${label}: autoId only applies to the primary key`)
  }
  if (spec.defaultValue !== undefined && spec.defaultValue !== null) {
    if (isVectorType(type) || type === 'JSON' || type === 'Array') {
      problems.push(`${label}: ${type} fields cannot have a default value`)
    } else if (!defaultFits(type, spec.defaultValue)) {
      problems.push(`${label}: default ${JSON.stringify(spec.defaultValue)} is not a valid ${type}`)
    }
  }
  return spec
}

function defaultFits(type: FieldSpec['type'], v: ScalarValue): boolean {
  switch (type) {
    case 'Bool':
      return typeof v === 'boolean'
    case 'Int8':
    case 'Int16':
    case 'Int32':
    case 'Int64':
      return (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v))
    case 'Float':
    case 'Double':
      return typeof v === 'number'
    case 'VarChar':
      return typeof v === 'string'
    default:
      return false
  }
}

/** Checks that need the whole collection: one primary key, a vector field, unique names, limits. */
export function validateSpec(spec: CollectionSpec, problems: string[], where = ''): void {
  const prefix = `${where}collection '${spec.name}': `
  if (!NAME_RE.test(spec.name))
    problems.push(
      `${prefix}a collection name must be letters, digits and underscores, starting with a letter or underscore`,
    )
  const seen = new Set<string>()
  for (const f of spec.fields) {
    if (seen.has(f.name)) problems.push(`${prefix}field '${f.name}' is defined twice`)
    seen.add(f.name)
  }
  const pks = spec.fields.filter((f) => f.primaryKey)
  if (pks.length !== 1)
    problems.push(
      `${prefix}needs exactly one primary key field, found ${pks.length}${pks.length ? ` (${pks.map((f) => f.name).join(', ')})` : ''}`,
    )
  if (!spec.fields.some((f) => isVectorType(f.type))) problems.push(`${prefix}needs at least one vector field`)
  if (spec.fields.length > MAX_FIELDS)
    problems.push(`${prefix}has ${spec.fields.length} fields; Milvus allows at most ${MAX_FIELDS}`)
  if (spec.fields.filter((f) => f.partitionKey).length > 1)
    problems.push(`${prefix}can have only one partition key field`)
  for (const f of spec.fields.filter((x) => x.partitionKey)) {
    if (f.type !== 'Int64' && f.type !== 'VarChar')
      problems.push(`${prefix}partition key '${f.name}' must be Int64 or VarChar`)
    if (f.primaryKey) problems.push(`${prefix}partition key '${f.name}' cannot be the primary key`)
  }
  if (spec.partitions.length && spec.fields.some((f) => f.partitionKey)) {
    problems.push(`${prefix}named partitions cannot be created in a collection with a partition key`)
  }
  for (const idx of spec.indexes) {
    if (!seen.has(idx.field)) problems.push(`${prefix}index on unknown field '${idx.field}'`)
    if (!idx.type) problems.push(`${prefix}index on '${idx.field}' needs a type`)
  }
  for (const fn of spec.functions) {
    for (const input of fn.inputFields)
      if (!seen.has(input)) problems.push(`${prefix}function '${fn.name}' reads unknown field '${input}'`)
    for (const out of fn.outputFields)
      if (!seen.has(out)) problems.push(`${prefix}function '${fn.name}' writes unknown field '${out}'`)
  }
}

/** Normalises and validates a createCollection definition; returns the spec and all problems. */
export function specFromDefinition(
  def: CollectionDefinition,
  where = '',
): { spec: CollectionSpec; problems: string[] } {
  const problems: string[] = []
  if (!def || typeof def !== 'object') {
    problems.push(`${where}createCollection needs an object with name and fields`)
    return { spec: emptySpec(''), problems }
  }
  if (!Array.isArray(def.fields) || def.fields.length === 0) {
    problems.push(`${where}collection '${def.name}': fields must be a non-empty array`)
  }
  const fields = (Array.isArray(def.fields) ? def.fields : [])
    .map((f) => normalizeField(f, problems, `${where}collection '${def.name}', `))
    .filter((f): f is FieldSpec => !!f)
  const functions: FunctionSpec[] = (def.functions ?? []).map((fn) => ({
    name: fn.name,
    type: fn.type,
    inputFields: fn.inputFields ?? [],
    outputFields: fn.outputFields ?? [],
    description: fn.description,
    params: fn.params,
  }))
  // Function outputs (e.g. a BM25 sparse vector) are filled in by the server.
  for (const fn of functions)
    for (const out of fn.outputFields) {
      const f = fields.find((x) => x.name === out)
      if (f) f.functionOutput = true
    }
  const indexes: IndexSpec[] = (def.indexes ?? []).map((i) => ({
    field: i.field,
    type: i.type,
    ...(i.name ? { name: i.name } : {}),
    ...(i.metric ? { metric: i.metric } : {}),
    ...(i.params ? { params: i.params } : {}),
  }))
  const spec: CollectionSpec = {
    name: def.name,
    description: def.description,
    fields,
    enableDynamicField: !!def.enableDynamicField,
    functions,
    indexes,
    partitions: def.partitions ?? [],
    numPartitions: def.numPartitions,
    properties: Object.fromEntries(Object.entries(def.properties ?? {}).map(([k, v]) => [k, String(v)])),
    consistencyLevel: def.consistencyLevel,
    shards: def.shards,
    aliases: [],
    loaded:
      def.load ?? fields.filter((f) => isVectorType(f.type)).every((f) => indexes.some((i) => i.field === f.name)),
  }
  if (typeof def.name !== 'string') problems.push(`${where}createCollection needs a collection name`)
  else validateSpec(spec, problems, where)
  return { spec, problems }
}

function emptySpec(name: string): CollectionSpec {
  return {
    name,
    fields: [],
    enableDynamicField: false,
    functions: [],
    indexes: [],
    partitions: [],
    properties: {},
    aliases: [],
    loaded: false,
  }
}
