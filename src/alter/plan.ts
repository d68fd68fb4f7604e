import { DENSE_VECTOR_TYPES, FieldType, isVectorType, parseFieldType } from '../schema/field-types'
import { FieldDefinition, normalizeField, validateSpec } from '../schema/definition'
import { CollectionSpec, FieldSpec, ScalarValue, primaryKeyOf } from '../schema/spec'
import { AlterOp, AlterOptions, DeclarativeAlter, FieldChanges, Row } from './builder'

/**
 * Gives declared alter operations their meaning: from the source spec, compute the target spec,
 * how each target field gets its value, and every problem (all at once). Pure: no I/O, so the
 * rules are unit-tested and `plan` can print the result without touching Milvus.
 */
export interface FieldSource {
  /** Source field the value comes from (after renames), if any. */
  from?: string
  convert?: (value: unknown, row: Row) => unknown
  backfill?: (row: Row) => unknown
  /** Value for rows that have none (a new field without backfill). */
  fill?: unknown
}

export interface AlterPlan {
  source: CollectionSpec
  target: CollectionSpec
  /** Target field name -> where its value comes from. Function outputs are left to the server. */
  fields: Map<string, FieldSource>
  mapRows: ((row: Row, source: Row) => Row | Promise<Row>)[]
  /** Human-readable steps, for `plan` and logs. */
  changes: string[]
  warnings: string[]
  problems: string[]
}

const INTEGER_RANK: Partial<Record<FieldType, number>> = { Int8: 1, Int16: 2, Int32: 3, Int64: 4 }

/** Conversions safe for every value, so no converter is needed. */
export function implicitConversion(from: FieldType, to: FieldType): ((v: unknown) => unknown) | undefined {
  if (from === to) return (v) => v
  const fi = INTEGER_RANK[from]
  const ti = INTEGER_RANK[to]
  if (fi && ti && fi < ti) return (v) => (v === null || v === undefined ? v : to === 'Int64' ? String(v) : Number(v))
  if (from === 'Float' && to === 'Double') return (v) => v
  if (fi && fi < 4 && (to === 'Float' || to === 'Double')) return (v) => (v === null || v === undefined ? v : Number(v))
  if (to === 'VarChar' && (fi || from === 'Float' || from === 'Double' || from === 'Bool')) return (v) => (v === null || v === undefined ? v : String(v))
  return undefined
}

/** The value a new field gets when neither a default nor a backfill is given. */
export function typeDefault(f: FieldSpec): { ok: true; value: unknown } | { ok: false } {
  if (f.defaultValue !== undefined) return { ok: true, value: f.defaultValue }
  if (f.nullable) return { ok: true, value: null }
  switch (f.type) {
    case 'VarChar':
      return { ok: true, value: '' }
    case 'Bool':
      return { ok: true, value: false }
    case 'Int8':
    case 'Int16':
    case 'Int32':
    case 'Float':
    case 'Double':
      return { ok: true, value: 0 }
    case 'Int64':
      return { ok: true, value: '0' }
    case 'JSON':
      return { ok: true, value: {} }
    case 'Array':
      return { ok: true, value: [] }
    default:
      return { ok: false }
  }
}

/** Declarative form -> operations: listed fields are kept/changed/added, unlisted ones dropped (not the primary key). */
export function opsFromDeclarative(source: CollectionSpec, decl: DeclarativeAlter, problems: string[], where: string): AlterOp[] {
  const ops: AlterOp[] = []
  if (!decl || !Array.isArray(decl.schema)) {
    problems.push(`${where}the declarative form needs { schema: [ ...fields ] }`)
    return ops
  }
  const listed = new Set<string>()
  for (const def of decl.schema) {
    const name = (def?.name ?? def?.field_name) as string
    listed.add(name)
    const existing = source.fields.find((f) => f.name === name)
    if (!existing) {
      ops.push({ kind: 'addField', field: def })
      continue
    }
    const wanted = normalizeField({ ...def, ...(existing.primaryKey ? { primaryKey: true, autoId: existing.autoId } : {}) }, problems, where)
    if (!wanted) continue
    const changes: FieldChanges = {}
    if (wanted.type !== existing.type) changes.type = wanted.type
    if (wanted.maxLength !== existing.maxLength && wanted.maxLength !== undefined) changes.maxLength = wanted.maxLength
    if (wanted.maxCapacity !== existing.maxCapacity && wanted.maxCapacity !== undefined) changes.maxCapacity = wanted.maxCapacity
    if (wanted.dim !== existing.dim && wanted.dim !== undefined) changes.dim = wanted.dim
    if (wanted.elementType !== existing.elementType && wanted.elementType !== undefined) changes.elementType = wanted.elementType
    if (!!wanted.nullable !== !!existing.nullable) changes.nullable = !!wanted.nullable
    if (wanted.defaultValue !== existing.defaultValue && wanted.defaultValue !== undefined) changes.default = wanted.defaultValue
    if (!!wanted.partitionKey !== !!existing.partitionKey) changes.partitionKey = !!wanted.partitionKey
    if (Object.keys(changes).length) ops.push({ kind: 'alterField', name, changes })
  }
  for (const f of source.fields) {
    if (!listed.has(f.name) && !f.primaryKey && !f.functionOutput) ops.push({ kind: 'dropField', name: f.name })
  }
  return ops
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T
}

