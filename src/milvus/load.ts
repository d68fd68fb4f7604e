import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import { milvusCall } from './call'

/**
 * Loading collections, and reads that survive a collection released under them. Apart from
 * collections.ts so that rows.ts (the reads) can use it.
 */

export async function isLoaded(client: MilvusClient, name: string): Promise<boolean> {
  const state = await milvusCall(`load state of '${name}'`, () => client.getLoadState({ collection_name: name }), {
    rpc: 'GetLoadState',
  })
  return String(state.state) === 'LoadStateLoaded'
}

/**
 * Loads a collection and waits until it is loaded. Not the SDK's loadCollection: that one sleeps
 * 400 ms after every progress check, the first included, so even a load that was already done
 * cost 400 ms (measured: a third of `status` on Milvus Lite, which releases collections when it
 * restarts, i.e. every command). Here progress is checked at once, then after 25, 50, ... 400 ms.
 */
export async function loadCollection(client: MilvusClient, name: string): Promise<void> {
  const requestLoad = () =>
    milvusCall(`load '${name}'`, () => client.loadCollectionAsync({ collection_name: name }), {
      rpc: 'LoadCollection',
    })
  await requestLoad()
  let since = Date.now()
  for (let wait = 25; ; wait = Math.min(wait * 2, 400)) {
    // Milvus 2.3 answers a collection that is not loading (a dropped load) with an error, not 0%.
    const res = await milvusCall(
      `loading progress of '${name}'`,
      () => client.getLoadingProgress({ collection_name: name }),
      { rpc: 'GetLoadingProgress' },
    ).catch((e) => {
      if (e instanceof MvmError && /not loaded/.test(e.message)) return { progress: 0 }
      throw e
    })
    if (Number(res.progress) >= 100) return
    // Milvus Lite can drop a load asked for just after a rename (of 100,000 rows x 768, twice in
    // three runs): the collection stays NotLoad at 0% for good, and asking again loads it at once.
    if (Number(res.progress) === 0 && Date.now() - since > 2000) {
      if (!(await isLoading(client, name))) await requestLoad()
      since = Date.now()
    }
    await new Promise((r) => setTimeout(r, wait))
  }
}

async function isLoading(client: MilvusClient, name: string): Promise<boolean> {
  const state = await milvusCall(`load state of '${name}'`, () => client.getLoadState({ collection_name: name }), {
    rpc: 'GetLoadState',
  })
  return String(state.state) !== 'LoadStateNotLoad'
}

/** Loads a collection unless it already is (servers release on restart, Milvus Lite on rename). */
export async function ensureLoaded(client: MilvusClient, name: string): Promise<void> {
  if (!(await isLoaded(client, name))) await loadCollection(client, name)
}

/** What servers answer a read of a released collection (Milvus Lite: "in state 'released'; call load() before ..."; 2.3: "collection not loaded"). */
const RELEASED = /call load\(\) before|state 'released'|collection not loaded/i

/**
 * Runs a read, and when the server says the collection is released, loads it and reads again
 * (twice at most). Milvus Lite releases a collection around a rename, also one loaded just
 * before: a sweep after the swap failed so, after the swap, with late writes left in the backup.
 */
export async function readLoaded<T>(client: MilvusClient, collection: string, read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read()
    } catch (e) {
      if (attempt > 2 || !(e instanceof MvmError) || !RELEASED.test(e.message)) throw e
      await loadCollection(client, collection)
    }
  }
}
