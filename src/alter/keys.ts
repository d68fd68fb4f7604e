import * as crypto from 'node:crypto'
import type { FieldSpec } from '../schema/spec'

/**
 * Primary keys as the copy engine handles them: Int64 keys are decimal strings (the SDK returns
 * them so, and numbers would lose precision beyond 2^53), VarChar keys are strings.
 */
export type Key = string

export const INT64_MIN = '-9223372036854775808'
export const INT64_MAX = '9223372036854775807'

const CANONICAL_INTEGER = /^(0|-?[1-9]\d*)$/

/**
 * Compares two Int64 keys written in canonical decimal (as the SDK returns them) without making
 * numbers of them: by sign, then length, then digit by digit. Sorting a window of 16,384 keys
 * through BigInt made ~460,000 short-lived BigInts, enough to push the window's own rows into the
 * old generation and grow the heap (docs/performance.md, memory). Anything else goes through BigInt.
 */
function compareInt64(a: Key, b: Key): number {
  if (!CANONICAL_INTEGER.test(a) || !CANONICAL_INTEGER.test(b)) {
    const x = BigInt(a)
    const y = BigInt(b)
    return x < y ? -1 : x > y ? 1 : 0
  }
  const negative = a[0] === '-'
  if (negative !== (b[0] === '-')) return negative ? -1 : 1
  const magnitude = a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0
  return magnitude === 0 ? 0 : Math.sign(negative ? -magnitude : magnitude)
}

/** Orders keys the way the server does: numerically for Int64, by UTF-8 bytes for VarChar. */
export function keyComparator(pk: FieldSpec): (a: Key, b: Key) => number {
  if (pk.type === 'Int64') return compareInt64
  return (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** A key as a literal in a Milvus filter expression. */
export function keyLiteral(pk: FieldSpec, key: Key): string {
  return pk.type === 'Int64' ? String(BigInt(key)) : JSON.stringify(key)
}

const INT64_MIN_PLUS_ONE = '-9223372036854775807'

/**
 * Filter for keys in (lower, upper), either bound optional ('' when both are open: every row).
 * Milvus 2.3 cannot parse the literal -9223372036854775808 (it negates 9223372036854775808, which
 * overflows), so bounds at the Int64 minimum are written with minimum + 1; and it drops the row
 * at the maximum from "pk <= maximum", so that bound (always true) is left out.
 */
export function rangeFilter(
  pk: FieldSpec,
  lower: Key | undefined,
  upper: Key | undefined,
  upperInclusive = false,
): string {
  const parts: string[] = []
  const isMin = (k: Key) => pk.type === 'Int64' && BigInt(k) === BigInt(INT64_MIN)
  if (lower !== undefined)
    parts.push(isMin(lower) ? `${pk.name} >= ${INT64_MIN_PLUS_ONE}` : `${pk.name} > ${keyLiteral(pk, lower)}`)
  const isMax = (k: Key) => pk.type === 'Int64' && BigInt(k) === BigInt(INT64_MAX)
  // "pk <= 9223372036854775807" is always true, and Milvus 2.3 gets it wrong (it drops that row).
  if (upper !== undefined && !(upperInclusive && isMax(upper))) {
    if (isMin(upper))
      parts.push(
        upperInclusive
          ? `${pk.name} < ${INT64_MIN_PLUS_ONE}`
          : `(${pk.name} < ${INT64_MIN_PLUS_ONE} && ${pk.name} > ${INT64_MIN_PLUS_ONE})`,
      )
    else parts.push(`${pk.name} ${upperInclusive ? '<=' : '<'} ${keyLiteral(pk, upper)}`)
  }
  return parts.join(' && ')
}

type OneShotHash = (algorithm: string, data: string, encoding: 'hex') => string
const oneShot = (crypto as { hash?: OneShotHash }).hash
/**
 * The first 64 bits of a key's SHA-256, as two 32-bit halves. crypto.hash (Node >= 20.12) makes no
 * Hash object per key (a digest of 400,000 keys allocated 400 MB less), and as hex text no Buffer
 * either: a Buffer per key is a native allocation freed only when V8 collects its wrapper, and the
 * alter process's peak memory grew with the number of keys (docs/performance.md, memory).
 */
const hash64 = oneShot
  ? (key: string): [number, number] => {
      const hex = oneShot('sha256', key, 'hex')
      return [parseInt(hex.slice(0, 8), 16), parseInt(hex.slice(8, 16), 16)]
    }
  : (key: string): [number, number] => {
      const h = crypto.createHash('sha256').update(key).digest()
      return [h.readUInt32BE(0), h.readUInt32BE(4)]
    }

/**
 * An order-independent digest of a set of keys: count, plus the sum and xor of a 64-bit hash of
 * each key. Two collections with equal digests hold the same key set (with overwhelming probability).
 */
export class KeyDigest {
  count = 0
  // The 64-bit sum and xor as 32-bit halves: BigInt arithmetic made four short-lived BigInts per key.
  private sumHigh = 0
  private sumLow = 0
  private xorHigh = 0
  private xorLow = 0

  add(key: Key): void {
    const [high, low] = hash64(key)
    this.count++
    const sumLow = this.sumLow + low
    this.sumLow = sumLow >>> 0
    this.sumHigh = (this.sumHigh + high + (sumLow > 0xffffffff ? 1 : 0)) >>> 0
    this.xorHigh = (this.xorHigh ^ high) >>> 0
    this.xorLow = (this.xorLow ^ low) >>> 0
  }

  toString(): string {
    const hex = (high: number, low: number) => ((BigInt(high) << 32n) | BigInt(low)).toString(16)
    return `${this.count}:${hex(this.sumHigh, this.sumLow)}:${hex(this.xorHigh, this.xorLow)}`
  }

  /** A digest from its toString(): a checkpoint's digest goes on where it stopped. */
  static parse(text: string): KeyDigest {
    const [count, sum, xor] = text.split(':')
    const d = new KeyDigest()
    const halves = (hex: string) => {
      const n = BigInt(`0x${hex}`)
      return [Number(n >> 32n) >>> 0, Number(n & 0xffffffffn)]
    }
    d.count = Number(count)
    ;[d.sumHigh, d.sumLow] = halves(sum)
    ;[d.xorHigh, d.xorLow] = halves(xor)
    return d
  }

  /** The number of keys a digest's text says it holds. */
  static countOf(text: string): number {
    return Number(text.split(':')[0])
  }
}
