import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { INT64_MAX, INT64_MIN, KeyDigest, keyComparator } from '../../src/alter/keys'

describe('keyComparator', () => {
  const int64 = keyComparator({ name: 'id', type: 'Int64', primaryKey: true })
  const byBigInt = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0)

  it('orders Int64 keys numerically, as BigInt does, for every pair of edge values', () => {
    const keys = [
      INT64_MIN,
      '-9223372036854775807',
      '-100',
      '-12',
      '-5',
      '-1',
      '0',
      '1',
      '5',
      '12',
      '100',
      '99',
      INT64_MAX,
    ]
    for (const a of keys) for (const b of keys) expect(int64(a, b), `${a} vs ${b}`).toBe(byBigInt(a, b))
  })

  it('agrees with BigInt on random keys, and sorts them the same way', () => {
    let seed = 7
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
    const keys = Array.from({ length: 2000 }, () => {
      const digits = String(random())
        .repeat(1 + (random() % 3))
        .slice(0, 1 + (random() % 18))
      const n = BigInt(digits)
      return String(random() % 2 ? -n : n)
    })
    expect([...keys].sort(int64)).toEqual([...keys].sort(byBigInt))
  })

  it('compares keys not in canonical decimal by their value', () => {
    expect(int64('-0', '0')).toBe(0)
    expect(int64('007', '7')).toBe(0)
    expect(int64('+8', '7')).toBe(1)
  })
})

describe('KeyDigest', () => {
  /** The digest as first defined: 64-bit sum and xor of each key's SHA-256 prefix, in BigInt. */
  function reference(keys: string[]): string {
    let sum = 0n
    let xor = 0n
    for (const k of keys) {
      const h = createHash('sha256').update(k).digest().readBigUInt64BE(0)
      sum = (sum + h) & ((1n << 64n) - 1n)
      xor ^= h
    }
    return `${keys.length}:${sum.toString(16)}:${xor.toString(16)}`
  }

  it('gives the same text as the BigInt definition (checkpoints written before stay valid), and goes on after parse', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => String((i - 700) * 7919))
    const d = new KeyDigest()
    for (const k of keys.slice(0, 3000)) d.add(k)
    expect(d.toString()).toBe(reference(keys.slice(0, 3000)))
    const resumed = KeyDigest.parse(d.toString())
    for (const k of keys.slice(3000)) resumed.add(k)
    expect(resumed.toString()).toBe(reference(keys))
    expect(KeyDigest.countOf(resumed.toString())).toBe(5000)
  })

  it('does not depend on the order keys come in', () => {
    const a = new KeyDigest()
    const b = new KeyDigest()
    for (const k of ['x', 'y', 'é', '42']) a.add(k)
    for (const k of ['42', 'é', 'y', 'x']) b.add(k)
    expect(a.toString()).toBe(b.toString())
  })
})
