import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError, messageOf } from '../errors'
import { milvusCall, unsupported } from './call'
import { type ReadAfter, consistencyOf } from './rows'
import { readLoaded } from './load'
export { ensureLoaded, isLoaded, loadCollection } from './load'

/**
 * Collection-level operations, each one judged by what the server did rather than by what it
 * answered. Servers differ in ways the SDK hides: a server without an RPC gets an empty "OK"
 * (the SDK's retry interceptor), Milvus Lite 2.5 answers "collection not found" with error_code
 * "Success" (the SDK's hasCollection then says true), Milvus 2.3 describes a collection asked
 * through an alias under the alias' name. So every change a later step relies on (a rename, an
 * alias, a property, a partition) is read back here before the caller goes on.
 */

type Described = {
  collection_name?: string
  collectionID?: unknown
  aliases?: string[]
  schema?: { name?: string }
  status?: { error_code?: string | number; code?: number; reason?: string }
  properties?: unknown
}

/** The SDK keeps describe results by name (search uses them): a name that changed meaning must not hit them. */
export function forgetCollectionInfo(client: MilvusClient, ...names: string[]): void {
  const sdk = client as unknown as { invalidateCollectionInfo?: (d: object) => void }
  for (const n of names) sdk.invalidateCollectionInfo?.({ collection_name: n })
}

export async function listCollectionNames(client: MilvusClient): Promise<string[]> {
  const res = await milvusCall('list collections', () => client.listCollections(), { rpc: 'ShowCollections' }).catch(
    (e) => {
      // Every Milvus answers a collection list (empty or not); the SDK fails reading one that is not there.
      if (e instanceof MvmError && e.code === 'MILVUS_ERROR' && /of undefined/.test(e.message))
        throw new MvmError('UNREACHABLE', 'The server answered, but not as Milvus does: it sent no collection list', {
          hint: "Check that {{uri}} is Milvus' gRPC address (port 19530 unless changed; Zilliz Cloud: the cluster's public endpoint), not another service's port.",
          cause: e,
        })
      throw e
    },
  )
  return (res.data ?? []).map((c) => c.name)
}

/**
 * Whether a collection of that name exists (aliases are not collections). From the collection
 * list, not the SDK's hasCollection, which trusts error_code alone and so answers true for a
 * missing collection on a server that says "Success" with a non-zero code.
 */
export async function collectionExists(client: MilvusClient, name: string): Promise<boolean> {
  return (await listCollectionNames(client)).includes(name)
}

/**
 * `read` of a collection listed a moment ago, or undefined when the collection has gone since
 * (renamed or dropped by a runner at work right now) instead of the error that caused.
 */
export async function unlessGone<T>(
  client: MilvusClient,
  name: string,
  read: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await read()
  } catch (e) {
    if (await collectionExists(client, name)) throw e
    return undefined
  }
}

/** The raw describe reply, fresh from the server. */
export async function describeRaw(client: MilvusClient, name: string): Promise<Described & Record<string, unknown>> {
  return (await milvusCall(
    `describe collection '${name}'`,
    () => client.describeCollection({ collection_name: name }),
    { rpc: 'DescribeCollection' },
  )) as never
}

/** A describe that answers undefined for a missing name instead of throwing. */
async function tryDescribe(client: MilvusClient, name: string): Promise<Described | undefined> {
  try {
    const d = (await client.describeCollection({ collection_name: name })) as unknown as Described
    if (
      !d?.status ||
      d.status.code ||
      (d.status.error_code !== undefined && d.status.error_code !== 'Success' && d.status.error_code !== 0)
    )
      return undefined
    return d
  } catch {
    return undefined // some servers' "not found" makes the SDK throw while formatting the reply
  }
}

/**
 * The real name of the collection a describe answered for. Newer servers put it in collection_name
 * even when asked through an alias; Milvus 2.3 puts the alias there and the real name only in
 * schema.name, which is trusted once the collection of that name proves to be the same one.
 */
export async function collectionNameOf(client: MilvusClient, d: Described, asked: string): Promise<string> {
  const named = d.collection_name || asked
  const schemaName = d.schema?.name
  if (named !== asked || !schemaName || schemaName === asked) return named
  const real = await tryDescribe(client, schemaName)
  return real && String(real.collectionID) === String(d.collectionID) ? schemaName : named
}

