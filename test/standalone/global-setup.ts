import type { TestProject } from 'vitest/node'
import { probeServerLacks } from '../helpers/probe'

/**
 * `npm run test:standalone`: the PyPI package `milvus` (Milvus 2.3.x standalone with embedded
 * etcd: the real Milvus engine, older than Milvus Lite 3.x) with authentication enabled, started
 * on free ports with a fresh data directory and removed afterwards (scripts/standalone-server.js,
 * shared with `npm run bench:standalone`).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startStandalone } = require('../../scripts/standalone-server.js') as {
  startStandalone(o: { log: (l: string) => void }): Promise<{ uri: string; token: string; stop(): Promise<void> }>
}

let server: { stop(): Promise<void> } | undefined

export async function setup(project: TestProject): Promise<void> {
  const s = await startStandalone({ log: (l) => console.log(l) })
  server = s
  project.provide('standaloneUri', s.uri)
  project.provide('standaloneToken', s.token)
  // The shared integration suites read these (test/helpers/milvus.ts).
  project.provide('milvusUri', s.uri)
  project.provide('milvusToken', s.token)
  project.provide('serverName', 'Milvus standalone 2.3')
  // What it lacks is found by trying; 'liteProcess' (a Milvus Lite the tests can kill and restart) it is not.
  const lacking = [...(await probeServerLacks(s.uri, s.token)), 'liteProcess']
  console.log(`lacks: ${lacking.join(', ')}`)
  project.provide('serverLacks', lacking)
}

export async function teardown(): Promise<void> {
  await server?.stop()
}

declare module 'vitest' {
  export interface ProvidedContext {
    standaloneUri: string
    standaloneToken: string
  }
}
