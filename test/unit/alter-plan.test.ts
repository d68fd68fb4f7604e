import { describe, expect, it } from 'vitest'
import type { AlterOp } from '../../src/alter/builder'
import { backConverter, convertValueBack } from '../../src/alter/convert-back'
import { alterNames, freeSlot, nextUndoneName, parseAlterName } from '../../src/alter/names'
import { opsFromDeclarative, planAlter } from '../../src/alter/plan'
import { transformRow, typeDefault, unstorableValue } from '../../src/alter/values'
import { implicitConversion } from '../../src/schema/conversions'
import { MvmError } from '../../src/errors'
import type { CollectionSpec, FieldSpec } from '../../src/schema/spec'

/** The planner, rule by rule: every operation, every validation, and what each does to the target. */
function source(over: Partial<CollectionSpec> = {}): CollectionSpec {
  return {
    name: 'docs',
    fields: [
      { name: 'id', type: 'Int64', primaryKey: true },
      { name: 'vector', type: 'FloatVector', dim: 4 },
      { name: 'text', type: 'VarChar', maxLength: 100 },
      { name: 'year', type: 'Int32' },
      { name: 'tags', type: 'Array', elementType: 'Int64', maxCapacity: 4 },
      { name: 'note', type: 'VarChar', maxLength: 20, nullable: true },
    ],
    enableDynamicField: true,
    functions: [],
    indexes: [
      { name: 'vector', field: 'vector', type: 'FLAT', metric: 'L2' },
      { name: 'text', field: 'text', type: 'INVERTED' },
    ],
    partitions: [],
    properties: {},
    aliases: [],
    loaded: true,
    ...over,
  }
}

const plan = (ops: AlterOp[], over: Partial<CollectionSpec> = {}, options = {}) =>
  planAlter(source(over), ops, options, 'm.ts: ')
const problems = (ops: AlterOp[], over: Partial<CollectionSpec> = {}, options = {}) =>
  plan(ops, over, options).problems.join('\n')
const field = (p: ReturnType<typeof plan>, name: string) => p.target.fields.find((f) => f.name === name)

