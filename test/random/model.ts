import type { FieldModel, OpSpec, ScalarType, SchemaModel } from './case'
import { CONVERTERS, backfillValue } from './functions'

/**
 * What the database must hold: the schema and every row, computed from the generated data and
 * the declared changes alone, never from what mvmigrate did. Rows keep their logical values
 * (Int64 as decimal text, Float already rounded to float32), so a read-back compares exactly.
 */
export interface ModelRow {
  /** Named partition ('' for _default or a partition-key collection). */
  partition: string
  values: Record<string, unknown>
  /** Dynamic keys. */
  dynamic: Record<string, unknown>
}

export interface ModelState {
  schema: SchemaModel
  /** Primary key (as decimal text or the VarChar) -> row. */
  rows: Map<string, ModelRow>
}

export function cloneState(s: ModelState): ModelState {
  return { schema: structuredClone(s.schema), rows: structuredClone(s.rows) }
}

export function primaryKey(schema: SchemaModel): FieldModel {
  return schema.fields.find((f) => f.primaryKey)!
}

/** The value a new field gets without a default or backfill: mvmigrate's documented zero of the type. */
export function zeroOf(f: FieldModel): unknown {
  switch (f.type) {
    case 'VarChar':
      return ''
    case 'Bool':
      return false
    case 'Int64':
      return '0'
    case 'JSON':
      return {}
    case 'Array':
      return []
    default:
      return 0
  }
}

const INT_RANK: Partial<Record<string, number>> = { Int8: 1, Int16: 2, Int32: 3, Int64: 4 }

/** The conversions that need no converter, as the README promises them. */
export function implicitValue(from: string, to: ScalarType, v: unknown): unknown {
  if (v === null || v === undefined) return v
  if (from === to) return v
  if (INT_RANK[from] && to === 'Int64') return String(v)
  if (INT_RANK[from] && INT_RANK[to]) return Number(v)
  if (INT_RANK[from] && (to === 'Float' || to === 'Double')) return Number(v)
  if (from === 'Float' && to === 'Double') return v
  if (to === 'VarChar') return String(v)
  throw new Error(`no implicit conversion ${from} -> ${to}`)
}

/** The state after one migration's ops, applied in order as ctx.alter documents them. */
export function applyMigration(state: ModelState, ops: OpSpec[]): ModelState {
  const next = cloneState(state)
  const { schema } = next
  const pk = primaryKey(schema)
  const field = (name: string) => schema.fields.find((f) => f.name === name)!
  for (const o of ops) {
    switch (o.op) {
      case 'add': {
        schema.fields.push(structuredClone(o.field))
        for (const [key, row] of next.rows) {
          const pkValue = pk.type === 'Int64' ? key : key
          row.values[o.field.name] = o.backfill
            ? backfillValue(o.field, pkValue)
            : o.field.default !== undefined
              ? o.field.default
              : o.field.nullable
                ? null
                : zeroOf(o.field)
        }
        break
      }
      case 'drop':
        schema.fields = schema.fields.filter((f) => f.name !== o.name)
        schema.indexes = schema.indexes.filter((i) => i.field !== o.name)
        for (const row of next.rows.values()) delete row.values[o.name]
        break
      case 'rename':
        field(o.from).name = o.to
        for (const i of schema.indexes) if (i.field === o.from) i.field = o.to
        for (const row of next.rows.values()) {
          row.values[o.to] = row.values[o.from]
          delete row.values[o.from]
        }
        break
      case 'retype': {
        const f = field(o.name)
        const from = f.type
        const convert = o.convert ? CONVERTERS[o.convert].fn : (v: unknown) => implicitValue(from, o.to, v)
        for (const row of next.rows.values()) row.values[o.name] = convert(row.values[o.name])
        if (f.default !== undefined) f.default = convert(f.default)
        f.type = o.to
        if (o.to === 'VarChar') f.maxLength = o.maxLength ?? f.maxLength ?? 65535
        else delete f.maxLength
        break
      }
      case 'grow': {
        const f = field(o.name)
        if (o.maxLength !== undefined) f.maxLength = o.maxLength
        if (o.maxCapacity !== undefined) f.maxCapacity = o.maxCapacity
        break
      }
      case 'nullable': {
        const f = field(o.name)
        if (o.nullable) f.nullable = true
        else delete f.nullable
        if (o.default !== undefined) f.default = o.default
        if (!o.nullable)
          for (const row of next.rows.values()) if (row.values[o.name] === null) row.values[o.name] = f.default
        break
      }
      case 'addIndex':
        schema.indexes.push(structuredClone(o.index))
        break
      case 'dropIndex':
        schema.indexes = schema.indexes.filter((i) => i.field !== o.name)
        break
      case 'setProperty':
        schema.properties[o.key] = o.value
        break
    }
  }
  return next
}
