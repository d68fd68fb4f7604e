import { lossyAttributes } from './conversions'
import { isVectorType } from './field-types'
import type { CollectionSpec, FieldSpec, FunctionSpec, IndexSpec } from './spec'

/**
 * What differs between two sets of collections, item by item. One comparison serves three uses:
 * drift (the last snapshot vs the live database), `diff` (the live database vs the schema file)
 * and `make --from-schema` (which turns the changes into a migration). Pure, unit-tested.
 *
 * `from` is what is, `to` what is wanted (or, for drift, what is now). With `partial` (a schema
 * file), collection attributes the file leaves out (description, consistency level, shards, the
 * number of partition-key partitions) are not compared: the file does not care about them.
 */
export type ChangeKind =
  | 'collection-added'
  | 'collection-dropped'
  | 'field-added'
  | 'field-dropped'
  | 'field-changed'
  | 'index-added'
  | 'index-dropped'
  | 'index-changed'
  | 'property-added'
  | 'property-removed'
  | 'property-changed'
  | 'partition-added'
  | 'partition-dropped'
  | 'partitions-changed'
  | 'dynamic-field-changed'
  | 'function-added'
  | 'function-dropped'
  | 'function-changed'
  | 'alias-added'
  | 'alias-dropped'
  | 'collection-changed'

export interface SchemaChange {
  collection: string
  kind: ChangeKind
  /** The field, index (its field), property, partition, function or alias. */
  item?: string
  /** For field-changed and collection-changed: the attributes that differ, with both values. */
  attributes?: { name: string; before: unknown; after: unknown }[]
  before?: unknown
  after?: unknown
  /** Made in place (an index, a property, a partition, an alias, a whole collection) or by copy-and-swap. */
  how: 'in place' | 'copy-and-swap'
  /**
   * Loses data: a dropped collection, field or partition, a field narrowed (src/schema/conversions.ts:
   * a type or element type its values do not convert to exactly, a new dim, a shorter maxLength or
   * capacity, nullable turned off) or a changed primary key, a disabled dynamic field.
   */
  destructive: boolean
  /** "field 'x' added", "index on 'vector' changed (HNSW M 16 -> 32)". */
  text: string
}

const show = (v: unknown) => (v === undefined ? 'unset' : typeof v === 'string' ? v : JSON.stringify(v))

function fieldAttributes(a: FieldSpec, b: FieldSpec): { name: string; before: unknown; after: unknown }[] {
  const pairs: [string, unknown, unknown][] = [
    ['type', a.type, b.type],
    ['dim', a.dim, b.dim],
    // Milvus Lite does not report max_length of VarChar array elements: compared only when both sides have it.
    [
      'maxLength',
      a.type === 'Array' && (a.maxLength === undefined || b.maxLength === undefined) ? undefined : a.maxLength,
      b.type === 'Array' && (a.maxLength === undefined || b.maxLength === undefined) ? undefined : b.maxLength,
    ],
    ['elementType', a.elementType, b.elementType],
    ['maxCapacity', a.maxCapacity, b.maxCapacity],
    ['nullable', !!a.nullable, !!b.nullable],
    [
      'default',
      a.defaultValue === null ? undefined : a.defaultValue,
      b.defaultValue === null ? undefined : b.defaultValue,
    ],
    ['primaryKey', !!a.primaryKey, !!b.primaryKey],
    ['autoId', !!a.autoId, !!b.autoId],
    ['partitionKey', !!a.partitionKey, !!b.partitionKey],
    ['clusteringKey', !!a.clusteringKey, !!b.clusteringKey],
    ['enableAnalyzer', !!a.enableAnalyzer, !!b.enableAnalyzer],
    ['enableMatch', !!a.enableMatch, !!b.enableMatch],
    ['analyzerParams', a.analyzerParams, b.analyzerParams],
    ['description', a.description || undefined, b.description || undefined],
  ]
  // 5 and "5" are one value: Int64 defaults come back from the server as text.
  const scalar = (v: unknown) => typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint'
  return pairs
    .filter(
      ([, x, y]) => JSON.stringify(x) !== JSON.stringify(y) && !(scalar(x) && scalar(y) && String(x) === String(y)),
    )
    .map(([name, before, after]) => ({ name, before, after }))
}

/** Index parameters as text, so 16 and "16" are the same. */
function indexParams(i: IndexSpec): Record<string, string> {
  return Object.fromEntries(
    Object.entries(i.params ?? {})
      .map(([k, v]) => [k, String(v)] as [string, string])
      .sort(([x], [y]) => x.localeCompare(y)),
  )
}

function indexText(i: IndexSpec): string {
  const params = Object.entries(indexParams(i)).map(([k, v]) => `${k} ${v}`)
  return [i.type, i.metric, ...params].filter(Boolean).join(' ')
}