describe('planAlter: each operation', () => {
  it('addField: appended with its fill value; a second primary key, a taken name and a bad definition are problems', () => {
    const p = plan([{ kind: 'addField', field: { name: 'page', type: 'VarChar', maxLength: 10, default: 'x' } }])
    expect(p.problems).toEqual([])
    expect(field(p, 'page')).toMatchObject({ type: 'VarChar', maxLength: 10, defaultValue: 'x' })
    expect(p.fields.get('page')).toEqual({ fill: 'x' })
    expect(p.changes).toEqual(['add field page VarChar(maxLength=10, default="x")'])
    expect(problems([{ kind: 'addField', field: { name: 'text', type: 'VarChar', maxLength: 5 } }])).toContain(
      "field 'text' already exists",
    )
    expect(problems([{ kind: 'addField', field: { name: 'id2', type: 'Int64', primaryKey: true } }])).toContain(
      'would be a second primary key',
    )
    expect(problems([{ kind: 'addField', field: { name: 'bad', type: 'VarChar' } }])).toMatch(/bad.*maxLength/)
  })

  it('dropField: removed with its index; the primary key, a function input and an unknown field (with a suggestion) are problems', () => {
    const p = plan([{ kind: 'dropField', name: 'text' }])
    expect(field(p, 'text')).toBeUndefined()
    expect(p.target.indexes.map((i) => i.field)).toEqual(['vector'])
    expect(p.changes).toEqual(['drop field text (and its index text)'])
    expect(problems([{ kind: 'dropField', name: 'id' }])).toContain(
      "field 'id' is the primary key; dropping it needs { allowPrimaryKeyChange: true } and a new primary key",
    )
    expect(problems([{ kind: 'dropField', name: 'txet' }])).toContain(
      "cannot drop field 'txet': no such field (did you mean 'text'?)",
    )
    expect(problems([{ kind: 'dropField', name: 'zzzzzz' }])).toContain("cannot drop field 'zzzzzz': no such field")
    expect(problems([{ kind: 'dropField', name: 'zzzzzz' }])).not.toContain('did you mean')
    const withFunction = {
      functions: [{ name: 'bm25', type: 'BM25', inputFields: ['text'], outputFields: ['sparse'] }],
    }
    expect(problems([{ kind: 'dropField', name: 'text' }], withFunction)).toContain(
      "field 'text' feeds function 'bm25'",
    )
    expect(problems([{ kind: 'dropField', name: 'vector' }])).toContain('cannot drop the last vector field')
  })

  it('renameField: values, indexes and function fields follow; a taken or invalid name and the primary key are problems', () => {
    const fn = { functions: [{ name: 'bm25', type: 'BM25', inputFields: ['text'], outputFields: ['sparse'] }] }
    const p = plan([{ kind: 'renameField', from: 'text', to: 'body' }], fn)
    expect(field(p, 'body')).toMatchObject({ type: 'VarChar', maxLength: 100 })
    expect(p.fields.get('body')).toEqual({ from: 'text' })
    expect(p.target.indexes.find((i) => i.field === 'body')).toMatchObject({ name: 'body', type: 'INVERTED' })
    expect(p.target.functions[0].inputFields).toEqual(['body'])
    expect(problems([{ kind: 'renameField', from: 'text', to: 'year' }])).toContain(
      "cannot rename 'text' to 'year': that name is already taken",
    )
    expect(problems([{ kind: 'renameField', from: 'text', to: '9lives' }])).toContain('not a valid field name')
    expect(problems([{ kind: 'renameField', from: 'id', to: 'pk' }])).toContain(
      "field 'id' is the primary key; renaming it needs { allowPrimaryKeyChange: true }",
    )
    expect(problems([{ kind: 'renameField', from: 'id', to: 'pk' }], {}, { allowPrimaryKeyChange: true })).toBe('')
    expect(problems([{ kind: 'renameField', from: 'txt', to: 'b' }])).toContain("no such field (did you mean 'text'?)")
  })

  it('alterField type: implicit conversions need no converter, others do; VarChar params follow the type', () => {
    const widen = plan([{ kind: 'alterField', name: 'year', changes: { type: 'Int64' } }])
    expect(widen.problems).toEqual([])
    expect(widen.fields.get('year')!.convert!(1999, {})).toBe('1999')
    expect(problems([{ kind: 'alterField', name: 'text', changes: { type: 'Int64' } }])).toContain(
      'VarChar -> Int64 does not convert on its own',
    )
    const conv = plan([
      { kind: 'alterField', name: 'text', changes: { type: 'Int64', convert: (v) => String(v).length } },
    ])
    expect(field(conv, 'text')).toEqual({ name: 'text', type: 'Int64' })
    // Int32 -> Float would round values beyond 2^24: it needs a converter, as make --from-schema marks it destructive.
    expect(problems([{ kind: 'alterField', name: 'year', changes: { type: 'Float' } }])).toContain(
      "field 'year': Int32 -> Float does not convert on its own; pass convert: (value, row) => newValue",
    )
    const elements = plan([{ kind: 'alterField', name: 'tags', changes: { elementType: 'VarChar', maxLength: 20 } }])
    expect(elements.problems).toEqual([])
    expect(elements.fields.get('tags')!.convert!([1, '9223372036854775807'], {})).toEqual(['1', '9223372036854775807'])
    const toText = plan([{ kind: 'alterField', name: 'year', changes: { type: 'VarChar' } }])
    expect(field(toText, 'year')).toMatchObject({ type: 'VarChar', maxLength: 65535 })
    expect(problems([{ kind: 'alterField', name: 'year', changes: { type: 'Decimal' } }])).toContain(
      'unknown type "Decimal"',
    )
    expect(problems([{ kind: 'alterField', name: 'id', changes: { type: 'VarChar', maxLength: 20 } }])).toContain(
      'retyping it needs { allowPrimaryKeyChange: true }',
    )
    expect(problems([{ kind: 'alterField', name: 'nope', changes: { maxLength: 2 } }])).toContain(
      "cannot alter field 'nope': no such field",
    )
  })

  it('an auto_id primary key retyped to VarChar needs autoId: false (only Int64 keys are generated); autoId is only turned off, on the key', () => {
    const autoIdKey = {
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true, autoId: true },
        { name: 'vector', type: 'FloatVector', dim: 4 },
        { name: 'text', type: 'VarChar', maxLength: 100 },
      ] as FieldSpec[],
    }
    const retype = (changes: object, options = { allowPrimaryKeyChange: true }) =>
      problems(
        [{ kind: 'alterField', name: 'id', changes: { type: 'VarChar', maxLength: 40, ...changes } }],
        autoIdKey,
        options,
      )
    expect(retype({})).toBe(
      "m.ts: alter 'docs': field 'id': the server generates its values (autoId), and only an Int64 primary key can be generated; a VarChar key must be given: add autoId: false to the change (the rows keep their converted keys, and inserts must give one)",
    )
    const off = plan(
      [
        {
          kind: 'alterField',
          name: 'id',
          changes: { type: 'VarChar', maxLength: 40, autoId: false, convert: (v) => `doc-${String(v)}` },
        },
      ],
      autoIdKey,
      { allowPrimaryKeyChange: true },
    )
    expect(off.problems).toEqual([])
    expect(field(off, 'id')).toEqual({ name: 'id', type: 'VarChar', maxLength: 40, primaryKey: true })
    expect(problems([{ kind: 'alterField', name: 'id', changes: { autoId: false } }], autoIdKey)).toBe(
      "m.ts: alter 'docs': field 'id' is the primary key; turning off its autoId needs { allowPrimaryKeyChange: true }",
    )
    expect(problems([{ kind: 'alterField', name: 'text', changes: { autoId: false } }], autoIdKey)).toBe(
      "m.ts: alter 'docs': field 'text': autoId can only be turned off, on the primary key (a key the server generates anew would not match the rows' old keys)",
    )
  })

  it('alterField params: maxLength range, element type and dim need a converter, nullable needs a default, and the rest is applied', () => {
    expect(problems([{ kind: 'alterField', name: 'text', changes: { maxLength: 70000 } }])).toContain(
      'maxLength must be between 1 and 65535, got 70000',
    )
    expect(problems([{ kind: 'alterField', name: 'tags', changes: { elementType: 'Int32' } }])).toContain(
      "field 'tags': Int64 -> Int32 elements do not convert on their own; pass convert: (value, row) => newValue",
    )
    expect(problems([{ kind: 'alterField', name: 'tags', changes: { elementType: 'Float128' } }])).toContain(
      'unknown elementType',
    )
    expect(problems([{ kind: 'alterField', name: 'vector', changes: { dim: 8 } }])).toContain(
      'changing dim 4 -> 8 needs convert',
    )
    expect(problems([{ kind: 'alterField', name: 'note', changes: { nullable: false } }])).toContain(
      'making it non-nullable needs a default',
    )
    expect(problems([{ kind: 'alterField', name: 'note', changes: { nullable: false, default: '' } }])).toBe('')
    expect(problems([{ kind: 'alterField', name: 'id', changes: { nullable: true } }])).toContain(
      'a primary key cannot be nullable',
    )
    const p = plan([
      { kind: 'alterField', name: 'text', changes: { maxLength: 500, description: 'body text', partitionKey: true } },
    ])
    expect(field(p, 'text')).toMatchObject({ maxLength: 500, description: 'body text', partitionKey: true })
    expect(p.changes).toEqual(['alter field text: VarChar(maxLength=100) -> VarChar(maxLength=500, partition key)'])
  })

  it('backfill and mapRows need functions and a field that exists', () => {
    const p = plan([{ kind: 'backfill', field: 'note', fn: (r) => String(r.text) }])
    expect(typeof p.fields.get('note')!.backfill).toBe('function')
    expect(problems([{ kind: 'backfill', field: 'later', fn: () => 1 }])).toContain(
      "cannot backfill 'later': no such field",
    )
    expect(problems([{ kind: 'backfill', field: 'note', fn: 'x' as never }])).toContain(
      "backfill of 'note' needs a function",
    )
    expect(problems([{ kind: 'mapRows', fn: 42 as never }])).toContain('mapRows needs a function')
    expect(plan([{ kind: 'mapRows', fn: (r) => r }]).mapRows).toHaveLength(1)
  })

  it('indexes: add on an existing field once; drop one that exists', () => {
    const p = plan([
      { kind: 'addIndex', index: { field: 'year', type: 'STL_SORT' } },
      { kind: 'dropIndex', name: 'text' },
    ])
    expect(p.target.indexes.map((i) => `${i.name}:${i.type}`)).toEqual(['vector:FLAT', 'year:STL_SORT'])
    expect(problems([{ kind: 'addIndex', index: { field: 'text', type: 'INVERTED' } }])).toContain(
      "field 'text' already has an index",
    )
    expect(problems([{ kind: 'addIndex', index: { field: 'ghost', type: 'INVERTED' } }])).toContain(
      "cannot index 'ghost': no such field",
    )
    expect(problems([{ kind: 'dropIndex', name: 'txt' }])).toContain(
      "cannot drop index 'txt': no such index (indexes: vector, text) (did you mean 'text'?)",
    )
  })

  it('properties, the dynamic field, and an unknown operation', () => {
    const p = plan([
      { kind: 'setProperties', properties: { 'collection.ttl.seconds': 60, 'mmap.enabled': true } },
      { kind: 'enableDynamicField', enabled: false },
    ])
    expect(p.target.properties).toEqual({ 'collection.ttl.seconds': '60', 'mmap.enabled': 'true' })
    expect(p.target.enableDynamicField).toBe(false)
    expect(p.warnings.join()).toContain('disabling the dynamic field drops every dynamic key')
    expect(problems([{ kind: 'explode' } as never])).toContain('unknown operation "explode"')
  })
})

