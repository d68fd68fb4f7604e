import { endianness } from 'node:os'

/**
 * Float vectors of inserts and query results moved as blocks of bytes.
 *
 * The SDK (de)serialises messages with protobufjs, which handles a packed `repeated float` number
 * by number: writing, it queues one small object per number; reading, it grows an array number by
 * number and then copies it. For a page of 250 rows of dim 768 that is ~190,000 objects each way;
 * profiled, writing was a third of everything the copy allocated and reading a sixth (README,
 * Performance). A packed float array on the wire is only its little-endian float32 bytes, so here
 * protobufjs handles everything else and the vector bytes are written or read in one step.
 *
 * Installed on the bulk connection only (milvus/data-client.ts), after checking with probe messages
 * that the result is exactly what the SDK's own functions produce; if anything about the SDK's
 * messages differs from what this expects, it is not installed and the SDK's functions are used.
 */

type Serialize = (value: unknown) => Buffer
type Deserialize = (bytes: Buffer) => unknown

interface MethodAttrs {
  path: string
  requestSerialize: Serialize
  requestDeserialize: Deserialize
  responseSerialize: Serialize
  responseDeserialize: Deserialize
}

type Method = ((...args: unknown[]) => unknown) & Partial<MethodAttrs>

interface FieldDataObject {
  vectors?: { dim?: unknown; float_vector?: { data?: unknown } } & Record<string, unknown>
  [key: string]: unknown
}

interface Tags {
  fieldsData: number
  vectors: number
  dim: number
  floatVector: number
  floatData: number
}

function varint(n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Buffer.from(out)
}

/** Thrown where bytes are not what this expects; the caller then leaves them to the SDK. */
class Unreadable extends Error {}

/** Reads a varint at `offset`: its value and where the next byte is. */
function readVarint(bytes: Buffer, offset: number): { value: number; next: number } {
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
function delimited(tag: number, parts: Buffer[]): Buffer[] {
  const length = parts.reduce((n, p) => n + p.length, 0)
  return [varint(tag), varint(length), ...parts]
}

/** The field tags, learned from what the SDK's serialiser writes for a tiny probe request. */
function learnTags(serialize: Serialize): Tags | undefined {
  // {fields_data: [{vectors: {dim: 3, float_vector: {data: [1]}}}]}: one field at each level,
  // except the vector field, which holds dim (a varint) then float_vector.
  const [fieldsData, ...more] = fieldsOf(
    serialize({ fields_data: [{ vectors: { dim: 3, float_vector: { data: [1] } } }] }),
  )
  const [vectors, ...more2] = fieldsData?.body ? fieldsOf(fieldsData.body) : []
  const [dim, floatVector, ...more3] = vectors?.body ? fieldsOf(vectors.body) : []
  const [floatData, ...more4] = floatVector?.body ? fieldsOf(floatVector.body) : []
  const ok =
    !more.length &&
    !more2.length &&
    !more3.length &&
    !more4.length &&
    !!dim &&
    !dim.body &&
    readVarint(dim.raw, readVarint(dim.raw, 0).next).value === 3 &&
    floatData?.body?.length === 4 &&
    floatData.body.readFloatLE(0) === 1
  return ok
    ? {
        fieldsData: fieldsData.tag,
        vectors: vectors.tag,
        dim: dim.tag,
        floatVector: floatVector.tag,
        floatData: floatData.tag,
      }
    : undefined
}

/** A fields_data entry this serialiser writes: a float vector and nothing else under `vectors`. */
function isFloatVectorEntry(entry: FieldDataObject): boolean {
  const v = entry?.vectors
  return (
    !!v &&
    Array.isArray(v.float_vector?.data) &&
    Object.keys(v).every((k) => k === 'dim' || k === 'float_vector') &&
    Object.keys(v.float_vector!).every((k) => k === 'data')
  )
}

function floatBytes(data: unknown[]): Buffer {
  const floats = Float32Array.from(data as number[])
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength)
}

