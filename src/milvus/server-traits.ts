import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { milvusCall } from './call'

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
}

const cache = new WeakMap<object, Promise<ServerTraits>>()

export function serverTraits(client: MilvusClient): Promise<ServerTraits> {
  let traits = cache.get(client)
  if (!traits) {
    traits = milvusCall('ask the server for its version', () => client.getVersion()).then((r) => {
      const version = String((r as { version?: string }).version ?? '')
      return { version, sortsIteratorQueries: /^milvus_lite-3\./.test(version) }
    })
    traits.catch(() => cache.delete(client))
    cache.set(client, traits)
  }
  return traits
}