export function planAlter(source: CollectionSpec, ops: AlterOp[], options: AlterOptions = {}, where = ''): AlterPlan {
  const at = `${where}alter '${source.name}': `
  const problems: string[] = []
  const changes: string[] = []
  const warnings: string[] = []
  const target: CollectionSpec = { ...clone({ ...source, aliases: [] }), aliases: [...source.aliases] }
  // Each target field remembers where its value comes from.
  const fields = new Map<string, FieldSource>(source.fields.filter((f) => !f.functionOutput).map((f) => [f.name, { from: f.name }]))
  const mapRows: AlterPlan['mapRows'] = []
  const find = (name: string) => target.fields.find((f) => f.name === name)
  const pkName = primaryKeyOf(source)?.name

  for (const op of ops) {
    switch (op.kind) {
      case 'addField': {
        const f = normalizeField(op.field, problems, at)
        if (!f) break
        if (find(f.name)) {
          problems.push(`${at}field '${f.name}' already exists`)
          break
        }
        if (f.primaryKey && !options.allowPrimaryKeyChange) {
          problems.push(`${at}field '${f.name}' would be a second primary key; changing the primary key needs { allowPrimaryKeyChange: true } and dropping the old one`)
        }
        target.fields.push(f)
        const d = typeDefault(f)
        fields.set(f.name, d.ok ? { fill: d.value } : {})
        changes.push(`add field ${f.name} ${describeField(f)}`)
        break
      }
      case 'dropField': {
        const f = find(op.name)
        if (!f) {
          problems.push(`${at}cannot drop field '${op.name}': no such field`)
          break
        }
        if (f.primaryKey && !options.allowPrimaryKeyChange) {
          problems.push(`${at}field '${op.name}' is the primary key; dropping it needs { allowPrimaryKeyChange: true } and a new primary key`)
        }
        const fn = target.functions.find((x) => x.inputFields.includes(op.name))
        if (fn) problems.push(`${at}field '${op.name}' feeds function '${fn.name}'; drop or change the function first`)
        target.fields = target.fields.filter((x) => x.name !== op.name)
        fields.delete(op.name)
        const dropped = target.indexes.filter((i) => i.field === op.name)
        target.indexes = target.indexes.filter((i) => i.field !== op.name)
        changes.push(`drop field ${op.name}${dropped.length ? ` (and its index ${dropped.map((i) => i.name ?? i.field).join(', ')})` : ''}`)
        break
      }
      case 'renameField': {
        const f = find(op.from)
        if (!f) {
          problems.push(`${at}cannot rename field '${op.from}': no such field`)
          break
        }
        if (find(op.to)) {
          problems.push(`${at}cannot rename '${op.from}' to '${op.to}': that name is already taken`)
          break
        }
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(op.to)) {
          problems.push(`${at}cannot rename '${op.from}' to '${op.to}': not a valid field name`)
          break
        }
        if (f.primaryKey && !options.allowPrimaryKeyChange) {
          problems.push(`${at}field '${op.from}' is the primary key; renaming it needs { allowPrimaryKeyChange: true }`)
        }
        f.name = op.to
        const src = fields.get(op.from)
        fields.delete(op.from)
        if (src) fields.set(op.to, src)
        for (const i of target.indexes) {
          if (i.field === op.from) {
            i.field = op.to
            if (i.name === op.from) i.name = op.to
          }
        }
        for (const fn of target.functions) {
          fn.inputFields = fn.inputFields.map((x) => (x === op.from ? op.to : x))
          fn.outputFields = fn.outputFields.map((x) => (x === op.from ? op.to : x))
        }
        changes.push(`rename field ${op.from} -> ${op.to}`)
        break
      }
      case 'alterField': {
        const f = find(op.name)
        if (!f) {
          problems.push(`${at}cannot alter field '${op.name}': no such field`)
          break
        }
        applyFieldChanges(f, op.changes, fields.get(op.name) ?? {}, at, problems, changes, options)
        break
      }
      case 'backfill': {
        const f = find(op.field)
        if (!f) {
          problems.push(`${at}cannot backfill '${op.field}': no such field (add it first)`)
          break
        }
        if (typeof op.fn !== 'function') problems.push(`${at}backfill of '${op.field}' needs a function`)
        fields.set(op.field, { ...(fields.get(op.field) ?? {}), backfill: op.fn })
        changes.push(`backfill ${op.field}`)
        break
      }
      case 'mapRows':
        if (typeof op.fn !== 'function') problems.push(`${at}mapRows needs a function`)
        mapRows.push(op.fn)
        changes.push('transform every row (mapRows)')
        break
      case 'addIndex': {
        if (!find(op.index.field)) problems.push(`${at}cannot index '${op.index.field}': no such field`)
        const name = op.index.name ?? op.index.field
        if (target.indexes.some((i) => (i.name ?? i.field) === name || i.field === op.index.field)) {
          problems.push(`${at}field '${op.index.field}' already has an index; drop it first`)
        }
        target.indexes.push({ field: op.index.field, type: op.index.type, name, ...(op.index.metric ? { metric: op.index.metric } : {}), ...(op.index.params ? { params: op.index.params } : {}) })
        changes.push(`add ${op.index.type} index on ${op.index.field}`)
        break
      }
      case 'dropIndex': {
        const before = target.indexes.length
        target.indexes = target.indexes.filter((i) => (i.name ?? i.field) !== op.name)
        if (target.indexes.length === before) problems.push(`${at}cannot drop index '${op.name}': no such index (indexes: ${target.indexes.map((i) => i.name ?? i.field).join(', ') || 'none'})`)
        else changes.push(`drop index ${op.name}`)
        break
      }
      case 'setProperties':
        for (const [k, v] of Object.entries(op.properties)) target.properties[k] = String(v)
        changes.push(`set properties ${Object.entries(op.properties).map(([k, v]) => `${k}=${v}`).join(', ')}`)
        break
      case 'enableDynamicField':
        if (source.enableDynamicField && !op.enabled) warnings.push(`${at}disabling the dynamic field drops every dynamic key of every row; move keys you need into fields with mapRows`)
        target.enableDynamicField = op.enabled
        changes.push(`${op.enabled ? 'enable' : 'disable'} the dynamic field`)
        break
      default:
        problems.push(`${at}unknown operation ${JSON.stringify((op as { kind: unknown }).kind)}`)
    }
  }

  // Whole-collection rules, after all operations.
  const vectors = target.fields.filter((f) => isVectorType(f.type))
  if (source.fields.some((f) => isVectorType(f.type)) && !vectors.length) problems.push(`${at}cannot drop the last vector field; a collection needs one`)
  for (const f of target.fields) {
    const src = fields.get(f.name)
    if (f.functionOutput) continue
    if (src && !src.from && !src.backfill && src.fill === undefined) {
      problems.push(`${at}new field '${f.name}' (${f.type}${f.nullable ? '' : ', not nullable'}) has no default; give it a default, make it nullable, or backfill it`)
    }
  }
  if (target.fields.some((f) => f.partitionKey) && source.partitions.length) {
    warnings.push(`${at}a partition key replaces the named partitions ${source.partitions.join(', ')}; rows are routed by '${target.fields.find((f) => f.partitionKey)!.name}'`)
    target.partitions = []
    target.numPartitions = target.numPartitions ?? 16
  }
  if (!pkName) problems.push(`${at}the source collection has no primary key`)
  validateSpec(target, problems, where)
  // A vector without an index can't be loaded: keep the target loadable when the source was.
  for (const v of vectors) {
    if (source.loaded && !target.indexes.some((i) => i.field === v.name)) {
      problems.push(`${at}vector field '${v.name}' has no index, so the altered collection could not be loaded; add one with addIndex`)
    }
  }
  return { source, target, fields, mapRows, changes, warnings, problems }
}

