import { implicitConversion, implicitElementConversion } from '../schema/conversions'
import { isVectorType } from '../schema/field-types'
import type { SchemaChange } from '../schema/diff'
import type { CollectionSpec, FieldSpec, IndexSpec } from '../schema/spec'
import { definitionOf, fieldDefinitionOf, literal } from './render'

/**
 * `make --from-schema`: the migration that performs a diff, as readable TypeScript (or JavaScript)
 * a person can edit. Changes Milvus makes in place (indexes, properties, partitions, aliases, whole
 * collections) become ctx calls; the rest becomes one ctx.alter per collection with the DSL
 * operations. down() undoes each step in reverse (dropCollection for a created collection, the
 * backup for an alter, the opposite call for the rest) when every step can be undone.
 */
export interface GeneratedMigration {
  source: string
  /** Steps, one line each, for the command's output. */
  steps: string[]
  /** Changes that lose data: written only with --allow-destructive. */
  destructive: SchemaChange[]
  /** Places the file needs a person: a vector to compute, a conversion to check. */
  todos: string[]
  /** Changes that cannot be generated at all (a different primary key). */
  unsupported: SchemaChange[]
}

export type ModuleKind = 'ts' | 'esm' | 'cjs'

const q = (s: string) => literal(s)

function indexName(i: IndexSpec): string {
  return i.name ?? i.field
}

/** A converter for a type change that is not implicit: the obvious one, marked to be checked. */
function converter(from: FieldSpec, to: FieldSpec, todos: string[], collection: string): string | undefined {
  if (implicitConversion(from.type, to.type)) return undefined
  todos.push(`${collection}.${to.name}: check the conversion ${from.type} -> ${to.type}`)
  switch (to.type) {
    case 'VarChar':
      return '(v) => (v === null || v === undefined ? v : typeof v === "string" ? v : JSON.stringify(v)) /* TODO: check */'
    case 'Int64':
      return '(v) => (v === null || v === undefined ? v : String(BigInt(Math.trunc(Number(v))))) /* TODO: check */'
    case 'Int8':
    case 'Int16':
    case 'Int32':
      return '(v) => (v === null || v === undefined ? v : Math.trunc(Number(v))) /* TODO: check */'
    case 'Float':
    case 'Double':
      return '(v) => (v === null || v === undefined ? v : Number(v)) /* TODO: check */'
    case 'Bool':
      return "(v) => (v === null || v === undefined ? v : v === true || v === 'true' || v === 1) /* TODO: check */"
    default:
      return `() => { throw new Error('TODO: convert ${collection}.${to.name} from ${from.type} to ${to.type}') }`
  }
}

