import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { type LiteServer, freePort, startLiteServer } from '../../src/lite/server'
import { connectMilvus } from '../../src/milvus/connect'
import { BIN, cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'
import { record } from '../helpers/reliability'

/**
 * The server dies (SIGKILL) in the middle of a copy: the running command fails within a bounded
 * time with a clear message, and after the server is back on the same data directory the next `up`
 * completes with nothing lost.
 */
describe('server faults', () => {
  it('Milvus Lite killed mid-copy, then restarted: bounded failure, then up completes with every row', async () => {
    const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-fault-')), 'milvus')
    const port = await freePort()
    let server: LiteServer = await startLiteServer({ binary: inject('liteBinary'), dataDir, port })
    const uri = server.uri
    try {
      const dir = tempProject()
      writeMigration(dir, '20260101000001_docs.ts', createCollectionMigration('docs'))
      expect((await cli(dir, ['--uri', uri, 'up'])).code).toBe(0)
      const client = await connectMilvus({ uri })
      for (let b = 0; b < 6000; b += 1000) {
        await client.insert({
          collection_name: 'docs',
          data: Array.from({ length: 1000 }, (_, j) => ({
            id: String(b + j + 1),
            vector: [b + j, 1, 2, 3],
            title: `t${b + j}`,
          })),
        })
      }
      await client.flush({ collection_names: ['docs'] })
      await client.closeConnection()
      writeMigration(
        dir,
        '20260101000002_grow.ts',
        `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) {
  await ctx.alter('docs', (t) => t.addField({ name: 'n', type: 'Int32', default: 1 }).mapRows(async (r) => { await new Promise((res) => setTimeout(res, 2)); return r }), { batchSize: 100 })
} })
`,
      )
      // Start the alter, and kill the server once the copy is under way.
      const child = spawn(process.execPath, [BIN, '--uri', uri, 'up'], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: '1' },
      })
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
      const t0 = Date.now()
      while (!/docs: copy 0\/6000/.test(stderr) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50))
      await new Promise((r) => setTimeout(r, 1500))
      process.kill(server.pid, 'SIGKILL')
      const killedAt = Date.now()
      const code = await exited
      const failedWithinMs = Date.now() - killedAt
      expect(code, stderr).not.toBe(0)
      expect([1, 6]).toContain(code)
      expect(stderr).toMatch(/did not answer|Could not reach/)
      expect(failedWithinMs).toBeLessThan(60_000)

      server = await startLiteServer({ binary: inject('liteBinary'), dataDir, port })
      const st = await cli(dir, ['--uri', uri, 'status'])
      expect(st.stdout).toMatch(/Interrupted alter of docs .*copying/)
      const again = await cli(dir, ['--uri', uri, 'up'])
      expect(again.code, again.stderr).toBe(0)
      const c2 = await connectMilvus({ uri })
      // Milvus Lite starts with every indexed collection released; load to read.
      await c2.loadCollection({ collection_name: 'docs' })
      const rows = await c2.query({
        collection_name: 'docs',
        filter: 'id > 0',
        output_fields: ['id', 'title', 'n'],
        limit: 16384,
        consistency_level: 'Strong',
      } as never)
      expect(rows.data).toHaveLength(6000)
      const byId = new Map(rows.data.map((r) => [String(r.id), r]))
      let lost = 0
      for (let i = 0; i < 6000; i++) {
        const r = byId.get(String(i + 1))
        if (!r || r.title !== `t${i}` || r.n !== 1) lost++
      }
      expect(lost).toBe(0)
      const leftovers = (await c2.listCollections()).data.map((x) => x.name).filter((n) => n.includes('__mvm_tmp_'))
      expect(leftovers).toEqual([])
      await c2.closeConnection()
      record({ faultsInjected: 1, recovered: 1, rowsChecked: 6000, rowsLost: lost })
      console.log(
        `server killed mid-copy: the command failed ${failedWithinMs} ms later with:\n${stderr
          .split('\n')
          .filter((l) => /^(error|hint|warning)/.test(l))
          .join('\n')}`,
      )
    } finally {
      await server.stop()
    }
  })
})
