'use strict'
// The Milvus 2.3 standalone server (PyPI `milvus`: the real Milvus engine with embedded etcd), for
// `npm run test:standalone` and `npm run bench:standalone`: installed into .mvmigrate/standalone-venv
// on first use, started on free ports with authentication on and a fresh data directory, and
// removed again by stop(). With `tls`, it serves TLS (tlsMode 1: server certificate; 2: client
// certificates required too) from the PEM files given, and is reached at an https:// uri.
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

/**
 * tls: { mode: 1 | 2, serverCert, serverKey, ca (the CA client certificates must chain to; mode 2),
 * client: the TLS options (ca, cert, key, serverName) this script connects with to see it is up }.
 */
async function startStandalone({ log = () => undefined, tls } = {}) {
  const binary = await ensureLiteInstalled({
    venvDir: path.join(root, '.mvmigrate', 'standalone-venv'),
    requirementsFile: path.join(root, 'test', 'standalone', 'requirements.txt'),
    binary: 'milvus-server',
    log,
  })
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-standalone-'))
  const port = await freePort()
  // The embedded etcd listens on 2379 and 2380 unless a config file says otherwise, and a second
  // 2.3 standalone on the machine (another test run, or the TLS tests' own servers) then crashes at
  // start (a nil embedded etcd client). The wrapper has no option for it; Milvus reads
  // etcd.config.path from ETCD_CONFIG_PATH. So each server's etcd gets ports of its own.
  const etcdClient = await freePort()
  let etcdPeer = await freePort()
  while (etcdPeer === etcdClient || etcdPeer === port) etcdPeer = await freePort()
  const etcdConfig = path.join(dataDir, 'embed-etcd.yaml')
  fs.writeFileSync(
    etcdConfig,
    [
      'name: default',
      `listen-client-urls: http://127.0.0.1:${etcdClient}`,
      `advertise-client-urls: http://127.0.0.1:${etcdClient}`,
      `listen-peer-urls: http://127.0.0.1:${etcdPeer}`,
      `initial-advertise-peer-urls: http://127.0.0.1:${etcdPeer}`,
      `initial-cluster: default=http://127.0.0.1:${etcdPeer}`,
      '',
    ].join('\n'),
  )
  const started = Date.now()
  // Its own process group, so stop() ends the wrapper and the milvus binary it starts.
  const args = ['--data', dataDir, '--proxy-port', String(port), '--etcd-port', String(etcdClient)]
  args.push('--authorization-enabled', 'true')
  if (tls) {
    args.push('--tls-mode', String(tls.mode), '--server-pem-path', tls.serverCert, '--server-key-path', tls.serverKey)
    if (tls.ca) args.push('--ca-pem-path', tls.ca)
  }
  const child = spawn(binary, args, {
    env: { ...process.env, ETCD_CONFIG_PATH: etcdConfig },
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
  // The wrapper takes the next free port when the one given was taken meanwhile (on a busy machine,
  // by some connection's local port): the port is read back from the config it writes.
  const configFile = path.join(dataDir, 'configs', 'milvus.yaml')
  const proxyPort = () => {
    const m = fs.existsSync(configFile) && /^proxy:[\s\S]*?^ {2}port: (\d+)/m.exec(fs.readFileSync(configFile, 'utf8'))
    return m ? Number(m[1]) : port
  }
  let uri
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
    uri = `${tls ? 'https' : 'http'}://127.0.0.1:${proxyPort()}`
    try {
      const c = await connectMilvus({ uri, token: ROOT_TOKEN, connectTimeoutMs: 5000, tls: tls && tls.client })
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
  log(
    `Milvus standalone 2.3${tls ? ` (tlsMode ${tls.mode})` : ''} ready on ${uri} after ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )
  return { uri, token: ROOT_TOKEN, stop }
}

module.exports = { startStandalone, ROOT_TOKEN }
