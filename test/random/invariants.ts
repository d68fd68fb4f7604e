import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { canon } from './canon'
import type { FieldModel, SchemaModel } from './case'
import { countRows, expectedRows, readRows } from './database'
import { type ModelState, primaryKey } from './model'

/**
 * The invariants, checked after every step by reading Milvus back independently of mvmigrate's
 * copy code: row count, primary-key set, every value (bit for bit), schema, indexes, partitions
 * (every row in its partition), properties, aliases, the collections left around, and the ledger.
 * Returns what does not hold, in words; empty when all do.
 */
export interface Expectation {
  collection: string
  state: ModelState
  /** Versions the ledger must record as applied. */
  applied: string[]
  /** Collections alters must have left: backups of applied alters and set-aside collections of undone ones. */
  leftovers: string[]
  /**
   * With a partition key: how many partitions the server made for the seeded collection (Milvus Lite
   * makes 16 whatever num_partitions asks). Every alter must keep that number.
   */
  partitionKeyPartitions?: number
}

const MAX_REPORTED = 5

export async function checkInvariants(client: MilvusClient, e: Expectation): Promise<string[]> {
  const out: string[] = []
  const { schema } = e.state
  const count = await countRows(client, e.collection)
  if (count !== e.state.rows.size) out.push(`count(*) is ${count}, expected ${e.state.rows.size}`)
  out.push(
    ...compareRows(await readRows(client, e.collection, schema).then((r) => r.rows), expectedRows(e.state), 'query'),
  )
  out.push(...(await checkSchema(client, e.collection, schema)))
  out.push(...(await checkPartitions(client, e)))
  out.push(...(await checkCollections(client, e)))
  out.push(...(await checkLedger(client, e.applied)))
  return out
}

/** Rows read back vs the model, both canonical. */
export function compareRows(
  actual: Map<string, { values: Record<string, string>; dynamic: Record<string, string> }>,
  expected: Map<string, { values: Record<string, string>; dynamic: Record<string, string> }>,
  reader: string,
): string[] {
  const out: string[] = []
  const missing = [...expected.keys()].filter((k) => !actual.has(k))
  const extra = [...actual.keys()].filter((k) => !expected.has(k))
  if (missing.length)
    out.push(`${reader}: ${missing.length} rows missing (keys ${missing.slice(0, MAX_REPORTED).join(', ')})`)
  if (extra.length)
    out.push(`${reader}: ${extra.length} unexpected rows (keys ${extra.slice(0, MAX_REPORTED).join(', ')})`)
  let differing = 0
  for (const [key, want] of expected) {
    const got = actual.get(key)
    if (!got) continue
    const diffs: string[] = []
    for (const [f, v] of Object.entries(want.values))
      if (got.values[f] !== v) diffs.push(`${f}: ${clip(got.values[f])} != expected ${clip(v)}`)
    for (const f of Object.keys(got.values)) if (!(f in want.values)) diffs.push(`${f}: unexpected field`)
    const dynKeys = new Set([...Object.keys(want.dynamic), ...Object.keys(got.dynamic)])
    for (const k of dynKeys)
      if (got.dynamic[k] !== want.dynamic[k])
        diffs.push(`dynamic ${k}: ${clip(got.dynamic[k])} != expected ${clip(want.dynamic[k])}`)
    if (diffs.length && differing++ < MAX_REPORTED) out.push(`${reader}: row ${key}: ${diffs.join('; ')}`)
  }
  if (differing > MAX_REPORTED) out.push(`${reader}: ${differing} rows differ in all`)
  return out
}

