import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { MvmError } from '../errors'

export interface LiteServerOptions {
  /** The milvus-lite console script (see install.ts). */
  binary: string
  dataDir: string
  /** Default: a free loopback port. */
  port?: number
  readyTimeoutMs?: number
  /** Started by `lite serve` for other commands to share: a second command is told its uri. */
  serving?: boolean
}

export interface LiteServer {
  uri: string
  port: number
  pid: number
  dataDir: string
  stop(): Promise<void>
}

/** Written beside the data directory so a later run can tell "in use" from "left behind". */
interface ServerRecord {
  serverPid: number
  ownerPid: number
  port: number
  startedAt: string
  /** A `lite serve` server, there to be shared by its uri. */
  serving?: boolean
}

export function serverRecordPath(dataDir: string): string {
  return `${path.resolve(dataDir)}.server.json`
}

/** Whether a plain listen on the loopback port succeeds (it fails while any other socket holds it). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** True only if pid is a milvus-lite server for this data directory (guards against pid reuse). */
function isLiteServerFor(pid: number, dataDir: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    return (
      cmdline.some((a) => a.includes('milvus-lite') || a.includes('milvus_lite')) &&
      cmdline.includes(path.resolve(dataDir))
    )
  } catch {
    return isAlive(pid) // no /proc (macOS): trust the record
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (!isAlive(pid)) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return !isAlive(pid)
}

async function terminate(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  if (await waitForExit(pid, 5000)) return
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    return
  }
  await waitForExit(pid, 5000)
}

/**
 * Before starting: another mvmigrate using this data directory means "in use" (Milvus Lite allows
 * one process per directory); a server whose owner died (killed runner) is ours to stop.
 */
async function handleExistingServer(dataDir: string): Promise<void> {
  const recordPath = serverRecordPath(dataDir)
  let record: ServerRecord
  try {
    record = JSON.parse(fs.readFileSync(recordPath, 'utf8'))
  } catch {
    return
  }
  const serverRunning = isLiteServerFor(record.serverPid, dataDir)
  if (serverRunning && record.ownerPid !== process.pid && isAlive(record.ownerPid)) {
    const uri = `http://127.0.0.1:${record.port}`
    throw new MvmError(
      'DATA_DIR_IN_USE',
      record.serving
        ? `The embedded Milvus data directory ${dataDir} is served by \`mvmigrate lite serve\` (pid ${record.ownerPid}, since ${record.startedAt}) on ${uri}`
        : `The embedded Milvus data directory ${dataDir} is in use by another mvmigrate (pid ${record.ownerPid}, since ${record.startedAt})`,
      {
        hint: record.serving
          ? `Use that server: pass --uri ${uri} (or set uri in the config).`
          : 'Wait for that command to finish. To run several at once, {{liteServe}}.',
        details: { ownerPid: record.ownerPid, serverPid: record.serverPid, port: record.port, uri },
      },
    )
  }
  if (serverRunning) await terminate(record.serverPid)
  fs.rmSync(recordPath, { force: true })
}

/** Starts Milvus Lite on loopback and waits until it accepts connections. */
export async function startLiteServer(opts: LiteServerOptions): Promise<LiteServer> {
  const dataDir = path.resolve(opts.dataDir)
  fs.mkdirSync(path.dirname(dataDir), { recursive: true })
  await handleExistingServer(dataDir)
  const port = opts.port ?? (await freePort())
  // Milvus Lite's gRPC server binds with SO_REUSEPORT: started on a port another server holds, it
  // shares it, and each connection reaches one of the two databases at random. So a given port is
  // proved free first.
  if (opts.port !== undefined && !(await portIsFree(port))) {
    throw new MvmError(
      'LITE_START_FAILED',
      `Port ${port} on 127.0.0.1 is already in use (another Milvus Lite, or another program)`,
      {
        hint: `Pick another port, or leave the port out for a free one; to use the server already there, connect to http://127.0.0.1:${port}.`,
      },
    )
  }
  const child: ChildProcess = spawn(
    opts.binary,
    ['server', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(port)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C in the terminal reaches mvmigrate only, which stops at a
      // checkpoint and then stops this server (it would otherwise die mid-copy with the rest of the group).
      detached: true,
    },
  )
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  let exited: number | null | undefined
  child.on('exit', (code) => {
    exited = code
  })
  const spawnError = new Promise<Error>((resolve) => child.on('error', resolve))
  // Recorded at once, not when ready: a runner killed while the server starts leaves a record the
  // next run reads (its owner gone: it stops the server), not a locked directory nobody explains.
  const record: ServerRecord = {
    serverPid: child.pid ?? 0,
    ownerPid: process.pid,
    port,
    startedAt: new Date().toISOString(),
    ...(opts.serving ? { serving: true } : {}),
  }
  if (child.pid) fs.writeFileSync(serverRecordPath(dataDir), JSON.stringify(record) + '\n')
  const dropOwnRecord = () => {
    try {
      const current: ServerRecord = JSON.parse(fs.readFileSync(serverRecordPath(dataDir), 'utf8'))
      if (current.serverPid === child.pid) fs.rmSync(serverRecordPath(dataDir), { force: true })
    } catch {
      /* no record */
    }
  }

  const stopSync = () => {
    if (exited === undefined && child.pid) {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {
        /* already gone */
      }
    }
  }
  // If this process ends without calling stop() (an uncaught error), take the server with it.
  process.once('exit', stopSync)

  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000
  const deadline = Date.now() + readyTimeoutMs
  let firstError: Error | undefined
  spawnError.then((e) => (firstError = e))
  while (!(await canConnect(port))) {
    if (firstError || exited !== undefined || Date.now() > deadline) {
      stopSync()
      process.removeListener('exit', stopSync)
      dropOwnRecord()
      if (/DataDirLockedError|holds the lock/.test(output)) {
        throw new MvmError(
          'DATA_DIR_IN_USE',
          `The embedded Milvus data directory ${dataDir} is locked by another process`,
          {
            hint: 'Another Milvus Lite is using it, perhaps one serving a migration right now: do not kill it. Wait for it to finish, or share one server: {{liteServe}}. A different {{dataDir}} is a different (empty) database.',
          },
        )
      }
      const why = firstError
        ? String(firstError)
        : exited !== undefined
          ? `it exited with code ${exited}`
          : `it was not ready within ${readyTimeoutMs / 1000} s`
      throw new MvmError(
        'LITE_START_FAILED',
        `Milvus Lite did not start (${why}). Its output:\n${output.trim().split('\n').slice(-12).join('\n')}`,
        {
          hint: 'To repair the install, {{liteInstall}}; or {{useServer}}.',
        },
      )
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    uri: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    dataDir,
    async stop() {
      process.removeListener('exit', stopSync)
      if (exited === undefined && child.pid) await terminate(child.pid)
      dropOwnRecord()
    },
  }
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port })
    sock.once('connect', () => {
      sock.destroy()
      resolve(true)
    })
    sock.once('error', () => resolve(false))
  })
}