/** How two indexes of one field differ ("HNSW M 16 -> 32"), or undefined when they do not. */
function indexDifference(a: IndexSpec, b: IndexSpec): string | undefined {
  const typeChanged = a.type.toUpperCase() !== b.type.toUpperCase()
  const parts: string[] = []
  if ((a.metric ?? '') !== (b.metric ?? '')) parts.push(`metric ${show(a.metric)} -> ${show(b.metric)}`)
  const pa = indexParams(a)
  const pb = indexParams(b)
  for (const k of [...new Set([...Object.keys(pa), ...Object.keys(pb)])].sort((x, y) => x.localeCompare(y))) {
    if (pa[k] !== pb[k]) parts.push(`${k} ${pa[k] ?? 'unset'} -> ${pb[k] ?? 'unset'}`)
  }
  if (!typeChanged && !parts.length) return undefined
  return typeChanged ? [`${a.type} -> ${b.type}`, ...parts].join(', ') : `${b.type} ${parts.join(', ')}`
}

function sameFunction(a: FunctionSpec, b: FunctionSpec): boolean {
  const norm = (f: FunctionSpec) => JSON.stringify([String(f.type), f.inputFields, f.outputFields, f.params ?? {}])
  return norm(a) === norm(b)
}

/** The changes that turn one collection into the other. */
export function diffCollection(
  from: CollectionSpec,
  to: CollectionSpec,
  opts: { partial?: boolean } = {},
): SchemaChange[] {
  const c = to.name
  const out: SchemaChange[] = []
  const add = (x: Omit<SchemaChange, 'collection'>) => out.push({ collection: c, ...x })

  // Fields (function outputs are the server's: their field follows the function).
  const fromFields = new Map(from.fields.map((f) => [f.name, f]))
  const toFields = new Map(to.fields.map((f) => [f.name, f]))
  const dropped = from.fields.filter((f) => !toFields.has(f.name))
  const added = to.fields.filter((f) => !fromFields.has(f.name))
  for (const f of dropped) {
    const renameHint = added.some((x) => x.type === f.type)
      ? ` (a field of the same type is added: if it is a rename, use t.renameField('${f.name}', '...'))`
      : ''
    add({
      kind: 'field-dropped',
      item: f.name,
      before: f,
      how: 'copy-and-swap',
      destructive: true,
      text: `field '${f.name}' dropped${renameHint}`,
    })
  }
  for (const f of added)
    add({
      kind: 'field-added',
      item: f.name,
      after: f,
      how: 'copy-and-swap',
      destructive: false,
      text: `field '${f.name}' added (${f.type})`,
    })
  for (const f of to.fields) {
    const was = fromFields.get(f.name)
    if (!was) continue
    const attributes = fieldAttributes(was, f)
    if (!attributes.length) continue
    // Widenings (Int32 -> Int64, a longer maxLength) keep every value; narrowing does not.
    const destructive = lossyAttributes(was, f).length > 0
    add({
      kind: 'field-changed',
      item: f.name,
      before: was,
      after: f,
      attributes,
      how: 'copy-and-swap',
      destructive,
      text: `field '${f.name}' changed (${attributes.map((a) => `${a.name} ${show(a.before)} -> ${show(a.after)}`).join(', ')})`,
    })
  }

  // Indexes, one per field.
  const fromIdx = new Map(from.indexes.map((i) => [i.field, i]))
  const toIdx = new Map(to.indexes.map((i) => [i.field, i]))
  for (const [field, i] of fromIdx) {
    if (!toIdx.has(field) && toFields.has(field))
      add({
        kind: 'index-dropped',
        item: field,
        before: i,
        how: 'in place',
        destructive: false,
        text: `index on '${field}' dropped (${indexText(i)})`,
      })
  }
  for (const [field, i] of toIdx) {
    const was = fromIdx.get(field)
    if (!was)
      add({
        kind: 'index-added',
        item: field,
        after: i,
        how: 'in place',
        destructive: false,
        text: `index on '${field}' added (${indexText(i)})`,
      })
    else {
      const d = indexDifference(was, i)
      if (d)
        add({
          kind: 'index-changed',
          item: field,
          before: was,
          after: i,
          how: 'in place',
          destructive: false,
          text: `index on '${field}' changed (${d})`,
        })
    }
  }

  // Properties.
  for (const [k, v] of Object.entries(from.properties)) {
    if (!(k in to.properties))
      add({
        kind: 'property-removed',
        item: k,
        before: v,
        how: 'in place',
        destructive: false,
        text: `property ${k} removed (was ${v})`,
      })
  }
  for (const [k, v] of Object.entries(to.properties)) {
    const was = from.properties[k]
    if (was === undefined)
      add({
        kind: 'property-added',
        item: k,
        after: v,
        how: 'in place',
        destructive: false,
        text: `property ${k} set to ${v}`,
      })
    else if (String(was).toLowerCase() !== String(v).toLowerCase())
      add({
        kind: 'property-changed',
        item: k,
        before: was,
        after: v,
        how: 'in place',
        destructive: false,
        text: `property ${k} ${was} -> ${v}`,
      })
  }

  // Partitions: named ones, or the number of partition-key partitions.
  const hasKey = to.fields.some((f) => f.partitionKey)
  if (!hasKey) {
    for (const p of from.partitions)
      if (!to.partitions.includes(p))
        add({
          kind: 'partition-dropped',
          item: p,
          how: 'in place',
          destructive: true,
          text: `partition '${p}' dropped (its rows with it)`,
        })
    for (const p of to.partitions)
      if (!from.partitions.includes(p))
        add({ kind: 'partition-added', item: p, how: 'in place', destructive: false, text: `partition '${p}' added` })
  } else if (
    (!opts.partial || to.numPartitions !== undefined) &&
    from.numPartitions !== to.numPartitions &&
    from.fields.some((f) => f.partitionKey)
  ) {
    add({
      kind: 'partitions-changed',
      before: from.numPartitions,
      after: to.numPartitions,
      how: 'copy-and-swap',
      destructive: false,
      text: `partition-key partitions ${show(from.numPartitions)} -> ${show(to.numPartitions)}`,
    })
  }

  if (from.enableDynamicField !== to.enableDynamicField) {
    add({
      kind: 'dynamic-field-changed',
      before: from.enableDynamicField,
      after: to.enableDynamicField,
      how: 'copy-and-swap',
      destructive: !to.enableDynamicField,
      text: `dynamic field ${to.enableDynamicField ? 'enabled' : 'disabled (every dynamic key is dropped)'}`,
    })
  }

  // Functions.
  const fromFn = new Map(from.functions.map((f) => [f.name, f]))
  const toFn = new Map(to.functions.map((f) => [f.name, f]))
  for (const [name, f] of fromFn)
    if (!toFn.has(name))
      add({
        kind: 'function-dropped',
        item: name,
        before: f,
        how: 'copy-and-swap',
        destructive: true,
        text: `function '${name}' dropped`,
      })
  for (const [name, f] of toFn) {
    const was = fromFn.get(name)
    if (!was)
      add({
        kind: 'function-added',
        item: name,
        after: f,
        how: 'copy-and-swap',
        destructive: false,
        text: `function '${name}' added (${f.type})`,
      })
    else if (!sameFunction(was, f))
      add({
        kind: 'function-changed',
        item: name,
        before: was,
        after: f,
        how: 'copy-and-swap',
        destructive: true,
        text: `function '${name}' changed`,
      })
  }

  // Aliases.
  for (const a of from.aliases)
    if (!to.aliases.includes(a))
      add({ kind: 'alias-dropped', item: a, how: 'in place', destructive: false, text: `alias '${a}' dropped` })
  for (const a of to.aliases)
    if (!from.aliases.includes(a))
      add({ kind: 'alias-added', item: a, how: 'in place', destructive: false, text: `alias '${a}' added` })

  // Collection attributes a schema file may leave out.
  const attrs: [string, unknown, unknown][] = [
    ['consistencyLevel', from.consistencyLevel, to.consistencyLevel],
    ['description', from.description || undefined, to.description || undefined],
    ['shards', from.shards, to.shards],
  ]
  const attributes = attrs
    .filter(([, a, b]) => (!opts.partial || b !== undefined) && String(a ?? '') !== String(b ?? ''))
    .map(([name, before, after]) => ({ name, before, after }))
  if (attributes.length) {
    add({
      kind: 'collection-changed',
      attributes,
      how: 'copy-and-swap',
      destructive: false,
      text: attributes.map((a) => `${a.name} ${show(a.before)} -> ${show(a.after)}`).join(', '),
    })
  }
  return out
}

