import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { afterAll, describe, expect, it } from 'vitest'
import { fileDatabases, lacks, milvusToken } from '../helpers/milvus'
import { cli, tempProject, writeMigration } from '../helpers/project'
import { record } from '../helpers/reliability'

/**
 * Promise 4: after a crash at any step of an alter (SIGKILL at a failpoint), `up` again converges:
 * the collection holds exactly the expected rows and values, the name resolves to it, nothing is
 * left behind unlisted, and the ledger has one row for the version.
 */
const clients: MilvusClient[] = []
const databases = fileDatabases()
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
  await databases.dropAll()
})

// On a server without nullable fields or a way to keep auto_id keys (Milvus 2.3), the same test runs
// with explicit keys and non-null values.
const CREATE = () => `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({ name: 'documents', enableDynamicField: true, partitions: ['archive'], fields: [
      { name: 'id', type: 'Int64', primaryKey: true, autoId: ${!lacks('keepAutoIdKeys')} },
      { name: 'vector', type: 'FloatVector', dim: 8 },
      { name: 'metadata', type: 'JSON', nullable: ${!lacks('nullable')} },
      { name: 'legacy_tag', type: 'VarChar', maxLength: 16, nullable: ${!lacks('nullable')} },
    ], indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }] })
    await ctx.createAlias('documents', 'documents_live')
  },
  async down(ctx) { await ctx.dropAlias('documents_live'); await ctx.dropCollection('documents') },
})
`
const ALTER = `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('documents', (t) => {
      t.addField({ name: 'page_num', type: 'VarChar', maxLength: 50, default: '' })
      t.dropField('legacy_tag')
      t.backfill('page_num', (row) => String((row.metadata as any)?.page ?? ''))
    }, { batchSize: 300 })
  },
  async down(ctx) { await ctx.revertAlter('documents') },
})
`

async function seeded() {
  const db = await databases.fresh('crash')
  clients.push(db.client)
  const dir = tempProject()
  writeMigration(dir, '20260301000001_create.ts', CREATE())
  writeMigration(dir, '20260301000002_page_num.ts', ALTER)
  const args = (...a: string[]) => ['--uri', db.uri, '--database', db.database, ...a]
  const first = await cli(dir, args('up', '--to', '20260301000001'))
  expect(first.code, first.stderr).toBe(0)
  const rows = (n: number, offset: number) =>
    Array.from({ length: n }, (_, j) => {
      const i = offset + j
      const noNulls = lacks('nullable')
      return {
        ...(lacks('keepAutoIdKeys') ? { id: String(i * 3 + 1) } : {}),
        vector: Array.from({ length: 8 }, (_, d) => Math.fround(Math.sin(i * 0.7 + d))),
        metadata: i % 4 ? { page: i % 11 } : noNulls ? {} : null,
        legacy_tag: i % 2 ? 'x' : noNulls ? '' : null,
        ...(i % 5 ? {} : { dyn: i }),
      }
    })
  await db.client.insert({ collection_name: 'documents', data: rows(1800, 0) })
  await db.client.insert({ collection_name: 'documents', data: rows(700, 1800), partition_name: 'archive' })
  const before = await readAll(db.client)
  expect(before.size).toBe(2500)
  return { ...db, dir, args, before }
}

async function readAll(client: MilvusClient, partition?: string) {
  const res = await client.query({
    collection_name: 'documents',
    filter: '',
    output_fields: ['*'],
    limit: 16384,
    consistency_level: 'Strong',
    ...(partition ? { partition_names: [partition] } : {}),
  } as never)
  return new Map((res.data as Record<string, unknown>[]).map((r) => [String(r.id), r]))
}

async function expectConverged(s: Awaited<ReturnType<typeof seeded>>) {
  const after = await readAll(s.client)
  const lost = [...s.before.keys()].filter((id) => !after.has(id)).length
  record({
    faultsInjected: 1,
    recovered: after.size === s.before.size && lost === 0 ? 1 : 0,
    rowsChecked: s.before.size,
    rowsLost: lost,
  })
  expect(lost).toBe(0)
  expect(after.size).toBe(s.before.size)
  for (const [id, old] of s.before) {
    const now = after.get(id)!
    expect(now, id).toBeDefined()
    expect(now.vector).toEqual(old.vector)
    expect(now.metadata).toEqual(old.metadata)
    expect(now.$meta).toEqual(old.$meta)
    expect(now.legacy_tag).toBeUndefined()
    expect(now.page_num).toBe(String((old.metadata as { page?: number } | null)?.page ?? ''))
  }
  expect((await readAll(s.client, 'archive')).size).toBe(700)
  const alias = await s.client.describeCollection({ collection_name: 'documents_live' })
  expect(alias.schema.fields.map((f) => f.name)).toContain('page_num')
  const st = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
  expect(st.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'applied'])
  expect(st.interrupted).toEqual([])
  expect(st.backups).toMatchObject([
    {
      collection: 'documents__mvm_bak_20260301000002',
      kind: 'backup',
      version: '20260301000002',
      of: 'documents',
      rows: 2500,
    },
  ])
  expect(st.lock).toBeNull()
  const ledger = await s.client.query({
    collection_name: '_migrations',
    filter: 'version == "20260301000002"',
    output_fields: ['version'],
    consistency_level: 'Strong',
  } as never)
  expect(ledger.data).toHaveLength(1)
  return st
}

