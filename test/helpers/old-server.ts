import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ensureLiteInstalled } from '../../src/lite/install'
import { canConnect, freePort } from '../../src/lite/server'

const REPO_ROOT = path.resolve(__dirname, '..', '..')
const VENV = path.join(REPO_ROOT, '.mvmigrate', 'lite25-venv')

export interface OldServer {
  uri: string
  stop(): Promise<void>
}

/**
 * Starts the C++ Milvus Lite 2.5.1 (PyPI `milvus-lite==2.5.1`, installed into a venv of its own) on
 * a free loopback port with a fresh data file: a real server that lacks RPCs mvmigrate relies on.
 * It is started as a plain binary (no Python at run time): `$LIB/milvus <db file> <address> <log level>`.
 */
export async function startOldServer(): Promise<OldServer> {
  await ensureLiteInstalled({
    venvDir: VENV,
    requirementsFile: path.join(REPO_ROOT, 'test', 'old-server', 'requirements.txt'),
    binary: 'milvus-lite',
    log: (l) => console.log(l),
  })
  const site = fs
    .readdirSync(path.join(VENV, 'lib'))
    .map((py) => path.join(VENV, 'lib', py, 'site-packages', 'milvus_lite', 'lib'))
    .find((p) => fs.existsSync(p))
  if (!site) throw new Error(`milvus_lite/lib not found in ${VENV}`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-lite25-'))
  const port = await freePort()
  const child: ChildProcess = spawn(
    path.join(site, 'milvus'),
    [path.join(dir, 'milvus.db'), `127.0.0.1:${port}`, 'ERROR'],
    {
      env: { ...process.env, LD_LIBRARY_PATH: site },
      stdio: 'ignore',
    },
  )
  const deadline = Date.now() + 30_000
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`milvus-lite 2.5.1 did not start (exit ${child.exitCode})`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    uri: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGKILL')
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