/** The alterField changes for one changed field. */
function alterFieldOf(c: SchemaChange, todos: string[]): string {
  const from = c.before as FieldSpec
  const to = c.after as FieldSpec
  const changes: string[] = []
  for (const a of c.attributes ?? []) {
    switch (a.name) {
      case 'type': {
        changes.push(`type: ${q(to.type)}`)
        const conv = converter(from, to, todos, c.collection)
        if (conv) changes.push(`convert: ${conv}`)
        break
      }
      case 'dim':
        changes.push(`dim: ${to.dim}`)
        if (!(c.attributes ?? []).some((x) => x.name === 'type')) {
          todos.push(`${c.collection}.${to.name}: compute vectors of dim ${to.dim}`)
          changes.push(
            `convert: () => { throw new Error('TODO: compute ${c.collection}.${to.name} with dim ${to.dim}') }`,
          )
        }
        break
      case 'maxLength':
        if (to.maxLength !== undefined) changes.push(`maxLength: ${to.maxLength}`)
        break
      case 'maxCapacity':
        changes.push(`maxCapacity: ${to.maxCapacity}`)
        break
      case 'elementType':
        changes.push(`elementType: ${q(String(to.elementType))}`)
        // A widening converts each element on its own (src/schema/conversions.ts); the rest needs a person.
        if (
          !(c.attributes ?? []).some((x) => x.name === 'type') &&
          !(from.elementType && to.elementType && implicitElementConversion(from.elementType, to.elementType))
        ) {
          todos.push(
            `${c.collection}.${to.name}: check the conversion of elements ${from.elementType} -> ${to.elementType}`,
          )
          changes.push('convert: (v) => v /* TODO: check the elements convert */')
        }
        break
      case 'nullable':
        changes.push(`nullable: ${!!to.nullable}`)
        break
      case 'default':
        changes.push(`default: ${literal(to.defaultValue ?? null)}`)
        break
      case 'partitionKey':
        changes.push(`partitionKey: ${!!to.partitionKey}`)
        break
      case 'clusteringKey':
        changes.push(`clusteringKey: ${!!to.clusteringKey}`)
        break
      case 'enableAnalyzer':
        changes.push(`enableAnalyzer: ${!!to.enableAnalyzer}`)
        break
      case 'enableMatch':
        changes.push(`enableMatch: ${!!to.enableMatch}`)
        break
      case 'analyzerParams':
        changes.push(`analyzerParams: ${literal(to.analyzerParams ?? {})}`)
        break
      case 'description':
        changes.push(`description: ${q(to.description ?? '')}`)
        break
    }
  }
  // Non-nullable now, and no default for the nulls there were: the converter fills them.
  if (
    (c.attributes ?? []).some((a) => a.name === 'nullable') &&
    from.nullable &&
    !to.nullable &&
    to.defaultValue === undefined &&
    !changes.some((x) => x.startsWith('convert'))
  ) {
    todos.push(`${c.collection}.${to.name}: choose the value for rows that held null`)
    changes.push(`convert: (v) => v ?? ${literal(zeroOf(to))} /* TODO: the value rows with null get */`)
  }
  return `t.alterField(${q(to.name)}, { ${changes.join(', ')} })`
}

function zeroOf(f: FieldSpec): unknown {
  if (f.type === 'VarChar') return ''
  if (f.type === 'Bool') return false
  if (f.type === 'JSON') return {}
  if (f.type === 'Array') return []
  if (f.type === 'Int64') return '0'
  return 0
}

interface Step {
  up: string[]
  down?: string[]
  text: string
}

