import { endianness } from 'node:os'
import { KEY_COLUMN, keyColumnReader } from './key-column-wire'
import { Unreadable, delimited, fieldsOf, readVarint, varint } from './protobuf-wire'

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

/**
 * Float vector columns of an insert request, by field name, carried beside the rows: the request
 * holds the rows without those fields, and the serialiser writes each column's bytes where the
 * SDK left the field's entry empty. The SDK would otherwise push every number of every row into
 * one growing array and copy it again (`flat()`): per page of 768-dim vectors, megabytes of
 * short-lived arrays, each too big for the young generation (docs/performance.md, memory).
 * A symbol key: the SDK copies it into the request it serialises, and it can never be a field.
 */
export const FLOAT_COLUMNS = Symbol('mvmigrate.floatColumns')
// Queries use the same key: `[FLOAT_COLUMNS]: true` in the request asks for the result's float
// vectors as columns, which come back under the same key on its status (see withQueryColumns).

/** A float vector field of an insert: its rows' vectors (each exactly `dim` numbers), in row order. */
interface FloatColumn {
  dim: number
  vectors: ArrayLike<number>[]
}

type FloatColumns = Record<string, FloatColumn>

/** Connections whose inserts take FLOAT_COLUMNS (installFloatVectorWire succeeded on their class). */
const takingColumns = new WeakSet<object>()

/**
 * Splits the given (non-nullable) float vector fields out of rows into FLOAT_COLUMNS, for a
 * connection that takes them. Returns undefined, leaving everything to the SDK, where the
 * connection does not or any row's vector is not exactly `dim` numbers (the SDK then reports it).
 */
export function withFloatColumns(
  client: object,
  rows: Record<string, unknown>[],
  fields: { name: string; dim: number }[],
): { rows: Record<string, unknown>[]; columns: FloatColumns } | undefined {
  if (!fields.length || !rows.length || !takingColumns.has(client)) return undefined
  const columns: FloatColumns = {}
  for (const { name, dim } of fields) {
    const vectors: ArrayLike<number>[] = new Array(rows.length)
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i][name]
      if (!(Array.isArray(v) || v instanceof Float32Array) || v.length !== dim) return undefined
      vectors[i] = v as ArrayLike<number>
    }
    columns[name] = { dim, vectors }
  }
  const names = new Set(fields.map((f) => f.name))
  const stripped = rows.map((row) => {
    const out: Record<string, unknown> = {}
    for (const key in row) if (!names.has(key)) out[key] = row[key]
    return out
  })
  return { rows: stripped, columns }
}

/**
 * Rows for the SDK's own encoding: any Float32Array value (a vector a copy passes through, see
 * withQueryColumns) as an array of numbers. The SDK flattens vectors with `Array.prototype.flat`,
 * which leaves typed arrays whole, so it would encode them as NaN instead of refusing them.
 */
export function withPlainVectors(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const typed = (row: Record<string, unknown>) => Object.values(row).some((v) => v instanceof Float32Array)
  if (!rows.some(typed)) return rows
  return rows.map((row) => {
    const out: Record<string, unknown> = {}
    for (const key in row) out[key] = row[key] instanceof Float32Array ? Array.from(row[key]) : row[key]
    return out
  })
}

/** A piece of a message being written: bytes, or a column whose floats are written in place. */
type Part = Buffer | FloatColumn

const sizeOf = (p: Part) => (Buffer.isBuffer(p) ? p.length : p.vectors.length * p.dim * 4)

/** A length-delimited field of parts: tag, length, parts. */
function wrapped(tag: number, parts: Part[]): Part[] {
  return [varint(tag), varint(parts.reduce((n, p) => n + sizeOf(p), 0)), ...parts]
}

/**
 * The parts as one buffer, each column's floats written straight from its vectors: one buffer of
 * the message's size, instead of a column array and then a copy of it (docs/performance.md,
 * memory). The buffer starts so that the first column's floats are 4-byte aligned and can be
 * written through a Float32Array; any other column goes through a DataView (`dataViewOnly`: all).
 */
