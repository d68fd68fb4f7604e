import type { FieldType } from './field-types'

/**
 * CollectionSpec: one plain, SDK-independent model of a collection. Everything flows through it:
 * a migration's createCollection definition is normalised into it, a live collection is described
 * into it (describe.ts), and it is turned into SDK create parameters (create.ts). Keep SDK spellings
 * and quirks out of this file.
 */
export type ScalarValue = string | number | boolean | null

export interface FieldSpec {
  name: string
  type: FieldType
  description?: string
  primaryKey?: boolean
  autoId?: boolean
  /** Vector dimension (dense vector types). */
  dim?: number
  /** VarChar (and VarChar array elements) maximum length in bytes. */
  maxLength?: number
  /** Array element type and capacity. */
  elementType?: FieldType
  maxCapacity?: number
  nullable?: boolean
  /** Server-side default value for rows that leave the field out. */
  defaultValue?: ScalarValue
  partitionKey?: boolean
  clusteringKey?: boolean
  /** Set by the server for fields produced by a function (e.g. BM25 sparse output). */
  functionOutput?: boolean
  /** Text analysis settings for VarChar fields that feed BM25 / text match. */
  enableAnalyzer?: boolean
  enableMatch?: boolean
  analyzerParams?: Record<string, unknown>
}

export interface IndexSpec {
  /** Defaults to the field name, which is Milvus' own default. */
  name?: string
  field: string
  type: string
  metric?: string
  params?: Record<string, string | number | boolean>
}

export interface FunctionSpec {
  name: string
  type: string
  inputFields: string[]
  outputFields: string[]
  description?: string
  params?: Record<string, unknown>
}

export type ConsistencyLevel = 'Strong' | 'Session' | 'Bounded' | 'Eventually' | 'Customized'

export interface CollectionSpec {
  name: string
  description?: string
  fields: FieldSpec[]
  enableDynamicField: boolean
  functions: FunctionSpec[]
  indexes: IndexSpec[]
  /** Named partitions besides `_default` (not used with a partition key). */
  partitions: string[]
  /** Number of partitions for a partition-key collection. */
  numPartitions?: number
  properties: Record<string, string>
  consistencyLevel?: ConsistencyLevel
  shards?: number
  aliases: string[]
  /** Whether the collection is (or should be) loaded for search and query. */
  loaded: boolean
}

export const MAX_VARCHAR_LENGTH = 65535
export const MAX_FIELDS = 64
export const MAX_DIM = 32768

export function primaryKeyOf(spec: Pick<CollectionSpec, 'fields'>): FieldSpec | undefined {
  return spec.fields.find((f) => f.primaryKey)
}
