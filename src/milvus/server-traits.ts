import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { randomBytes } from 'node:crypto'
import { MvmError } from '../errors'
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
}

const cache = new WeakMap<object, Promise<ServerTraits>>()

export function serverTraits(client: MilvusClient): Promise<ServerTraits> {
  let traits = cache.get(client)
  if (!traits) {
    // A server without GetVersion (Milvus Lite 2.5) answers with an empty reply: version unknown.
    traits = milvusCall('ask the server for its version', () => client.getVersion(), { allowEmpty: true }).then((r) => {
      const version = String((r as { version?: string }).version ?? '')
      const lite3 = /^milvus_lite-3\./.test(version)
      return { version, sortsIteratorQueries: lite3, flushBeforeScans: lite3, readAheadPages: lite3 ? 2 : 1 }
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
