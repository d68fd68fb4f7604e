import { Unreadable, delimited, fieldsOf, readVarint } from './protobuf-wire'

/**
 * Keys-only query results read straight from the wire, as one array of strings per field.
 *
 * The copy and its verification learn every primary key in windows of up to 16,384 keys (65,536 on
 * Milvus Lite). Read the SDK's way, each Int64 becomes a long.js object turned into decimal text
 * by long division (a dozen more objects per key), and then one row object per key, built twice
 * (Object.assign): profiled, ~1.3 GB of garbage for the two key digests of a 400,000-row alter,
 * which is what made the peak memory grow with the collection (docs/performance.md, memory).
 * Here the key values are decoded from their bytes into the strings the SDK would give, and the
 * SDK decodes the rest of the message with the values left out.
 *
 * Only a query whose request says `[KEY_COLUMN]: true` on the bulk connection is read this way,
 * and only after a probe message proves the result equals the SDK's own reading.
 */
export const KEY_COLUMN = Symbol('mvmigrate.keyColumn')

type Serialize = (value: unknown) => Buffer
type Deserialize = (bytes: Buffer) => unknown

/** Columns of a keys-only result, by field name: Int64 values as decimal text, VarChar as they are. */
type KeyColumns = Record<string, string[]>

interface KeyTags {
  fieldsData: number
  scalars: number
  longData: number
  /** The packed values of a LongArray (the unpacked tag is this with wire type 0). */
  longValues: number
  stringData: number
  stringValues: number
  validData: number
}

/** The `depth` nested single fields the serialiser writes for `message`, outermost first. */
function tagPath(serialize: Serialize, message: unknown, depth: number): { tag: number; body?: Buffer }[] {
  const path: { tag: number; body?: Buffer }[] = []
  let bytes: Buffer | undefined = serialize(message)
  while (bytes && path.length < depth) {
    const fields = fieldsOf(bytes)
    if (fields.length !== 1) return []
    path.push(fields[0])
    bytes = fields[0].body
  }
  return path
}

/** The field tags, learned from what the SDK's serialiser writes for tiny probe results. */
function learnTags(serialize: Serialize): KeyTags | undefined {
  const long = tagPath(serialize, { fields_data: [{ scalars: { long_data: { data: ['5'] } } }] }, 4)
  const text = tagPath(serialize, { fields_data: [{ scalars: { string_data: { data: ['k'] } } }] }, 4)
  const valid = tagPath(serialize, { fields_data: [{ valid_data: [true] }] }, 2)
  const ok =
    long.length === 4 &&
    text.length === 4 &&
    valid.length === 2 &&
    long[0].tag === text[0].tag &&
    long[0].tag === valid[0].tag &&
    long[1].tag === text[1].tag &&
    long[3].body?.length === 1 &&
    long[3].body[0] === 5 &&
    text[3].body?.toString() === 'k'
  return ok
    ? {
        fieldsData: long[0].tag,
        scalars: long[1].tag,
        longData: long[2].tag,
        longValues: long[3].tag,
        stringData: text[2].tag,
        stringValues: text[3].tag,
        validData: valid[1].tag,
      }
    : undefined
}

const TWO_32 = 4294967296

/**
 * The Int64 varint at `p` as decimal text, as the SDK gives it (long.js `toString()`): through a
 * double where that is exact (|n| <= 2^53), through BigInt otherwise.
 */
function int64Text(bytes: Buffer, p: number): { text: string; next: number } {
  let lo = 0
  let hi = 0
  for (let i = 0; ; i++) {
    if (p >= bytes.length || i === 10) throw new Unreadable()
    const b = bytes[p++]
    const bits = b & 0x7f
    if (i < 4) lo = (lo | (bits << (7 * i))) >>> 0
    else if (i === 4) {
      lo = (lo | (bits << 28)) >>> 0
      hi = bits >>> 4
    } else hi = (hi | (bits << (7 * i - 32))) >>> 0
    if (b < 0x80) break
  }
  const high = hi | 0
  const text =
    high >= -0x200000 && high < 0x200000
      ? String(high * TWO_32 + lo)
      : BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString()
  return { text, next: p }
}

/** The values of a LongArray or StringArray message, packed or not. */
function valuesOf(array: Buffer, valuesTag: number, long: boolean): string[] {
  const out: string[] = []
  for (const f of fieldsOf(array)) {
    if (long && f.tag === valuesTag && f.body) {
      for (let p = 0; p < f.body.length;) {
        const v = int64Text(f.body, p)
        out.push(v.text)
        p = v.next
      }
    } else if (long && f.tag === (valuesTag & ~7)) {
      out.push(int64Text(f.raw, readVarint(f.raw, 0).next).text)
    } else if (!long && f.tag === valuesTag && f.body) {
      out.push(f.body.toString('utf8'))
    } else throw new Unreadable()
  }
  return out
}

