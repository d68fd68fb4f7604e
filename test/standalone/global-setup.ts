import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { TestProject } from 'vitest/node'
import { ensureLiteInstalled } from '../../src/lite/install'
import { freePort } from '../../src/lite/server'
import { connectMilvus } from '../../src/milvus/connect'
import { probeServerLacks } from '../helpers/probe'

/**
 * `npm run test:standalone`: the PyPI package `milvus` (Milvus 2.3.x standalone with embedded
 * etcd: the real Milvus engine, older than Milvus Lite 3.x) with authentication enabled, started
 * on free ports with a fresh data directory and removed afterwards.
 */
const REPO_ROOT = path.resolve(__dirname, '..', '..')
const VENV = path.join(REPO_ROOT, '.mvmigrate', 'standalone-venv')
export const ROOT_TOKEN = 'root:Milvus' // the server's built-in superuser

let child: ChildProcess | undefined
let dataDir: string | undefined

export async function setup(project: TestProject): Promise<void> {
  const binary = await ensureLiteInstalled({
    venvDir: VENV,
    requirementsFile: path.join(__dirname, 'requirements.txt'),
    binary: 'milvus-server',
    log: (l) => console.log(l),
  })
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-standalone-'))
  const port = await freePort()
  const started = Date.now()
  // Its own process group, so teardown stops the wrapper and the milvus binary it starts.
  child = spawn(binary, ['--data', dataDir, '--proxy-port', String(port), '--authorization-enabled', 'true'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
  const uri = `http://127.0.0.1:${port}`
  for (;;) {
    try {
      const c = await connectMilvus({ uri, token: ROOT_TOKEN, connectTimeoutMs: 5000 })
      await c.closeConnection()
      break
    } catch (e) {
      if (child.exitCode !== null || Date.now() - started > 180_000) {
        await teardown()
        throw new Error(`milvus-server did not start (is another Milvus holding its ports?): ${String(e)}\n${stderr}`, {
          cause: e,
        })
      }
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
  console.log(`Milvus standalone 2.3 ready on ${uri} after ${((Date.now() - started) / 1000).toFixed(1)} s`)
  project.provide('standaloneUri', uri)
  project.provide('standaloneToken', ROOT_TOKEN)
  // The shared integration suites read these (test/helpers/milvus.ts).
  project.provide('milvusUri', uri)
  project.provide('milvusToken', ROOT_TOKEN)
  project.provide('serverName', 'Milvus standalone 2.3')
  // What it lacks is found by trying; 'liteProcess' (a Milvus Lite the tests can kill and restart) it is not.
  const lacking = [...(await probeServerLacks(uri, ROOT_TOKEN)), 'liteProcess']
  console.log(`lacks: ${lacking.join(', ')}`)
  project.provide('serverLacks', lacking)
}

export async function teardown(): Promise<void> {
  if (child?.pid) {
    try {
      process.kill(-child.pid, 'SIGTERM')
    } catch {
      /* gone */
    }
    const end = Date.now() + 15_000
    while (child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 200))
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      /* gone */
    }
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
}

declare module 'vitest' {
  export interface ProvidedContext {
    standaloneUri: string
    standaloneToken: string
  }
}
