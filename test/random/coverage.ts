import type { CaseSpec, OpSpec, ServerCaps } from './case'
import { generateCase } from './generate'
import { applyMigration } from './model'

/**
 * What a case exercises, as feature names: every op (with its variants), every field type and
 * array element type, key kinds, partition modes, dynamic field, aliases, steps and invalid kinds.
 * `npm test` runs the smallest set of seeds (greedily chosen) that covers all of them.
 */
export function featuresOf(c: CaseSpec): Set<string> {
  const out = new Set<string>()
  const pk = c.schema.fields.find((f) => f.primaryKey)!
  out.add(`key:${pk.type}${pk.autoId ? ':auto_id' : ''}`)
  for (const f of c.schema.fields) {
    if (f.primaryKey) continue
    out.add(`type:${f.type}${f.type === 'Array' ? `<${f.elementType}>` : ''}`)
    if (f.nullable) out.add('field:nullable')
    if (f.default !== undefined) out.add('field:default')
  }
  out.add(
    c.schema.partitions.length ? 'partitions:named' : c.schema.numPartitions ? 'partitions:key' : 'partitions:none',
  )
  if (c.schema.dynamic) out.add('dynamic')
  if (c.schema.aliases.length) out.add('alias')
  const opFeature = (o: OpSpec) => {
    switch (o.op) {
      case 'add':
        return `op:add${o.backfill ? '+backfill' : o.field.default !== undefined ? '+default' : o.field.nullable ? '+nullable' : '+zero'}`
      case 'retype':
        return `op:retype:${o.to}${o.convert ? `:${o.convert}` : ':implicit'}`
      case 'nullable':
        return `op:nullable:${o.nullable}`
      default:
        return `op:${o.op}`
    }
  }
  // Shapes that hid bugs: a retyped field with a default (seed 790), a field made non-nullable
  // (seed 818), one field changed twice in one migration.
  let schema = c.schema
  for (const mig of c.migrations) {
    const touched = new Map<string, number>()
    for (const o of mig.ops) {
      const name = o.op === 'add' ? o.field.name : o.op === 'rename' ? o.to : 'name' in o ? o.name : undefined
      if (o.op === 'retype' && schema.fields.find((f) => f.name === o.name)?.default !== undefined)
        out.add('shape:retype-with-default')
      if (name) touched.set(name, (touched.get(name) ?? 0) + 1)
      schema = applyMigration({ schema, rows: new Map() }, [o]).schema
    }
    if ([...touched.values()].some((n) => n > 1)) out.add('shape:field-changed-twice')
  }
  let m = 0
  for (const st of c.steps) {
    if (st.kind === 'up') {
      const mig = c.migrations[m++]
      for (const o of mig.ops) out.add(opFeature(o))
      if (mig.explicitDown) out.add('down:explicit')
      out.add(`verify:${mig.verify}`)
    } else if (st.kind === 'down') {
      m--
      out.add('step:down')
    } else out.add(`invalid:${st.why.replace(/ (Int\w+|VarChar|JSON|Bool|Float|Double)\b.*$/, '')}`)
  }
  return out
}

/** The fewest seeds in [1, range] (greedy) whose cases together cover every feature any of them has. */
export function coveringSeeds(
  caps: ServerCaps,
  range = 2000,
  opts: { maxRows?: number } = {},
): { seeds: number[]; features: string[] } {
  const all = new Map<number, Set<string>>()
  for (let s = 1; s <= range; s++) all.set(s, featuresOf(generateCase(s, caps, opts)))
  const missing = new Set([...all.values()].flatMap((f) => [...f]))
  const features = [...missing].sort()
  const seeds: number[] = []
  while (missing.size) {
    let best = 0
    let gain = -1
    for (const [s, f] of all) {
      const g = [...f].filter((x) => missing.has(x)).length
      if (g > gain) [best, gain] = [s, g]
    }
    seeds.push(best)
    for (const x of all.get(best)!) missing.delete(x)
  }
  return { seeds, features }
}