describe('planAlter: whole-collection rules', () => {
  it('a new field needs a value: default, nullable, type zero or backfill (a vector has no zero)', () => {
    expect(plan([{ kind: 'addField', field: { name: 'n', type: 'Int64' } }]).fields.get('n')).toEqual({ fill: '0' })
    expect(
      plan([{ kind: 'addField', field: { name: 'n', type: 'VarChar', maxLength: 5, nullable: true } }]).fields.get('n'),
    ).toEqual({ fill: null })
    expect(
      problems([
        { kind: 'addField', field: { name: 'v2', type: 'FloatVector', dim: 4 } },
        { kind: 'addIndex', index: { field: 'v2', type: 'FLAT', metric: 'L2' } },
      ]),
    ).toContain("new field 'v2' (FloatVector, not nullable) has no default")
    expect(
      problems([
        { kind: 'addField', field: { name: 'v2', type: 'FloatVector', dim: 4 } },
        { kind: 'addIndex', index: { field: 'v2', type: 'FLAT', metric: 'L2' } },
        { kind: 'backfill', field: 'v2', fn: () => [0, 0, 0, 0] },
      ]),
    ).toBe('')
  })

  it('a loaded collection keeps an index on every vector; a partition key replaces named partitions; the field limit holds', () => {
    expect(problems([{ kind: 'dropIndex', name: 'vector' }])).toContain("vector field 'vector' has no index")
    expect(problems([{ kind: 'dropIndex', name: 'vector' }], { loaded: false })).toBe('')
    const p = plan([{ kind: 'alterField', name: 'text', changes: { partitionKey: true } }], { partitions: ['a', 'b'] })
    expect(p.target.partitions).toEqual([])
    expect(p.target.numPartitions).toBe(16)
    expect(p.warnings.join()).toContain('a partition key replaces the named partitions a, b')
    const many: AlterOp[] = Array.from({ length: 60 }, (_, i) => ({
      kind: 'addField',
      field: { name: `f${i}`, type: 'Bool' },
    }))
    expect(problems(many)).toMatch(/64/)
    expect(problems([], { fields: [{ name: 'vector', type: 'FloatVector', dim: 4 }] })).toContain('has no primary key')
  })

  it('every problem is reported at once', () => {
    const p = plan([
      { kind: 'dropField', name: 'nope' },
      { kind: 'renameField', from: 'text', to: 'year' },
      { kind: 'alterField', name: 'text', changes: { type: 'Bool' } },
    ])
    expect(p.problems).toHaveLength(3)
  })
})

