import type { ConverterName, FieldModel, ScalarType } from './case'

/**
 * The converters and backfills a generated migration may use, by name. The migration runs them
 * through ctx.alter; the model (model.ts) runs the same functions to know what the values must be
 * afterwards. They are the user's code in this story, so sharing them is fair: what is under test
 * is that mvmigrate applies them to every row and keeps everything else.
 */
const FLOAT_MAX = 3.4028234663852886e38

export const CONVERTERS: Record<ConverterName, { from: ScalarType[]; to: ScalarType; fn: (v: unknown) => unknown }> = {
  /** Double -> Float, clamped to the Float range (mvmigrate refuses to copy Infinity: seed 833). */
  fround: {
    from: ['Double'],
    to: 'Float',
    fn: (v) => (v == null ? v : Math.fround(Math.max(-FLOAT_MAX, Math.min(FLOAT_MAX, Number(v))))),
  },
  /** Int64 -> Int32, clamped. */
  clampInt32: {
    from: ['Int64'],
    to: 'Int32',
    fn: (v) => {
      if (v == null) return v
      const b = BigInt(v as string)
      return Number(b > 2147483647n ? 2147483647n : b < -2147483648n ? -2147483648n : b)
    },
  },
  /** VarChar -> Int64: its length in characters. */
  lengthText: { from: ['VarChar'], to: 'Int64', fn: (v) => (v == null ? v : String([...(v as string)].length)) },
  /** Bool -> Int8. */
  boolToInt8: { from: ['Bool'], to: 'Int8', fn: (v) => (v == null ? v : v ? 1 : 0) },
  /** VarChar -> JSON. */
  wrapJson: { from: ['VarChar'], to: 'JSON', fn: (v) => (v == null ? v : { s: v }) },
  /** JSON -> VarChar: its text with sorted keys. */
  jsonText: { from: ['JSON'], to: 'VarChar', fn: (v) => (v == null ? v : stableJson(v)) },
}

/** JSON text with object keys sorted, the same in every language (read_back.py makes the same). */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  return JSON.stringify(v)
}

/** A 32-bit hash of a primary key's text (FNV-1a). */
export function hashOf(value: unknown): number {
  let h = 0x811c9dc5
  for (const ch of String(value)) {
    h ^= ch.codePointAt(0)!
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** The prefix of s that fits in maxBytes of UTF-8, never cutting a character. */
export function fitBytes(s: string, maxBytes: number): string {
  let out = ''
  let bytes = 0
  for (const ch of s) {
    const n = Buffer.byteLength(ch)
    if (bytes + n > maxBytes) break
    out += ch
    bytes += n
  }
  return out
}

/** What a backfill of `field` computes from a row's primary key. */
export function backfillValue(field: FieldModel, pk: unknown): unknown {
  const h = hashOf(pk)
  const element = (type: string, k: number): unknown => {
    switch (type) {
      case 'Bool':
        return k % 2 === 0
      case 'Int8':
        return (k % 256) - 128
      case 'Int16':
        return (k % 65536) - 32768
      case 'Int32':
        return k | 0
      case 'Int64':
        return String(BigInt(k) * 2147483659n - 4611686018427387904n) // within Int64 for any 32-bit k
      case 'Float':
        return Math.fround((k % 100000) / 7)
      case 'Double':
        return k / 13
      case 'VarChar':
        return fitBytes(`k${String(pk)}`, field.maxLength ?? 64)
      case 'JSON':
        return { pk: String(pk), h: k }
      default:
        throw new Error(`no backfill for ${type}`)
    }
  }
  switch (field.type) {
    case 'Array':
      return [element(field.elementType!, h), element(field.elementType!, h + 1)].slice(0, field.maxCapacity)
    case 'FloatVector':
      return Array.from({ length: field.dim! }, (_, i) => Math.fround(Math.sin(h + i)))
    case 'SparseFloatVector':
      return { [h % 1000]: Math.fround(0.5 + (h % 10) / 10) }
    default:
      return element(field.type, h)
  }
}
