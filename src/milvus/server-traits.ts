import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { randomBytes } from 'node:crypto'
import { MvmError } from '../errors'
import type { CollectionSpec } from '../schema/spec'
import { isVectorType } from '../schema/field-types'
import { isEmptyReply, milvusCall } from './call'

/** What the copy engine needs to know about the server to pick its read strategy. */
export interface ServerTraits {
  version: string
  /**
   * A query with the `iterator` parameter returns the rows with the smallest keys, in key order,
   * before its limit applies. Milvus Lite 3.x does (its Query handler sorts by primary key for
   * iterator requests, so cursor paging is exact). Other servers are not trusted with it: the pager
   * learns exact key windows with counts there.
   */
  sortsIteratorQueries: boolean
  /**
   * Sealing a collection (flush) before reading it all pays: Milvus Lite 3 reads sealed data ~3x
   * faster than its write buffer. On a Milvus server a flush costs ~1.5 s and reads are as fast.
   */
  flushBeforeScans: boolean
  /**
   * Pages read ahead of the writes. Milvus Lite serves a page slowly (one Python process): reading
   * two ahead keeps it busy while this process converts and writes (10% faster than one). A
   * Milvus server answers at once; there a second page ahead only held more rows in memory
   * (602 MB peak vs 403 MB for 20,000 rows of dim 768 on Milvus 2.3) for 5% more speed.
   */
  readAheadPages: number
  /**
   * Milvus Lite 3 can lose a write acknowledged while it renames the collection the write lands in
   * (testers: about one an alter with a writer at 45 writes/s), and the name is missing for
   * 0.2-15 s between the swap's two renames (a Milvus server: 18-37 ms). An alias avoids both.
   */
  renameLosesWrites: boolean
}

const cache = new WeakMap<object, Promise<ServerTraits>>()

export function serverTraits(client: MilvusClient): Promise<ServerTraits> {
  let traits = cache.get(client)
  if (!traits) {
    // A server without GetVersion (Milvus Lite 2.5) answers with an empty reply: version unknown.
    traits = milvusCall('ask the server for its version', () => client.getVersion(), { allowEmpty: true }).then((r) => {
      const version = String((r as { version?: string }).version ?? '')
      const lite3 = /^milvus_lite-3\./.test(version)
      return {
        version,
        sortsIteratorQueries: lite3,
        flushBeforeScans: lite3,
        readAheadPages: lite3 ? 2 : 1,
        renameLosesWrites: lite3,
      }
    })
    traits.catch(() => cache.delete(client))
    cache.set(client, traits)
  }
  return traits
}

/**
 * RPCs a later step relies on, probed without changing anything: each is sent for a collection
 * that does not exist. A server that has the RPC answers with an error ("collection not found");
 * one that lacks it answers UNIMPLEMENTED, which the SDK turns into an empty "OK" reply.
 */
const PROBES: Record<string, (c: MilvusClient, a: string, b: string) => Promise<unknown>> = {
  RenameCollection: (c, a, b) => c.renameCollection({ collection_name: a, new_collection_name: b }),
  AlterAlias: (c, a, b) => c.alterAlias({ alias: a, collection_name: b }),
  AlterCollection: (c, a) =>
    c.alterCollectionProperties({ collection_name: a, properties: { 'mvmigrate.probe': '1' } }),
  CreatePartition: (c, a, b) => c.createPartition({ collection_name: a, partition_name: b }),
}

const rpcCache = new WeakMap<object, Map<string, Promise<boolean>>>()

/**
 * A wrapper around a client (the migration context watches for calls that change something)
 * gives its client here, so probes, which change nothing, are not taken for changes.
 */
export const RAW_CLIENT = Symbol.for('mvmigrate.rawClient')
export function unwrapClient(client: MilvusClient): MilvusClient {
  return ((client as unknown as Record<symbol, MilvusClient | undefined>)[RAW_CLIENT] ?? client) as MilvusClient
}

/** True when the server implements the RPC (one of PROBES' names). */
export function hasRpc(wrapped: MilvusClient, rpc: string): Promise<boolean> {
  const client = unwrapClient(wrapped)
  let known = rpcCache.get(client)
  if (!known) rpcCache.set(client, (known = new Map()))
  let answer = known.get(rpc)
  if (!answer) {
    const probe = PROBES[rpc]
    if (!probe) throw new MvmError('INTERNAL', `no probe for ${rpc}`)
    const scratch = () => `_mvm_probe_${randomBytes(6).toString('hex')}`
    answer = probe(client, scratch(), scratch()).then(
      (reply) => !isEmptyReply(reply),
      () => true, // a thrown error is an answer: the server knows the RPC
    )
    known.set(rpc, answer)
  }
  return answer
}

/** Throws, before anything is changed, when the server lacks one of these RPCs. */
export async function requireRpcs(client: MilvusClient, rpcs: string[], what: string): Promise<void> {
  const missing: string[] = []
  for (const rpc of rpcs) if (!(await hasRpc(client, rpc))) missing.push(rpc)
  if (missing.length) {
    throw new MvmError(
      'UNSUPPORTED_BY_SERVER',
      `${what}: the server does not implement ${missing.join(', ')}, which this step needs (it answers them with an empty reply)`,
      {
        hint: 'Nothing was created or changed. Renames, aliases, partitions and properties need a Milvus server (2.4 or newer, or Milvus Lite 3).',
      },
    )
  }
}

/** A server's release as GetVersion names it: 'v2.3.5-lite' is Milvus 2.3.5, 'milvus_lite-3.2.2' Milvus Lite 3.2.2. */
export interface ServerRelease {
  product: 'Milvus' | 'Milvus Lite'
  major: number
  minor: number
  patch: number
}

