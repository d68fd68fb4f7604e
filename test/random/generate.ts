import type {
  CaseSpec,
  ConverterName,
  FieldModel,
  IndexModel,
  MigrationSpec,
  OpSpec,
  ScalarType,
  SchemaModel,
  ServerCaps,
  Step,
} from './case'
import { CONVERTERS, fitBytes } from './functions'
import { type ModelState, applyMigration } from './model'
import { Rng } from './rng'

/**
 * A random case from a seed: a collection the server can hold (asked of the probes, never
 * assumed), how its rows go in, and a valid sequence of alters with `down`/`up` steps and
 * deliberately invalid migrations between them. Deterministic: same seed and caps, same case.
 */
export interface GenerateOptions {
  maxRows?: number
}

const SCALARS: ScalarType[] = ['Bool', 'Int8', 'Int16', 'Int32', 'Int64', 'Float', 'Double', 'VarChar', 'JSON']
const ELEMENTS = ['Bool', 'Int8', 'Int16', 'Int32', 'Int64', 'Float', 'Double', 'VarChar'] as const
const PROPERTIES: [string, string[]][] = [
  ['collection.ttl.seconds', ['315360000', '630720000']],
  ['mmap.enabled', ['false']],
]

export function generateCase(seed: number, caps: ServerCaps, opts: GenerateOptions = {}): CaseSpec {
  const rng = new Rng(seed)
  const schema = generateSchema(rng.fork(1), caps)
  const maxRows = opts.maxRows ?? 3000
  const sizeRng = rng.fork(2)
  const band = sizeRng.next()
  const rowCount = Math.min(
    maxRows,
    band < 0.5 ? sizeRng.int(50, 300) : band < 0.85 ? sizeRng.int(300, 1500) : sizeRng.int(1500, 3000),
  )
  const batches = sizeRng.int(1, 6)
  const flushed = Array.from({ length: batches }, (_, i) => i).filter(() => sizeRng.chance(0.4))
  const deleteShare = sizeRng.chance(0.7) ? sizeRng.int(1, 10) / 100 : 0
  const { migrations, steps } = generateSteps(rng.fork(3), schema, caps)
  return {
    seed,
    ...(caps.extremeInt64Keys === false ? { extremeInt64Keys: false } : {}),
    collection: `rnd_${seed.toString(36)}`,
    schema,
    rowCount,
    batches,
    flushed,
    deleteShare,
    migrations,
    steps,
  }
}

function scalarIndexType(f: FieldModel, caps: ServerCaps): string | undefined {
  if (f.type === 'JSON' || f.type === 'Array' || f.type.endsWith('Vector') || f.primaryKey) return undefined
  if (caps.invertedIndex) return 'INVERTED'
  if (f.type === 'VarChar') return 'Trie'
  if (f.type === 'Bool') return undefined
  return 'STL_SORT'
}

function vectorIndex(rng: Rng, f: FieldModel): IndexModel {
  if (f.type === 'SparseFloatVector') return { field: f.name, type: 'SPARSE_INVERTED_INDEX', metric: 'IP' }
  const metric = rng.pick(['L2', 'IP', 'COSINE'])
  const kind = rng.pick(['FLAT', 'HNSW', 'IVF_FLAT'])
  if (kind === 'HNSW')
    return { field: f.name, type: kind, metric, params: { M: rng.int(4, 16), efConstruction: rng.int(8, 64) } }
  if (kind === 'IVF_FLAT') return { field: f.name, type: kind, metric, params: { nlist: rng.int(1, 8) } }
  return { field: f.name, type: kind, metric }
}

