import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { TestProject } from 'vitest/node'
import { ensureLiteInstalled } from '../src/lite/install'
import { type LiteServer, startLiteServer } from '../src/lite/server'
import { probeServerLacks } from './helpers/probe'

/**
 * Starts one Milvus Lite for the test run, on a free port with a fresh data directory, and removes
 * both afterwards. Tests never depend on a server somebody started by hand.
 */
export const REPO_ROOT = path.resolve(__dirname, '..')
export const TEST_VENV = path.join(REPO_ROOT, '.mvmigrate', 'venv')

let server: LiteServer | undefined
let dataRoot: string | undefined

export async function setup(project: TestProject): Promise<void> {
  const binary = await ensureLiteInstalled({ venvDir: TEST_VENV, log: (l) => console.log(l) })
  dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-test-'))
  server = await startLiteServer({ binary, dataDir: path.join(dataRoot, 'milvus') })
  project.provide('milvusUri', server.uri)
  project.provide('milvusToken', '')
  project.provide('serverName', 'Milvus Lite')
  const lacking = await probeServerLacks(server.uri)
  console.log(`Milvus Lite on ${server.uri}; lacks: ${lacking.join(', ') || 'nothing the tests use'}`)
  project.provide('serverLacks', lacking)
  project.provide('liteBinary', binary)
}

export async function teardown(): Promise<void> {
  await server?.stop()
  if (dataRoot) fs.rmSync(dataRoot, { recursive: true, force: true })
}

declare module 'vitest' {
  export interface ProvidedContext {
    milvusUri: string
    milvusToken: string
    serverName: string
    serverLacks: string[]
    liteBinary: string
  }
}
