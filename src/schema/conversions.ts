import type { FieldType } from './field-types'
import type { FieldSpec } from './spec'

/**
 * Which changes to a field keep every value: the one rule behind what an alter converts on its own
 * (src/alter/plan.ts), what `diff` marks DESTRUCTIVE and what `make --from-schema` writes only with
 * --allow-destructive (src/schema/diff.ts). A change is lossless when every value the field can
 * hold before is held exactly after it (widenings); destructive when a value can be lost or changed
 * (narrowing, a type the values do not convert to, a new dim). Pure, unit-tested.
 */
const INTEGER_RANK: Partial<Record<FieldType, number>> = { Int8: 1, Int16: 2, Int32: 3, Int64: 4 }

/**
 * Integer types whose every value a Float holds exactly: float32 has a 24-bit significand, so
 * Int8 and Int16 fit and Int32 does not (16777217 becomes 16777216). A Double (53 bits) holds
 * every Int32, not every Int64.
 */
const EXACT_IN_FLOAT: ReadonlySet<FieldType> = new Set<FieldType>(['Int8', 'Int16'])
const EXACT_IN_DOUBLE: ReadonlySet<FieldType> = new Set<FieldType>(['Int8', 'Int16', 'Int32'])

/** Whether every value of `from` is held exactly by `to` (as a number, or as its text in a VarChar). */
export function losslessTypeChange(from: FieldType, to: FieldType): boolean {
  if (from === to) return true
  const fi = INTEGER_RANK[from]
  const ti = INTEGER_RANK[to]
  if (fi && ti) return fi < ti
  if (from === 'Float' && to === 'Double') return true
  if (to === 'Float') return EXACT_IN_FLOAT.has(from)
  if (to === 'Double') return EXACT_IN_DOUBLE.has(from)
  // Numbers and booleans as text: the text reads back as the same value (a VarChar too short for
  // it stops the copy at that row, naming it; nothing is lost).
  if (to === 'VarChar') return !!fi || from === 'Float' || from === 'Double' || from === 'Bool'
  return false
}

const nullish = (v: unknown) => v === null || v === undefined

/** The converter for a lossless type change (no converter needed); undefined when a value can be lost. */
export function implicitConversion(from: FieldType, to: FieldType): ((v: unknown) => unknown) | undefined {
  if (!losslessTypeChange(from, to)) return undefined
  if (from === to || (from === 'Float' && to === 'Double')) return (v) => v
  if (to === 'VarChar') return (v) => (nullish(v) ? v : String(v))
  // Int64 values travel as text (exact beyond 2^53); the others as numbers.
  if (to === 'Int64') return (v) => (nullish(v) ? v : String(v))
  return (v) => (nullish(v) ? v : Number(v))
}

/**
 * The converter for an Array whose element type changes losslessly: each element converted. Int64
 * elements stay numbers here (they come from a narrower integer, so they are exact as numbers).
 */
export function implicitElementConversion(from: FieldType, to: FieldType): ((v: unknown) => unknown) | undefined {
  if (!losslessTypeChange(from, to)) return undefined
  const one = to === 'VarChar' ? (e: unknown) => (nullish(e) ? e : String(e)) : (e: unknown) => e
  return (v) => (Array.isArray(v) ? v.map(one) : v)
}

/**
 * The attributes of a field change that can lose or change a value: a type or element type the
 * values do not convert to exactly, a new dim (vectors recomputed), a shorter maxLength or smaller
 * capacity (longer values no longer fit), nullable turned off (nulls replaced), a different primary
 * key. Empty for widenings and for changes of defaults, indexes, keys or descriptions.
 */
export function lossyAttributes(before: FieldSpec, after: FieldSpec): string[] {
  const out: string[] = []
  if (before.type !== after.type && !losslessTypeChange(before.type, after.type)) out.push('type')
  if (before.dim !== after.dim && before.dim !== undefined && after.dim !== undefined) out.push('dim')
  const shrinks = (a: number | undefined, b: number | undefined) => a !== undefined && b !== undefined && b < a
  // A type change to VarChar from a type without maxLength is judged by the type alone.
  if (before.type === after.type && shrinks(before.maxLength, after.maxLength)) out.push('maxLength')
  if (before.type === 'Array' && after.type === 'Array') {
    if (before.elementType && after.elementType && before.elementType !== after.elementType)
      if (!losslessTypeChange(before.elementType, after.elementType)) out.push('elementType')
    if (shrinks(before.maxCapacity, after.maxCapacity)) out.push('maxCapacity')
  }
  if (before.nullable && !after.nullable) out.push('nullable')
  if (!!before.primaryKey !== !!after.primaryKey) out.push('primaryKey')
  return out
}
