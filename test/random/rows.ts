import type { CaseSpec, FieldModel } from './case'
import { fitBytes } from './functions'
import { Rng } from './rng'

/**
 * The rows of a case, from its seed and schema alone (so fewer rows is a smaller version of the
 * same case): edge values first (Int64 min/max, keys beyond 2^53, empty and non-ASCII strings,
 * strings of exactly max length, float extremes, nested and empty JSON, empty arrays, nulls,
 * dynamic keys), then random ones.
 */
export interface GeneratedRow {
  partition: string
  values: Record<string, unknown>
  dynamic: Record<string, unknown>
}

const INT64_EDGES = [
  '-9223372036854775808',
  '9223372036854775807',
  '9007199254740993',
  '-9007199254740993',
  '0',
  '1',
  '-1',
]
const TEXTS = ['', 'plain', 'héllo wörld', '日本語テキスト', 'emoji 🙂🚀', 'tab\there', 'line\nbreak', 'quote " and \\']
// No -0: an insert through the Node SDK already stores it as +0, before mvmigrate is involved.
const FLOAT_EDGES = [3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38, 1.401298464324817e-45, 0.1]
const DOUBLE_EDGES = [Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 0.1, 1 / 3]

function int64(rng: Rng, i: number): string {
  if (i < INT64_EDGES.length && rng.chance(0.7)) return INT64_EDGES[i]
  const hi = BigInt(rng.int(-2147483648, 2147483647))
  const lo = BigInt(rng.int(0, 4294967295))
  return ((hi << 32n) | lo).toString()
}

function text(rng: Rng, maxLength: number, i: number): string {
  if (i % 17 === 3) return 'x'.repeat(maxLength) // exactly max length
  if (i % 11 === 5) return fitBytes('ü'.repeat(maxLength), maxLength)
  return fitBytes(rng.chance(0.5) ? rng.pick(TEXTS) : `t${rng.int(0, 1e9)}`, maxLength)
}

function json(rng: Rng, depth = 0): unknown {
  const r = rng.int(0, depth > 1 ? 4 : 7)
  switch (r) {
    case 0:
      return rng.int(-1e9, 1e9)
    case 1:
      return rng.pick(TEXTS)
    case 2:
      return rng.chance(0.5)
    case 3:
      return rng.int(-100, 100) + 0.5
    case 4:
      return rng.chance(0.5) ? {} : []
    case 5:
      return Array.from({ length: rng.int(0, 3) }, () => json(rng, depth + 1))
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(0, 3) }, (_, k) => [`k${k}${rng.pick(['', 'é'])}`, json(rng, depth + 1)]),
      )
  }
}

function scalar(rng: Rng, type: string, f: FieldModel, i: number): unknown {
  switch (type) {
    case 'Bool':
      return rng.chance(0.5)
    case 'Int8':
      return i % 13 === 0 ? rng.pick([-128, 127]) : rng.int(-128, 127)
    case 'Int16':
      return i % 13 === 0 ? rng.pick([-32768, 32767]) : rng.int(-32768, 32767)
    case 'Int32':
      return i % 13 === 0 ? rng.pick([-2147483648, 2147483647]) : rng.int(-2147483648, 2147483647)
    case 'Int64':
      return int64(rng, i % 29)
    case 'Float':
      return Math.fround(i % 7 === 0 ? rng.pick(FLOAT_EDGES) : (rng.next() - 0.5) * 10 ** rng.int(-5, 10))
    case 'Double':
      return i % 7 === 0 ? rng.pick(DOUBLE_EDGES) : (rng.next() - 0.5) * 10 ** rng.int(-20, 20)
    case 'VarChar':
      return text(rng, f.maxLength!, i)
    case 'JSON': {
      if (i % 9 === 0) return rng.pick([{}, { a: [] }, { a: { b: { c: [1, { d: 'é' }] } } }])
      // A whole JSON value is an object: Milvus 2.3 takes nothing else ("cannot unmarshal array"),
      // and Milvus Lite loses bare scalars (numbers and booleans: "Expected bytes"; a string reads
      // back without its quotes). Arrays and scalars are kept inside it.
      const v = json(rng)
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : { v }
    }
    default:
      throw new Error(`no values for ${type}`)
  }
}

function value(rng: Rng, f: FieldModel, i: number): unknown {
  if (f.type === 'FloatVector') return Array.from({ length: f.dim! }, () => Math.fround(rng.next() * 2 - 1))
  if (f.type === 'SparseFloatVector') {
    const entries = Array.from({ length: rng.int(1, 5) }, () => [rng.int(0, 100000), Math.fround(rng.next() + 0.01)])
    return Object.fromEntries(entries)
  }
  if (f.type === 'Array') {
    const n = i % 10 === 0 ? 0 : rng.int(0, f.maxCapacity!)
    return Array.from({ length: n }, (_, k) => scalar(rng, f.elementType!, { ...f, maxLength: f.maxLength }, i + k))
  }
  return scalar(rng, f.type, f, i)
}

export function generateRows(c: CaseSpec): GeneratedRow[] {
  const rng = new Rng((c.seed ^ 0x5eed5eed) >>> 0)
  const pk = c.schema.fields.find((f) => f.primaryKey)!
  const keys = new Set<string>()
  const rows: GeneratedRow[] = []
  for (let i = 0; rows.length < c.rowCount; i++) {
    const values: Record<string, unknown> = {}
    if (!pk.autoId) {
      const key =
        pk.type === 'Int64'
          ? int64(rng, c.extremeInt64Keys === false ? i + 2 : i) // INT64_EDGES[0..1] are min and max
          : i === 0
            ? 'x'.repeat(pk.maxLength!)
            : fitBytes(`${rng.pick(['k', 'ключ', '鍵', 'kéy'])}-${rng.int(0, 1e9)}-${i}`, pk.maxLength!)
      if (keys.has(key)) continue
      keys.add(key)
      values[pk.name] = key
    }
    for (const f of c.schema.fields) {
      if (f.primaryKey) continue
      if (f.nullable && rng.chance(0.2)) values[f.name] = null
      else if (f.default !== undefined && rng.chance(0.2))
        continue // left out: the server fills the default
      else values[f.name] = value(rng, f, i)
    }
    const dynamic: Record<string, unknown> = {}
    if (c.schema.dynamic && rng.chance(0.4)) {
      dynamic[rng.pick(['dyn_a', 'dyn_b', 'dyn_é'])] = json(rng)
      if (rng.chance(0.3)) dynamic.dyn_c = rng.int(-5, 5)
    }
    const partition = c.schema.partitions.length && rng.chance(0.7) ? rng.pick(c.schema.partitions) : ''
    rows.push({ partition, values, dynamic })
  }
  return rng.shuffle(rows)
}