/** Which collection a name resolves to, and whether the name is an alias; undefined when neither. */
export async function resolveName(
  client: MilvusClient,
  name: string,
): Promise<{ collection: string; alias: boolean } | undefined> {
  const names = await listCollectionNames(client)
  if (names.includes(name)) return { collection: name, alias: false }
  const d = await tryDescribe(client, name)
  if (!d) return undefined
  const actual = await collectionNameOf(client, d, name)
  if (actual === name || !names.includes(actual)) return undefined
  return { collection: actual, alias: true }
}

async function collectionId(client: MilvusClient, name: string): Promise<string> {
  return String((await describeRaw(client, name)).collectionID)
}

/** Renames a collection and proves it: the old name is gone, the new one is the same collection. */
export async function renameCollection(client: MilvusClient, from: string, to: string): Promise<void> {
  const what = `rename collection '${from}' to '${to}'`
  if (!(await collectionExists(client, from)))
    throw new MvmError('MILVUS_ERROR', `${what}: collection '${from}' does not exist`)
  const id = await collectionId(client, from)
  await milvusCall(what, () => client.renameCollection({ collection_name: from, new_collection_name: to }), {
    rpc: 'RenameCollection',
  })
  forgetCollectionInfo(client, from, to)
  const names = await listCollectionNames(client)
  if (names.includes(from) || !names.includes(to) || (await collectionId(client, to)) !== id) {
    throw unsupported(
      what,
      'RenameCollection',
      `it answered OK, but '${from}' ${names.includes(from) ? 'still exists' : 'is gone'} and '${to}' ${names.includes(to) ? 'is not the renamed collection' : 'does not exist'}`,
    )
  }
}

export async function dropCollection(client: MilvusClient, name: string): Promise<void> {
  await milvusCall(`drop collection '${name}'`, () => client.dropCollection({ collection_name: name }), {
    rpc: 'DropCollection',
  })
  forgetCollectionInfo(client, name)
}

export async function releaseCollection(client: MilvusClient, name: string): Promise<void> {
  await milvusCall(`release '${name}'`, () => client.releaseCollection({ collection_name: name }), {
    rpc: 'ReleaseCollection',
  })
}

/** Seals what is in the server's write buffer (changes no row; sealed data reads faster). */
export async function flush(client: MilvusClient, name: string): Promise<void> {
  await milvusCall(`flush '${name}'`, () => client.flushSync({ collection_names: [name] }), { rpc: 'Flush' })
}

/** Exact row count (of one partition, if given), read with Strong consistency. */
export async function countRows(
  client: MilvusClient,
  name: string,
  partition?: string,
  after?: ReadAfter,
): Promise<number> {
  const r = await readLoaded(client, name, () =>
    milvusCall(`count ${name}`, () =>
      client.query({
        collection_name: name,
        filter: '',
        output_fields: ['count(*)'],
        ...consistencyOf(after),
        ...(partition ? { partition_names: [partition] } : {}),
      } as never),
    ),
  )
  const row = (r.data as Record<string, unknown>[] | undefined)?.[0]
  if (!row || row['count(*)'] === undefined) {
    // A released collection on some servers answers a query with no rows and no error.
    throw new MvmError('MILVUS_ERROR', `count ${name}: the server returned no count (is the collection loaded?)`, {
      hint: `Load '${name}' and run the command again.`,
    })
  }
  return Number(row['count(*)'])
}

/** Approximate row count without loading (deleted rows may still be counted until compaction). */
export async function statisticsRowCount(client: MilvusClient, name: string): Promise<number> {
  const r = await milvusCall(`statistics of ${name}`, () => client.getCollectionStatistics({ collection_name: name }), {
    rpc: 'GetCollectionStatistics',
  })
  return Number((r as { data?: { row_count?: unknown } }).data?.row_count ?? 0)
}

type KV = { key: string; value: string }

export async function propertiesOf(client: MilvusClient, name: string): Promise<Record<string, string>> {
  const d = await describeRaw(client, name)
  return Object.fromEntries(((d.properties as KV[] | undefined) ?? []).map((p) => [p.key, p.value]))
}

const sameValue = (a: unknown, b: string | undefined) => b !== undefined && String(a).toLowerCase() === b.toLowerCase()

/** Whether the collection holds these properties already, read from the server (not the SDK's cache). */
export async function hasProperties(
  client: MilvusClient,
  name: string,
  properties: Record<string, string | number | boolean>,
): Promise<boolean> {
  forgetCollectionInfo(client, name)
  const now = await propertiesOf(client, name)
  return Object.entries(properties).every(([k, v]) => sameValue(v, now[k]))
}