/** False where valid_data marks a value null (keys never are; such a result is left to the SDK). */
function allValid(f: { tag: number; body?: Buffer; raw: Buffer }): boolean {
  return f.body ? !f.body.includes(0) : f.raw[f.raw.length - 1] !== 0
}

/**
 * The deserialiser for keys-only queries: takes the Int64 or VarChar values out of each
 * fields_data entry, lets the SDK decode the rest (so it builds no rows), and puts the values on
 * the status under KEY_COLUMN. Anything it does not expect is left to the SDK whole.
 */
export function keyColumnDeserializer(deserialize: Deserialize, tags: KeyTags): Deserialize {
  return (bytes: Buffer) => {
    try {
      return withKeysApart(bytes)
    } catch (e) {
      if (e instanceof Unreadable) return deserialize(bytes)
      throw e
    }
  }

  function withKeysApart(bytes: Buffer): unknown {
    const parts: Buffer[] = []
    const values: (string[] | undefined)[] = []
    for (const f of fieldsOf(bytes)) {
      if (f.tag !== tags.fieldsData) {
        parts.push(f.raw)
        continue
      }
      const entry: Buffer[] = []
      let found: string[] | undefined
      for (const g of fieldsOf(f.body!)) {
        if ((g.tag >>> 3 === tags.validData >>> 3 && !allValid(g)) || (g.tag === tags.scalars && found))
          throw new Unreadable()
        if (g.tag !== tags.scalars) {
          entry.push(g.raw)
          continue
        }
        const [array, ...more] = fieldsOf(g.body!)
        const long = array?.tag === tags.longData
        if (more.length || !array?.body || (!long && array.tag !== tags.stringData)) throw new Unreadable()
        found = valuesOf(array.body, long ? tags.longValues : tags.stringValues, long)
        entry.push(...delimited(tags.scalars, delimited(array.tag, [])))
      }
      values.push(found)
      parts.push(...delimited(tags.fieldsData, entry))
    }
    const message = deserialize(Buffer.concat(parts)) as {
      fields_data?: { field_name?: unknown }[]
      status?: { [KEY_COLUMN]?: KeyColumns }
    }
    if (!message.status || message.fields_data?.length !== values.length) throw new Unreadable()
    const columns: KeyColumns = {}
    values.forEach((column, i) => {
      const name = message.fields_data![i].field_name
      if (column && typeof name === 'string') columns[name] = column
    })
    message.status[KEY_COLUMN] = columns
    return message
  }
}

/** The key column of `field` a result read with KEY_COLUMN carries, if it was read so. */
export function keyColumnOf(status: unknown, field: string): string[] | undefined {
  const columns = (status as { [KEY_COLUMN]?: KeyColumns } | undefined)?.[KEY_COLUMN]
  return columns && Object.hasOwn(columns, field) ? columns[field] : undefined
}

/** Int64 keys at the edges of each decoding branch, and VarChar keys, as a server would send them. */
function probeResult(): unknown {
  const longs = ['0', '1', '-1', '127', '128', '-128', '4294967295', '4294967296', '-4294967296']
  longs.push('9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740992', '-9007199254740993')
  longs.push('9223372036854775807', '-9223372036854775808', '1152921504606846976', '-2251799813685249')
  return {
    status: { code: 0 },
    collection_name: 'probe',
    output_fields: ['id', 's'],
    fields_data: [
      { type: 'Int64', field_name: 'id', field_id: 100, scalars: { long_data: { data: longs } }, valid_data: [] },
      {
        type: 'VarChar',
        field_name: 's',
        field_id: 101,
        scalars: { string_data: { data: ['a', 'é', '', 'x'.repeat(300), '\u{1F600}'] } },
        valid_data: [true, true, true, true, true],
      },
    ],
  }
}

/**
 * The keys-only reader for a connection's Query method, or undefined (the SDK's reading stays)
 * when the probe result read this way is not exactly what the SDK reads.
 */
export function keyColumnReader(query: { responseSerialize: Serialize; responseDeserialize: Deserialize }) {
  try {
    const tags = learnTags(query.responseSerialize)
    if (!tags) return undefined
    const read = keyColumnDeserializer(query.responseDeserialize, tags)
    const bytes = query.responseSerialize(probeResult())
    const expected = query.responseDeserialize(bytes) as { fields_data: { field_name: string; scalars: unknown }[] }
    const got = read(bytes) as typeof expected & { status: { [KEY_COLUMN]?: KeyColumns } }
    const columns = got.status[KEY_COLUMN]
    if (!columns || Object.keys(columns).length !== 2) return undefined
    delete got.status[KEY_COLUMN]
    for (const entry of got.fields_data) {
      const scalars = entry.scalars as Record<string, { data: string[] }>
      scalars[scalars.data as unknown as string].data = columns[entry.field_name]
    }
    return JSON.stringify(got) === JSON.stringify(expected) ? read : undefined
  } catch {
    return undefined
  }
}
