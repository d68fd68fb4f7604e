/**
 * Just enough of the protobuf wire format to find fields in a message without decoding it: the
 * bulk connection (float-vector-wire.ts, key-column-wire.ts) takes the big arrays out of messages
 * and leaves the rest to the SDK's own (de)serialisers.
 */

/** A non-negative integer (below 2^53) as a varint. */
export function varint(n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Buffer.from(out)
}

/** Thrown where bytes are not what this expects; the caller then leaves them to the SDK. */
export class Unreadable extends Error {}

/** Reads a varint at `offset` (exact below 2^53: tags, lengths): its value and where the next byte is. */
export function readVarint(bytes: Buffer, offset: number): { value: number; next: number } {
  let value = 0
  let scale = 1
  for (let i = offset; i < bytes.length; i++) {
    value += (bytes[i] & 0x7f) * scale
    if (!(bytes[i] & 0x80)) return { value, next: i + 1 }
    scale *= 128
  }
  throw new Unreadable()
}

/** A length-delimited field: tag, length, bytes. */
export function delimited(tag: number, parts: Buffer[]): Buffer[] {
  const length = parts.reduce((n, p) => n + p.length, 0)
  return [varint(tag), varint(length), ...parts]
}

/** One protobuf field as found on the wire: its tag, and its bytes (tag and length included). */
export interface WireField {
  tag: number
  /** For length-delimited fields: the payload. */
  body?: Buffer
  raw: Buffer
}

/** Splits a message into its fields, without decoding them; throws Unreadable for what it cannot read. */
export function fieldsOf(bytes: Buffer): WireField[] {
  const out: WireField[] = []
  let p = 0
  while (p < bytes.length) {
    const start = p
    const tag = readVarint(bytes, p)
    p = tag.next
    switch (tag.value & 7) {
      case 0:
        p = readVarint(bytes, p).next
        break
      case 1:
        p += 8
        break
      case 5:
        p += 4
        break
      case 2: {
        const len = readVarint(bytes, p)
        p = len.next + len.value
        if (p > bytes.length) throw new Unreadable()
        out.push({ tag: tag.value, body: bytes.subarray(len.next, p), raw: bytes.subarray(start, p) })
        continue
      }
      default:
        throw new Unreadable() // groups: not in Milvus' messages
    }
    if (p > bytes.length) throw new Unreadable()
    out.push({ tag: tag.value, raw: bytes.subarray(start, p) })
  }
  return out
}