export function defaultFor(rng: Rng, f: FieldModel): unknown {
  switch (f.type) {
    case 'Bool':
      return rng.chance(0.5)
    case 'Int8':
      return rng.int(-128, 127)
    case 'Int16':
      return rng.int(-32768, 32767)
    case 'Int32':
      return rng.int(-2147483648, 2147483647)
    case 'Int64':
      return rng.pick(['-9223372036854775808', '9223372036854775807', '42', '-7'])
    case 'Float':
      return Math.fround(rng.int(-1000, 1000) / 8)
    case 'Double':
      return rng.int(-1000, 1000) / 3
    case 'VarChar':
      return fitBytes(rng.pick(['', 'dflt', 'défaut', '默认']), f.maxLength!)
    default:
      return undefined
  }
}

function scalarField(rng: Rng, name: string, type: ScalarType | 'Array', caps: ServerCaps): FieldModel {
  const f: FieldModel = { name, type }
  if (type === 'VarChar') f.maxLength = rng.chance(0.3) ? rng.int(1, 8) : rng.int(9, 300)
  if (type === 'Array') {
    f.elementType = rng.pick(ELEMENTS)
    f.maxCapacity = rng.int(1, 8)
    if (f.elementType === 'VarChar') f.maxLength = rng.int(1, 40)
  }
  if (caps.nullable && rng.chance(0.3)) f.nullable = true
  if (caps.nullable && type !== 'JSON' && type !== 'Array' && rng.chance(0.2)) f.default = defaultFor(rng, f)
  return f
}

export function generateSchema(rng: Rng, caps: ServerCaps): SchemaModel {
  const fields: FieldModel[] = []
  const pkType = rng.chance(0.6) ? 'Int64' : 'VarChar'
  fields.push({
    name: 'pk',
    type: pkType,
    primaryKey: true,
    ...(pkType === 'VarChar' ? { maxLength: rng.int(24, 64) } : {}),
    ...(pkType === 'Int64' && caps.keepAutoIdKeys && rng.chance(0.25) ? { autoId: true } : {}),
  })
  const vectors = caps.multipleVectors ? rng.int(1, 3) : 1
  for (let v = 0; v < vectors; v++) {
    const sparse = v > 0 && caps.sparse && rng.chance(0.4)
    fields.push(
      sparse
        ? { name: `vec${v}`, type: 'SparseFloatVector' }
        : { name: `vec${v}`, type: 'FloatVector', dim: rng.pick([2, 4, 8, 16, 32, 128]) },
    )
  }
  const scalars = rng.int(2, 8)
  for (let s = 0; s < scalars; s++) {
    const type = rng.chance(0.15) ? 'Array' : rng.pick(SCALARS)
    fields.push(scalarField(rng, `${type.toLowerCase()}_${s}`, type, caps))
  }
  const mode = rng.pick(['none', 'none', 'named', 'named', 'key'] as const)
  let partitions: string[] = []
  let numPartitions: number | undefined
  if (mode === 'named') partitions = Array.from({ length: rng.int(1, 3) }, (_, i) => `part_${i}`)
  if (mode === 'key') {
    let key = fields.find((f) => (f.type === 'Int64' || f.type === 'VarChar') && !f.primaryKey && !f.nullable)
    if (!key) {
      key = { name: 'tenant', type: 'VarChar', maxLength: 16 }
      fields.push(key)
    }
    delete key.default
    key.partitionKey = true
    numPartitions = rng.int(1, 16)
  }
  const indexes: IndexModel[] = fields.filter((f) => f.type.endsWith('Vector')).map((f) => vectorIndex(rng, f))
  for (const f of fields) {
    const t = scalarIndexType(f, caps)
    if (t && rng.chance(0.25)) indexes.push({ field: f.name, type: t })
  }
  const properties: Record<string, string> = {}
  if (rng.chance(0.3)) {
    const [k, vs] = rng.pick(PROPERTIES)
    properties[k] = rng.pick(vs)
  }
  return {
    fields,
    dynamic: rng.chance(0.5),
    partitions,
    ...(numPartitions ? { numPartitions } : {}),
    indexes,
    properties,
    aliases: rng.chance(0.25) ? ['alias_a'] : [],
  }
}

