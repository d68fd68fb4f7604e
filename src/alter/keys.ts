import { createHash } from 'node:crypto'
import type { FieldSpec } from '../schema/spec'

/**
 * Primary keys as the copy engine handles them: Int64 keys are decimal strings (the SDK returns
 * them so, and numbers would lose precision beyond 2^53), VarChar keys are strings.
 */
export type Key = string

export const INT64_MIN = '-9223372036854775808'
export const INT64_MAX = '9223372036854775807'

/** Orders keys the way the server does: numerically for Int64, by UTF-8 bytes for VarChar. */
export function keyComparator(pk: FieldSpec): (a: Key, b: Key) => number {
  if (pk.type === 'Int64') {
    return (a, b) => {
      const x = BigInt(a)
      const y = BigInt(b)
      return x < y ? -1 : x > y ? 1 : 0
    }
  }
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

/**
 * An order-independent digest of a set of keys: count, plus the sum and xor of a 64-bit hash of
 * each key. Two collections with equal digests hold the same key set (with overwhelming probability).
 */
export class KeyDigest {
  count = 0
  private sum = 0n
  private xor = 0n
  private static readonly MASK = (1n << 64n) - 1n

  add(key: Key): void {
    const h = createHash('sha256').update(key).digest().readBigUInt64BE(0)
    this.count++
    this.sum = (this.sum + h) & KeyDigest.MASK
    this.xor ^= h
  }

  toString(): string {
    return `${this.count}:${this.sum.toString(16)}:${this.xor.toString(16)}`
  }

  /** A digest from its toString(): a checkpoint's digest goes on where it stopped. */
  static parse(text: string): KeyDigest {
    const [count, sum, xor] = text.split(':')
    const d = new KeyDigest()
    d.count = Number(count)
    d.sum = BigInt(`0x${sum}`)
    d.xor = BigInt(`0x${xor}`)
    return d
  }

  /** The number of keys a digest's text says it holds. */
  static countOf(text: string): number {
    return Number(text.split(':')[0])
  }
}