/** The release in a GetVersion answer; undefined when the answer names none (Milvus Lite 2.5 has no GetVersion). */
export function parseServerVersion(version: string): ServerRelease | undefined {
  const lite = /^milvus_lite-(\d+)\.(\d+)\.(\d+)/.exec(version)
  const milvus = lite ? undefined : /^v?(\d+)\.(\d+)\.(\d+)/.exec(version)
  const m = lite ?? milvus
  if (!m) return undefined
  return { product: lite ? 'Milvus Lite' : 'Milvus', major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) }
}

export function releaseText(r: ServerRelease): string {
  return `${r.product} ${r.major}.${r.minor}.${r.patch}`
}

/** Milvus before 2.5 (2.3 seen here) answers OK to a nullable field or a function and drops it. Milvus Lite 3 keeps both. */
function keepsNullableAndFunctions(r: ServerRelease): boolean {
  return r.product === 'Milvus Lite' ? r.major >= 3 : r.major > 2 || (r.major === 2 && r.minor >= 5)
}

/**
 * What a collection needs that this release does not keep: the nullable fields and functions a
 * server older than 2.5 would silently drop. Empty when the release keeps them all, or is unknown
 * (then the read-back after creating, src/milvus/create.ts, is what catches it).
 */
export function featuresLacking(spec: CollectionSpec, release: ServerRelease | undefined): string[] {
  if (!release || keepsNullableAndFunctions(release)) return []
  const out: string[] = []
  const nullable = spec.fields.filter((f) => f.nullable).map((f) => `'${f.name}'`)
  if (nullable.length) out.push(`nullable fields (${nullable.join(', ')})`)
  if (spec.functions.length) out.push(`functions (${spec.functions.map((f) => `'${f.name}'`).join(', ')})`)
  return out
}

/** Milvus 2.4 brought several vector fields per collection, and defaults for HNSW's build params. */
function before24(r: ServerRelease): boolean {
  return r.product === 'Milvus' && (r.major < 2 || (r.major === 2 && r.minor < 4))
}

/**
 * What a collection asks of this release that it refuses outright (it would fail the create after
 * the migration had changed other things), each with what to do instead. Milvus before 2.4 (2.3.5
 * seen here): "multiple vector fields is not supported", and an HNSW index without M and
 * efConstruction fails with "efConstruction out of range: [1, 2147483647]". Empty when the
 * release is unknown.
 */
export function limitsExceeded(
  spec: CollectionSpec,
  release: ServerRelease | undefined,
): { problem: string; fix: string }[] {
  if (!release || !before24(release)) return []
  const out: { problem: string; fix: string }[] = []
  const vectors = spec.fields.filter((f) => isVectorType(f.type)).map((f) => `'${f.name}'`)
  if (vectors.length > 1)
    out.push({
      problem: `allows one vector field per collection, and this one would have ${vectors.length} (${vectors.join(', ')})`,
      fix: "One vector field per collection on this server: upgrade to Milvus 2.4 or newer, or keep one (new embeddings can replace a field's vectors in one alter: t.alterField(field, { dim }) with t.backfill(field, ...), docs/reembed.md; other vectors go in a collection of their own).",
    })
  const bare = spec.indexes.filter(
    (i) => i.type.toUpperCase() === 'HNSW' && (i.params?.M === undefined || i.params?.efConstruction === undefined),
  )
  if (bare.length)
    out.push({
      problem: `builds an HNSW index only with the params M and efConstruction, and the index on ${bare.map((i) => `'${i.field}'`).join(', ')} lacks them`,
      fix: 'HNSW on this server needs params: { M, efConstruction } (for example params: { M: 16, efConstruction: 200 }); or upgrade to Milvus 2.4 or newer.',
    })
  return out
}

/**
 * Throws, before anything is created, when the server's release does not keep what the collection
 * needs, or refuses it outright. `up` (creating a collection, or an alter's target) and `plan` both ask here, so `plan`
 * reports what `up` would refuse, in the same words.
 */
export async function requireFeatures(client: MilvusClient, spec: CollectionSpec, what: string): Promise<void> {
  const release = parseServerVersion((await serverTraits(unwrapClient(client))).version)
  const lacking = featuresLacking(spec, release)
  if (lacking.length) {
    throw new MvmError(
      'UNSUPPORTED_BY_SERVER',
      `${what}: ${releaseText(release!)} does not keep ${lacking.join(' or ')}, which this step needs (it would answer OK and drop them)`,
      {
        hint: "Nothing was created or changed. Nullable fields and functions need Milvus 2.5 or newer (or Milvus Lite 3): make the field non-nullable (its default or its type's zero fills it) or leave the function out, or use a newer server.",
      },
    )
  }
  const exceeded = limitsExceeded(spec, release)
  if (exceeded.length) {
    throw new MvmError(
      'UNSUPPORTED_BY_SERVER',
      `${what}: ${releaseText(release!)} ${exceeded.map((x) => x.problem).join('; it also ')}`,
      { hint: `Nothing was created or changed. ${exceeded.map((x) => x.fix).join(' ')}` },
    )
  }
}

/**
 * Milvus 2.3 (seen on 2.3.5) panics in the proxy's default filling ("undefined data type Int64")
 * on an upsert that leaves out a field that has a default, and then does not start again on its
 * data. Judged by release: a crash is not something to probe for.
 */
export function upsertOmittingDefaultCrashes(release: ServerRelease | undefined): boolean {
  return !!release && release.product === 'Milvus' && release.major === 2 && release.minor === 3
}