/** The field types each scalar index type the generator uses can be built on (Milvus' own rules). */
function indexFits(indexType: string, to: ScalarType): boolean {
  if (indexType === 'INVERTED') return to !== 'JSON'
  if (indexType === 'STL_SORT') return ['Int8', 'Int16', 'Int32', 'Int64', 'Float', 'Double'].includes(to)
  if (indexType === 'Trie') return to === 'VarChar'
  return true
}

/** Retypes a field of this type can take: [to, converter or undefined when it needs none]. */
function retypes(f: FieldModel): [ScalarType, ConverterName | undefined][] {
  const out: [ScalarType, ConverterName | undefined][] = []
  const ints = ['Int8', 'Int16', 'Int32', 'Int64']
  if (ints.includes(f.type)) {
    for (const t of ints.slice(ints.indexOf(f.type) + 1)) out.push([t as ScalarType, undefined])
    if (f.type !== 'Int64') out.push(['Double', undefined])
    out.push(['VarChar', undefined])
  }
  if (f.type === 'Int64') out.push(['Int32', 'clampInt32'])
  if (f.type === 'Float') out.push(['Double', undefined], ['VarChar', undefined])
  if (f.type === 'Double') out.push(['Float', 'fround'], ['VarChar', undefined])
  if (f.type === 'Bool') out.push(['Int8', 'boolToInt8'], ['VarChar', undefined])
  if (f.type === 'VarChar') out.push(['Int64', 'lengthText'])
  if (f.type === 'VarChar' && f.default === undefined) out.push(['JSON', 'wrapJson'])
  if (f.type === 'JSON') out.push(['VarChar', 'jsonText'])
  return out.filter(([, c]) => !c || CONVERTERS[c].from.includes(f.type as ScalarType))
}

/** One valid op against the schema, or undefined when the chosen kind has no candidate. */
function validOp(rng: Rng, schema: SchemaModel, caps: ServerCaps, tag: string): OpSpec | undefined {
  const user = schema.fields.filter((f) => !f.primaryKey)
  const scalars = user.filter((f) => !f.type.endsWith('Vector'))
  const vectors = user.filter((f) => f.type.endsWith('Vector'))
  const indexed = new Set(schema.indexes.map((i) => i.field))
  const kind = rng.pick([
    'add',
    'add',
    'drop',
    'rename',
    'rename',
    'retype',
    'retype',
    'grow',
    'nullable',
    'addIndex',
    'dropIndex',
    'setProperty',
  ] as const)
  switch (kind) {
    case 'add': {
      const type = rng.chance(0.15) ? 'Array' : rng.pick(SCALARS)
      const f = scalarField(rng, `${type.toLowerCase()}_${tag}`, type, caps)
      return { op: 'add', field: f, ...(rng.chance(0.35) ? { backfill: true } : {}) }
    }
    case 'drop': {
      const candidates = user.filter((f) => !f.partitionKey && (!f.type.endsWith('Vector') || vectors.length > 1))
      return candidates.length ? { op: 'drop', name: rng.pick(candidates).name } : undefined
    }
    case 'rename': {
      const f = rng.pick(user)
      return { op: 'rename', from: f.name, to: `${f.name.replace(/_r\d+$/, '')}_r${tag.replace(/\D/g, '')}` }
    }
    case 'retype': {
      // Only to a type the field's index (if any) can follow: another one is an invalid alter.
      const fitting = (f: FieldModel) => {
        const index = schema.indexes.find((i) => i.field === f.name)
        return retypes(f).filter(([to]) => !index || indexFits(index.type, to))
      }
      const candidates = scalars.filter((f) => !f.partitionKey && fitting(f).length)
      if (!candidates.length) return undefined
      const f = rng.pick(candidates)
      const [to, convert] = rng.pick(fitting(f))
      return {
        op: 'retype',
        name: f.name,
        to,
        ...(convert ? { convert } : {}),
        ...(to === 'VarChar'
          ? { maxLength: to === 'VarChar' && convert === 'jsonText' ? 65535 : rng.int(64, 512) }
          : {}),
      }
    }
    case 'grow': {
      const candidates = scalars.filter((f) => f.type === 'VarChar' || f.type === 'Array')
      if (!candidates.length) return undefined
      const f = rng.pick(candidates)
      if (f.type === 'Array' && (f.elementType !== 'VarChar' || rng.chance(0.5)))
        return { op: 'grow', name: f.name, maxCapacity: f.maxCapacity! + rng.int(1, 10) }
      return { op: 'grow', name: f.name, maxLength: Math.min(65535, f.maxLength! + rng.int(1, 100)) }
    }
    case 'nullable': {
      if (!caps.nullable) return undefined
      const candidates = scalars.filter((f) => !f.partitionKey)
      if (!candidates.length) return undefined
      const f = rng.pick(candidates)
      if (!f.nullable) return { op: 'nullable', name: f.name, nullable: true }
      if (f.type === 'JSON' || f.type === 'Array') return undefined
      return { op: 'nullable', name: f.name, nullable: false, default: f.default ?? defaultFor(rng, f) }
    }
    case 'addIndex': {
      const candidates = scalars.filter((f) => !indexed.has(f.name) && scalarIndexType(f, caps))
      if (!candidates.length) return undefined
      const f = rng.pick(candidates)
      return { op: 'addIndex', index: { field: f.name, type: scalarIndexType(f, caps)! } }
    }
    case 'dropIndex': {
      const candidates = schema.indexes.filter(
        (i) => !schema.fields.find((f) => f.name === i.field)?.type.endsWith('Vector'),
      )
      return candidates.length ? { op: 'dropIndex', name: rng.pick(candidates).field } : undefined
    }
    case 'setProperty': {
      const [k, vs] = rng.pick(PROPERTIES)
      return { op: 'setProperty', key: k, value: rng.pick(vs) }
    }
  }
}