/** The changes between two sets of collections (by name). */
export function diffSchemas(
  from: CollectionSpec[],
  to: CollectionSpec[],
  opts: { partial?: boolean } = {},
): SchemaChange[] {
  const byName = new Map(from.map((s) => [s.name, s]))
  const wanted = new Set(to.map((s) => s.name))
  const out: SchemaChange[] = []
  for (const s of from) {
    if (!wanted.has(s.name))
      out.push({
        collection: s.name,
        kind: 'collection-dropped',
        before: s,
        how: 'in place',
        destructive: true,
        text: 'dropped',
      })
  }
  for (const s of to) {
    const was = byName.get(s.name)
    if (!was)
      out.push({
        collection: s.name,
        kind: 'collection-added',
        after: s,
        how: 'in place',
        destructive: false,
        text: 'new collection',
      })
    else out.push(...diffCollection(was, s, opts))
  }
  return out
}

/** Whether a change needs the collection copied (a copy-and-swap alter), or can be made in place. */
export function needsCopy(changes: SchemaChange[]): boolean {
  return changes.some((c) => c.how === 'copy-and-swap')
}

/** True for a vector field: a new one needs values computed by the migration (no default exists). */
export function isNewVector(c: SchemaChange): boolean {
  return c.kind === 'field-added' && isVectorType((c.after as FieldSpec).type)
}