/** The steps for one collection's changes. */
function collectionSteps(
  name: string,
  changes: SchemaChange[],
  live: CollectionSpec | undefined,
  todos: string[],
): Step[] {
  const steps: Step[] = []
  const added = changes.find((c) => c.kind === 'collection-added')
  if (added) {
    const spec = added.after as CollectionSpec
    const def = definitionOf({ ...spec, aliases: [] })
    steps.push({
      up: [`await ctx.createCollection(${literal(def, '    ')})`],
      down: [`await ctx.dropCollection(${q(name)})`],
      text: `create collection ${name}`,
    })
    for (const a of spec.aliases)
      steps.push({
        up: [`await ctx.createAlias(${q(name)}, ${q(a)})`],
        down: [`await ctx.dropAlias(${q(a)})`],
        text: `create alias ${a} -> ${name}`,
      })
    return steps
  }
  if (changes.some((c) => c.kind === 'collection-dropped')) {
    for (const a of live?.aliases ?? [])
      steps.push({
        up: [`await ctx.dropAlias(${q(a)})`],
        down: [`await ctx.createAlias(${q(name)}, ${q(a)})`],
        text: `drop alias ${a}`,
      })
    steps.push({ up: [`await ctx.dropCollection(${q(name)})`], text: `drop collection ${name} (and its rows)` })
    return steps
  }

  const copy = changes.filter((c) => c.how === 'copy-and-swap')
  const inAlter = copy.length > 0
  const liveIndex = (field: string) => live?.indexes.find((i) => i.field === field)
  const ops: string[] = []
  const after: Step[] = []
  const props: Record<string, string> = {}
  const dropProps: string[] = []
  for (const c of changes) {
    switch (c.kind) {
      case 'field-dropped':
        ops.push(`t.dropField(${q(c.item!)})`)
        break
      case 'field-added': {
        const f = c.after as FieldSpec
        ops.push(`t.addField(${literal(fieldDefinitionOf(f), '      ')})`)
        if (isVectorType(f.type) && !f.functionOutput) {
          todos.push(`${name}.${f.name}: compute the new vector of every row`)
          ops.push(
            `t.backfill(${q(f.name)}, () => { throw new Error('TODO: compute ${name}.${f.name} from the row') })`,
          )
        }
        break
      }
      case 'field-changed':
        ops.push(alterFieldOf(c, todos))
        break
      case 'dynamic-field-changed':
        ops.push(`t.enableDynamicField(${!!c.after})`)
        break
      case 'function-added':
        ops.push(`t.addFunction(${literal(c.after, '      ')})`)
        break
      case 'function-dropped':
        ops.push(`t.dropFunction(${q(c.item!)})`)
        break
      case 'function-changed':
        ops.push(`t.dropFunction(${q(c.item!)})`, `t.addFunction(${literal(c.after, '      ')})`)
        break
      case 'partitions-changed':
        ops.push(`t.setCollectionOptions({ numPartitions: ${c.after} })`)
        break
      case 'collection-changed':
        ops.push(
          `t.setCollectionOptions(${literal(Object.fromEntries((c.attributes ?? []).map((a) => [a.name, a.after ?? null])))})`,
        )
        break
      case 'index-added':
      case 'index-dropped':
      case 'index-changed': {
        const old = c.before as IndexSpec | undefined
        const now = c.after as IndexSpec | undefined
        const oldName = old ? (liveIndex(old.field)?.name ?? indexName(old)) : undefined
        const def = now && {
          field: now.field,
          type: now.type,
          ...(now.metric ? { metric: now.metric } : {}),
          ...(now.params ? { params: now.params } : {}),
        }
        if (inAlter) {
          if (oldName) ops.push(`t.dropIndex(${q(oldName)})`)
          if (def) ops.push(`t.addIndex(${literal(def)})`)
        } else if (c.kind === 'index-added') {
          after.push({
            up: [`await ctx.createIndex(${q(name)}, ${literal(def)})`],
            down: [`await ctx.dropIndex(${q(name)}, ${q(def!.field)})`],
            text: `create index on ${name}.${c.item}`,
          })
        } else if (c.kind === 'index-dropped') {
          const back = {
            field: old!.field,
            type: old!.type,
            ...(old!.metric ? { metric: old!.metric } : {}),
            ...(old!.params ? { params: old!.params } : {}),
          }
          after.push({
            up: [`await ctx.dropIndex(${q(name)}, ${q(oldName!)})`],
            down: [`await ctx.createIndex(${q(name)}, ${literal(back)})`],
            text: `drop index on ${name}.${c.item}`,
          })
        } else {
          const back = {
            field: old!.field,
            type: old!.type,
            ...(old!.metric ? { metric: old!.metric } : {}),
            ...(old!.params ? { params: old!.params } : {}),
          }
          after.push({
            up: [`await ctx.replaceIndex(${q(name)}, ${q(oldName!)}, ${literal(def)})`],
            down: [`await ctx.replaceIndex(${q(name)}, ${q(def!.field)}, ${literal(back)})`],
            text: `rebuild index on ${name}.${c.item}`,
          })
        }
        break
      }
      case 'property-added':
      case 'property-changed':
        if (inAlter) props[c.item!] = String(c.after)
        else
          after.push({
            up: [`await ctx.setProperties(${q(name)}, ${literal({ [c.item!]: String(c.after) })})`],
            down: [
              c.kind === 'property-added'
                ? `await ctx.dropProperties(${q(name)}, [${q(c.item!)}])`
                : `await ctx.setProperties(${q(name)}, ${literal({ [c.item!]: String(c.before) })})`,
            ],
            text: `set property ${c.item} of ${name}`,
          })
        break
      case 'property-removed':
        if (inAlter) dropProps.push(c.item!)
        else
          after.push({
            up: [`await ctx.dropProperties(${q(name)}, [${q(c.item!)}])`],
            down: [`await ctx.setProperties(${q(name)}, ${literal({ [c.item!]: String(c.before) })})`],
            text: `remove property ${c.item} of ${name}`,
          })
        break
      case 'partition-added':
        after.push({
          up: [`await ctx.createPartition(${q(name)}, ${q(c.item!)})`],
          down: [`await ctx.dropPartition(${q(name)}, ${q(c.item!)})`],
          text: `create partition ${c.item} in ${name}`,
        })
        break
      case 'partition-dropped':
        after.push({
          up: [`await ctx.dropPartition(${q(name)}, ${q(c.item!)})`],
          down: [`await ctx.createPartition(${q(name)}, ${q(c.item!)})`],
          text: `drop partition ${c.item} of ${name} (and its rows)`,
        })
        break
      case 'alias-added':
        after.push({
          up: [`await ctx.createAlias(${q(name)}, ${q(c.item!)})`],
          down: [`await ctx.dropAlias(${q(c.item!)})`],
          text: `create alias ${c.item} -> ${name}`,
        })
        break
      case 'alias-dropped':
        after.push({
          up: [`await ctx.dropAlias(${q(c.item!)})`],
          down: [`await ctx.createAlias(${q(name)}, ${q(c.item!)})`],
          text: `drop alias ${c.item}`,
        })
        break
    }
  }
  if (Object.keys(props).length) ops.push(`t.setProperties(${literal(props)})`)
  if (dropProps.length) ops.push(`t.dropProperties(${literal(dropProps)})`)
  if (inAlter) {
    const body = ops.map((o) => `      ${o}`).join('\n')
    steps.push({
      up: [`await ctx.alter(${q(name)}, (t) => {\n${body}\n    })`],
      down: [`await ctx.revertAlter(${q(name)})`],
      text: `alter ${name} by copy-and-swap: ${copy.map((c) => c.text).join('; ')}`,
    })
  }
  steps.push(...after)
  return steps
}