/** Sets collection properties and proves the server kept them. */
export async function setProperties(
  client: MilvusClient,
  name: string,
  properties: Record<string, string | number | boolean>,
): Promise<void> {
  const what = `set properties of '${name}'`
  await milvusCall(what, () => client.alterCollectionProperties({ collection_name: name, properties }), {
    rpc: 'AlterCollection',
  })
  forgetCollectionInfo(client, name)
  const now = await propertiesOf(client, name)
  const missing = Object.entries(properties).filter(([k, v]) => !sameValue(v, now[k]))
  if (missing.length)
    throw unsupported(
      what,
      'AlterCollection',
      `it answered OK, but ${missing.map(([k, v]) => `${k}=${v} reads back as ${now[k] ?? 'unset'}`).join(', ')}`,
    )
}

/** Removes collection properties and proves they are gone. */
export async function dropProperties(client: MilvusClient, name: string, keys: string[]): Promise<void> {
  const what = `remove properties ${keys.join(', ')} of '${name}'`
  try {
    await milvusCall(what, () => client.dropCollectionProperties({ collection_name: name, properties: keys }), {
      rpc: 'AlterCollection',
    })
  } catch (e) {
    // Milvus 2.3 sets properties but cannot remove one.
    if (e instanceof MvmError && /only support alter collection properties/i.test(e.message)) {
      throw new MvmError(
        'UNSUPPORTED_BY_SERVER',
        `${what}: this server cannot remove collection properties (it can set them)`,
        {
          hint: 'Set the property to another value instead, or remove it with an alter (t.dropProperties([...]) in ctx.alter), which copies the collection without it.',
          cause: e,
        },
      )
    }
    throw e
  }
  forgetCollectionInfo(client, name)
  const now = await propertiesOf(client, name)
  const left = keys.filter((k) => now[k] !== undefined)
  if (left.length) throw unsupported(what, 'AlterCollection', `it answered OK, but ${left.join(', ')} still set`)
}

async function indexNames(client: MilvusClient, collection: string): Promise<{ name: string; field: string }[]> {
  const res = await client.describeIndex({ collection_name: collection })
  // "index not found" is how a server says there are none.
  if (res.status?.code && res.status.code !== 0) return []
  return (res.index_descriptions ?? []).map((d) => ({ name: String(d.index_name), field: String(d.field_name) }))
}

/**
 * Drops one index, named by its name (or its field's). The field is sent too: Milvus Lite drops
 * every index of the collection when a request names no field. Read back: that index is gone and
 * every other one is still there.
 */
export async function dropIndex(client: MilvusClient, collection: string, indexName: string): Promise<void> {
  const what = `drop index '${indexName}' on '${collection}'`
  const before = await indexNames(client, collection)
  const target = before.find((i) => i.name === indexName) ?? before.find((i) => i.field === indexName)
  if (!target) {
    throw new MvmError(
      'MILVUS_ERROR',
      `${what}: no such index (indexes: ${before.map((i) => i.name).join(', ') || 'none'})`,
    )
  }
  await milvusCall(
    what,
    () => client.dropIndex({ collection_name: collection, field_name: target.field, index_name: target.name } as never),
    {
      rpc: 'DropIndex',
    },
  )
  const after = await indexNames(client, collection)
  if (after.some((i) => i.name === target.name))
    throw unsupported(what, 'DropIndex', 'it answered OK, but the index is still there')
  const lost = before.filter((i) => i !== target && !after.some((a) => a.name === i.name))
  if (lost.length) {
    throw new MvmError(
      'MILVUS_ERROR',
      `${what}: the server dropped other indexes too: ${lost.map((i) => `${i.name} (on ${i.field})`).join(', ')}`,
      {
        hint: 'Create them again (ctx.createIndex) before loading the collection.',
      },
    )
  }
}

/** Partition names, `_default` included. */
export async function listPartitions(client: MilvusClient, name: string): Promise<string[]> {
  const what = `list partitions of '${name}'`
  let res
  try {
    res = await milvusCall(what, () => client.listPartitions({ collection_name: name }), { rpc: 'ShowPartitions' })
  } catch (e) {
    // The SDK reads `partition_names` of the empty reply a server without the RPC gives, and throws.
    if (e instanceof MvmError && e.code === 'MILVUS_ERROR' && /reading 'forEach'|of undefined/.test(messageOf(e)))
      throw unsupported(what, 'ShowPartitions')
    throw e
  }
  if (!Array.isArray(res.partition_names)) throw unsupported(what, 'ShowPartitions')
  return res.partition_names
}