function describeField(f: FieldSpec): string {
  const params = [
    f.dim !== undefined && `dim=${f.dim}`,
    f.maxLength !== undefined && `maxLength=${f.maxLength}`,
    f.elementType && `of ${f.elementType}`,
    f.maxCapacity !== undefined && `capacity=${f.maxCapacity}`,
    f.nullable && 'nullable',
    f.defaultValue !== undefined && `default=${JSON.stringify(f.defaultValue)}`,
    f.partitionKey && 'partition key',
  ].filter(Boolean)
  return `${f.type}${params.length ? `(${params.join(', ')})` : ''}`
}

function applyFieldChanges(f: FieldSpec, c: FieldChanges, src: FieldSource, at: string, problems: string[], changes: string[], options: AlterOptions): void {
  const label = `${at}field '${f.name}'`
  const before = describeField(f)
  if (c.type !== undefined) {
    const to = parseFieldType(c.type)
    if (!to) {
      problems.push(`${label}: unknown type ${JSON.stringify(c.type)}`)
      return
    }
    if (f.primaryKey && !options.allowPrimaryKeyChange) problems.push(`${label} is the primary key; retyping it needs { allowPrimaryKeyChange: true }`)
    if (to !== f.type) {
      const implicit = implicitConversion(f.type, to)
      if (c.convert) src.convert = c.convert
      else if (implicit) src.convert = (v) => implicit(v)
      else problems.push(`${label}: ${f.type} -> ${to} does not convert on its own; pass convert: (value, row) => newValue`)
      if (f.type === 'VarChar' && to !== 'VarChar') delete f.maxLength
      if (to === 'VarChar' && c.maxLength === undefined && f.maxLength === undefined) f.maxLength = 65535
      if (!DENSE_VECTOR_TYPES.has(to)) delete f.dim
      if (to !== 'Array') {
        delete f.elementType
        delete f.maxCapacity
      }
      f.type = to
    }
  } else if (c.convert) {
    src.convert = c.convert
  }
  if (c.maxLength !== undefined) {
    if (!Number.isInteger(c.maxLength) || c.maxLength < 1 || c.maxLength > 65535) problems.push(`${label}: maxLength must be between 1 and 65535, got ${c.maxLength}`)
    f.maxLength = c.maxLength
  }
  if (c.maxCapacity !== undefined) f.maxCapacity = c.maxCapacity
  if (c.elementType !== undefined) {
    const et = parseFieldType(c.elementType)
    if (!et) problems.push(`${label}: unknown elementType ${JSON.stringify(c.elementType)}`)
    else {
      if (et !== f.elementType && !src.convert) problems.push(`${label}: changing the element type needs convert`)
      f.elementType = et
    }
  }
  if (c.dim !== undefined && c.dim !== f.dim) {
    if (!src.convert && !src.backfill) problems.push(`${label}: changing dim ${f.dim} -> ${c.dim} needs convert (vectors must be recomputed)`)
    f.dim = c.dim
  }
  if (c.nullable !== undefined) {
    if (f.nullable && !c.nullable && c.default === undefined && f.defaultValue === undefined && !src.convert) {
      problems.push(`${label}: making it non-nullable needs a default (or a converter) for existing nulls`)
    }
    if (c.nullable && f.primaryKey) problems.push(`${label}: a primary key cannot be nullable`)
    f.nullable = c.nullable || undefined
  }
  if (c.default !== undefined) f.defaultValue = c.default
  if (c.description !== undefined) f.description = c.description
  if (c.partitionKey !== undefined) f.partitionKey = c.partitionKey || undefined
  const after = describeField(f)
  changes.push(before === after ? `alter field ${f.name}` : `alter field ${f.name}: ${before} -> ${after}`)
  void (null as unknown as ScalarValue)
}

/** Builds a target row from a source row, as the plan says. */
export async function transformRow(plan: AlterPlan, sourceRow: Row): Promise<Row> {
  const row: Row = {}
  const meta = sourceRow.$meta as Row | undefined
  const source: Row = meta && typeof meta === 'object' ? { ...meta, ...sourceRow } : { ...sourceRow }
  delete source.$meta
  for (const [name, src] of plan.fields) {
    let v: unknown
    if (src.backfill) v = await src.backfill(source)
    else if (src.from !== undefined) v = source[src.from]
    else v = src.fill
    if (src.convert && !src.backfill) v = await src.convert(v, source)
    row[name] = v
  }
  if (plan.target.enableDynamicField && meta && typeof meta === 'object') {
    for (const [k, v] of Object.entries(meta)) if (!(k in row) && !plan.fields.has(k)) row[k] = v
  }
  let out = row
  for (const fn of plan.mapRows) out = await fn(out, source)
  return out
}