describe('the declarative form', () => {
  it('listed fields kept or changed, new ones added, unlisted ones dropped, the primary key kept', () => {
    const errs: string[] = []
    const ops = opsFromDeclarative(
      source(),
      {
        schema: [
          { field_name: 'vector', datatype: 'FLOAT_VECTOR', dim: 4 },
          { field_name: 'text', datatype: 'VARCHAR', max_length: 300 },
          { field_name: 'extra', datatype: 'INT64', default_value: 1 },
        ],
      },
      errs,
      'm.ts: ',
    )
    expect(errs).toEqual([])
    expect(ops).toEqual([
      { kind: 'alterField', name: 'text', changes: { maxLength: 300 } },
      { kind: 'addField', field: { field_name: 'extra', datatype: 'INT64', default_value: 1 } },
      { kind: 'dropField', name: 'year' },
      { kind: 'dropField', name: 'tags' },
      { kind: 'dropField', name: 'note' },
    ])
    const bad: string[] = []
    opsFromDeclarative(source(), {} as never, bad, 'm.ts: ')
    expect(bad).toEqual(['m.ts: the declarative form needs { schema: [ ...fields ] }'])
  })
})

describe('values across an alter', () => {
  it('implicit conversions and the zero of each type', () => {
    expect(implicitConversion('Int8', 'Int64')!(5)).toBe('5')
    expect(implicitConversion('Int16', 'Double')!(5)).toBe(5)
    expect(implicitConversion('Bool', 'VarChar')!(true)).toBe('true')
    expect(implicitConversion('Int64', 'Int32')).toBeUndefined()
    expect(implicitConversion('VarChar', 'Int64')).toBeUndefined()
    expect(typeDefault({ name: 'a', type: 'JSON' })).toEqual({ ok: true, value: {} })
    expect(typeDefault({ name: 'a', type: 'Array' })).toEqual({ ok: true, value: [] })
    expect(typeDefault({ name: 'a', type: 'FloatVector', dim: 2 })).toEqual({ ok: false })
  })

  it('transformRow: renames, fills, backfills from the source row, converts, keeps dynamic keys, then mapRows', async () => {
    const p = plan([
      { kind: 'renameField', from: 'text', to: 'body' },
      { kind: 'addField', field: { name: 'page', type: 'Int64', default: 3 } },
      { kind: 'alterField', name: 'year', changes: { type: 'Int64' } },
      { kind: 'backfill', field: 'note', fn: (r) => `was ${r.text}` },
      { kind: 'mapRows', fn: (row) => ({ ...row, tags: [] }) },
    ])
    const out = await transformRow(p, {
      id: '1',
      vector: [1, 2, 3, 4],
      text: 'hi',
      year: 2001,
      tags: [1],
      note: null,
      $meta: { dyn: 'k' },
    })
    expect(out).toEqual({
      id: '1',
      vector: [1, 2, 3, 4],
      body: 'hi',
      year: '2001',
      tags: [],
      note: 'was hi',
      page: 3,
      dyn: 'k',
    })
  })
})

