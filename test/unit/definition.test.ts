import { describe, expect, it } from 'vitest'
import { EXIT_CODES } from '../../src/errors'
import { parseFieldType } from '../../src/schema/field-types'
import { specFromDefinition } from '../../src/schema/definition'

describe('field types', () => {
  it("accept Milvus' spellings case-insensitively", () => {
    expect(parseFieldType('VarChar')).toBe('VarChar')
    expect(parseFieldType('VARCHAR')).toBe('VarChar')
    expect(parseFieldType('varchar')).toBe('VarChar')
    expect(parseFieldType('FLOAT_VECTOR')).toBe('FloatVector')
    expect(parseFieldType('float_vector')).toBe('FloatVector')
    expect(parseFieldType('SPARSE_FLOAT_VECTOR')).toBe('SparseFloatVector')
    expect(parseFieldType('INT64')).toBe('Int64')
    expect(parseFieldType('json')).toBe('JSON')
    expect(parseFieldType('texte')).toBeUndefined()
  })
})

describe('collection definitions', () => {
  const ok = {
    name: 'docs',
    fields: [
      { name: 'id', type: 'Int64', primaryKey: true, autoId: true },
      { field_name: 'vector', datatype: 'FLOAT_VECTOR', dim: 8 },
      { name: 'text', type: 'VarChar', maxLength: 100, default: '' },
      { name: 'tags', type: 'Array', elementType: 'VarChar', maxCapacity: 4, maxLength: 20 },
    ],
    indexes: [{ field: 'vector', type: 'HNSW', metric: 'COSINE' }],
  }
  it('normalises both field shapes', () => {
    const { spec, problems } = specFromDefinition(ok)
    expect(problems).toEqual([])
    expect(spec.fields.map((f) => f.type)).toEqual(['Int64', 'FloatVector', 'VarChar', 'Array'])
    expect(spec.fields[0]).toMatchObject({ primaryKey: true, autoId: true })
    expect(spec.fields[2].defaultValue).toBe('')
    expect(spec.loaded).toBe(true)
  })
  it('reports every problem at once, naming the field', () => {
    const { problems } = specFromDefinition({
      name: 'bad',
      fields: [
        { name: 'id', type: 'Float', primaryKey: true },
        { name: 'v', type: 'FloatVector' },
        { name: 's', type: 'VarChar' },
        { name: 's2', type: 'VarChar', maxLength: 70000 },
        { name: 'a', type: 'Array' },
        { name: 'x', type: 'Texte' },
        { name: 'b', type: 'Bool', default: 'yes' },
        { name: 's', type: 'Int32' },
      ],
      indexes: [{ field: 'nope', type: 'HNSW' }],
    })
    const text = problems.join('\n')
    expect(text).toContain("field 'id': a primary key must be Int64 or VarChar")
    expect(text).toContain("field 'v': FloatVector needs a dim")
    expect(text).toContain("field 's': VarChar needs maxLength")
    expect(text).toContain("field 's2': VarChar needs maxLength between 1 and 65535, got 70000")
    expect(text).toContain("field 'a': Array needs elementType")
    expect(text).toContain("field 'a': Array needs maxCapacity")
    expect(text).toContain('field \'x\': unknown type "Texte"')
    expect(text).toContain('field \'b\': default "yes" is not a valid Bool')
    expect(text).toContain("field 's' is defined twice")
    expect(text).toContain("index on unknown field 'nope'")
  })
  it('needs one primary key and a vector field, within the field limit', () => {
    const { problems } = specFromDefinition({
      name: 'x',
      fields: Array.from({ length: 65 }, (_, i) => ({ name: `f${i}`, type: 'Int32' })),
    })
    const text = problems.join('\n')
    expect(text).toContain('needs exactly one primary key field, found 0')
    expect(text).toContain('needs at least one vector field')
    expect(text).toContain('has 65 fields; Milvus allows at most 64')
  })
})

describe('exit codes', () => {
  it('are stable per error group', () => {
    expect(EXIT_CODES.USAGE).toBe(2)
    expect(EXIT_CODES.NOT_UP_TO_DATE).toBe(3)
    expect(EXIT_CODES.CHANGED_FILE).toBe(4)
    expect(EXIT_CODES.LOCKED).toBe(5)
    expect(EXIT_CODES.UNREACHABLE).toBe(6)
    expect(EXIT_CODES.CONFIG_INVALID).toBe(7)
    expect(EXIT_CODES.MIGRATION_INVALID).toBe(8)
    expect(EXIT_CODES.NOTHING_TO_UNDO).toBe(9)
    expect(EXIT_CODES.LITE_INSTALL_FAILED).toBe(10)
  })
})
