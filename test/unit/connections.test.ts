import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { KEEPALIVE, closeClient, newMilvusClient } from '../../src/milvus/connect'

/**
 * Milvus Lite (a gRPC server with default settings) answers the SDK's default pings (every 10 s,
 * also on idle connections) with GOAWAY "too many pings"; a connection idle for a minute while its
 * process was busy then failed its next call with RESOURCE_EXHAUSTED. Every client mvmigrate and
 * its benches build must carry KEEPALIVE: built by newMilvusClient, and nowhere else.
 */
const ROOT = path.resolve(__dirname, '..', '..')

function files(dir: string, exts: string[]): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? files(path.join(dir, e.name), exts)
        : exts.some((x) => e.name.endsWith(x))
          ? [path.join(dir, e.name)]
          : [],
    )
}

const channelOptions = (c: MilvusClient) => (c as unknown as { channelOptions: Record<string, unknown> }).channelOptions

describe('connections carry the keepalive settings', () => {
  const opened: MilvusClient[] = []
  afterEach(async () => {
    for (const c of opened.splice(0)) await closeClient(c)
  })

  it('no MilvusClient is constructed outside newMilvusClient (src/, bench/, scripts/)', () => {
    const offenders = ['src', 'bench', 'scripts']
      .flatMap((d) => files(path.join(ROOT, d), ['.ts', '.js']))
      .filter((f) => f !== path.join(ROOT, 'src', 'milvus', 'connect.ts'))
      .filter((f) => /new\s+MilvusClient\s*\(/.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(ROOT, f))
    expect(offenders).toEqual([])
    const connect = fs.readFileSync(path.join(ROOT, 'src', 'milvus', 'connect.ts'), 'utf8')
    expect(connect.match(/new\s+MilvusClient\s*\(/g)).toHaveLength(1)
  })

  it('newMilvusClient keeps KEEPALIVE whatever channel options were asked for', async () => {
    // Nothing listens on port 9: the constructor does not wait for a server, and nothing is called.
    const client = newMilvusClient({
      address: '127.0.0.1:9',
      logLevel: 'error',
      channelOptions: { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_permit_without_calls': 1 },
    })
    opened.push(client)
    client.connectPromise.catch(() => undefined)
    expect(channelOptions(client)).toMatchObject({
      'grpc.keepalive_time_ms': 300_000,
      'grpc.keepalive_permit_without_calls': 0,
    })
    expect(KEEPALIVE).toEqual({ 'grpc.keepalive_time_ms': 300_000, 'grpc.keepalive_permit_without_calls': 0 })
  })
})
