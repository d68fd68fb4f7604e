import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import { milvusCall } from './call'

/** A row as read from Milvus: field name -> value (Int64 as strings, dynamic keys under $meta). */
export type Row = Record<string, unknown>

export interface QueryOptions {
  filter: string
  outputFields: string[]
  limit?: number
  partition?: string
  /** Extra query parameters (e.g. `{ iterator: true }`). */
  params?: Record<string, unknown>
}

/** A query read with Strong consistency: every row written before it is seen. */
export async function queryRows(client: MilvusClient, collection: string, q: QueryOptions): Promise<Row[]> {
  const res = await milvusCall(`read ${collection}`, () =>
    client.query({
      collection_name: collection,
      filter: q.filter,
      output_fields: q.outputFields,
      consistency_level: 'Strong',
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.partition ? { partition_names: [q.partition] } : {}),
      ...(q.params ? { params: q.params } : {}),
    } as never),
  )
  return (res.data ?? []) as Row[]
}

export interface WriteResult {
  /** Rows the server says it stored. */
  count: number
  /** The primary keys the server stored the rows under, as strings, in order. */
  ids: string[]
}

function idsOf(res: { IDs?: unknown }): string[] {
  const ids = res.IDs as { int_id?: { data: unknown[] }; str_id?: { data: unknown[] } } | undefined
  return (ids?.int_id?.data ?? ids?.str_id?.data ?? []).map(String)
}

/**
 * Inserts rows and checks that the server accepted every one (the SDK does not throw on a
 * partial failure: it reports err_index and a smaller insert_cnt).
 */
export async function insertRows(
  client: MilvusClient,
  collection: string,
  rows: Row[],
  partition?: string,
): Promise<WriteResult> {
  const what = `insert into '${collection}'`
  const res = await milvusCall(what, () =>
    client.insert({
      collection_name: collection,
      data: rows,
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
  return { count, ids: idsOf(res) }
}

export async function upsertRows(client: MilvusClient, collection: string, rows: Row[]): Promise<WriteResult> {
  const what = `upsert into '${collection}'`
  const res = await milvusCall(what, () => client.upsert({ collection_name: collection, data: rows } as never))
  const count = Number((res as { upsert_cnt?: unknown }).upsert_cnt ?? res.insert_cnt ?? rows.length)
  if (res.err_index?.length)
    throw new MvmError('MILVUS_ERROR', `${what}: ${res.err_index.length} of ${rows.length} rows were rejected`)
  return { count, ids: idsOf(res) }
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