/** A migration that must be refused before anything changes, and why. */
function invalidStep(rng: Rng, schema: SchemaModel, caps: ServerCaps, tag: string): Step {
  const pk = schema.fields.find((f) => f.primaryKey)!
  const user = schema.fields.filter((f) => !f.primaryKey)
  const prefix: OpSpec[] = []
  // Sometimes a valid change comes first: it must not be applied either.
  const valid = rng.chance(0.5) ? validOp(rng, schema, caps, `${tag}x`) : undefined
  if (valid) prefix.push(valid)
  const after = valid ? applyMigration({ schema, rows: new Map() } as ModelState, [valid]).schema : schema
  const afterUser = after.fields.filter((f) => !f.primaryKey)
  const kinds = [
    'dropPrimaryKey',
    'renameOntoExisting',
    'retypeWithoutConverter',
    'wrongDefault',
    'unknownField',
  ] as const
  const kind = rng.pick(kinds)
  switch (kind) {
    case 'dropPrimaryKey':
      return { kind: 'invalid', ops: [...prefix, { op: 'drop', name: pk.name }], why: 'drops the primary key' }
    case 'renameOntoExisting': {
      if (afterUser.length >= 2) {
        const [a, b] = rng.shuffle([...afterUser]).slice(0, 2)
        return {
          kind: 'invalid',
          ops: [...prefix, { op: 'rename', from: a.name, to: b.name }],
          why: 'renames onto an existing field',
        }
      }
      break
    }
    case 'retypeWithoutConverter': {
      const f = afterUser.find((x) => x.type === 'VarChar' || x.type === 'JSON' || x.type === 'Int64')
      if (f) {
        const to: ScalarType = f.type === 'Int64' ? 'Int8' : f.type === 'VarChar' ? 'Int64' : 'Int32'
        return {
          kind: 'invalid',
          ops: [...prefix, { op: 'retype', name: f.name, to }],
          why: `retypes ${f.type} -> ${to} without a converter`,
        }
      }
      break
    }
    case 'wrongDefault':
      return {
        kind: 'invalid',
        ops: [
          ...prefix,
          { op: 'add', field: { name: `bad_${tag}`, type: 'Int32', default: 'abc', ...(caps.nullable ? {} : {}) } },
        ],
        why: 'adds an Int32 field with a text default',
      }
    default:
      break
  }
  void user
  return {
    kind: 'invalid',
    ops: [...prefix, { op: 'drop', name: 'no_such_field' }],
    why: 'drops a field that does not exist',
  }
}

