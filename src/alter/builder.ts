import type { FieldDefinition, FunctionDefinition, IndexDefinition } from '../schema/definition'
import type { ConsistencyLevel, ScalarValue } from '../schema/spec'

/** A row as read from Milvus: field name -> value (Int64 as strings, dynamic keys at top level). */
export type Row = Record<string, unknown>

/** How a backfill is called (src/alter/backfill.ts runs it). */
export interface BackfillOptions {
  /** Rows per call. Given: the function takes an array of rows and returns one value per row, in order. */
  batchSize?: number
  /** Calls in flight at once, for the batched form (default 4); the single-row form runs one row at a time. */
  concurrency?: number
  /** Retries of a call that failed with a retryable error (default 5 with options given, 0 without). */
  maxRetries?: number
  /** Calls spaced to a quota: requests and/or rows per second. */
  rateLimit?: { requestsPerSecond?: number; rowsPerSecond?: number }
  /** First backoff delay (default 500 ms); it doubles each retry, with jitter, up to maxRetryDelayMs (default 30 s). */
  retryDelayMs?: number
  maxRetryDelayMs?: number
}

export interface FieldChanges {
  /** New type; needs `convert` unless every value converts on its own (e.g. Int32 -> Int64). */
  type?: string
  convert?: (value: unknown, row: Row) => unknown
  maxLength?: number
  maxCapacity?: number
  dim?: number
  elementType?: string
  /** false: the primary key's values are given, no longer generated (needed to retype an auto_id key: only Int64 keys can be generated). */
  autoId?: false
  nullable?: boolean
  default?: ScalarValue
  description?: string
  partitionKey?: boolean
  clusteringKey?: boolean
  enableAnalyzer?: boolean
  enableMatch?: boolean
  analyzerParams?: Record<string, unknown>
}

/** Collection-level settings an alter can change (the copy is created with them). */
export interface CollectionOptions {
  description?: string
  consistencyLevel?: ConsistencyLevel
  shards?: number
  /** Partitions of a partition-key collection. */
  numPartitions?: number
}

/** One declared change. The builder only records these; src/alter/plan.ts gives them meaning. */
export type AlterOp =
  | { kind: 'addField'; field: FieldDefinition }
  | { kind: 'dropField'; name: string }
  | { kind: 'renameField'; from: string; to: string }
  | { kind: 'alterField'; name: string; changes: FieldChanges }
  /** With options.batchSize, `fn` takes an array of rows (typed as one row here so a literal op keeps its row type). */
  | { kind: 'backfill'; field: string; fn: (row: Row) => unknown; options?: BackfillOptions }
  | { kind: 'mapRows'; fn: (row: Row, source: Row) => Row | Promise<Row> }
  | { kind: 'addIndex'; index: IndexDefinition }
  | { kind: 'dropIndex'; name: string }
  | { kind: 'setProperties'; properties: Record<string, string | number | boolean> }
  | { kind: 'dropProperties'; keys: string[] }
  | { kind: 'addFunction'; fn: FunctionDefinition }
  | { kind: 'dropFunction'; name: string }
  | { kind: 'setCollectionOptions'; options: CollectionOptions }
  | { kind: 'enableDynamicField'; enabled: boolean }

/** What `ctx.alter(name, (t) => { ... })` hands to the callback. */
export class AlterBuilder {
  readonly ops: AlterOp[] = []