function clip(s: string | undefined): string {
  if (s === undefined) return '(absent)'
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

interface RawField {
  name: string
  data_type: string
  is_primary_key?: boolean
  autoID?: boolean
  element_type?: string
  nullable?: boolean
  is_partition_key?: boolean
  default_value?: Record<string, unknown>
  type_params?: { key: string; value: string }[]
}

function rawDefault(f: RawField): unknown {
  const d = f.default_value
  if (d === null || d === undefined) return undefined
  if (typeof d !== 'object') return d // the SDK's formatted describe gives the value itself
  for (const k of ['bool_data', 'int_data', 'long_data', 'float_data', 'double_data', 'string_data'])
    if (d[k] !== undefined && d[k] !== null) return d[k]
  return undefined
}

async function checkSchema(client: MilvusClient, collection: string, schema: SchemaModel): Promise<string[]> {
  const out: string[] = []
  const d = await client.describeCollection({ collection_name: collection })
  const fields = (d.schema.fields as unknown as RawField[]).filter((f) => f.name !== '$meta')
  const names = fields.map((f) => f.name)
  const want = schema.fields.map((f) => f.name)
  if (names.join(',') !== want.join(','))
    out.push(`fields are [${names.join(', ')}], expected [${want.join(', ')}] (in that order)`)
  for (const m of schema.fields) {
    const f = fields.find((x) => x.name === m.name)
    if (!f) continue
    const params = Object.fromEntries((f.type_params ?? []).map((p) => [p.key, p.value]))
    const got = {
      type: f.data_type,
      primaryKey: !!f.is_primary_key,
      autoId: !!f.autoID,
      elementType: m.type === 'Array' ? f.element_type : undefined,
      // Milvus Lite does not report an array's element max_length: compared only where reported.
      maxLength:
        params.max_length !== undefined
          ? Number(params.max_length)
          : m.type === 'Array' && m.elementType === 'VarChar'
            ? m.maxLength
            : undefined,
      maxCapacity: params.max_capacity !== undefined ? Number(params.max_capacity) : undefined,
      dim: params.dim !== undefined ? Number(params.dim) : undefined,
      nullable: !!f.nullable,
      partitionKey: !!f.is_partition_key,
      default: rawDefault(f) === undefined ? 'none' : canon(m, rawDefault(f)),
    }
    const expected = {
      type: m.type,
      primaryKey: !!m.primaryKey,
      autoId: !!m.autoId,
      elementType: m.elementType,
      maxLength: m.maxLength,
      maxCapacity: m.maxCapacity,
      dim: m.dim,
      nullable: !!m.nullable,
      partitionKey: !!m.partitionKey,
      default: m.default === undefined ? 'none' : canon(m as FieldModel, m.default),
    }
    for (const k of Object.keys(expected) as (keyof typeof expected)[])
      if (got[k] !== expected[k]) out.push(`field ${m.name}: ${k} is ${got[k]}, expected ${expected[k]}`)
  }
  if (!!d.schema.enable_dynamic_field !== schema.dynamic)
    out.push(`dynamic field is ${!!d.schema.enable_dynamic_field}, expected ${schema.dynamic}`)
  const props = Object.fromEntries((d.properties ?? []).map((p) => [p.key, p.value]))
  for (const [k, v] of Object.entries(schema.properties))
    if (props[k] !== v) out.push(`property ${k} is ${props[k] ?? '(unset)'}, expected ${v}`)
  const idx = await client.describeIndex({ collection_name: collection })
  const indexes = (idx.index_descriptions ?? [])
    .map((i) => `${i.field_name}:${i.params.find((p) => p.key === 'index_type')?.value}`)
    .sort()
  const wantIdx = schema.indexes.map((i) => `${i.field}:${i.type}`).sort()
  if (indexes.join(',') !== wantIdx.join(','))
    out.push(`indexes are [${indexes.join(', ')}], expected [${wantIdx.join(', ')}]`)
  // Milvus 2.3 has no ListAliases but names a collection's aliases in its description; Milvus Lite
  // has ListAliases and leaves them out of the description. Either source counts.
  const described = (d as unknown as { aliases?: string[] }).aliases ?? []
  const listed = (await client.listAliases({ collection_name: collection }).catch(() => undefined))?.aliases ?? []
  const aliases = [...new Set([...described, ...listed])].sort()
  if (aliases.join(',') !== [...schema.aliases].sort().join(','))
    out.push(`aliases are [${aliases.join(', ')}], expected [${schema.aliases.join(', ')}]`)
  return out
}

async function checkPartitions(client: MilvusClient, e: Expectation): Promise<string[]> {
  const out: string[] = []
  const { schema } = e.state
  const shown = await client.showPartitions({ collection_name: e.collection })
  const names = [...(shown.partition_names ?? [])].sort()
  if (schema.numPartitions) {
    if (names.length !== e.partitionKeyPartitions)
      out.push(`${names.length} partitions, expected ${e.partitionKeyPartitions} as seeded (partition key)`)
    return out
  }
  const want = ['_default', ...schema.partitions].sort()
  if (names.join(',') !== want.join(','))
    out.push(`partitions are [${names.join(', ')}], expected [${want.join(', ')}]`)
  if (!schema.partitions.length) return out
  const pk = primaryKey(schema)
  for (const p of want) {
    const got = [...(await readRows(client, e.collection, { ...schema, fields: [pk] }, p)).rows.keys()].sort()
    const expected = [...e.state.rows]
      .filter(([, r]) => (r.partition || '_default') === p)
      .map(([k]) => k)
      .sort()
    if (got.join('\n') !== expected.join('\n'))
      out.push(`partition ${p} holds ${got.length} rows, expected ${expected.length} (rows moved between partitions)`)
  }
  return out
}

async function checkCollections(client: MilvusClient, e: Expectation): Promise<string[]> {
  const names = ((await client.listCollections()).data ?? []).map((c) => c.name)
  const user = names.filter((n) => !n.startsWith('_migrations') && !n.includes('__mvm_'))
  const left = names.filter((n) => n.includes('__mvm_')).sort()
  const out: string[] = []
  if (user.join(',') !== e.collection) out.push(`user collections are [${user.join(', ')}], expected [${e.collection}]`)
  if (left.join(',') !== [...e.leftovers].sort().join(','))
    out.push(`alter leftovers are [${left.join(', ')}], expected [${[...e.leftovers].sort().join(', ')}]`)
  return out
}

async function checkLedger(client: MilvusClient, applied: string[]): Promise<string[]> {
  const has = await client.hasCollection({ collection_name: '_migrations' })
  if (!has.value) return applied.length ? [`no ledger, expected ${applied.length} applied migrations`] : []
  const r = await client.query({
    collection_name: '_migrations',
    filter: 'version != ""',
    output_fields: ['version', 'state'],
    consistency_level: 'Strong' as never,
  })
  const rows = r.data.map((x) => `${x.version}:${x.state}`).sort()
  const want = applied.map((v) => `${v}:applied`).sort()
  return rows.join(',') === want.join(',') ? [] : [`ledger holds [${rows.join(', ')}], expected [${want.join(', ')}]`]
}