export async function createPartition(client: MilvusClient, collection: string, partition: string): Promise<void> {
  const what = `create partition '${partition}' in '${collection}'`
  await milvusCall(what, () => client.createPartition({ collection_name: collection, partition_name: partition }), {
    rpc: 'CreatePartition',
  })
  if (!(await listPartitions(client, collection)).includes(partition))
    throw unsupported(what, 'CreatePartition', `it answered OK, but '${collection}' has no partition '${partition}'`)
}

export async function dropPartition(client: MilvusClient, collection: string, partition: string): Promise<void> {
  const what = `drop partition '${partition}' of '${collection}'`
  const drop = () =>
    milvusCall(what, () => client.dropPartition({ collection_name: collection, partition_name: partition }), {
      rpc: 'DropPartition',
    })
  try {
    await drop()
  } catch (e) {
    // Milvus 2.3/2.4 refuse to drop a loaded partition ("partition is loaded, please release it
    // first"); Milvus Lite drops it anyway. Its rows go with it, so releasing it first loses nothing.
    if (!/release it first|partition is loaded/i.test(messageOf(e))) throw e
    await milvusCall(
      `release partition '${partition}' of '${collection}' before dropping it`,
      () => client.releasePartitions({ collection_name: collection, partition_names: [partition] }),
      { rpc: 'ReleasePartitions' },
    )
    await drop()
  }
  if ((await listPartitions(client, collection)).includes(partition))
    throw unsupported(what, 'DropPartition', `it answered OK, but '${collection}' still has partition '${partition}'`)
}

/** Proves `alias` now resolves to `collection` (same collection id). */
async function checkAlias(
  client: MilvusClient,
  alias: string,
  collection: string,
  what: string,
  rpc: string,
): Promise<void> {
  forgetCollectionInfo(client, alias, collection)
  const viaAlias = await tryDescribe(client, alias)
  if (!viaAlias || String(viaAlias.collectionID) !== (await collectionId(client, collection))) {
    throw unsupported(
      what,
      rpc,
      `it answered OK, but '${alias}' ${viaAlias ? 'resolves to another collection' : 'does not resolve'}`,
    )
  }
}

export async function createAlias(client: MilvusClient, collection: string, alias: string): Promise<void> {
  const what = `create alias '${alias}' -> '${collection}'`
  await milvusCall(what, () => client.createAlias({ collection_name: collection, alias }), { rpc: 'CreateAlias' })
  await checkAlias(client, alias, collection, what, 'CreateAlias')
}

export async function alterAlias(client: MilvusClient, collection: string, alias: string): Promise<void> {
  const what = `point alias '${alias}' at '${collection}'`
  await milvusCall(what, () => client.alterAlias({ collection_name: collection, alias }), { rpc: 'AlterAlias' })
  await checkAlias(client, alias, collection, what, 'AlterAlias')
}

export async function dropAlias(client: MilvusClient, alias: string): Promise<void> {
  const what = `drop alias '${alias}'`
  await milvusCall(what, () => client.dropAlias({ alias }), { rpc: 'DropAlias' })
  forgetCollectionInfo(client, alias)
  if (await tryDescribe(client, alias))
    throw unsupported(what, 'DropAlias', `it answered OK, but '${alias}' still resolves`)
}

/**
 * Aliases of a collection. ListAliases is Milvus 2.4+; older servers list them in the describe
 * response instead (pass it as `fromDescribe` when at hand).
 */
export async function aliasesOf(client: MilvusClient, name: string, fromDescribe?: string[]): Promise<string[]> {
  try {
    const res = await milvusCall(`list aliases of '${name}'`, () => client.listAliases({ collection_name: name }), {
      rpc: 'ListAliases',
    })
    return res.aliases ?? []
  } catch (e) {
    if (!(e instanceof MvmError) || (e.code !== 'MILVUS_ERROR' && e.code !== 'UNSUPPORTED_BY_SERVER')) throw e
    if (fromDescribe) return fromDescribe
    return (await describeRaw(client, name)).aliases ?? []
  }
}