function assemble(parts: Part[], dataViewOnly: boolean): Buffer {
  const total = parts.reduce((n, p) => n + sizeOf(p), 0)
  let firstColumnAt = 0
  for (const p of parts) {
    if (!Buffer.isBuffer(p)) break
    firstColumnAt += p.length
  }
  const backing = Buffer.allocUnsafe(total + 3)
  const shift = (4 - ((backing.byteOffset + firstColumnAt) % 4)) % 4
  const out = backing.subarray(shift, shift + total)
  let at = 0
  for (const p of parts) {
    if (Buffer.isBuffer(p)) {
      p.copy(out, at)
      at += p.length
      continue
    }
    const { dim, vectors } = p
    if (!dataViewOnly && (out.byteOffset + at) % 4 === 0) {
      const floats = new Float32Array(out.buffer, out.byteOffset + at, vectors.length * dim)
      for (let i = 0; i < vectors.length; i++) floats.set(vectors[i], i * dim)
    } else {
      const view = new DataView(out.buffer, out.byteOffset + at, vectors.length * dim * 4)
      for (let i = 0, o = 0; i < vectors.length; i++) {
        const v = vectors[i]
        for (let j = 0; j < dim; j++, o += 4) view.setFloat32(o, v[j], true)
      }
    }
    at += sizeOf(p)
  }
  if (at !== total) throw new Error('mvmigrate: an insert message was not written to its full length')
  return out
}

/**
 * The serialiser: the SDK's for everything but float vector data, which is written as bytes.
 * `dataViewOnly` writes every column the unaligned way (so the probe proves that way too).
 */
export function floatVectorSerializer(serialize: Serialize, tags: Tags, dataViewOnly = false): Serialize {
  return (request: unknown) => {
    const r = request as { fields_data?: FieldDataObject[]; [FLOAT_COLUMNS]?: FloatColumns }
    const columns = r?.[FLOAT_COLUMNS]
    if (!Array.isArray(r?.fields_data) || !r.fields_data.some(isFloatVectorEntry)) {
      if (columns)
        throw new Error('mvmigrate: an insert request carried float vector columns but has no field for them')
      return serialize(request)
    }
    const { [FLOAT_COLUMNS]: _, ...plain } = r
    const parts: Part[] = [serialize({ ...plain, fields_data: [] })]
    const written = new Set<string>()
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
      const name = String(entry.field_name)
      const column = columns && Object.hasOwn(columns, name) ? columns[name] : undefined
      if (column && data.length)
        throw new Error(`mvmigrate: float vector field '${name}' came both as rows and as a column`)
      if (column) written.add(name)
      const floats: Part | undefined = column ?? (data.length ? floatBytes(data) : undefined)
      const floatArray = floats && sizeOf(floats) ? wrapped(tags.floatData, [floats]) : []
      const vectorField = [
        ...(dim === undefined ? [] : [varint(tags.dim), varint(Number(dim))]),
        ...wrapped(tags.floatVector, floatArray),
      ]
      parts.push(...wrapped(tags.fieldsData, [restBody, ...wrapped(tags.vectors, vectorField)]))
    }
    const missing = Object.keys(columns ?? {}).filter((name) => !written.has(name))
    // Never send a request without a column it was given: that would store rows without vectors.
    if (missing.length)
      throw new Error(`mvmigrate: the insert request has no entry for float vector field(s) ${missing.join(', ')}`)
    return assemble(parts, dataViewOnly)
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

/** Two runs of floats as one (protobuf may split a packed field; servers do not, in practice). */
function joined(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/**
 * The deserialiser: takes the float bytes out of each fields_data entry's float vector, lets the
 * SDK decode the rest, and puts the vectors back as a Float32Array. The SDK splits that into one
 * array of numbers per row (it only iterates it); a plain array of the whole page first would be
 * one more short-lived megabyte-sized object per page.
 */
export function floatVectorDeserializer(deserialize: Deserialize, tags: Tags, apart = false): Deserialize {
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
    const vectors: (Float32Array | undefined)[] = []
    const parts: Buffer[] = []
    for (const f of top) {
      if (f.tag !== tags.fieldsData) {
        parts.push(f.raw)
        continue
      }
      let found: Float32Array | undefined
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
              const floats = new Float32Array(new Uint8Array(d.body).buffer) // a fresh, aligned copy
              found = found ? joined(found, floats) : floats
            } else kept.push(d.raw)
          }
          vectorField.push(...delimited(tags.floatVector, kept))
        }
        entry.push(...delimited(tags.vectors, vectorField))
      }
      vectors.push(found)
      parts.push(...delimited(tags.fieldsData, entry))
    }
    const message = deserialize(Buffer.concat(parts)) as {
      fields_data?: FieldDataObject[]
      status?: { [FLOAT_COLUMNS]?: QueryColumns }
    }
    const columns: QueryColumns = {}
    vectors.forEach((data, i) => {
      const entry = message.fields_data?.[i]
      const v = entry?.vectors
      if (!data || !entry || !v?.float_vector) return
      const valid = entry.valid_data as unknown[] | undefined
      const dense = !valid?.length || valid.every(Boolean) // nullable vectors with gaps: the SDK's way
      if (apart && dense && message.status && typeof entry.field_name === 'string' && Number(v.dim) > 0)
        columns[entry.field_name] = { dim: Number(v.dim), data }
      else v.float_vector.data = data as unknown as number[]
    })
    if (Object.keys(columns).length) message.status![FLOAT_COLUMNS] = columns
    return message
  }
}

