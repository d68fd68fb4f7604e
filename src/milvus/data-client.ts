import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { translateSdkError } from './call'
import { closeClient, newMilvusClient } from './connect'
import { installFloatVectorWire } from './float-vector-wire'

/**
 * A second connection for bulk reads and writes (the copy of an alter).
 *
 * The Node SDK (3.0.x) puts a retry interceptor on every call that JSON-encodes the whole request
 * and the whole response for a debug log line, even when debug logging is off. For a page of
 * 768-dim vectors that is ~15 MB of JSON per call: profiled, it was 40% of the client CPU of a
 * read and 20% of an insert (docs/performance.md). This connection is the same client with that
 * one interceptor taken out. It also means the SDK does not retry bulk calls by itself, which the
 * copy wants anyway: a silently retried insert could store a page twice; instead a failed page
 * fails the copy, the source is untouched, and the next `up` starts the copy over.
 *
 * Its inserts and queries also move float vectors as bytes (milvus/float-vector-wire.ts).
 *
 * If a future SDK changes its interceptors so the retry one cannot be told apart, or its insert
 * messages, the connection is used as it is (correct, slower) and `lean` / `floatVectorBytes` say so.
 */
export interface DataClient {
  client: MilvusClient
  /** True when the retry/logging interceptor was removed. */
  lean: boolean
  /** True when inserts and queries move float vectors as bytes. */
  floatVectorBytes: boolean
  close(): Promise<void>
}

interface SdkInternals {
  config?: Record<string, unknown>
  /** The gRPC client class this connection's pool instantiates (one per MilvusClient). */
  _MilvusService?: unknown
  channelOptions?: { interceptors?: unknown[] }
  telemetryChannelOptions?: { interceptors?: unknown[] }
}

/** Removes the interceptor ordinary calls have and telemetry calls do not: the retry interceptor. */
export function dropRetryInterceptor(client: MilvusClient): boolean {
  const internals = client as unknown as SdkInternals
  const all = internals.channelOptions?.interceptors
  const telemetry = internals.telemetryChannelOptions?.interceptors
  if (!Array.isArray(all) || !Array.isArray(telemetry)) return false
  const extra = all.filter((i) => !telemetry.includes(i))
  if (extra.length !== 1) return false
  // In place: the pooled gRPC clients hold this very array.
  all.splice(all.indexOf(extra[0]), 1)
  return true
}

/** Opens the bulk connection with the same address, credentials and database as `client`. */
export async function openDataClient(client: MilvusClient): Promise<DataClient> {
  const config = (client as unknown as SdkInternals).config
  if (!config) return { client, lean: false, floatVectorBytes: false, close: async () => undefined }
  const data = newMilvusClient({ ...config } as never)
  const lean = dropRetryInterceptor(data)
  const floatVectorBytes = installFloatVectorWire(data, (data as unknown as SdkInternals)._MilvusService)
  try {
    await data.connectPromise
  } catch (e) {
    await closeClient(data)
    throw translateSdkError(`connect to ${String(config.address)}`, e)
  }
  return { client: data, lean, floatVectorBytes, close: () => closeClient(data) }
}
