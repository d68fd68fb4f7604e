import type { FieldType } from '../schema/field-types'
import type { FieldSpec } from '../schema/spec'
import type { Row } from './builder'
import type { AlterPlan } from './types'

/**
 * What values become across an alter: the conversions that need no converter, the value a new
 * field gets, and the transform of a whole row as a plan says. Pure, unit-tested.
 */
const INTEGER_RANK: Partial<Record<FieldType, number>> = { Int8: 1, Int16: 2, Int32: 3, Int64: 4 }

/** Conversions safe for every value, so no converter is needed. */
export function implicitConversion(from: FieldType, to: FieldType): ((v: unknown) => unknown) | undefined {
  if (from === to) return (v) => v
  const fi = INTEGER_RANK[from]
  const ti = INTEGER_RANK[to]
  if (fi && ti && fi < ti) return (v) => (v === null || v === undefined ? v : to === 'Int64' ? String(v) : Number(v))
  if (from === 'Float' && to === 'Double') return (v) => v
  if (fi && fi < 4 && (to === 'Float' || to === 'Double')) return (v) => (v === null || v === undefined ? v : Number(v))
  if (to === 'VarChar' && (fi || from === 'Float' || from === 'Double' || from === 'Bool'))
    return (v) => (v === null || v === undefined ? v : String(v))
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