/** Float vector columns of a query result, by field name (see QUERY_COLUMNS in queryRows). */
type QueryColumns = Record<string, { dim: number; data: Float32Array }>

/**
 * Puts the float vector columns a query result carried beside its rows (a query made with
 * `[FLOAT_COLUMNS]: true` on the bulk connection) into the rows, one array of numbers per row,
 * each made at its full size and filled by index. The SDK's own way pushes each number of the
 * page through a callback into arrays that grow as they go: profiled, 60% of everything a copy
 * allocated (docs/performance.md, memory). Rows of a result without columns are returned as they are.
 * The fields in `typed` get a Float32Array per row instead, a view into the column: for a copy
 * that only passes the vectors on (the insert takes Float32Arrays as they are), so no code that
 * expects arrays of numbers (transforms, the SDK) ever sees them.
 */
export function withQueryColumns(
  rows: Record<string, unknown>[],
  status: unknown,
  typed: ReadonlySet<string> = NONE,
): Record<string, unknown>[] {
  const columns = (status as { [FLOAT_COLUMNS]?: QueryColumns } | undefined)?.[FLOAT_COLUMNS]
  if (!columns) return rows
  for (const [name, { dim, data }] of Object.entries(columns)) {
    const n = data.length / dim
    // A result with only vector fields has no rows from the SDK: they are made here.
    if (!rows.length) for (let i = 0; i < n; i++) rows.push({})
    if (rows.length !== n || !Number.isInteger(n))
      throw new Error(`mvmigrate: a query returned ${rows.length} rows but ${data.length / dim} vectors of '${name}'`)
    if (typed.has(name)) {
      // A view per row into the column: no number is copied (the copy passes such vectors through).
      for (let i = 0; i < n; i++) rows[i][name] = data.subarray(i * dim, (i + 1) * dim)
      continue
    }
    for (let i = 0; i < n; i++) {
      const vector = new Array<number>(dim)
      for (let j = 0, at = i * dim; j < dim; j++) vector[j] = data[at + j]
      rows[i][name] = vector
    }
  }
  return rows
}

const NONE: ReadonlySet<string> = new Set()

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

/** Equal as the SDK reads them: a Float32Array where the SDK has an array of the same numbers. */
const same = (a: unknown, b: unknown) => {
  const plain = (_: string, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v)
  return JSON.stringify(a, plain) === JSON.stringify(b, plain)
}