/** The serialiser: the SDK's for everything but float vector data, which is written as bytes. */
export function floatVectorSerializer(serialize: Serialize, tags: Tags): Serialize {
  return (request: unknown) => {
    const r = request as { fields_data?: FieldDataObject[] }
    if (!Array.isArray(r?.fields_data) || !r.fields_data.some(isFloatVectorEntry)) return serialize(request)
    const parts: Buffer[] = [serialize({ ...r, fields_data: [] })]
    for (const entry of r.fields_data) {
      if (!isFloatVectorEntry(entry)) {
        parts.push(serialize({ fields_data: [entry] }))
        continue
      }
      // Everything but the vectors, as the SDK writes it, without its outer tag and length.
      const rest = serialize({ fields_data: [{ ...entry, vectors: undefined }] })
      const restBody = rest.subarray(readVarint(rest, readVarint(rest, 0).next).next)
      const { dim, float_vector } = entry.vectors!
      const data = float_vector!.data as unknown[]
      const floatArray = data.length ? delimited(tags.floatData, [floatBytes(data)]) : []
      const vectorField = [
        ...(dim === undefined ? [] : [varint(tags.dim), varint(Number(dim))]),
        ...delimited(tags.floatVector, floatArray),
      ]
      parts.push(...delimited(tags.fieldsData, [restBody, ...delimited(tags.vectors, vectorField)]))
    }
    return Buffer.concat(parts)
  }
}

/** A request like the SDK's inserts, to prove the two serialisers agree before one replaces the other. */
function probeRequest(): unknown {
  return {
    db_name: 'db',
    collection_name: 'probe',
    partition_name: '_default',
    num_rows: 2,
    hash_keys: [],
    fields_data: [
      { type: 'Int64', field_name: 'id', scalars: { long_data: { data: [1, 2] } }, valid_data: [] },
      {
        type: 'FloatVector',
        field_name: 'v',
        vectors: { dim: 3, float_vector: { data: [0.5, -1.25, 3e38, 1e-7, 0, -0] } },
        valid_data: [],
      },
      { type: 'VarChar', field_name: 's', scalars: { string_data: { data: ['a', 'é'] } }, valid_data: [true, true] },
    ],
  }
}

/** One protobuf field as found on the wire: its tag, and its bytes (tag and length included). */
interface WireField {
  tag: number
  /** For length-delimited fields: the payload. */
  body?: Buffer
  raw: Buffer
}

