/** Field types by their canonical (Milvus SDK) spelling, and parsing of every other spelling. */
export const FIELD_TYPES = [
  'Bool',
  'Int8',
  'Int16',
  'Int32',
  'Int64',
  'Float',
  'Double',
  'VarChar',
  'JSON',
  'Array',
  'FloatVector',
  'BinaryVector',
  'Float16Vector',
  'BFloat16Vector',
  'SparseFloatVector',
  'Int8Vector',
] as const
export type FieldType = (typeof FIELD_TYPES)[number]

export const VECTOR_TYPES: ReadonlySet<FieldType> = new Set<FieldType>([
  'FloatVector',
  'BinaryVector',
  'Float16Vector',
  'BFloat16Vector',
  'SparseFloatVector',
  'Int8Vector',
])
/** Vector types whose definition needs a `dim`. */
export const DENSE_VECTOR_TYPES: ReadonlySet<FieldType> = new Set<FieldType>([
  'FloatVector',
  'BinaryVector',
  'Float16Vector',
  'BFloat16Vector',
  'Int8Vector',
])
/** Types an Array field may hold. */
export const ARRAY_ELEMENT_TYPES: ReadonlySet<FieldType> = new Set<FieldType>([
  'Bool',
  'Int8',
  'Int16',
  'Int32',
  'Int64',
  'Float',
  'Double',
  'VarChar',
])
export const PRIMARY_KEY_TYPES: ReadonlySet<FieldType> = new Set<FieldType>(['Int64', 'VarChar'])

// 'VarChar', 'VARCHAR', 'varchar', 'FLOAT_VECTOR', 'float_vector' and 'FloatVector' all name one
// type: compare lower case with underscores removed. 'String' is Milvus' older name of VarChar.
const BY_KEY = new Map<string, FieldType>(FIELD_TYPES.map((t) => [t.toLowerCase(), t]))
BY_KEY.set('string', 'VarChar')
BY_KEY.set('boolean', 'Bool')
BY_KEY.set('sparsevector', 'SparseFloatVector')

export function parseFieldType(input: unknown): FieldType | undefined {
  if (typeof input !== 'string') return undefined
  return BY_KEY.get(input.replace(/_/g, '').toLowerCase())
}

export function isVectorType(t: FieldType): boolean {
  return VECTOR_TYPES.has(t)
}