function generateSteps(
  rng: Rng,
  schema: SchemaModel,
  caps: ServerCaps,
): { migrations: MigrationSpec[]; steps: Step[] } {
  const count = rng.int(1, 4)
  const migrations: MigrationSpec[] = []
  const states: SchemaModel[] = [schema]
  for (let m = 0; m < count; m++) {
    let current = states[m]
    const ops: OpSpec[] = []
    const wanted = rng.chance(0.6) ? 1 : rng.int(2, 3)
    for (let tries = 0; ops.length < wanted && tries < 20; tries++) {
      const op = validOp(rng, current, caps, `m${m}${ops.length}`)
      if (!op) continue
      ops.push(op)
      current = applyMigration({ schema: current, rows: new Map() }, [op]).schema
    }
    migrations.push({ ops, verify: rng.chance(0.5) ? 'full' : 'count', explicitDown: rng.chance(0.3) })
    states.push(current)
  }
  const steps: Step[] = []
  for (let m = 0; m < count; m++) {
    if (rng.chance(0.25)) steps.push(invalidStep(rng, states[m], caps, `i${m}`))
    steps.push({ kind: 'up' })
    if (rng.chance(0.3)) steps.push({ kind: 'down' }, { kind: 'up' })
  }
  if (rng.chance(0.4)) for (let d = rng.int(1, count); d > 0; d--) steps.push({ kind: 'down' })
  return { migrations, steps }
}

/** One line about a case: its shape and its ops. */
export function describeCase(c: CaseSpec): { shape: string; ops: string } {
  const s = c.schema
  const pk = s.fields.find((f) => f.primaryKey)!
  const shape = [
    `${pk.type}${pk.autoId ? ' auto_id' : ''} key`,
    `${s.fields.length} fields`,
    s.dynamic ? 'dynamic' : '',
    s.partitions.length
      ? `${s.partitions.length} partitions`
      : s.numPartitions
        ? `partition key (${s.numPartitions})`
        : '',
    s.aliases.length ? 'alias' : '',
    `${c.rowCount} rows`,
  ]
    .filter(Boolean)
    .join(', ')
  const opText = (o: OpSpec): string => {
    switch (o.op) {
      case 'add':
        return `add ${o.field.name}:${o.field.type}${o.field.nullable ? '?' : ''}${o.field.default !== undefined ? '=default' : ''}${o.backfill ? '+backfill' : ''}`
      case 'drop':
        return `drop ${o.name}`
      case 'rename':
        return `rename ${o.from}->${o.to}`
      case 'retype':
        return `retype ${o.name}->${o.to}${o.convert ? `(${o.convert})` : ''}`
      case 'grow':
        return `grow ${o.name}`
      case 'nullable':
        return `${o.nullable ? 'nullable' : 'not-null'} ${o.name}`
      case 'addIndex':
        return `index ${o.index.field}:${o.index.type}`
      case 'dropIndex':
        return `drop-index ${o.name}`
      case 'setProperty':
        return `set ${o.key}`
    }
  }
  let m = 0
  const ops = c.steps
    .map((st) =>
      st.kind === 'up'
        ? `up[${c.migrations[m++]?.ops.map(opText).join('; ')}]`
        : st.kind === 'down'
          ? (m--, 'down')
          : `invalid(${st.why})`,
    )
    .join(' ')
  return { shape, ops }
}
