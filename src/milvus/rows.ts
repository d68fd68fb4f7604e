import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import { milvusCall } from './call'
import { readLoaded } from './load'
import { FLOAT_COLUMNS, withFloatColumns, withPlainVectors, withQueryColumns } from './float-vector-wire'
import { KEY_COLUMN, keyColumnOf } from './key-column-wire'

/** A row as read from Milvus: field name -> value (Int64 as strings, dynamic keys under $meta). */
export type Row = Record<string, unknown>

/**
 * How current a read must be. 'strong' waits until the server has applied every write made before
 * the query (on Milvus 2.3 that is a wait for the next time tick, ~200 ms a query). A timestamp
 * (a hybrid timestamp the server gave a write, e.g. the journal's) waits only until the writes
 * before that moment are applied: once the server is past it, queries answer at once. Both see
 * every row written before; neither is a stale read.
 */
export type ReadAfter = 'strong' | { timestamp: string }

/** A read-after from a write's timestamp; strong when the server gave none (Milvus Lite). */
export function readAfter(timestamp: string | undefined): ReadAfter {
  return timestamp && /^[1-9]\d*$/.test(timestamp) ? { timestamp } : 'strong'
}

/** The query parameters of a read-after. */
export function consistencyOf(after: ReadAfter | undefined): Record<string, unknown> {
  return after && after !== 'strong'
    ? { consistency_level: 'Customized', guarantee_timestamp: after.timestamp }
    : { consistency_level: 'Strong' }
}

export interface QueryOptions {
  filter: string
  outputFields: string[]
  limit?: number
  partition?: string
  /** Extra query parameters (e.g. `{ iterator: true }`). */
  params?: Record<string, unknown>
  /** Default strong. */
  after?: ReadAfter
  /**
   * Float vector fields to give as a Float32Array per row (a view, no copy) where the result
   * carries them as columns, for rows whose vectors are only passed on to `insertRows`.
   */
  typedVectors?: ReadonlySet<string>
}

/**
 * A query read with Strong consistency: every row written before it is seen. On the bulk
 * connection float vectors come as columns and are put into the rows here (float-vector-wire.ts).
 */
export async function queryRows(client: MilvusClient, collection: string, q: QueryOptions): Promise<Row[]> {
  const res = await readLoaded(client, collection, () =>
    milvusCall(`read ${collection}`, () =>
      client.query({ [FLOAT_COLUMNS]: true, ...queryRequest(collection, q) } as never),
    ),
  )
  return withQueryColumns((res.data ?? []) as Row[], res.status, q.typedVectors)
}

function queryRequest(collection: string, q: QueryOptions): Record<string, unknown> {
  return {
    collection_name: collection,
    filter: q.filter,
    output_fields: q.outputFields,
    ...consistencyOf(q.after),
    ...(q.limit === undefined ? {} : { limit: q.limit }),
    ...(q.partition ? { partition_names: [q.partition] } : {}),
    ...(q.params ? { params: q.params } : {}),
  }
}

/**
 * The values of one field (a primary key) of the rows matching a filter, as strings (Int64 as
 * decimal text). On the bulk connection they are read from the wire without building rows
 * (key-column-wire.ts); elsewhere from the SDK's rows.
 */
export async function queryKeys(
  client: MilvusClient,
  collection: string,
  field: string,
  q: Omit<QueryOptions, 'outputFields'>,
): Promise<string[]> {
  const res = await readLoaded(client, collection, () =>
    milvusCall(`read ${collection}`, () =>
      client.query({ [KEY_COLUMN]: true, ...queryRequest(collection, { ...q, outputFields: [field] }) } as never),
    ),
  )
  const rows = (res.data ?? []) as Row[]
  const column = keyColumnOf(res.status, field)
  if (column && rows.length) throw new Error(`mvmigrate: a keys-only read of '${collection}' returned rows and keys`)
  return column ?? rows.map((r) => String(r[field]))
}

export interface WriteResult {
  /** Rows the server says it stored. */
  count: number
  /** The hybrid timestamp the server gave the write ('0' or undefined on servers that give none). */
  timestamp?: string
  /** The primary keys the server stored the rows under, as strings, in order. */
  ids: string[]
}

function idsOf(res: { IDs?: unknown }): string[] {
  const ids = res.IDs as { int_id?: { data: unknown[] }; str_id?: { data: unknown[] } } | undefined
  return (ids?.int_id?.data ?? ids?.str_id?.data ?? []).map(String)
}

/**
 * Inserts rows and checks that the server accepted every one (the SDK does not throw on a
 * partial failure: it reports err_index and a smaller insert_cnt). `floatVectors`: the collection's
 * non-nullable FloatVector fields; on the bulk connection their values go as columns of bytes
 * (milvus/float-vector-wire.ts), elsewhere they are ignored.
 */
export async function insertRows(
  client: MilvusClient,
  collection: string,
  rows: Row[],
  partition?: string,
  floatVectors: { name: string; dim: number }[] = [],
): Promise<WriteResult> {
  const what = `insert into '${collection}'`
  const split = withFloatColumns(client, rows, floatVectors)
  const res = await milvusCall(what, () =>
    client.insert({
      collection_name: collection,
      data: split?.rows ?? withPlainVectors(rows),
      ...(split ? { [FLOAT_COLUMNS]: split.columns } : {}),
      ...(partition && partition !== '_default' ? { partition_name: partition } : {}),
    } as never),
  )
  const count = Number(res.insert_cnt)
  if (res.err_index?.length || count !== rows.length) {
    throw new MvmError(
      'MILVUS_ERROR',
      `${what}: ${count} of ${rows.length} rows were accepted${res.err_index?.length ? ` (rejected: rows ${res.err_index.slice(0, 5).join(', ')})` : ''}`,
    )
  }
  return { count, ids: idsOf(res), timestamp: (res as { timestamp?: string }).timestamp }
}

export async function upsertRows(
  client: MilvusClient,
  collection: string,
  rows: Row[],
  partition?: string,
): Promise<WriteResult> {
  const what = `upsert into '${collection}'`
  const res = await milvusCall(what, () =>
    client.upsert({
      collection_name: collection,
      data: withPlainVectors(rows),
      ...(partition && partition !== '_default' ? { partition_name: partition } : {}),
    } as never),
  )
  const count = Number((res as { upsert_cnt?: unknown }).upsert_cnt ?? res.insert_cnt ?? rows.length)
  if (res.err_index?.length)
    throw new MvmError('MILVUS_ERROR', `${what}: ${res.err_index.length} of ${rows.length} rows were rejected`)
  return { count, ids: idsOf(res), timestamp: (res as { timestamp?: string }).timestamp }
}

/** Deletes the rows matching a filter expression. */
export async function deleteRows(
  client: MilvusClient,
  collection: string,
  filter: string,
  partition?: string,
): Promise<void> {
  await milvusCall(`delete from '${collection}'`, () =>
    client.delete({
      collection_name: collection,
      filter,
      ...(partition ? { partition_name: partition } : {}),
    } as never),
  )
}
