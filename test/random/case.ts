/**
 * The shape of one randomized case, as plain data: it prints as one line, replays from its seed,
 * and shrinks by editing the data (fewer rows, fewer steps).
 */
export type ScalarType = 'Bool' | 'Int8' | 'Int16' | 'Int32' | 'Int64' | 'Float' | 'Double' | 'VarChar' | 'JSON'
export type FieldType = ScalarType | 'Array' | 'FloatVector' | 'SparseFloatVector'

export interface FieldModel {
  name: string
  type: FieldType
  elementType?: Exclude<ScalarType, 'JSON'>
  maxLength?: number
  maxCapacity?: number
  dim?: number
  nullable?: boolean
  default?: unknown
  primaryKey?: boolean
  autoId?: boolean
  partitionKey?: boolean
}

export interface IndexModel {
  field: string
  type: string
  metric?: string
  params?: Record<string, number>
}

export interface SchemaModel {
  fields: FieldModel[]
  dynamic: boolean
  /** Named partitions besides _default (none with a partition key). */
  partitions: string[]
  numPartitions?: number
  indexes: IndexModel[]
  properties: Record<string, string>
  aliases: string[]
}

/** Named converters and backfills (test/random/functions.ts), so a case stays plain data. */
export type ConverterName = 'fround' | 'clampInt32' | 'lengthText' | 'boolToInt8' | 'wrapJson' | 'jsonText'

export type OpSpec =
  | { op: 'add'; field: FieldModel; backfill?: boolean }
  | { op: 'drop'; name: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'retype'; name: string; to: ScalarType; convert?: ConverterName; maxLength?: number }
  | { op: 'grow'; name: string; maxLength?: number; maxCapacity?: number }
  | { op: 'nullable'; name: string; nullable: boolean; default?: unknown }
  | { op: 'addIndex'; index: IndexModel }
  | { op: 'dropIndex'; name: string }
  | { op: 'setProperty'; key: string; value: string }

export interface MigrationSpec {
  ops: OpSpec[]
  verify: 'count' | 'full'
  /** A down() that calls ctx.revertAlter, instead of leaving down() out (mvmigrate then swaps back itself). */
  explicitDown: boolean
}

export type Step =
  | { kind: 'up' }
  | { kind: 'down' }
  /** A migration that must fail before anything changes. */
  | { kind: 'invalid'; ops: OpSpec[]; why: string }

export interface ServerCaps {
  nullable: boolean
  sparse: boolean
  multipleVectors: boolean
  invertedIndex: boolean
  keepAutoIdKeys: boolean
  /**
   * Int64 minimum and maximum as primary keys. Milvus 2.3 never returns the row keyed
   * 9223372036854775807 to a query and cannot parse -9223372036854775808 in a filter
   * (docs/milvus-differences.md): mvmigrate refuses to swap such a collection there, saying why.
   */
  extremeInt64Keys: boolean
}

export interface CaseSpec {
  seed: number
  /** From ServerCaps: false keeps the Int64 minimum and maximum out of the keys. */
  extremeInt64Keys?: boolean
  collection: string
  schema: SchemaModel
  rowCount: number
  /** Insert batches (rows go in shuffled), which of them are flushed, and the share of rows deleted afterwards. */
  batches: number
  flushed: number[]
  deleteShare: number
  migrations: MigrationSpec[]
  steps: Step[]
}
