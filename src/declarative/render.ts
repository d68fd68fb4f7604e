import type { CollectionDefinition, FieldDefinition, IndexDefinition } from '../schema/definition'
import type { CollectionSpec, FieldSpec } from '../schema/spec'

/**
 * CollectionSpec -> the createCollection definition a person would write (defaults left out), and
 * definitions -> readable source: what `pull` writes and what `make --from-schema` puts in a
 * migration. The output is TypeScript/JavaScript object literals (or JSON), one field per line.
 */
export function definitionOf(spec: CollectionSpec): CollectionDefinition {
  const fields: FieldDefinition[] = spec.fields.map(fieldDefinitionOf)
  const indexes: IndexDefinition[] = spec.indexes.map((i) => ({
    field: i.field,
    type: i.type,
    ...(i.name && i.name !== i.field ? { name: i.name } : {}),
    ...(i.metric ? { metric: i.metric } : {}),
    ...(i.params && Object.keys(i.params).length ? { params: numbersIn(i.params) } : {}),
  }))
  const hasKey = spec.fields.some((f) => f.partitionKey)
  return {
    name: spec.name,
    ...(spec.description ? { description: spec.description } : {}),
    fields,
    ...(indexes.length ? { indexes } : {}),
    ...(spec.partitions.length ? { partitions: spec.partitions } : {}),
    ...(hasKey && spec.numPartitions ? { numPartitions: spec.numPartitions } : {}),
    ...(Object.keys(spec.properties).length ? { properties: spec.properties } : {}),
    ...(spec.enableDynamicField ? { enableDynamicField: true } : {}),
    ...(spec.functions.length
      ? {
          functions: spec.functions.map((f) => ({
            name: f.name,
            type: f.type,
            inputFields: f.inputFields,
            outputFields: f.outputFields,
            ...(f.params && Object.keys(f.params).length ? { params: f.params } : {}),
          })),
        }
      : {}),
    ...(spec.consistencyLevel ? { consistencyLevel: spec.consistencyLevel } : {}),
    ...(spec.shards ? { shards: spec.shards } : {}),
    ...(spec.aliases.length ? { aliases: spec.aliases } : {}),
  }
}

export function fieldDefinitionOf(f: FieldSpec): FieldDefinition {
  return {
    name: f.name,
    type: f.type,
    ...(f.primaryKey ? { primaryKey: true } : {}),
    ...(f.autoId ? { autoId: true } : {}),
    ...(f.dim !== undefined ? { dim: f.dim } : {}),
    ...(f.elementType ? { elementType: f.elementType } : {}),
    ...(f.maxLength !== undefined ? { maxLength: f.maxLength } : {}),
    // Milvus Lite does not report the max length of VarChar array elements; a definition needs one.
    ...(f.maxLength === undefined && f.type === 'Array' && f.elementType === 'VarChar' ? { maxLength: 65535 } : {}),
    ...(f.maxCapacity !== undefined ? { maxCapacity: f.maxCapacity } : {}),
    ...(f.nullable ? { nullable: true } : {}),
    ...(f.defaultValue !== undefined && f.defaultValue !== null ? { default: f.defaultValue } : {}),
    ...(f.partitionKey ? { partitionKey: true } : {}),
    ...(f.clusteringKey ? { clusteringKey: true } : {}),
    ...(f.enableAnalyzer ? { enableAnalyzer: true } : {}),
    ...(f.enableMatch ? { enableMatch: true } : {}),
    ...(f.analyzerParams ? { analyzerParams: f.analyzerParams } : {}),
    ...(f.description ? { description: f.description } : {}),
  }
}

/** Index parameters the server returns as text ("16") written as the numbers they are. */
function numbersIn(params: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v]),
  )
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** A value as source text: plain values and short objects on one line, the rest one entry per line. */
export function literal(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`
  if (typeof value !== 'object') return String(value)
  const inner = indent + '  '
  const fits = (text: string) => !text.includes('\n') && indent.length + text.length <= 110
  if (Array.isArray(value)) {
    if (!value.length) return '[]'
    const parts = value.map((v) => literal(v, inner))
    const flat = `[${parts.join(', ')}]`
    if (value.every((v) => v === null || typeof v !== 'object') && fits(flat)) return flat
    return `[\n${parts.map((p) => `${inner}${p},`).join('\n')}\n${indent}]`
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
  if (!entries.length) return '{}'
  const key = (k: string) => (IDENTIFIER.test(k) ? k : literal(k))
  const parts = entries.map(([k, v]) => `${key(k)}: ${literal(v, inner)}`)
  const flat = `{ ${parts.join(', ')} }`
  if (fits(flat)) return flat
  return `{\n${parts.map((p) => `${inner}${p},`).join('\n')}\n${indent}}`
}

export type SourceKind = 'ts' | 'esm' | 'cjs' | 'json'

/** The schema file `pull` writes. */
export function renderSchemaFile(defs: CollectionDefinition[], kind: SourceKind, header: string[]): string {
  if (kind === 'json') return JSON.stringify(defs, null, 2) + '\n'
  const comment = header.map((l) => `// ${l}`).join('\n')
  const body = literal(defs)
  if (kind === 'ts')
    return `${comment}\nimport type { CollectionDefinition } from 'mvmigrate'\n\nconst schema: CollectionDefinition[] = ${body}\n\nexport default schema\n`
  if (kind === 'esm')
    return `${comment}\n/** @type {import('mvmigrate').CollectionDefinition[]} */\nexport default ${body}\n`
  return `${comment}\n/** @type {import('mvmigrate').CollectionDefinition[]} */\nmodule.exports = ${body}\n`
}