describe('several changes to one field in one alter (found by the randomized alters)', () => {
  const row = { id: '1', year: 7, note: null, text: 'abc' }

  it('two type changes compose: Int32 -> Int64 -> VarChar gives each value both steps', async () => {
    const p = plan([
      { kind: 'alterField', name: 'year', changes: { type: 'Int64' } },
      { kind: 'alterField', name: 'year', changes: { type: 'VarChar', maxLength: 30 } },
    ])
    expect(p.problems).toEqual([])
    expect(await transformRow(p, row)).toMatchObject({ year: '7' })
    const q = plan([
      { kind: 'alterField', name: 'year', changes: { type: 'Int64', convert: (v) => String(Number(v) * 10) } },
      { kind: 'alterField', name: 'year', changes: { type: 'VarChar', maxLength: 30, convert: (v) => `y${v}` } },
    ])
    expect(await transformRow(q, row)).toMatchObject({ year: 'y70' })
  })

  it("a retyped field's default is converted like its values, or the alter must give the new one (random seed 790)", () => {
    const withDefault = source({
      fields: [...source().fields, { name: 'score', type: 'Float', defaultValue: -41.625 }],
    })
    const p = planAlter(
      withDefault,
      [{ kind: 'alterField', name: 'score', changes: { type: 'VarChar', maxLength: 20 } }],
      {},
      '',
    )
    expect(p.problems).toEqual([])
    expect(p.target.fields.find((f) => f.name === 'score')).toMatchObject({ type: 'VarChar', defaultValue: '-41.625' })
    const given = planAlter(
      withDefault,
      [{ kind: 'alterField', name: 'score', changes: { type: 'VarChar', maxLength: 20, default: 'none' } }],
      {},
      '',
    )
    expect(given.target.fields.find((f) => f.name === 'score')?.defaultValue).toBe('none')
    const async = planAlter(
      withDefault,
      [{ kind: 'alterField', name: 'score', changes: { type: 'Double', convert: async (v) => Number(v) } }],
      {},
      '',
    )
    expect(async.problems.join('\n')).toContain("field 'score': its default -41.625 could not be converted")
  })

  it('a retype its index cannot follow is a problem at planning, unless the alter drops the index (random seed 1012)', () => {
    const toJson = {
      kind: 'alterField',
      name: 'text',
      changes: { type: 'JSON', convert: (v: unknown) => ({ v }) },
    } as const
    expect(problems([toJson])).toContain(
      "the INVERTED index on 'text' does not fit its new type JSON; drop it in this alter (dropIndex('text')) or replace it (replaceIndex)",
    )
    expect(problems([toJson, { kind: 'dropIndex', name: 'text' }])).toBe('')
    expect(problems([{ kind: 'alterField', name: 'year', changes: { type: 'Int64' } }])).toBe('')
  })

  it('a new field backfilled and then retyped gets the converted backfill; a backfill after a retype replaces it', async () => {
    const p = plan([
      { kind: 'addField', field: { name: 'n', type: 'Int32' } },
      { kind: 'backfill', field: 'n', fn: (r) => String(r.text).length },
      { kind: 'alterField', name: 'n', changes: { type: 'VarChar', maxLength: 10 } },
    ])
    expect(p.problems).toEqual([])
    expect(await transformRow(p, row)).toMatchObject({ n: '3' })
    const q = plan([
      { kind: 'alterField', name: 'year', changes: { type: 'VarChar', maxLength: 10 } },
      { kind: 'backfill', field: 'year', fn: () => 'fresh' },
    ])
    expect(await transformRow(q, row)).toMatchObject({ year: 'fresh' })
  })
})

