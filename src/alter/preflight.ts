import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import {
  parseServerVersion,
  releaseText,
  requireFeatures,
  requireRpcs,
  serverTraits,
  unwrapClient,
  upsertOmittingDefaultCrashes,
} from '../milvus/server-traits'
import { primaryKeyOf } from '../schema/spec'
import type { AlterOptions } from './builder'
import type { AlterPlan } from './types'

/**
 * What an alter asks of the server, checked before anything is created: by `up` (runAlter) and by
 * `plan` alike, so `plan` refuses what `up` would refuse, with the same message, and warns as `up`
 * warns. Probes change nothing (src/milvus/server-traits.ts).
 */

/** What the swap needs the server to do, by the RPC's name. */
export function rpcsNeeded(plan: AlterPlan, mode: 'rename' | 'alias', options: AlterOptions): string[] {
  const needed = new Set<string>()
  if (mode === 'rename') needed.add('RenameCollection')
  if (mode === 'alias' || options.convertToAlias || plan.source.aliases.length) needed.add('AlterAlias')
  if (plan.target.partitions.length) needed.add('CreatePartition')
  if (Object.keys(plan.target.properties).length || (primaryKeyOf(plan.target)?.autoId && !options.newIds))
    needed.add('AlterCollection')
  return [...needed]
}

/**
 * Throws (UNSUPPORTED_BY_SERVER) when the server lacks an RPC the swap needs or does not keep what
 * the target needs; returns the warnings this server's known faults call for.
 */
export async function preflightAlter(
  client: MilvusClient,
  plan: AlterPlan,
  name: string,
  mode: 'rename' | 'alias',
  options: AlterOptions,
  where: string,
): Promise<string[]> {
  const what = `${where}cannot alter '${name}' on this server`
  await requireRpcs(client, rpcsNeeded(plan, mode, options), what)
  await requireFeatures(client, plan.target, what)
  return serverWarnings(client, plan, name)
}

/** Warnings about the server's own faults that this alter runs into. */
async function serverWarnings(client: MilvusClient, plan: AlterPlan, name: string): Promise<string[]> {
  const release = parseServerVersion((await serverTraits(unwrapClient(client))).version)
  if (!upsertOmittingDefaultCrashes(release)) return []
  // Fields that get a default with this alter: writers of the old schema leave them out.
  const before = new Map(plan.source.fields.map((f) => [f.name, f]))
  const defaulted = plan.target.fields
    .filter((f) => f.defaultValue !== undefined && f.defaultValue !== null)
    .filter((f) => {
      const was = before.get(plan.fields.get(f.name)?.from ?? f.name)
      return !was || was.defaultValue === undefined || was.defaultValue === null
    })
    .map((f) => `'${f.name}'`)
  if (!defaulted.length) return []
  return [
    `${name}: ${defaulted.join(', ')} will have a default, and ${releaseText(release!)} crashes on an upsert that leaves out a field with a default (a panic in its proxy, "undefined data type Int64"), after which the server does not start again on its data: every upsert into '${name}' must send ${defaulted.join(', ')}, or upgrade Milvus first (docs/milvus-differences.md)`,
  ]
}
