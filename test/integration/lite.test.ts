import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { MvmError } from '../../src/errors'
import { ensureLiteInstalled } from '../../src/lite/install'
import { serverRecordPath, startLiteServer } from '../../src/lite/server'
import { connectMilvus } from '../../src/milvus/connect'
import { BIN, cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-lite-'))

describe('embedded Milvus Lite', () => {
  it('starts on a free loopback port, serves the Node SDK, keeps data across restarts, and stops', async () => {
    const dataDir = path.join(tmp(), 'milvus')
    const server = await startLiteServer({ binary: inject('liteBinary'), dataDir })
    expect(server.uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const client = await connectMilvus({ uri: server.uri })
    await client.createCollection({
      collection_name: 'kept',
      fields: [
        { name: 'id', data_type: 5, is_primary_key: true },
        { name: 'v', data_type: 101, dim: 2 },
      ],
    })
    await client.insert({ collection_name: 'kept', data: [{ id: '9223372036854775807', v: [1, 2] }] })
    await client.closeConnection()
    await server.stop()
    expect(alive(server.pid)).toBe(false)
    expect(fs.existsSync(serverRecordPath(dataDir))).toBe(false)

    const again = await startLiteServer({ binary: inject('liteBinary'), dataDir })
    const c2 = await connectMilvus({ uri: again.uri })
    await c2.createIndex({ collection_name: 'kept', field_name: 'v', index_type: 'FLAT', metric_type: 'L2' })
    await c2.loadCollection({ collection_name: 'kept' })
    const rows = await c2.query({
      collection_name: 'kept',
      filter: 'id > 0',
      output_fields: ['id'],
      consistency_level: 'Strong' as never,
    })
    expect(rows.data.map((r) => r.id)).toEqual(['9223372036854775807'])
    await c2.closeConnection()
    await again.stop()
  })

  it('the embedded server is stopped even when the command fails', async () => {
    const dir = tempProject()
    writeMigration(dir, '20260101000001_throws.ts', 'export default { async up() { throw new Error("no") } }\n')
    const r = await cli(dir, ['up'])
    expect(r.code).toBe(1)
    expect(fs.existsSync(path.join(dir, '.mvmigrate', 'milvus.server.json'))).toBe(false)
    const ps = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8')
        } catch {
          return ''
        }
      })
    expect(ps.filter((c) => c.includes(path.join(dir, '.mvmigrate', 'milvus')))).toEqual([])
  })

  it('a server left behind by a killed mvmigrate is stopped by the next command, which then works', async () => {
    const dir = tempProject()
    writeMigration(
      dir,
      '20260101000001_slow.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await new Promise((r) => setTimeout(r, 60000)) } })
`,
    )
    writeMigration(dir, '20260101000000_docs.ts', createCollectionMigration('docs'))
    const child = spawn(process.execPath, [BIN, 'up', '--step', '2'], { cwd: dir, stdio: 'ignore' })
    const record = path.join(dir, '.mvmigrate', 'milvus.server.json')
    const t0 = Date.now()
    while (!fs.existsSync(record) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100))
    await new Promise((r) => setTimeout(r, 5000)) // let the server start and the first migration run
    const { serverPid } = JSON.parse(fs.readFileSync(record, 'utf8'))
    child.kill('SIGKILL')
    await new Promise((r) => child.on('exit', r))
    expect(alive(serverPid)).toBe(true) // orphaned

    const st = await cli(dir, ['status'])
    expect(st.code, st.stderr).toBe(0)
    expect(alive(serverPid)).toBe(false)
    expect(st.stdout).toMatch(/20260101000000\s+docs\s+applied/)
    expect(st.stdout).toMatch(/20260101000001\s+slow\s+pending/)
    expect(st.stdout).toMatch(/Locked by mvmigrate up on .* \(pid \d+\)/) // the killed runner's lock is stale
    const unlock = await cli(dir, ['unlock'])
    expect(unlock.stdout).toContain('Released the lock held by mvmigrate up')
  })

  it('a runner killed while its server was still starting: the next command stops that server and works (no "locked by another process")', async () => {
    const dir = tempProject()
    writeMigration(dir, '20260101000000_docs.ts', createCollectionMigration('docs'))
    const child = spawn(process.execPath, [BIN, 'status'], { cwd: dir, stdio: 'ignore' })
    const record = path.join(dir, '.mvmigrate', 'milvus.server.json')
    const t0 = Date.now()
    while (!fs.existsSync(record) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20))
    const { serverPid } = JSON.parse(fs.readFileSync(record, 'utf8'))
    child.kill('SIGKILL')
    await new Promise((r) => child.on('exit', r))
    expect(alive(serverPid)).toBe(true) // orphaned, perhaps not yet serving
    const st = await cli(dir, ['status'])
    expect(st.code, st.stderr).toBe(0)
    expect(alive(serverPid)).toBe(false)
    expect(st.stdout).toMatch(/20260101000000\s+docs\s+pending/)
  })

  it('no usable Python, or a failing install, is a clear error that says what to install', async () => {
    const venvDir = path.join(tmp(), 'venv')
    const e1 = await ensureLiteInstalled({ venvDir, python: '/nonexistent/python3' }).catch((e) => e)
    expect(e1).toBeInstanceOf(MvmError)
    expect((e1 as MvmError).code).toBe('PYTHON_MISSING')
    expect((e1 as MvmError).message).toContain('Python 3.10 or newer')
    expect((e1 as MvmError).hint).toContain('apt-get install python3')

    // A Python that reports 3.11 but cannot create a venv (like Debian without python3-venv).
    const fake = path.join(tmp(), 'python3')
    fs.writeFileSync(
      fake,
      '#!/bin/sh\nif [ "$1" = "-c" ]; then echo 3.11; exit 0; fi\necho "ensurepip is not available" >&2\nexit 1\n',
      { mode: 0o755 },
    )
    const e2 = await ensureLiteInstalled({ venvDir, python: fake }).catch((e) => e)
    expect((e2 as MvmError).code).toBe('LITE_INSTALL_FAILED')
    expect((e2 as MvmError).message).toContain('ensurepip is not available')
    expect(fs.existsSync(`${venvDir}.installing`)).toBe(false) // the install lock is released
  })
})