describe('values the copy writes (found by the randomized alters)', () => {
  it('a field made non-nullable with a default: a null becomes the default in the row sent (random seed 818)', async () => {
    const p = plan([{ kind: 'alterField', name: 'note', changes: { nullable: false, default: 'none' } }])
    expect(p.problems).toEqual([])
    expect(await transformRow(p, { id: '1', note: null })).toMatchObject({ note: 'none' })
    expect(await transformRow(p, { id: '2', note: 'kept' })).toMatchObject({ note: 'kept' })
  })

  it('a value the field cannot hold is found before it is sent: Infinity (random seed 833), an Int64 beyond its range (seed 1004)', () => {
    const p = plan([
      { kind: 'addField', field: { name: 'score', type: 'Double', default: 1 } },
      { kind: 'addField', field: { name: 'big', type: 'Int64', default: '0' } },
    ])
    expect(unstorableValue(p, { score: 2.5, big: '9223372036854775807', year: -5 })).toBeUndefined()
    expect(unstorableValue(p, { score: -Infinity })).toMatchObject({ field: 'score', value: -Infinity })
    expect(unstorableValue(p, { score: NaN })).toMatchObject({ field: 'score' })
    expect(unstorableValue(p, { big: '13054920948826370223' })).toEqual({
      field: 'big',
      value: '13054920948826370223',
      why: 'an Int64 field holds -9223372036854775808 to 9223372036854775807',
    })
    expect(unstorableValue(p, { year: 2147483648 })).toMatchObject({ field: 'year' })
    expect(unstorableValue(p, { year: 1.5 })).toMatchObject({ why: 'an Int32 field holds whole numbers only' })
  })

  it('a string longer than maxLength (in characters) and an array beyond maxCapacity are found too: the server would refuse the whole insert', () => {
    // (tags is the source's Array field, maxCapacity 4)
    const p = plan([{ kind: 'addField', field: { name: 'code', type: 'VarChar', maxLength: 3, default: '' } }])
    // Three characters fit, however many bytes they take (a server counting characters takes them).
    expect(unstorableValue(p, { code: 'äöü', tags: ['1', '2', '3', '4'] })).toBeUndefined()
    expect(unstorableValue(p, { code: 'abcd' })).toEqual({
      field: 'code',
      value: 'abcd',
      why: '4 characters do not fit in maxLength 3',
    })
    expect(unstorableValue(p, { tags: ['1', '2', '3', '4', '5'] })).toMatchObject({
      field: 'tags',
      why: '5 elements do not fit in maxCapacity 4',
    })
  })
})

