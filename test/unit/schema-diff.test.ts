import { describe, expect, it } from 'vitest'
import { comparable } from '../../src/declarative/live'
import { definitionOf, literal } from '../../src/declarative/render'
import { diffSchemas } from '../../src/schema/diff'
import { specFromDefinition } from '../../src/schema/definition'
import { implicitConversion, implicitElementConversion, losslessTypeChange } from '../../src/schema/conversions'
import type { CollectionSpec, FieldSpec } from '../../src/schema/spec'

/** The comparison behind drift, `diff` and `make --from-schema`, kind by kind. */
function spec(over: Partial<CollectionSpec> = {}): CollectionSpec {
  return comparable({
    name: 'docs',
    fields: [
      { name: 'id', type: 'Int64', primaryKey: true },
      { name: 'vector', type: 'FloatVector', dim: 8 },
      { name: 'text', type: 'VarChar', maxLength: 100 },
      { name: 'score', type: 'Int64', defaultValue: '0' },
    ],
    enableDynamicField: false,
    functions: [],
    indexes: [
      { name: 'vector', field: 'vector', type: 'HNSW', metric: 'COSINE', params: { M: '16', efConstruction: '200' } },
    ],
    partitions: [],
    properties: {},
    aliases: [],
    consistencyLevel: 'Bounded',
    shards: 1,
    loaded: true,
    ...over,
  })
}

const texts = (from: CollectionSpec[], to: CollectionSpec[], partial = false) =>
  diffSchemas(from, to, { partial }).map((c) => `${c.collection}: ${c.text}`)

