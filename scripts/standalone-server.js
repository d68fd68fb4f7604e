'use strict'
// The Milvus 2.3 standalone server (PyPI `milvus`: the real Milvus engine with embedded etcd), for
// `npm run test:standalone` and `npm run bench:standalone`: installed into .mvmigrate/standalone-venv
// on first use, started on free ports with authentication on and a fresh data directory, and
// removed again by stop().
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const { ensureLiteInstalled } = require(path.join(root, 'dist', 'lite', 'install.js'))
const { freePort } = require(path.join(root, 'dist', 'lite', 'server.js'))
const { connectMilvus } = require(path.join(root, 'dist', 'milvus', 'connect.js'))

/** The server's built-in superuser. */
const ROOT_TOKEN = 'root:Milvus'

async function startStandalone({ log = () => undefined } = {}) {
  const binary = await ensureLiteInstalled({
    venvDir: path.join(root, '.mvmigrate', 'standalone-venv'),
    requirementsFile: path.join(root, 'test', 'standalone', 'requirements.txt'),
    binary: 'milvus-server',
    log,
  })
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-standalone-'))
  const port = await freePort()
  const started = Date.now()
  // Its own process group, so stop() ends the wrapper and the milvus binary it starts.
  const child = spawn(binary, ['--data', dataDir, '--proxy-port', String(port), '--authorization-enabled', 'true'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
  const uri = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.pid) {
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
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
  for (;;) {
    try {
      const c = await connectMilvus({ uri, token: ROOT_TOKEN, connectTimeoutMs: 5000 })
      await c.closeConnection()
      break
    } catch (e) {
      if (child.exitCode !== null || Date.now() - started > 180_000) {
        await stop()
        throw new Error(`milvus-server did not start (is another Milvus holding its ports?): ${String(e)}\n${stderr}`, {
          cause: e,
        })
      }
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
  log(`Milvus standalone 2.3 ready on ${uri} after ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return { uri, token: ROOT_TOKEN, stop }
}

module.exports = { startStandalone, ROOT_TOKEN }