/** A result read with columns apart, with its columns put back where the SDK has them. */
function columnsBack(message: unknown): unknown {
  const m = message as { fields_data: FieldDataObject[]; status: { [FLOAT_COLUMNS]?: QueryColumns } }
  const columns = m.status[FLOAT_COLUMNS]
  if (!columns) return undefined // the probe has a column to take apart: none is a failure
  delete m.status[FLOAT_COLUMNS]
  for (const entry of m.fields_data) {
    const column = columns[String(entry.field_name)]
    if (column) entry.vectors!.float_vector!.data = Array.from(column.data)
  }
  return m
}

/** The probe request with its float vectors moved to FLOAT_COLUMNS, as insertRows sends them. */
function asColumns(request: unknown): unknown {
  const r = request as { fields_data: FieldDataObject[] }
  const columns: FloatColumns = {}
  const fields_data = r.fields_data.map((entry) => {
    if (entry.type !== 'FloatVector') return entry
    const { dim, float_vector } = entry.vectors! as { dim: number; float_vector: { data: number[] } }
    const vectors = Array.from({ length: float_vector.data.length / dim }, (_, i) =>
      float_vector.data.slice(i * dim, (i + 1) * dim),
    )
    columns[String(entry.field_name)] = { dim, vectors }
    return { ...entry, vectors: { ...entry.vectors, float_vector: { data: [] } } }
  })
  return { ...r, fields_data, [FLOAT_COLUMNS]: columns }
}

/**
 * Gives the `Insert` and `Query` methods of `client`'s gRPC client class the float vector functions. The
 * class is one connection's own (the SDK builds one per MilvusClient), so nothing else changes.
 * Each method is changed only if its probe gives exactly what the SDK's functions give; returns
 * whether both were.
 */
export function installFloatVectorWire(client: object, serviceClass: unknown): boolean {
  const ok = installOn(serviceClass)
  if (ok) takingColumns.add(client)
  return ok
}

function installOn(serviceClass: unknown): boolean {
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
  const replace = (
    name: string,
    serialize: Serialize,
    deserialize: Deserialize,
    deserializeFor: (request: unknown) => Deserialize = () => deserialize,
  ) => {
    const original = proto[name] as Method
    const method = function (this: { makeUnaryRequest: (...a: unknown[]) => unknown }, ...args: unknown[]) {
      return this.makeUnaryRequest(original.path, serialize, deserializeFor(args[0]), ...args)
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
    const readApart = floatVectorDeserializer(query.responseDeserialize, queryTags, true)
    const request = probeRequest()
    const result = query.responseSerialize(probeResult())
    const expected = insert.requestDeserialize(insert.requestSerialize(request))
    if (!same(insert.requestDeserialize(write(request)), expected)) return false
    if (!same(insert.requestDeserialize(write(asColumns(request))), expected)) return false
    // Floats that do not fall on a 4-byte boundary are written another way: proven the same too.
    const writeUnaligned = floatVectorSerializer(insert.requestSerialize, insertTags, true)
    if (!same(insert.requestDeserialize(writeUnaligned(asColumns(request))), expected)) return false
    const sdkRead = query.responseDeserialize(result)
    if (!same(read(result), sdkRead)) return false
    if (!same(columnsBack(readApart(result)), sdkRead)) return false
    // Keys-only queries may also be read from the wire (key-column-wire.ts), if its own probe agrees.
    const readKeys = keyColumnReader(query)
    replace('Insert', write, insert.responseDeserialize)
    // Only a query that asks for its vectors (or keys) as columns gets them so: any other still gets
    // them in its rows.
    replace('Query', query.requestSerialize, read, (request) => {
      const r = request as { [FLOAT_COLUMNS]?: unknown; [KEY_COLUMN]?: unknown } | undefined
      if (r?.[KEY_COLUMN] === true && readKeys) return readKeys
      return r?.[FLOAT_COLUMNS] === true ? readApart : read
    })
    return true
  } catch {
    return false
  }
}
