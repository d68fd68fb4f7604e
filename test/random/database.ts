import { DataType, type MilvusClient } from '@zilliz/milvus2-sdk-node'
import type { CaseSpec, FieldModel, SchemaModel } from './case'
import { canon, canonDynamic } from './canon'
import type { ModelRow, ModelState } from './model'
import { primaryKey } from './model'
import type { GeneratedRow } from './rows'

/**
 * Everything the random cases do to Milvus besides running mvmigrate: create the collection the
 * way a user's own script would (plain SDK calls), insert and delete rows, and read everything
 * back with one plain query per collection, never through mvmigrate's own pager or describe.
 */
const STRONG = { consistency_level: 'Strong' as never }

type Status = { error_code?: string | number; reason?: string; code?: number }
function ok(what: string, r: unknown): void {
  const status = ((r as { status?: Status })?.status ?? r) as Status | undefined
  if (status && ((status.error_code && status.error_code !== 'Success') || status.code))
    throw new Error(`${what}: ${status.reason || status.error_code}`)
}

function sdkField(f: FieldModel): Record<string, unknown> {
  return {
    name: f.name,
    data_type: DataType[f.type as keyof typeof DataType],
    ...(f.primaryKey ? { is_primary_key: true } : {}),
    ...(f.autoId ? { autoID: true } : {}),
    ...(f.maxLength !== undefined ? { max_length: f.maxLength } : {}),
    ...(f.dim !== undefined ? { dim: f.dim } : {}),
    ...(f.elementType ? { element_type: DataType[f.elementType as keyof typeof DataType] } : {}),
    ...(f.maxCapacity !== undefined ? { max_capacity: f.maxCapacity } : {}),
    ...(f.nullable ? { nullable: true } : {}),
    ...(f.default !== undefined ? { default_value: f.default } : {}),
    ...(f.partitionKey ? { is_partition_key: true } : {}),
  }
}

/** Creates the case's collection with plain SDK calls, inserts its rows and returns the model of what it holds. */
export async function seedCollection(client: MilvusClient, c: CaseSpec, rows: GeneratedRow[]): Promise<ModelState> {
  const s = c.schema
  ok(
    'create collection',
    await client.createCollection({
      collection_name: c.collection,
      fields: s.fields.map(sdkField),
      enable_dynamic_field: s.dynamic,
      ...(s.numPartitions ? { num_partitions: s.numPartitions } : {}),
    } as never),
  )
  if (Object.keys(s.properties).length)
    ok(
      'set properties',
      await client.alterCollectionProperties({ collection_name: c.collection, properties: s.properties }),
    )
  for (const p of s.partitions)
    ok('create partition', await client.createPartition({ collection_name: c.collection, partition_name: p }))
  for (const i of s.indexes) {
    ok(
      `index ${i.field}`,
      await client.createIndex({
        collection_name: c.collection,
        field_name: i.field,
        index_name: i.field,
        index_type: i.type,
        ...(i.metric ? { metric_type: i.metric } : {}),
        ...(i.params ? { params: i.params } : {}),
      } as never),
    )
  }
  ok('load', await client.loadCollection({ collection_name: c.collection }))
  for (const a of s.aliases) ok('create alias', await client.createAlias({ collection_name: c.collection, alias: a }))

  const pk = primaryKey(s)
  const model: ModelState = { schema: structuredClone(s), rows: new Map() }
  const per = Math.ceil(rows.length / c.batches)
  for (let b = 0; b < c.batches; b++) {
    const batch = rows.slice(b * per, (b + 1) * per)
    const byPartition = new Map<string, GeneratedRow[]>()
    for (const r of batch) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r])
    for (const [partition, group] of byPartition) {
      const res = await client.insert({
        collection_name: c.collection,
        ...(partition ? { partition_name: partition } : {}),
        data: group.map((r) => ({ ...r.values, ...r.dynamic })) as never,
      })
      ok('insert', res)
      const ids =
        (res.IDs as { int_id?: { data: unknown[] }; str_id?: { data: unknown[] } }).int_id?.data ??
        (res.IDs as { str_id?: { data: unknown[] } }).str_id?.data ??
        []
      group.forEach((r, i) => {
        const key = pk.autoId ? String(ids[i]) : String(r.values[pk.name])
        const values: Record<string, unknown> = { [pk.name]: key }
        for (const f of s.fields) {
          if (f.primaryKey) continue
          const v = r.values[f.name]
          // A field left out, or null where there is a default, holds the default.
          values[f.name] = v === undefined || (v === null && f.default !== undefined) ? (f.default ?? null) : v
        }
        model.rows.set(key, { partition, values, dynamic: r.dynamic })
      })
    }
    if (c.flushed.includes(b)) ok('flush', await client.flush({ collection_names: [c.collection] }))
  }
  // Never the Int64 minimum: Milvus 2.3 cannot parse that literal in a filter.
  const doomed = [...model.rows.keys()].filter((k, i) => i % 100 < c.deleteShare * 100 && k !== '-9223372036854775808')
  for (let i = 0; i < doomed.length; i += 200) {
    const chunk = doomed.slice(i, i + 200)
    const list = pk.type === 'Int64' ? chunk.join(',') : chunk.map((k) => JSON.stringify(k)).join(',')
    ok('delete', await client.delete({ collection_name: c.collection, filter: `${pk.name} in [${list}]` }))
  }
  for (const k of doomed) model.rows.delete(k)
  return model
}