describe('crash at every step of an alter, then up again', () => {
  const points: [string, RegExp][] = [
    [
      'alter:after-create',
      /Interrupted alter of documents \(migration 20260301000002, copying\): up drops the partial copy/,
    ],
    ['alter:after-page=1', /copying/],
    ['alter:after-page=4', /copying/],
    ['alter:after-page=9', /copying/],
    ['alter:after-copy', /copying/],
    ['alter:after-verify', /copying/],
    [
      'alter:between-renames',
      /Interrupted alter of documents \(migration 20260301000002, swapping\): up finishes the swap/,
    ],
    ['alter:after-swap', /swapping/],
    ['migrator:before-ledger-write', /20260301000002\s+page_num\s+pending/],
  ]
  for (const [point, statusSays] of points) {
    it(`${point}: status says what happened, up finishes, nothing lost`, async () => {
      const s = await seeded()
      const crashed = await cli(s.dir, s.args('up'), { env: { MVMIGRATE_FAILPOINTS: point } })
      expect(crashed.code, crashed.stderr).toBe(-1) // killed by SIGKILL
      expect(crashed.stderr).toContain(`failpoint ${point.split('=')[0]}`)
      const st = await cli(s.dir, s.args('status'))
      expect(st.code).toBe(0)
      expect(st.stdout).toMatch(statusSays)
      expect(st.stdout).toMatch(/Locked by mvmigrate up/) // the killed runner's lock, taken over by the next up on this host
      const again = await cli(s.dir, s.args('up'))
      expect(again.code, again.stderr).toBe(0)
      await expectConverged(s)
    })
  }

  it('revert:between-renames: a crash in the middle of down, then down again, restores the original', async () => {
    const s = await seeded()
    expect((await cli(s.dir, s.args('up'))).code).toBe(0)
    const crashed = await cli(s.dir, s.args('down'), { env: { MVMIGRATE_FAILPOINTS: 'revert:between-renames' } })
    expect(crashed.code).toBe(-1)
    const again = await cli(s.dir, s.args('down'))
    expect(again.code, again.stderr).toBe(0)
    const rows = await readAll(s.client)
    const lost = [...s.before.keys()].filter((id) => !rows.has(id)).length
    record({
      faultsInjected: 1,
      recovered: lost === 0 && rows.size === 2500 ? 1 : 0,
      rowsChecked: 2500,
      rowsLost: lost,
    })
    expect(rows.size).toBe(2500)
    for (const [id, old] of s.before) expect(rows.get(id)).toEqual(old)
    const alias = await s.client.describeCollection({ collection_name: 'documents_live' })
    expect(alias.schema.fields.map((f) => f.name)).toContain('legacy_tag')
  })
})

