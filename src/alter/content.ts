import * as crypto from 'node:crypto'
import type { FieldSpec } from '../schema/spec'
import type { Row } from './builder'

/**
 * Rows by value: a 64-bit hash of everything a row holds, and an order-independent digest of a
 * set of rows. Milvus apps upsert, so "did anything change" must be asked of the values, not of
 * the keys or the counts (DESIGN.md, promise 10). The same hash is taken of a row as the copy
 * writes it and as the server reads it back, so both are put in one canonical form first: every
 * field (the key included) by name, dynamic keys flattened, no value and null alike, function
 * outputs left out (the server computes them), integers as decimal text, Float and float vectors
 * as float32 bytes, JSON with sorted keys, sparse vectors as sorted (index, float32) pairs.
 */
export type RowHash = [number, number]

const INTEGER = new Set(['Int8', 'Int16', 'Int32', 'Int64'])

/** JSON with object keys sorted at every level: a JSON value's canonical text. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null'
  if (ArrayBuffer.isView(v)) return canonicalJson(Array.from(v as unknown as ArrayLike<number>))
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  const o = v as Record<string, unknown>
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`
}

/** Float32 bytes of a float vector given as a typed array or an array of numbers. */
function float32Bytes(v: unknown): Buffer | undefined {
  if (v instanceof Float32Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) {
    const f = Float32Array.from(v as number[])
    return Buffer.from(f.buffer, f.byteOffset, f.byteLength)
  }
  return undefined
}

/** Sparse vectors come as {index: value} or as [{index: value}, ...] or [[index, value], ...]. */
function sparsePairs(v: unknown): string {
  const pairs: [number, number][] = []
  const take = (o: unknown) => {
    if (Array.isArray(o) && o.length === 2 && typeof o[0] === 'number') pairs.push([o[0], Math.fround(Number(o[1]))])
    else if (o && typeof o === 'object')
      for (const [k, x] of Object.entries(o as Record<string, unknown>)) pairs.push([Number(k), Math.fround(Number(x))])
  }
  if (Array.isArray(v) && v.length && typeof v[0] === 'object') v.forEach(take)
  else take(v)
  pairs.sort((a, b) => a[0] - b[0])
  return JSON.stringify(pairs)
}

function scalarText(type: string | undefined, v: unknown): string {
  if (type && INTEGER.has(type)) return String(v)
  if (type === 'Float') return String(Math.fround(Number(v)))
  if (type === 'Double') return String(Number(v))
  return canonicalJson(v)
}

/** The canonical text (or bytes) of one value of a field. */
function valueBytes(field: FieldSpec | undefined, v: unknown): string | Buffer {
  const type = field?.type
  if (type === 'FloatVector') return float32Bytes(v) ?? canonicalJson(v)
  if (type === 'SparseFloatVector') return sparsePairs(v)
  if (type === 'Array' && Array.isArray(v)) return `[${v.map((x) => scalarText(field!.elementType, x)).join(',')}]`
  if (Buffer.isBuffer(v)) return v
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  return scalarText(type, v)
}

/** Hashes rows of one collection schema by value. */
export class RowHasher {
  private readonly fields: Map<string, FieldSpec>
  private readonly skip: Set<string>

  constructor(fields: FieldSpec[]) {
    this.fields = new Map(fields.map((f) => [f.name, f]))
    this.skip = new Set(fields.filter((f) => f.functionOutput).map((f) => f.name))
  }

  hash(row: Row): RowHash {
    const meta = row.$meta
    const flat: Row = meta && typeof meta === 'object' ? { ...(meta as Row), ...row } : { ...row }
    delete flat.$meta
    const h = crypto.createHash('sha256')
    for (const name of Object.keys(flat).sort()) {
      const v = flat[name]
      if (v === null || v === undefined || this.skip.has(name)) continue
      h.update(name)
      h.update('\0')
      h.update(valueBytes(this.fields.get(name), v))
      h.update('\x01')
    }
    const d = h.digest()
    return [d.readUInt32BE(0), d.readUInt32BE(4)]
  }
}

/**
 * An order-independent digest of a set of row hashes (count, 64-bit sum and xor): two windows
 * with equal digests hold the same rows, by value, with overwhelming probability.
 */
export class ContentDigest {
  count = 0
  private sumHigh = 0
  private sumLow = 0
  private xorHigh = 0
  private xorLow = 0

  add([high, low]: RowHash): void {
    this.count++
    const sumLow = this.sumLow + low
    this.sumLow = sumLow >>> 0
    this.sumHigh = (this.sumHigh + high + (sumLow > 0xffffffff ? 1 : 0)) >>> 0
    this.xorHigh = (this.xorHigh ^ high) >>> 0
    this.xorLow = (this.xorLow ^ low) >>> 0
  }

  /** Adds every row hash of another digest (a whole collection from its windows). */
  merge(other: ContentDigest): void {
    this.count += other.count
    const sumLow = this.sumLow + other.sumLow
    this.sumLow = sumLow >>> 0
    this.sumHigh = (this.sumHigh + other.sumHigh + (sumLow > 0xffffffff ? 1 : 0)) >>> 0
    this.xorHigh = (this.xorHigh ^ other.xorHigh) >>> 0
    this.xorLow = (this.xorLow ^ other.xorLow) >>> 0
  }

  toString(): string {
    const hex = (n: number) => n.toString(16).padStart(8, '0')
    return `${this.count}:${hex(this.sumHigh)}${hex(this.sumLow)}:${hex(this.xorHigh)}${hex(this.xorLow)}`
  }
}

/** Hash equality. */
export function sameHash(a: RowHash | undefined, b: RowHash | undefined): boolean {
  if (!a || !b) return a === b
  return a[0] === b[0] && a[1] === b[1]
}