/** Splits a message into its fields, without decoding them; throws Unreadable for what it cannot read. */
function fieldsOf(bytes: Buffer): WireField[] {
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

/** A plain array (what the SDK expects), filled by index: Array.from would allocate per number. */
function toNumbers(floats: Float32Array): number[] {
  const out = new Array<number>(floats.length)
  for (let i = 0; i < floats.length; i++) out[i] = floats[i]
  return out
}

/**
 * The deserialiser: takes the float bytes out of each fields_data entry's float vector, lets the
 * SDK decode the rest, and puts the vectors back as arrays of numbers.
 */
export function floatVectorDeserializer(deserialize: Deserialize, tags: Tags): Deserialize {
  return (bytes: Buffer) => {
    try {
      return withFloatsApart(bytes)
    } catch (e) {
      if (e instanceof Unreadable) return deserialize(bytes) // not what this expects: the SDK's way
      throw e
    }
  }

  function withFloatsApart(bytes: Buffer): unknown {
    const top = fieldsOf(bytes)
    if (!top.some((f) => f.tag === tags.fieldsData)) return deserialize(bytes)
    const vectors: (number[] | undefined)[] = []
    const parts: Buffer[] = []
    for (const f of top) {
      if (f.tag !== tags.fieldsData) {
        parts.push(f.raw)
        continue
      }
      let found: number[] | undefined
      const entry: Buffer[] = []
      for (const g of fieldsOf(f.body!)) {
        if (g.tag !== tags.vectors || found) {
          entry.push(g.raw)
          continue
        }
        const vectorField: Buffer[] = []
        for (const h of fieldsOf(g.body!)) {
          if (h.tag !== tags.floatVector) {
            vectorField.push(h.raw)
            continue
          }
          const kept: Buffer[] = []
          for (const d of fieldsOf(h.body!)) {
            if (d.tag === tags.floatData && d.body && d.body.length % 4 === 0) {
              const floats = toNumbers(new Float32Array(new Uint8Array(d.body).buffer)) // a fresh, aligned copy
              found = found ? found.concat(floats) : floats
            } else kept.push(d.raw)
          }
          vectorField.push(...delimited(tags.floatVector, kept))
        }
        entry.push(...delimited(tags.vectors, vectorField))
      }
      vectors.push(found)
      parts.push(...delimited(tags.fieldsData, entry))
    }
    const message = deserialize(Buffer.concat(parts)) as { fields_data?: FieldDataObject[] }
    vectors.forEach((data, i) => {
      const v = message.fields_data?.[i]?.vectors
      if (data && v?.float_vector) v.float_vector.data = data
    })
    return message
  }
}

/** A query result like the server's, for the same proof on the reading side. */
function probeResult(): unknown {
  return {
    status: { code: 0 },
    collection_name: 'probe',
    output_fields: ['id', 'v', 'w'],
    fields_data: [
      { type: 'Int64', field_name: 'id', field_id: 100, scalars: { long_data: { data: [1, 2] } }, valid_data: [] },
      {
        type: 'FloatVector',
        field_name: 'v',
        field_id: 101,
        vectors: { dim: 3, float_vector: { data: [0.5, -1.25, 3e38, 1e-7, 0, 7] } },
        valid_data: [],
      },
      {
        type: 'FloatVector',
        field_name: 'w',
        field_id: 102,
        vectors: { dim: 1, float_vector: { data: [2] } },
        valid_data: [true, false],
      },
    ],
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * Gives the `Insert` and `Query` methods of a gRPC client class the float vector functions. The
 * class is one connection's own (the SDK builds one per MilvusClient), so nothing else changes.
 * Each method is changed only if its probe gives exactly what the SDK's functions give; returns
 * whether both were.
 */
export function installFloatVectorWire(serviceClass: unknown): boolean {
  if (endianness() !== 'LE') return false
  const proto = (serviceClass as { prototype?: Record<string, unknown> })?.prototype
  if (!proto) return false
  const attrs = (m: unknown): MethodAttrs | undefined => {
    const f = m as Method
    const ok =
      typeof f === 'function' &&
      typeof f.path === 'string' &&
      ['requestSerialize', 'requestDeserialize', 'responseSerialize', 'responseDeserialize'].every(
        (k) => typeof (f as unknown as Record<string, unknown>)[k] === 'function',
      )
    return ok ? (f as MethodAttrs) : undefined
  }
  const replace = (name: string, serialize: Serialize, deserialize: Deserialize) => {
    const original = proto[name] as Method
    const method = function (this: { makeUnaryRequest: (...a: unknown[]) => unknown }, ...args: unknown[]) {
      return this.makeUnaryRequest(original.path, serialize, deserialize, ...args)
    }
    proto[name] = Object.assign(method, original, { requestSerialize: serialize, responseDeserialize: deserialize })
  }
  try {
    const insert = attrs(proto.Insert)
    const query = attrs(proto.Query)
    if (!insert || !query) return false
    const insertTags = learnTags(insert.requestSerialize)
    const queryTags = learnTags(query.responseSerialize)
    if (!insertTags || !queryTags) return false
    const write = floatVectorSerializer(insert.requestSerialize, insertTags)
    const read = floatVectorDeserializer(query.responseDeserialize, queryTags)
    const request = probeRequest()
    const result = query.responseSerialize(probeResult())
    if (!same(insert.requestDeserialize(write(request)), insert.requestDeserialize(insert.requestSerialize(request))))
      return false
    if (!same(read(result), query.responseDeserialize(result))) return false
    replace('Insert', write, insert.responseDeserialize)
    replace('Query', query.requestSerialize, read)
    return true
  } catch {
    return false
  }
}