export type CanonRow = Record<string, string> & { $dynamic?: never }
export interface ReadBack {
  rows: Map<string, { values: Record<string, string>; dynamic: Record<string, string> }>
  count: number
}

/** Every row of a collection by one plain query, in canonical form for the schema the model expects. */
export async function readRows(
  client: MilvusClient,
  collection: string,
  schema: SchemaModel,
  partition?: string,
): Promise<ReadBack> {
  const pk = primaryKey(schema)
  const r = await client.query({
    collection_name: collection,
    filter: '',
    output_fields: ['*'],
    limit: 16384,
    ...(partition ? { partition_names: [partition] } : {}),
    ...STRONG,
  })
  ok('query', r)
  const known = new Map(schema.fields.map((f) => [f.name, f]))
  const rows: ReadBack['rows'] = new Map()
  for (const row of r.data) {
    const values: Record<string, string> = {}
    const dynamic: Record<string, string> = {}
    for (const [k, v] of Object.entries(row)) {
      if (k === '$meta' && v && typeof v === 'object')
        for (const [dk, dv] of Object.entries(v)) dynamic[dk] = canonDynamic(dv)
      else if (known.has(k)) values[k] = canon(known.get(k)!, v)
      else dynamic[k] = canonDynamic(v)
    }
    rows.set(String(row[pk.name]), { values, dynamic })
  }
  return { rows, count: r.data.length }
}

/** The model's rows in the same canonical form. */
export function expectedRows(
  state: ModelState,
): Map<string, { values: Record<string, string>; dynamic: Record<string, string>; partition: string }> {
  const out = new Map()
  for (const [key, row] of state.rows) out.set(key, canonRow(state.schema, row))
  return out
}

export function canonRow(schema: SchemaModel, row: ModelRow) {
  const values: Record<string, string> = {}
  for (const f of schema.fields) values[f.name] = canon(f, row.values[f.name])
  const dynamic: Record<string, string> = {}
  if (schema.dynamic) for (const [k, v] of Object.entries(row.dynamic)) dynamic[k] = canonDynamic(v)
  return { values, dynamic, partition: row.partition }
}

export async function countRows(client: MilvusClient, collection: string): Promise<number> {
  const r = await client.query({ collection_name: collection, output_fields: ['count(*)'], ...STRONG })
  ok('count', r)
  return Number(r.data[0]['count(*)'])
}

/** Drops the case's database and everything in it (aliases first: a collection with one cannot be dropped). */
export async function dropDatabase(admin: MilvusClient, client: MilvusClient, database: string): Promise<void> {
  const names = ((await client.listCollections()).data ?? []).map((c) => c.name)
  for (const name of names) {
    const aliases = await client.listAliases({ collection_name: name }).catch(() => ({ aliases: [] as string[] }))
    for (const a of aliases.aliases ?? []) await client.dropAlias({ alias: a })
  }
  for (const name of names) await client.dropCollection({ collection_name: name })
  await admin.dropDatabase({ db_name: database })
}

/** Whether the server returns a row keyed by the Int64 maximum and can filter by the minimum (2.3 cannot). */
export async function probeExtremeInt64Keys(admin: MilvusClient, uri: string, token?: string): Promise<boolean> {
  const { connectMilvus } = await import('../../src/milvus/connect')
  const database = `probe_keys_${Date.now().toString(36)}`
  await admin.createDatabase({ db_name: database })
  const client = await connectMilvus({ uri, token, database })
  try {
    await client.createCollection({
      collection_name: 'keys',
      fields: [
        { name: 'pk', data_type: DataType.Int64, is_primary_key: true },
        { name: 'v', data_type: DataType.FloatVector, dim: 2 },
      ],
    } as never)
    await client.createIndex({
      collection_name: 'keys',
      field_name: 'v',
      index_type: 'FLAT',
      metric_type: 'L2',
    } as never)
    await client.loadCollection({ collection_name: 'keys' })
    await client.insert({
      collection_name: 'keys',
      data: [
        { pk: '9223372036854775807', v: [0, 1] },
        { pk: '-9223372036854775808', v: [1, 0] },
      ],
    } as never)
    const all = await client.query({ collection_name: 'keys', filter: 'pk != 0', output_fields: ['pk'], ...STRONG })
    const min = await client
      .query({ collection_name: 'keys', filter: 'pk in [-9223372036854775808]', output_fields: ['pk'], ...STRONG })
      .catch(() => ({ data: [] as unknown[] }))
    return all.data.length === 2 && min.data.length === 1
  } catch {
    return false
  } finally {
    await dropDatabase(admin, client, database).catch(() => undefined)
    await client.closeConnection()
  }
}
