import { MvmError } from '../errors'
import { type CollectionSpec, type FieldSpec, primaryKeyOf } from '../schema/spec'
import type { Row } from './builder'
import { typeDefault } from './values'

/**
 * `down --carry-writes`: a row written to the altered collection after the alter, converted back to
 * the schema of the collection `down` restores. Renamed fields are renamed back, added fields are
 * left out, dropped fields get their default (or null), retyped fields are converted back where
 * the value fits exactly. A value that does not fit stops the carry, naming the row and the field,
 * before anything is written. Pure: no I/O, unit-tested.
 */

const INT_RANGE: Record<string, [bigint, bigint]> = {
  Int8: [-128n, 127n],
  Int16: [-32768n, 32767n],
  Int32: [-2147483648n, 2147483647n],
  Int64: [-9223372036854775808n, 9223372036854775807n],
}

class CannotConvert extends Error {}

function toInteger(v: unknown, to: string): string | number {
  let n: bigint
  if (typeof v === 'bigint') n = v
  else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v)
  else if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) n = BigInt(v.trim())
  else if (typeof v === 'boolean') n = v ? 1n : 0n
  else throw new CannotConvert(`${JSON.stringify(v)} is not a whole number`)
  const [min, max] = INT_RANGE[to]
  if (n < min || n > max) throw new CannotConvert(`${n} does not fit in ${to}`)
  return to === 'Int64' ? n.toString() : Number(n)
}

function toFloating(v: unknown, to: 'Float' | 'Double'): number {
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'string' && v.trim() !== ''
        ? Number(v)
        : typeof v === 'bigint'
          ? Number(v)
          : NaN
  if (!Number.isFinite(n)) throw new CannotConvert(`${JSON.stringify(v)} is not a number`)
  if (
    typeof v === 'bigint' ||
    (typeof v === 'string' && /^-?\d+$/.test(v.trim()) && BigInt(v.trim()) !== BigInt(Math.trunc(n)))
  )
    throw new CannotConvert(`${v} is not exact as a ${to}`)
  if (to === 'Float' && Math.fround(n) !== n) throw new CannotConvert(`${n} is not exact as a Float (float32)`)
  return n
}

function checkFits(v: unknown, to: FieldSpec): void {
  if (
    to.type === 'VarChar' &&
    typeof v === 'string' &&
    to.maxLength !== undefined &&
    Buffer.byteLength(v) > to.maxLength
  ) {
    throw new CannotConvert(`${Buffer.byteLength(v)} bytes do not fit in maxLength ${to.maxLength}`)
  }
  if (to.type === 'Array' && Array.isArray(v) && to.maxCapacity !== undefined && v.length > to.maxCapacity) {
    throw new CannotConvert(`${v.length} elements do not fit in maxCapacity ${to.maxCapacity}`)
  }
  if (to.dim !== undefined && Array.isArray(v) && to.type === 'FloatVector' && v.length !== to.dim)
    throw new CannotConvert(`a vector of dim ${v.length} does not fit dim ${to.dim}`)
}

/** One value of field `from` (altered schema) as a value of field `to` (restored schema). */
export function convertValueBack(v: unknown, from: FieldSpec, to: FieldSpec): unknown {
  if (v === null || v === undefined) {
    if (to.nullable) return null
    if (to.defaultValue !== undefined && to.defaultValue !== null) return to.defaultValue
    throw new CannotConvert(`null does not fit: the field is not nullable and has no default`)
  }
  let out: unknown = v
  if (from.type !== to.type || (from.type === 'Array' && from.elementType !== to.elementType)) {
    if (to.type in INT_RANGE) out = toInteger(v, to.type)
    else if (to.type === 'Float' || to.type === 'Double') out = toFloating(v, to.type)
    else if (
      to.type === 'VarChar' &&
      (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || typeof v === 'string')
    )
      out = String(v)
    else if (to.type === 'Bool' && (v === 'true' || v === 'false')) out = v === 'true'
    else if (to.type === 'Bool' && typeof v === 'boolean') out = v
    else if (to.type === 'Array' && Array.isArray(v) && to.elementType) {
      const el = { name: to.name, type: to.elementType, maxLength: to.maxLength } as FieldSpec
      out = v.map((x) =>
        convertValueBack(x, { name: from.name, type: from.elementType ?? to.elementType! } as FieldSpec, el),
      )
    } else
      throw new CannotConvert(`a ${from.type} value ${JSON.stringify(v).slice(0, 60)} has no exact ${to.type} form`)
  }
  checkFits(out, to)
  return out
}

/** Builds the converter for one alter: altered row -> restored row. `fieldMap`: target field -> source field (null when new). */
export function backConverter(
  fieldMap: Record<string, string | null>,
  altered: CollectionSpec,
  restored: CollectionSpec,
): (row: Row) => Row {
  const alteredFields = new Map(altered.fields.map((f) => [f.name, f]))
  const pk = primaryKeyOf(altered)!
  const sourceOf = new Map<string, string>() // restored field -> altered field it came from
  for (const [target, source] of Object.entries(fieldMap)) if (source) sourceOf.set(source, target)
  const restoredNames = new Set(restored.fields.map((f) => f.name))
  return (row) => {
    const key = String(row[pk.name])
    const meta = row.$meta && typeof row.$meta === 'object' ? (row.$meta as Row) : {}
    const flat: Row = { ...meta, ...row }
    delete flat.$meta
    const out: Row = {}
    for (const f of restored.fields) {
      if (f.functionOutput) continue // the server computes it again
      const fromName = sourceOf.get(f.name)
      try {
        if (fromName !== undefined && alteredFields.has(fromName))
          out[f.name] = convertValueBack(flat[fromName], alteredFields.get(fromName)!, f)
        else {
          const d = typeDefault(f)
          if (!d.ok) throw new CannotConvert(`the alter dropped it and a ${f.type} has no default to restore it with`)
          out[f.name] = d.value
        }
      } catch (e) {
        if (!(e instanceof CannotConvert)) throw e
        throw new MvmError(
          'WRITES_SINCE_ALTER',
          `cannot carry the row with key ${key} back: field '${f.name}'${fromName && fromName !== f.name ? ` (now '${fromName}')` : ''}: ${e.message}`,
          {
            hint: 'Nothing was changed. Fix or delete that row in the altered collection, or roll back with {{discardWrites}} to keep such rows only in the leftover collection.',
          },
        )
      }
    }
    if (restored.enableDynamicField) {
      // Dynamic keys stay dynamic; fields the alter added are left out.
      for (const [k, v] of Object.entries(meta)) if (!restoredNames.has(k) && !alteredFields.has(k)) out[k] = v
    }
    return out
  }
}