describe('a copy that resumes', () => {
  const RESUME_ALTER = `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('big', (t) => {
      t.addField({ name: 'lang', type: 'VarChar', maxLength: 8, default: 'en' })
      t.alterField('title', { maxLength: 100 })
    }, { batchSize: 500 })
  },
})
`
  async function bigCollection() {
    const db = await databases.fresh('resume')
    clients.push(db.client)
    const dir = tempProject()
    writeMigration(
      dir,
      '20260301000011_create_big.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) {
  await ctx.createCollection({ name: 'big', fields: [
    { name: 'id', type: 'Int64', primaryKey: true },
    { name: 'vector', type: 'FloatVector', dim: 4 },
    { name: 'title', type: 'VarChar', maxLength: 40 },
  ], indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }] })
} })
`,
    )
    const args = (...a: string[]) => ['--uri', db.uri, '--database', db.database, ...a]
    expect((await cli(dir, args('up'))).code).toBe(0)
    for (let b = 0; b < 20000; b += 5000) {
      const data = Array.from({ length: 5000 }, (_, j) => {
        const i = b + j
        return { id: String(i * 3 + 1), vector: [i % 7, 1, Math.fround(i / 3), 0], title: `title ${i}` }
      })
      await db.client.insert({ collection_name: 'big', data } as never)
    }
    writeMigration(dir, '20260301000012_grow.ts', RESUME_ALTER)
    return { ...db, dir, args }
  }

  async function rows(client: MilvusClient) {
    const out = new Map<string, Record<string, unknown>>()
    for (let lower = -1; ;) {
      const res = await client.query({
        collection_name: 'big',
        filter: `id > ${lower}`,
        output_fields: ['*'],
        limit: 16384,
        consistency_level: 'Strong',
      } as never)
      const page = res.data as Record<string, unknown>[]
      for (const r of page) out.set(String(r.id), r)
      if (page.length < 16384) return out
      lower = Math.max(...page.map((r) => Number(r.id)))
    }
  }

  type Project = Awaited<ReturnType<typeof bigCollection>>

  /** Kills `command` after 18,000 of the 20,000 rows are copied; status says how far it got and who continues. */
  async function killAfter90(s: Project, command: 'up' | 'down') {
    const crashed = await cli(s.dir, s.args(command), {
      env: { MVMIGRATE_FAILPOINTS: 'alter:after-page=36' },
      timeoutMs: 300_000,
    })
    expect(crashed.code, crashed.stderr).toBe(-1)
    const st = await cli(s.dir, s.args('status'))
    expect(st.stdout).toContain(
      `Interrupted alter of big (migration 20260301000012, copying): copy 18,000/20,000 rows done; ${command} will continue`,
    )
  }

  /** Runs `command` again: it continues the copy. Returns the rows it copied and those copied before. */
  async function continueAfter90(s: Project, command: 'up' | 'down') {
    const again = await cli(s.dir, s.args(command), { timeoutMs: 300_000 })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain('continuing the interrupted copy of big after 18000 of 20000 rows')
    const copied = /alter big: (\d+) rows copied \(and (\d+) by the interrupted run before\)/.exec(again.stderr)
    expect(copied, again.stderr).not.toBeNull()
    // at most one window (a checkpoint every 2%: 400 rows) plus 10% of the rows again
    expect(Number(copied![1])).toBeLessThanOrEqual(400 + 2000)
    return { now: Number(copied![1]), before: Number(copied![2]) }
  }

  /** Rows of big missing or not as bigCollection wrote them (with the alter's lang 'en' when `lang`), recorded. */
  function lostRows(now: Map<string, Record<string, unknown>>, lang: boolean): number {
    let lost = 0
    for (let i = 0; i < 20000; i++) {
      const r = now.get(String(i * 3 + 1))
      if (
        !r ||
        r.title !== `title ${i}` ||
        (lang && r.lang !== 'en') ||
        JSON.stringify(r.vector) !== JSON.stringify([i % 7, 1, Math.fround(i / 3), 0])
      )
        lost++
    }
    record({ faultsInjected: 1, recovered: lost ? 0 : 1, rowsChecked: 20000, rowsLost: lost })
    return lost
  }

  it('killed after 90% of 20,000 rows: status says how far it got, up copies only the rest, and every row is there', async () => {
    const s = await bigCollection()
    await killAfter90(s, 'up')
    const json = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(json.interrupted[0]).toMatchObject({ running: false, phase: 'copy', rowsDone: 18000, totalRows: 20000 })
    const copied = await continueAfter90(s, 'up')
    expect(copied.now + copied.before).toBe(20000)
    const now = await rows(s.client)
    expect(now.size).toBe(20000)
    expect(lostRows(now, true)).toBe(0)
    expect(
      ((await s.client.listCollections()).data ?? []).map((c) => c.name).filter((n) => n.includes('__mvm_tmp_')),
    ).toEqual([])
  })

  it('killed after 90% of a down() that alters back: status says down will continue, down copies only the rest', async () => {
    const s = await bigCollection()
    writeMigration(
      s.dir,
      '20260301000012_grow.ts',
      RESUME_ALTER.replace(
        '  },\n})',
        `  },
  async down(ctx) {
    await ctx.alter('big', (t) => {
      t.dropField('lang')
      t.alterField('title', { maxLength: 40 })
    }, { batchSize: 500 })
  },
})`,
      ),
    )
    const up = await cli(s.dir, s.args('up'), { timeoutMs: 300_000 })
    expect(up.code, up.stderr).toBe(0)
    await killAfter90(s, 'down')
    await continueAfter90(s, 'down')
    const described = await s.client.describeCollection({ collection_name: 'big' })
    expect(described.schema.fields.map((f) => f.name).sort()).toEqual(['id', 'title', 'vector'])
    const now = await rows(s.client)
    expect(lostRows(now, false)).toBe(0)
    expect(now.size).toBe(20000)
    // The migration is pending again, and up alters again (not "already done").
    const reUp = await cli(s.dir, s.args('up'), { timeoutMs: 300_000 })
    expect(reUp.code, reUp.stderr).toBe(0)
    expect(reUp.stderr).toMatch(/alter big: 20000 rows copied in/)
  })

  it('online: the source changed while it was down: the rerun continues after the checkpoint, and its catch-up pass finds the change', async () => {
    const s = await bigCollection()
    const crashed = await cli(s.dir, s.args('up'), {
      env: { MVMIGRATE_FAILPOINTS: 'alter:after-page=20' },
      timeoutMs: 300_000,
    })
    expect(crashed.code).toBe(-1)
    await s.client.delete({ collection_name: 'big', filter: 'id in [16]' } as never) // row 5: in the copied range
    const again = await cli(s.dir, s.args('up'), { timeoutMs: 300_000 })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain('continuing the interrupted copy of big after 10000 of 19999 rows')
    // The rows copied before the crash are compared row by row with the source (not copied again):
    // one deleted row is found, nothing re-copied (so little that no second pass is needed).
    expect(again.stderr).toMatch(/alter big: 10000 rows copied \(and 10000 by the interrupted run before\)/)
    expect(again.stderr).toContain('online: 1 catch-up pass(es) re-copied 0 rows (1 windows) and deleted 1')
    const now = await rows(s.client)
    expect(now.size).toBe(19999)
    expect(now.has('16')).toBe(false)
    record({ faultsInjected: 1, recovered: now.size === 19999 ? 1 : 0, rowsChecked: 19999, rowsLost: 19999 - now.size })
  })

  it('offline: the source changed while it was down: the rerun notices and copies again from the start, saying why', async () => {
    const s = await bigCollection()
    const crashed = await cli(s.dir, s.args('up', '--offline'), {
      env: { MVMIGRATE_FAILPOINTS: 'alter:after-page=20' },
      timeoutMs: 300_000,
    })
    expect(crashed.code).toBe(-1)
    await s.client.delete({ collection_name: 'big', filter: 'id in [16]' } as never) // row 5: in the copied range
    const again = await cli(s.dir, s.args('up', '--offline'), { timeoutMs: 300_000 })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain(
      'cannot continue the interrupted copy of big: the source changed where it was already copied (10000 rows then, 9999 now); copying again from the start',
    )
    expect(again.stderr).toMatch(/alter big: 19999 rows copied in/)
    const now = await rows(s.client)
    expect(now.size).toBe(19999)
    expect(now.has('16')).toBe(false)
    record({ faultsInjected: 1, recovered: now.size === 19999 ? 1 : 0, rowsChecked: 19999, rowsLost: 19999 - now.size })
  })

  it('a long alter can be watched: status from another process shows its phase, rows, rate and ETA', async () => {
    const s = await bigCollection()
    writeMigration(s.dir, '20260301000012_grow.ts', RESUME_ALTER.replace('batchSize: 500', 'batchSize: 50'))
    const { spawn } = await import('node:child_process')
    const { BIN } = await import('../helpers/project')
    const runner = spawn(process.execPath, [BIN, ...s.args('up')], {
      cwd: s.dir,
      env: {
        ...process.env,
        NO_COLOR: '1',
        // 400 pages of 50 rows, each followed by 25 ms: the copy runs at least 10 s on any server
        // (the 2.3 standalone copies 20,000 rows in 5 s, less than two status calls there).
        MVMIGRATE_FAILPOINTS: 'alter:after-page=sleep:25',
        ...(milvusToken() ? { MILVUS_TOKEN: milvusToken() } : {}),
      },
    })
    let exited = false
    const finished = new Promise<number>((resolve) =>
      runner.on('close', (code) => {
        exited = true
        resolve(code ?? -1)
      }),
    )
    let seen: { stdout: string; json: Record<string, unknown> } | undefined
    // Polling stops when the alter ends.
    for (let i = 0; i < 120 && !seen && !exited; i++) {
      await new Promise((r) => setTimeout(r, 500))
      const st = await cli(s.dir, s.args('status', '--json'))
      const running = JSON.parse(st.stdout).interrupted?.find(
        (x: { running: boolean; rowsDone?: number }) => x.running && (x.rowsDone ?? 0) > 0,
      )
      if (!running) continue
      // The alter may finish between the two reads: keep polling until both saw it running.
      const text = await cli(s.dir, s.args('status'))
      if (text.stdout.includes('Running alter of big')) seen = { stdout: text.stdout, json: running }
    }
    expect(await finished).toBe(0)
    expect(seen, 'status never saw the alter running').toBeDefined()
    expect(seen!.json).toMatchObject({ name: 'big', running: true, phase: 'copy', totalRows: 20000 })
    expect(seen!.json.rowsPerSecond).toBeGreaterThan(0)
    expect(seen!.stdout).toMatch(
      /Running alter of big \(migration 20260301000012\): (copy|verify) [\d,]+\/20,000 rows \(\d+%\), [\d,]+ rows\/s, ETA \d+s; running: mvmigrate up on /,
    )
  })
})
