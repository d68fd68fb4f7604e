import { DataType } from '@zilliz/milvus2-sdk-node'
import { type FieldType, parseFieldType } from '../schema/field-types'

/** Our canonical type names are the SDK's DataType keys, so mapping is a lookup both ways. */
export function toDataType(t: FieldType): DataType {
  return DataType[t as keyof typeof DataType] as DataType
}

/** The SDK describes types as enum names ("VarChar") or numbers (21); "None" means no type. */
export function fromDataType(d: unknown): FieldType | undefined {
  const name = typeof d === 'number' ? DataType[d] : d
  if (name === 'None') return undefined
  return parseFieldType(name)
}