  /** A new field. Its value: `default`, else the type's zero ('' / 0 / false), else null if nullable; or a backfill. */
  addField(field: FieldDefinition): this {
    this.ops.push({ kind: 'addField', field })
    return this
  }
  dropField(name: string): this {
    this.ops.push({ kind: 'dropField', name })
    return this
  }
  /** Values move with the rename. */
  renameField(from: string, to: string): this {
    this.ops.push({ kind: 'renameField', from, to })
    return this
  }
  /** Type params (maxLength, maxCapacity, dim), nullable, default, description, partition key, or type with a converter. */
  alterField(name: string, changes: FieldChanges): this {
    this.ops.push({ kind: 'alterField', name, changes })
    return this
  }
  /**
   * Computes a field's value from the source row (original field names). Async allowed. With
   * `batchSize`, `fn` takes an array of rows and returns (or resolves to) one value per row, in
   * order, with up to `concurrency` calls in flight; retryable errors (HTTP 429/5xx, resets,
   * timeouts, `retryable: true`) are retried up to `maxRetries` times. The field may be new or an
   * existing one being changed (a new dim: the backfill is the value, no converter needed).
   */
  backfill(field: string, fn: (row: Row) => unknown, options?: BackfillOptions & { batchSize?: undefined }): this
  backfill(
    field: string,
    fn: (rows: Row[]) => unknown[] | Promise<unknown[]>,
    options: BackfillOptions & { batchSize: number },
  ): this
  backfill(field: string, fn: ((row: Row) => unknown) | ((rows: Row[]) => unknown), options?: BackfillOptions): this {
    this.ops.push({
      kind: 'backfill',
      field,
      fn: fn as (row: Row) => unknown,
      ...(options !== undefined ? { options } : {}),
    })
    return this
  }
  /** A general transform of each target row, run last; gets (targetRow, sourceRow). Async allowed. */
  mapRows(fn: (row: Row, source: Row) => Row | Promise<Row>): this {
    this.ops.push({ kind: 'mapRows', fn })
    return this
  }
  addIndex(index: IndexDefinition): this {
    this.ops.push({ kind: 'addIndex', index })
    return this
  }
  dropIndex(name: string): this {
    this.ops.push({ kind: 'dropIndex', name })
    return this
  }
  setProperties(properties: Record<string, string | number | boolean>): this {
    this.ops.push({ kind: 'setProperties', properties })
    return this
  }
  /** Removes collection properties. */
  dropProperties(keys: string[]): this {
    this.ops.push({ kind: 'dropProperties', keys })
    return this
  }
  /** A function (e.g. BM25) whose output fields the server computes; add its output field first with addField. */
  addFunction(fn: FunctionDefinition): this {
    this.ops.push({ kind: 'addFunction', fn })
    return this
  }
  /** Removes a function, and its output fields with it (their values exist only as the function's). */
  dropFunction(name: string): this {
    this.ops.push({ kind: 'dropFunction', name })
    return this
  }
  /** Description, consistency level, shards, or the number of partition-key partitions. */
  setCollectionOptions(options: CollectionOptions): this {
    this.ops.push({ kind: 'setCollectionOptions', options })
    return this
  }
  enableDynamicField(enabled = true): this {
    this.ops.push({ kind: 'enableDynamicField', enabled })
    return this
  }
}

export interface AlterOptions {
  /** Allow dropping, renaming or retyping the primary key. */
  allowPrimaryKeyChange?: boolean
  /** Accept newly generated primary keys when the server cannot keep them (auto_id collections). */
  newIds?: boolean
  /** Keep the old collection as a backup (default true). */
  keepBackup?: boolean
  /** Turn a plain collection name into an alias on this alter, so later alters swap with no downtime. */
  convertToAlias?: boolean
  /** 'count' (default): row count and primary-key set; 'full': also every value. */
  verify?: 'count' | 'full'
  /** Rows per page (default: chosen from the row size). */
  batchSize?: number
  /** Pages read ahead of the writer (default 2). */
  pagesInFlight?: number
  /**
   * Default true: writers may keep writing to the collection while it is altered. After the copy,
   * passes re-copy the key windows whose content changed; after the swap the old collection is
   * swept for late writes. false: any write during the copy fails the alter (nothing swapped).
   */
  online?: boolean
  /** Catch-up passes at most (default 10); passes stop earlier once they stop shrinking. */
  maxPasses?: number
  /** The old collection is swept again this long after the swap, for late writers (default 2000 ms). */
  graceMs?: number
}

/** The declarative form: the whole field list, in the camelCase or the snake_case shape. */
export interface DeclarativeAlter {
  schema: FieldDefinition[]
}
