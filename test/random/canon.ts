import type { FieldModel } from './case'
import { stableJson } from './functions'

/**
 * One text per value, the same whichever client read it: what the invariants compare. Floats and
 * vectors by their bits (Float and vectors as float32, Double as float64), Int64 as decimal text,
 * JSON with sorted keys. read_back.py writes the same form from pymilvus.
 */
export function canon(field: Pick<FieldModel, 'type' | 'elementType'>, value: unknown): string {
  if (value === null || value === undefined) return 'null'
  switch (field.type) {
    case 'Bool':
      return value ? 'true' : 'false'
    case 'Int8':
    case 'Int16':
    case 'Int32':
    case 'Int64':
      return BigInt(value as string).toString()
    case 'Float':
      return `f:${f32(Number(value))}`
    case 'Double': {
      const b = Buffer.alloc(8)
      b.writeDoubleBE(Number(value))
      return `d:${b.toString('hex')}`
    }
    case 'VarChar':
      return JSON.stringify(String(value))
    case 'JSON':
      return `j:${stableJson(value)}`
    case 'Array':
      return `[${(value as unknown[]).map((e) => canon({ type: field.elementType! }, e)).join(',')}]`
    case 'FloatVector':
      return `v:${(value as number[]).map(f32).join('')}`
    case 'SparseFloatVector':
      return `s:${Object.entries(value as Record<string, number>)
        .map(([k, v]) => [Number(k), v] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([k, v]) => `${k}=${f32(v)}`)
        .join(',')}`
  }
}

function f32(n: number): string {
  const b = Buffer.alloc(4)
  b.writeFloatBE(n)
  return b.toString('hex')
}

/** A dynamic key's value: JSON with sorted keys. */
export function canonDynamic(value: unknown): string {
  return `j:${stableJson(value)}`
}