describe('down --carry-writes: converting a row back', () => {
  const f = (name: string, type: FieldSpec['type'], extra: Partial<FieldSpec> = {}): FieldSpec => ({
    name,
    type,
    ...extra,
  })
  it('converts back where the value fits exactly, and says why not where it does not', () => {
    expect(convertValueBack('2031', f('y', 'Int64'), f('y', 'VarChar', { maxLength: 4 }))).toBe('2031')
    expect(() => convertValueBack('123456', f('y', 'Int64'), f('y', 'VarChar', { maxLength: 4 }))).toThrow(
      '6 bytes do not fit in maxLength 4',
    )
    expect(convertValueBack('42', f('y', 'Int64'), f('y', 'Int32'))).toBe(42)
    expect(() => convertValueBack('3000000000', f('y', 'Int64'), f('y', 'Int32'))).toThrow('does not fit in Int32')
    expect(convertValueBack('17', f('y', 'VarChar'), f('y', 'Int64'))).toBe('17')
    expect(() => convertValueBack('seventeen', f('y', 'VarChar'), f('y', 'Int64'))).toThrow('is not a whole number')
    expect(convertValueBack(0.5, f('x', 'Double'), f('x', 'Float'))).toBe(0.5)
    expect(() => convertValueBack(0.1, f('x', 'Double'), f('x', 'Float'))).toThrow('not exact as a Float')
    expect(convertValueBack(null, f('n', 'VarChar'), f('n', 'VarChar', { nullable: true }))).toBeNull()
    expect(() => convertValueBack(null, f('n', 'VarChar'), f('n', 'VarChar', { maxLength: 5 }))).toThrow(
      'null does not fit',
    )
    expect(() =>
      convertValueBack(
        [1, 2, 3],
        f('t', 'Array', { elementType: 'Int64' }),
        f('t', 'Array', { elementType: 'Int64', maxCapacity: 2 }),
      ),
    ).toThrow('3 elements do not fit')
  })

  it('a whole row: renamed back, added left out, dropped restored to its default, dynamic keys kept; the failing row and field named', () => {
    const restored = source()
    const altered: CollectionSpec = {
      ...source(),
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true },
        { name: 'vector', type: 'FloatVector', dim: 4 },
        { name: 'body', type: 'VarChar', maxLength: 100 },
        { name: 'year', type: 'Int64' },
        { name: 'tags', type: 'Array', elementType: 'Int64', maxCapacity: 4 },
        { name: 'page', type: 'Int64' },
      ],
    }
    const convert = backConverter(
      { id: 'id', vector: 'vector', body: 'text', year: 'year', tags: 'tags', page: null },
      altered,
      restored,
    )
    expect(
      convert({ id: '9', vector: [1, 2, 3, 4], body: 'b', year: '2020', tags: ['1'], page: '4', $meta: { dyn: 1 } }),
    ).toEqual({
      id: '9',
      vector: [1, 2, 3, 4],
      text: 'b',
      year: 2020,
      tags: ['1'],
      note: null,
      dyn: 1,
    })
    let e: unknown
    try {
      convert({ id: '10', vector: [1, 2, 3, 4], body: 'b', year: '99999999999', tags: [], page: '4' })
    } catch (x) {
      e = x
    }
    expect(e).toBeInstanceOf(MvmError)
    expect((e as MvmError).message).toBe(
      "cannot carry the row with key 10 back: field 'year': 99999999999 does not fit in Int32",
    )
  })
})