export function generateMigration(
  changes: SchemaChange[],
  live: CollectionSpec[],
  opts: { kind: ModuleKind; name: string; version: string; source: string },
): GeneratedMigration {
  const todos: string[] = []
  const unsupported = changes.filter(
    (c) =>
      c.kind === 'field-changed' && (c.attributes ?? []).some((a) => a.name === 'primaryKey' || a.name === 'autoId'),
  )
  const byCollection = new Map<string, SchemaChange[]>()
  for (const c of changes) byCollection.set(c.collection, [...(byCollection.get(c.collection) ?? []), c])
  const liveByName = new Map(live.map((s) => [s.name, s]))
  // Dropped collections last: an alias may move to a new collection first.
  const order = [...byCollection.keys()].sort(
    (a, b) =>
      Number(byCollection.get(a)![0].kind === 'collection-dropped') -
      Number(byCollection.get(b)![0].kind === 'collection-dropped'),
  )
  const steps = order.flatMap((name) => collectionSteps(name, byCollection.get(name)!, liveByName.get(name), todos))
  const reversible = steps.every((s) => s.down)
  const up = steps.flatMap((s) => s.up.map((l) => `    ${l}`)).join('\n')
  const down = reversible
    ? [...steps]
        .reverse()
        .flatMap((s) => s.down!.map((l) => `    ${l}`))
        .join('\n')
    : `    throw new Error(${q(
        `${opts.version}_${opts.name} cannot be rolled back: ${steps
          .filter((s) => !s.down)
          .map((s) => s.text)
          .join('; ')}`,
      )})`
  const importLine =
    opts.kind === 'cjs'
      ? "const { defineMigration } = require('mvmigrate')"
      : "import { defineMigration } from 'mvmigrate'"
  const exportLine = opts.kind === 'cjs' ? 'module.exports = defineMigration({' : 'export default defineMigration({'
  const header = [
    `// ${opts.name} (version ${opts.version}): written by \`mvmigrate make --from-schema\` from ${opts.source}.`,
    '// Review it before `mvmigrate up`: a field dropped here and one added may be a rename (t.renameField keeps the values).',
    ...todos.map((t) => `// TODO ${t}`),
  ]
  const source = `${importLine}\n\n${header.join('\n')}\n${exportLine}\n  async up(ctx) {\n${up}\n  },\n\n  async down(ctx) {\n${down}\n  },\n})\n`
  return {
    source,
    steps: steps.map((s) => s.text),
    destructive: changes.filter((c) => c.destructive),
    todos,
    unsupported,
  }
}