describe('diffSchemas', () => {
  it('nothing differs between a collection and itself, or its copy with numbers as text', () => {
    expect(diffSchemas([spec()], [spec()])).toEqual([])
    const numeric = spec({
      fields: spec().fields.map((f) => (f.name === 'score' ? { ...f, defaultValue: 0 } : f)),
      indexes: [
        { name: 'vector', field: 'vector', type: 'HNSW', metric: 'COSINE', params: { M: 16, efConstruction: 200 } },
      ],
    })
    expect(diffSchemas([spec()], [numeric])).toEqual([])
  })

  it('collections created and dropped', () => {
    const d = diffSchemas([spec({ name: 'feedback' })], [spec({ name: 'docs_v2' })])
    expect(d.map((c) => [c.collection, c.kind, c.how, c.destructive])).toEqual([
      ['feedback', 'collection-dropped', 'in place', true],
      ['docs_v2', 'collection-added', 'in place', false],
    ])
    expect(texts([spec({ name: 'feedback' })], [])).toEqual(['feedback: dropped'])
  })

  it('fields added, dropped (with a rename hint) and changed, each attribute named', () => {
    const to = spec({
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true },
        { name: 'vector', type: 'FloatVector', dim: 16 },
        { name: 'body', type: 'VarChar', maxLength: 100 },
        { name: 'score', type: 'Int32', nullable: true, defaultValue: 1 },
      ],
    })
    const d = diffSchemas([spec()], [to])
    expect(d.map((c) => c.text)).toEqual([
      "field 'text' dropped (a field of the same type is added: if it is a rename, use t.renameField('text', '...'))",
      "field 'body' added (VarChar)",
      "field 'vector' changed (dim 8 -> 16)",
      "field 'score' changed (type Int64 -> Int32, nullable false -> true, default 0 -> 1)",
    ])
    expect(d.map((c) => c.destructive)).toEqual([true, false, true, true])
    expect(d.every((c) => c.how === 'copy-and-swap')).toBe(true)
  })

  it('widenings are not destructive, narrowing is: the same rule as the conversions an alter makes on its own', () => {
    const base: FieldSpec[] = [
      { name: 'id', type: 'Int64', primaryKey: true },
      { name: 'vector', type: 'FloatVector', dim: 8 },
      { name: 'year', type: 'Int32' },
      { name: 'small', type: 'Int8' },
      { name: 'mid', type: 'Int16' },
      { name: 'ratio', type: 'Float' },
      { name: 'text', type: 'VarChar', maxLength: 100 },
      { name: 'tags', type: 'Array', elementType: 'Int32', maxCapacity: 4 },
      { name: 'note', type: 'VarChar', maxLength: 10, nullable: true },
    ]
    const withFields = (change: Record<string, Partial<FieldSpec>>) =>
      spec({ fields: base.map((f) => ({ ...f, ...change[f.name] })) })
    const destructive = (change: Record<string, Partial<FieldSpec>>) =>
      diffSchemas([withFields({})], [withFields(change)]).map((c) => [c.text, c.destructive])
    expect(
      destructive({
        year: { type: 'Int64' },
        small: { type: 'Int16' },
        mid: { type: 'Float' },
        ratio: { type: 'Double' },
        text: { maxLength: 300 },
        tags: { elementType: 'Int64', maxCapacity: 8 },
        note: { type: 'VarChar', maxLength: 10, nullable: true, defaultValue: 'x' },
      }),
    ).toEqual([
      ["field 'year' changed (type Int32 -> Int64)", false],
      ["field 'small' changed (type Int8 -> Int16)", false],
      ["field 'mid' changed (type Int16 -> Float)", false],
      ["field 'ratio' changed (type Float -> Double)", false],
      ["field 'text' changed (maxLength 100 -> 300)", false],
      ["field 'tags' changed (elementType Int32 -> Int64, maxCapacity 4 -> 8)", false],
      ["field 'note' changed (default unset -> x)", false],
    ])
    expect(destructive({ year: { type: 'VarChar', maxLength: 20 }, small: { nullable: true } })).toEqual([
      ["field 'year' changed (type Int32 -> VarChar, maxLength unset -> 20)", false],
      ["field 'small' changed (nullable false -> true)", false],
    ])
    expect(
      destructive({
        year: { type: 'Int16' },
        small: { type: 'Bool' },
        mid: { type: 'Int8' },
        ratio: { type: 'Int64' },
        text: { maxLength: 50 },
        tags: { elementType: 'Int16', maxCapacity: 2 },
        note: { nullable: false, defaultValue: '' },
      }),
    ).toEqual([
      ["field 'year' changed (type Int32 -> Int16)", true],
      ["field 'small' changed (type Int8 -> Bool)", true],
      ["field 'mid' changed (type Int16 -> Int8)", true],
      ["field 'ratio' changed (type Float -> Int64)", true],
      ["field 'text' changed (maxLength 100 -> 50)", true],
      ["field 'tags' changed (elementType Int32 -> Int16, maxCapacity 4 -> 2)", true],
      ["field 'note' changed (nullable true -> false, default unset -> )", true],
    ])
    // Int32 -> Float: float32 holds integers exactly only up to 2^24, so it needs a converter.
    expect(destructive({ year: { type: 'Float' }, vector: { dim: 16 } })).toEqual([
      ["field 'vector' changed (dim 8 -> 16)", true],
      ["field 'year' changed (type Int32 -> Float)", true],
    ])
    expect(losslessTypeChange('Int32', 'Float')).toBe(false)
    expect(implicitConversion('Int32', 'Float')).toBeUndefined()
    expect(losslessTypeChange('Int32', 'Double')).toBe(true)
    expect(losslessTypeChange('Int64', 'Double')).toBe(false)
    expect(losslessTypeChange('Double', 'Float')).toBe(false)
    expect(losslessTypeChange('Bool', 'VarChar')).toBe(true)
    expect(losslessTypeChange('VarChar', 'JSON')).toBe(false)
    expect(implicitElementConversion('Int32', 'VarChar')!([1, 2])).toEqual(['1', '2'])
    expect(implicitElementConversion('Int64', 'Int32')).toBeUndefined()
    // The alter plan agrees: every widening above converts on its own, every narrowing asks for convert.
    for (const [from, to] of [
      ['Int8', 'Int16'],
      ['Int16', 'Int32'],
      ['Int32', 'Int64'],
      ['Float', 'Double'],
      ['Int16', 'Float'],
      ['Int32', 'Double'],
      ['Double', 'VarChar'],
    ] as const) {
      expect(losslessTypeChange(from, to), `${from} -> ${to}`).toBe(true)
      expect(implicitConversion(from, to), `${from} -> ${to}`).toBeDefined()
      expect(losslessTypeChange(to, from), `${to} -> ${from}`).toBe(false)
      expect(implicitConversion(to, from), `${to} -> ${from}`).toBeUndefined()
    }
  })

  it('indexes added, dropped and changed, with the parameters that changed', () => {
    const to = spec({
      indexes: [
        { name: 'vector', field: 'vector', type: 'HNSW', metric: 'COSINE', params: { M: 32, efConstruction: 200 } },
        { field: 'text', type: 'INVERTED' },
      ],
    })
    expect(texts([spec()], [to])).toEqual([
      "docs: index on 'text' added (INVERTED)",
      "docs: index on 'vector' changed (HNSW M 16 -> 32)",
    ])
    expect(texts([spec()], [spec({ indexes: [] })])).toEqual([
      "docs: index on 'vector' dropped (HNSW COSINE efConstruction 200 M 16)",
    ])
    expect(texts([spec()], [spec({ indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }] })])).toEqual([
      "docs: index on 'vector' changed (HNSW -> FLAT, metric COSINE -> L2, efConstruction 200 -> unset, M 16 -> unset)",
    ])
  })

  it('properties, partitions, the dynamic field, functions, aliases and collection options', () => {
    const from = spec({
      properties: { 'collection.ttl.seconds': '86400', 'mmap.enabled': 'true' },
      partitions: ['a', 'b'],
      aliases: ['docs_live'],
    })
    const to = spec({
      properties: { 'collection.ttl.seconds': '3600', 'collection.replica.number': '1' },
      partitions: ['a', 'c'],
      enableDynamicField: true,
      aliases: ['docs_read'],
      consistencyLevel: 'Strong',
      fields: [...spec().fields, { name: 'sparse', type: 'SparseFloatVector', functionOutput: true }],
      functions: [{ name: 'bm25', type: 'BM25', inputFields: ['text'], outputFields: ['sparse'] }],
    })
    expect(texts([from], [to])).toEqual([
      "docs: field 'sparse' added (SparseFloatVector)",
      'docs: property mmap.enabled removed (was true)',
      'docs: property collection.replica.number set to 1',
      'docs: property collection.ttl.seconds 86400 -> 3600',
      "docs: partition 'b' dropped (its rows with it)",
      "docs: partition 'c' added",
      'docs: dynamic field enabled',
      "docs: function 'bm25' added (BM25)",
      "docs: alias 'docs_live' dropped",
      "docs: alias 'docs_read' added",
      'docs: consistencyLevel Bounded -> Strong',
    ])
  })

  it('a schema file (partial) leaves out what it does not declare; array element maxLength unknown to the server is not a difference', () => {
    const live = spec({
      description: 'mine',
      consistencyLevel: 'Strong',
      shards: 2,
      fields: [...spec().fields, { name: 'tags', type: 'Array', elementType: 'VarChar', maxCapacity: 4 }],
    })
    const file = spec({
      description: undefined,
      consistencyLevel: undefined,
      shards: undefined,
      fields: [
        ...spec().fields,
        { name: 'tags', type: 'Array', elementType: 'VarChar', maxCapacity: 4, maxLength: 32 },
      ],
    })
    expect(diffSchemas([live], [file], { partial: true })).toEqual([])
    expect(texts([live], [file])).toEqual([
      'docs: consistencyLevel Strong -> unset, description mine -> unset, shards 2 -> unset',
    ])
  })
})

describe('pull: a spec as the definition a person writes', () => {
  it('defaults left out, and read back it is the same collection', () => {
    const s = spec({ aliases: ['docs_live'], properties: { 'collection.ttl.seconds': '60' }, enableDynamicField: true })
    const def = definitionOf(s)
    expect(def.fields[0]).toEqual({ name: 'id', type: 'Int64', primaryKey: true })
    expect(def.indexes).toEqual([
      { field: 'vector', type: 'HNSW', metric: 'COSINE', params: { M: 16, efConstruction: 200 } },
    ])
    const back = specFromDefinition(def)
    expect(back.problems).toEqual([])
    expect(diffSchemas([s], [comparable({ ...back.spec, aliases: def.aliases ?? [] })])).toEqual([])
  })

  it('renders readable source: one field per line, identifiers unquoted, strings escaped', () => {
    const text = literal([definitionOf(spec())])
    expect(text).toContain("    { name: 'vector', type: 'FloatVector', dim: 8 },")
    expect(text).toContain("    name: 'docs',\n") // a collection is too long for one line
    expect(literal({ 'a.b': "it's" })).toBe("{ 'a.b': 'it\\'s' }")
  })
})