describe('names of the collections an alter makes', () => {
  it('a fresh leftover name per revert, and every such name recognised', () => {
    expect(nextUndoneName('docs', '20260101000000', [])).toBe('docs__mvm_undone_20260101000000')
    expect(
      nextUndoneName('docs', '20260101000000', [
        'docs__mvm_undone_20260101000000',
        'docs__mvm_undone_20260101000000_2',
      ]),
    ).toBe('docs__mvm_undone_20260101000000_3')
    expect(parseAlterName('docs__mvm_undone_20260101000000_3')).toEqual({
      of: 'docs',
      kind: 'undone',
      version: '20260101000000',
    })
    expect(parseAlterName('my__docs__mvm_tmp_20260101000000')).toEqual({
      of: 'my__docs',
      kind: 'partial copy',
      version: '20260101000000',
    })
    expect(parseAlterName('docs__mvm_bak_20260101000000')).toEqual({
      of: 'docs',
      kind: 'backup',
      version: '20260101000000',
    })
    expect(parseAlterName('docs_v20260101000000')).toBeUndefined()
  })

  it('another alter of a name by the same migration takes the first suffix none of whose names is taken', () => {
    const v = '20260101000000'
    expect(freeSlot('docs', v, ['docs', 'docs__mvm_undone_20260101000000'])).toBe('')
    expect(freeSlot('docs', v, ['docs', 'docs__mvm_bak_20260101000000'])).toBe('_2')
    // the alias-mode name counts too
    expect(freeSlot('docs', v, ['docs__mvm_bak_20260101000000', 'docs_v20260101000000_2'])).toBe('_3')
    expect(alterNames('docs', v, '_3')).toMatchObject({
      temp: 'docs__mvm_tmp_20260101000000_3',
      backup: 'docs__mvm_bak_20260101000000_3',
      versioned: 'docs_v20260101000000_3',
    })
    expect(parseAlterName('docs__mvm_bak_20260101000000_3')).toEqual({ of: 'docs', kind: 'backup', version: v })
  })
})
