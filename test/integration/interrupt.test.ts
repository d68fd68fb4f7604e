import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freshDatabase, milvusToken } from '../helpers/milvus'
import { BIN, cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'

/**
 * Ctrl-C (SIGINT) or SIGTERM during `up`: the run stops where the next run picks up (an alter's
 * copy after its current page, with a checkpoint; a migration before its next ctx call), says what
 * it stopped and what `up` does next, releases the lock and exits 130 / 143. A runner killed
 * outright leaves its lock: `status` says its process is gone.
 */
const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

const V1 = '20260401000001'
const V2 = '20260401000002'
const ROWS = 5000

const ALTER = `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => t.addField({ name: 'lang', type: 'VarChar', maxLength: 8, default: 'en' }), { batchSize: 100 })
  },
  async down(ctx) { await ctx.revertAlter('docs') },
})
`

/** A project whose docs collection (made by V1) holds `rows` rows. */
async function seeded(prefix: string, rows = ROWS) {
  const db = await freshDatabase(prefix)
  clients.push(db.client)
  const dir = tempProject()
  const args = (...a: string[]) => ['--uri', db.uri, '--database', db.database, ...a]
  writeMigration(dir, `${V1}_docs.ts`, createCollectionMigration('docs'))
  expect((await cli(dir, args('up'))).code).toBe(0)
  for (let b = 0; b < rows; b += 1000)
    await db.client.insert({
      collection_name: 'docs',
      data: Array.from({ length: Math.min(1000, rows - b) }, (_, i) => ({
        id: String(b + i + 1),
        vector: [i, 1, 2, 3],
        title: `t${b + i}`,
      })),
    })
  return { ...db, dir, args }
}

/** Starts `mvmigrate up` as a user would, with failpoints; collects its output. */
function startUp(dir: string, args: string[], failpoints: string) {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: {
      ...process.env,
      NO_COLOR: '1',
      MVMIGRATE_FAILPOINTS: failpoints,
      ...(milvusToken() ? { MILVUS_TOKEN: milvusToken() } : {}),
    },
  })
  const out = { stdout: '', stderr: '' }
  child.stdout!.on('data', (d) => (out.stdout += d))
  child.stderr!.on('data', (d) => (out.stderr += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, at: Date.now() })),
  )
  return { child, out, exited }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function allRows(client: MilvusClient): Promise<{ id: string; title: string; lang: string; summary: string }[]> {
  const res = await client.query({
    collection_name: 'docs',
    filter: 'id > 0',
    output_fields: ['*'],
    limit: 16384,
    consistency_level: 'Strong',
  } as never)
  return res.data as { id: string; title: string; lang: string; summary: string }[]
}

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => /^(error|hint):/.test(l))

describe('Ctrl-C and SIGTERM during up and down', () => {
  it('SIGINT during an alter copy: stops after a checkpointed page, says what up does next, releases the lock, exits 130; up then finishes with every row', async () => {
    const s = await seeded('sigint')
    writeMigration(s.dir, `${V2}_lang.ts`, ALTER)
    // 50 pages of 100 rows, each followed by 100 ms: the copy runs at least 5 s.
    const run = startUp(s.dir, s.args('up'), 'alter:after-page=sleep:100')
    await until('the copy to start', () => /docs: copy 0\/5000 rows/.test(run.out.stderr))
    await new Promise((r) => setTimeout(r, 1500))
    const sentAt = Date.now()
    run.child.kill('SIGINT')
    const exit = await run.exited
    const stopMs = exit.at - sentAt
    expect(exit.code, run.out.stderr).toBe(130)
    // Stopping takes the page in flight, a checkpoint and the lock's release: well under the copy's 5 s.
    expect(stopMs).toBeLessThan(4000)
    expect(run.out.stderr).toContain(
      "SIGINT received: stopping at the next safe point (an alter's copy stops at the last page it wrote, with a checkpoint), then releasing the migration lock. Press Ctrl-C again to stop at once, leaving the lock for the next run on this machine to take over.",
    )
    const lines = errorLines(run.out.stderr)
    expect(lines).toHaveLength(2)
    const stopped =
      /^error: Interrupted \(SIGINT\): migrations\/20260401000002_lang\.ts: the alter of 'docs' stopped copying at ([\d,]+) of 5,000 rows, after a checkpoint$/.exec(
        lines[0],
      )
    expect(stopped, lines[0]).not.toBeNull()
    const copied = Number(stopped![1].replace(/,/g, ''))
    expect(copied).toBeGreaterThan(0)
    expect(copied).toBeLessThan(ROWS)
    expect(copied % 100).toBe(0) // whole pages
    expect(lines[1]).toBe(
      `hint: The migration lock is released. To go on, run \`mvmigrate up\`: it runs ${V2}_lang again and its alter of 'docs' continues the copy from the checkpoint (the ${copied.toLocaleString('en-US')} rows copied are kept). It is recorded as failed until then.`,
    )

    const st = await cli(s.dir, s.args('status', '--json'))
    const report = JSON.parse(st.stdout)
    expect(report.lock).toBeNull()
    expect(report.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'failed'])
    expect(report.interrupted).toMatchObject([{ name: 'docs', state: 'copying', running: false }])

    const again = await cli(s.dir, s.args('up'))
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain(`continuing the interrupted copy of docs after ${copied} of 5000 rows`)
    const rows = await allRows(s.client)
    expect(rows).toHaveLength(ROWS)
    expect(new Set(rows.map((r) => String(r.id))).size).toBe(ROWS)
    for (const r of rows) {
      expect(r.lang).toBe('en')
      expect(r.title).toBe(`t${Number(r.id) - 1}`)
    }
    expect((await cli(s.dir, s.args('status', '--check'))).code).toBe(0)
  }, 180_000)

  it('a second SIGINT stops at once: it says the lock stays, prints no warning from the closing connections, and up takes the lock over and finishes', async () => {
    const s = await seeded('twice')
    writeMigration(s.dir, `${V2}_lang.ts`, ALTER)
    const run = startUp(s.dir, s.args('up'), 'alter:after-page=sleep:100')
    await until('the copy to start', () => /docs: copy 0\/5000 rows/.test(run.out.stderr))
    await new Promise((r) => setTimeout(r, 1000))
    run.child.kill('SIGINT')
    // (As a user presses it again while the first stop is under way.)
    await new Promise((r) => setTimeout(r, 50))
    run.child.kill('SIGINT')
    const exit = await run.exited
    // Either the second signal came while the first stop was under way (it says so and exits 130 at
    // once), or the first stop had already finished and the process was ending (a shell reports a
    // process ended by SIGINT as 130 too).
    expect(exit.code === 130 || exit.signal === 'SIGINT', `${exit.code} ${exit.signal}\n${run.out.stderr}`).toBe(true)
    if (run.out.stderr.includes('SIGINT again'))
      expect(run.out.stderr).toContain(
        'SIGINT again: stopping now. The lock stays until the next run on this machine takes it over (or run `mvmigrate unlock`).',
      )
    expect(run.out.stderr).not.toMatch(/could not release the migration lock|pool is draining/)
    const again = await cli(s.dir, s.args('up'))
    expect(again.code, again.stderr).toBe(0)
    expect(await allRows(s.client)).toHaveLength(ROWS)
  }, 180_000)

  it('SIGINT during a catch-up pass (after the copy): stops after a page, keeps the copy, exits 130; up continues from the finished copy', async () => {
    const s = await seeded('catchup')
    writeMigration(s.dir, `${V2}_lang.ts`, ALTER)
    // The copy is quick; each page of the catch-up pass after it is followed by 200 ms.
    const run = startUp(s.dir, s.args('up'), 'alter:catch-up-page=sleep:200')
    await until('the catch-up pass to start', () => /docs: catch-up: pass 1/.test(run.out.stderr))
    await new Promise((r) => setTimeout(r, 500))
    run.child.kill('SIGINT')
    const exit = await run.exited
    expect(exit.code, run.out.stderr).toBe(130)
    expect(errorLines(run.out.stderr)).toEqual([
      `error: Interrupted (SIGINT): migrations/${V2}_lang.ts: the alter of 'docs' stopped catching up with writes, after copying all 5,000 rows`,
      `hint: The migration lock is released. To go on, run \`mvmigrate up\`: it runs ${V2}_lang again and its alter of 'docs' continues from its finished copy (catch-up, verify, swap). It is recorded as failed until then.`,
    ])
    expect(JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout).lock).toBeNull()
    const again = await cli(s.dir, s.args('up'))
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain('continuing the interrupted copy of docs after 5000 of 5000 rows')
    const rows = await allRows(s.client)
    expect(rows).toHaveLength(ROWS)
    for (const r of rows) expect(r.lang).toBe('en')
  }, 180_000)

  it('SIGINT during a down() that alters back: stops after a checkpointed page, exits 130, stays applied; down again finishes', async () => {
    const s = await seeded('down')
    writeMigration(
      s.dir,
      `${V2}_lang.ts`,
      ALTER.replace(
        "async down(ctx) { await ctx.revertAlter('docs') },",
        "async down(ctx) { await ctx.alter('docs', (t) => t.dropField('lang'), { batchSize: 100 }) },",
      ),
    )
    expect((await cli(s.dir, s.args('up'))).code).toBe(0)
    const run = startUp(s.dir, s.args('down'), 'alter:after-page=sleep:100')
    await until('the copy to start', () => /docs: copy 0\/5000 rows/.test(run.out.stderr))
    await new Promise((r) => setTimeout(r, 1000))
    run.child.kill('SIGINT')
    const exit = await run.exited
    expect(exit.code, run.out.stderr).toBe(130)
    const lines = errorLines(run.out.stderr)
    expect(lines[0]).toMatch(
      /^error: Interrupted \(SIGINT\): the alter of 'docs' stopped copying at [\d,]+ of 5,000 rows, after a checkpoint \(rolling back migrations\/20260401000002_lang\.ts\)$/,
    )
    expect(lines[1]).toBe(
      'hint: The migration lock is released. It stays recorded as applied. To go on, run `mvmigrate down` again: an alter back that was copying continues from its checkpoint.',
    )
    const report = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(report.lock).toBeNull()
    expect(report.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'applied'])
    const again = await cli(s.dir, s.args('down'))
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toMatch(/continuing the interrupted copy of docs after \d+ of 5000 rows/)
    const described = await s.client.describeCollection({ collection_name: 'docs' })
    expect(described.schema.fields.map((f) => f.name).sort()).toEqual(['id', 'title', 'vector'])
    expect(await allRows(s.client).then((r) => r.length)).toBe(ROWS)
  }, 180_000)

  it('SIGTERM while a migration runs its own code: it stops before its next ctx call, records nothing, releases the lock, exits 143', async () => {
    const s = await seeded('sigterm')
    writeMigration(
      s.dir,
      `${V2}_slow.ts`,
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    console.error('embedding the titles...')
    await new Promise((r) => setTimeout(r, 3000)) // an embedding service, say
    await ctx.createCollection({ name: 'tags', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }] })
  },
})
`,
    )
    const run = startUp(s.dir, s.args('up'), '')
    await until('the migration to start', () => run.out.stderr.includes('embedding the titles...'))
    run.child.kill('SIGTERM')
    const exit = await run.exited
    expect(exit.code, run.out.stderr).toBe(143)
    expect(run.out.stderr).toContain(
      "SIGTERM received: stopping at the next safe point (an alter's copy stops at the last page it wrote, with a checkpoint), then releasing the migration lock. Send it again to stop at once, leaving the lock for the next run on this machine to take over.",
    )
    expect(errorLines(run.out.stderr)).toEqual([
      `error: Interrupted (SIGTERM) during migrations/${V2}_slow.ts, before it changed anything: 1 migration(s) of this batch not run`,
      `hint: The migration lock is released. Nothing is recorded for ${V2}_slow. To run the 1 left, from ${V2}_slow, run \`mvmigrate up\`.`,
    ])
    const report = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(report.lock).toBeNull()
    expect(report.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'pending'])
    expect((await s.client.hasCollection({ collection_name: 'tags' })).value).toBe(false)
    const again = await cli(s.dir, s.args('up'))
    expect(again.code, again.stderr).toBe(0)
    expect((await s.client.hasCollection({ collection_name: 'tags' })).value).toBe(true)
  }, 180_000)

  it('Ctrl-C in a terminal with the embedded Milvus Lite: the whole process group gets SIGINT, the server keeps serving until the copy stopped at a checkpoint; up then finishes', async () => {
    const dir = tempProject()
    writeMigration(
      dir,
      `${V1}_docs.ts`,
      createCollectionMigration('docs').replace(
        "indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }],\n    })",
        "indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }],\n    })\n    for (let b = 0; b < 3000; b += 1000) await ctx.insert('docs', Array.from({ length: 1000 }, (_, i) => ({ id: b + i + 1, vector: [i, 1, 2, 3], title: 't' + (b + i) })))",
      ),
    )
    expect((await cli(dir, ['up'])).code).toBe(0)
    writeMigration(dir, `${V2}_lang.ts`, ALTER)
    // Its own process group, as a terminal runs a command: Ctrl-C signals the whole group.
    const child = spawn(process.execPath, [BIN, 'up'], {
      cwd: dir,
      detached: true,
      env: { ...process.env, NO_COLOR: '1', MVMIGRATE_FAILPOINTS: 'alter:after-page=sleep:100' },
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    await until('the copy to start', () => /docs: copy 0\/3000 rows/.test(stderr))
    await new Promise((r) => setTimeout(r, 1000))
    process.kill(-child.pid!, 'SIGINT')
    expect(await exited, stderr).toBe(130)
    const lines = errorLines(stderr)
    expect(lines[0]).toMatch(
      /^error: Interrupted \(SIGINT\): migrations\/20260401000002_lang\.ts: the alter of 'docs' stopped copying at [\d,]+ of 3,000 rows, after a checkpoint$/,
    )
    expect(lines[1]).toMatch(/^hint: The migration lock is released\. To go on, run `mvmigrate up`/)
    const again = await cli(dir, ['up'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toMatch(/continuing the interrupted copy of docs after \d+ of 3000 rows/)
    expect(again.stderr).toMatch(/docs: done: 3000 rows copied, verified and swapped in/)
    expect((await cli(dir, ['status', '--check'])).code).toBe(0)
  }, 240_000)

  it('a runner killed outright leaves its lock: status says its process is gone and what to do; the next up takes it over', async () => {
    const s = await seeded('stale')
    writeMigration(s.dir, `${V2}_lang.ts`, ALTER)
    // SIGKILL at the 5th page: no handler runs, the lock stays behind.
    const run = startUp(s.dir, s.args('up'), 'alter:after-page=5')
    const exit = await run.exited
    expect(exit.signal).toBe('SIGKILL')
    const pid = run.child.pid!
    const st = await cli(s.dir, s.args('status'))
    expect(st.code).toBe(0)
    const locked = st.stdout.split('\n').find((l) => l.startsWith('Locked by'))
    expect(locked).toMatch(
      new RegExp(
        `^Locked by mvmigrate up on ${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(pid ${pid}\\) since \\S+, but that process has ended without releasing it \\(it was killed, or could not reach the server to release it\\): the next \`mvmigrate up\` or \`down\` on this machine takes the lock over; \`mvmigrate unlock\` clears it now\\.$`,
      ),
    )
    const json = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(json.lock).toMatchObject({ pid, host: os.hostname(), command: 'mvmigrate up' })
    expect(json.lockHolderGone).toBe(true)
    const again = await cli(s.dir, s.args('up'))
    expect(again.code, again.stderr).toBe(0)
    expect(await allRows(s.client)).toHaveLength(ROWS)
    const after = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(after.lock).toBeNull()
    expect(after.lockHolderGone).toBe(false)
  }, 180_000)
})

/**
 * A migration whose alter computes 'summary' with a slow backfill that logs the keys of each call
 * as it starts (one JSON array a line): per row, or batched with its options.
 */
const backfilled = (log: string, backfill: string, pageRows: number) => `import { defineMigration } from 'mvmigrate'
import { appendFileSync } from 'node:fs'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const log = (rows) => appendFileSync(${JSON.stringify(log)}, JSON.stringify(rows.map((r) => Number(r.id))) + '\\n')
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => {
      t.addField({ name: 'summary', type: 'VarChar', maxLength: 64 })
      ${backfill}
    }, { batchSize: ${pageRows} })
  },
})
`

/** The backfill's calls so far, each the keys it was sent. */
function callsIn(log: string): number[][] {
  if (!fs.existsSync(log)) return []
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as number[])
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/**
 * SIGINT while a page is computed by a slow backfill: the page is abandoned (no new call starts),
 * the copy stops at the last page written with a checkpoint, within a second or two; the next up
 * sends only the rows not written to the model.
 */
async function stopDuringBackfill(opts: {
  prefix: string
  backfill: (log: string) => string
  pageRows: number
  /** Send SIGINT once this many rows were sent to the backfill (past the first page). */
  signalAfterRows: number
  /** Calls that may still start after the signal was sent (in the instant before it lands). */
  lateCalls: number
}) {
  const s = await seeded(opts.prefix)
  const log = path.join(s.dir, 'calls.log')
  writeMigration(s.dir, `${V2}_summary.ts`, backfilled(log, opts.backfill(log), opts.pageRows))
  const run = startUp(s.dir, s.args('up'), '')
  await until('the backfill to pass the first page', () => callsIn(log).flat().length >= opts.signalAfterRows, 120_000)
  const callsAtSignal = callsIn(log).length
  const sentAt = Date.now()
  run.child.kill('SIGINT')
  const exit = await run.exited
  expect(exit.code, run.out.stderr).toBe(130)
  // The page being computed is abandoned, not finished: a generous bound on a shared machine.
  expect(exit.at - sentAt, run.out.stderr).toBeLessThan(3000)
  // No new model call started after the signal (beyond those starting in the instant it was sent).
  expect(callsIn(log).length).toBeLessThanOrEqual(callsAtSignal + opts.lateCalls)
  expect(run.out.stderr).toContain(
    "SIGINT received: stopping at the next safe point (an alter's copy stops at the last page it wrote, with a checkpoint), then releasing the migration lock.",
  )
  const written = opts.pageRows
  expect(errorLines(run.out.stderr)).toEqual([
    `error: Interrupted (SIGINT): migrations/${V2}_summary.ts: the alter of 'docs' stopped copying at ${written.toLocaleString('en-US')} of 5,000 rows, after a checkpoint`,
    `hint: The migration lock is released. To go on, run \`mvmigrate up\`: it runs ${V2}_summary again and its alter of 'docs' continues the copy from the checkpoint (the ${written.toLocaleString('en-US')} rows copied are kept). It is recorded as failed until then.`,
  ])
  expect(run.out.stdout).toBe('')
  expect(JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout).lock).toBeNull()

  fs.writeFileSync(log, '')
  const again = await cli(s.dir, s.args('up'))
  expect(again.code, again.stderr).toBe(0)
  expect(again.stderr).toContain(`continuing the interrupted copy of docs after ${written} of 5000 rows`)
  // Only the rows not written before the stop went to the model, each once.
  const sent = callsIn(log)
    .flat()
    .sort((a, b) => a - b)
  expect(sent).toEqual(range(written + 1, ROWS))
  const rows = await allRows(s.client)
  expect(rows).toHaveLength(ROWS)
  for (const r of rows) expect(r.summary).toBe(`s${r.title}`)
  expect((await cli(s.dir, s.args('status', '--check'))).code).toBe(0)
  return { stderr: run.out.stderr, calls: callsIn(log) }
}

describe('Ctrl-C while a backfill computes a page', () => {
  it('a slow per-row backfill (3 ms a row, pages of 2,000): SIGINT abandons the page being computed, stops at the last page written within a second or two, and up sends only the rest to the model', async () => {
    await stopDuringBackfill({
      prefix: 'bfrow',
      backfill: () => "t.backfill('summary', async (row) => { log([row]); await sleep(3); return 's' + row.title })",
      pageRows: 2000,
      // 300 rows into the second page: the first was written long before.
      signalAfterRows: 2300,
      lateCalls: 3,
    })
  }, 240_000)

  it('SIGINT while the first page is computed: nothing was written, it says so and that up copies from the start; up then does', async () => {
    const s = await seeded('bffirst')
    const log = path.join(s.dir, 'calls.log')
    writeMigration(
      s.dir,
      `${V2}_summary.ts`,
      backfilled(
        log,
        "t.backfill('summary', async (row) => { log([row]); await sleep(3); return 's' + row.title })",
        2000,
      ),
    )
    const run = startUp(s.dir, s.args('up'), '')
    await until('the backfill to start', () => callsIn(log).length >= 300, 60_000)
    const sentAt = Date.now()
    run.child.kill('SIGINT')
    const exit = await run.exited
    expect(exit.code, run.out.stderr).toBe(130)
    // Finishing the page would take about 14 s (4,700 rows at 3 ms); stopping took 3.6 s once on a
    // loaded 2.3 (the 1 s wait for the call in flight, then closing): a bound that tells them apart.
    expect(exit.at - sentAt, run.out.stderr).toBeLessThan(8000)
    expect(errorLines(run.out.stderr)).toEqual([
      `error: Interrupted (SIGINT): migrations/${V2}_summary.ts: the alter of 'docs' stopped copying before it wrote any of 5,000 rows`,
      `hint: The migration lock is released. To go on, run \`mvmigrate up\`: it runs ${V2}_summary again and its alter of 'docs' copies from the start (no page was written). It is recorded as failed until then.`,
    ])
    const again = await cli(s.dir, s.args('up'))
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain(`dropping the partial copy docs__mvm_tmp_${V2} left by an interrupted run`)
    const rows = await allRows(s.client)
    expect(rows).toHaveLength(ROWS)
    for (const r of rows) expect(r.summary).toBe(`s${r.title}`)
  }, 240_000)

  it('a slow batched backfill (batches of 100, 2 in flight, 500 ms a call, pages of 3,000 transformed ahead): SIGINT starts no new call, abandons the pages ahead, says it waits for the calls in flight, and stops at the last page written', async () => {
    const { stderr } = await stopDuringBackfill({
      prefix: 'bfbatch',
      backfill: () =>
        "t.backfill('summary', async (rows) => { log(rows); await sleep(500); return rows.map((r) => 's' + r.title) }, { batchSize: 100, concurrency: 2 })",
      pageRows: 3000,
      // Four rounds of calls into the second page.
      signalAfterRows: 3800,
      lateCalls: 2,
    })
    expect(stderr).toMatch(
      /alter docs: stopping the copy at the last page written; waiting up to 1 s for [12] model call\(s\) in flight \(the rows not written yet are computed again by the next run\)\n/,
    )
  }, 240_000)
})

describe('Ctrl-C after the copy', () => {
  it('SIGINT during verify stops before the swap (a safe point): exit 130, no "Applied" on stdout, what up does next; up then verifies and swaps without copying again', async () => {
    const s = await seeded('verify')
    writeMigration(s.dir, `${V2}_lang.ts`, ALTER)
    // Held 3 s in the verify phase, after the copy.
    const run = startUp(s.dir, s.args('up'), 'alter:after-copy=sleep:3000')
    await until('the verify phase', () => /docs: verify \d+ rows/.test(run.out.stderr))
    run.child.kill('SIGINT')
    const exit = await run.exited
    expect(exit.code, run.out.stderr).toBe(130)
    expect(run.out.stdout).toBe('')
    expect(errorLines(run.out.stderr)).toEqual([
      `error: Interrupted (SIGINT): migrations/${V2}_lang.ts: the alter of 'docs' stopped before its swap, with all 5,000 rows copied`,
      `hint: The migration lock is released. To go on, run \`mvmigrate up\`: it runs ${V2}_lang again and its alter of 'docs' continues from its finished copy (catch-up, verify, swap). It is recorded as failed until then.`,
    ])
    expect(run.out.stderr).not.toContain('docs: swap')
    const report = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(report.lock).toBeNull()
    expect(report.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'failed'])
    // Not swapped: the name is still the source, without the new field.
    const described = await s.client.describeCollection({ collection_name: 'docs' })
    expect(described.schema.fields.map((f) => f.name).sort()).toEqual(['id', 'title', 'vector'])
    const again = await cli(s.dir, s.args('up'))
    expect(again.code, again.stderr).toBe(0)
    // The end of the copy was checkpointed: nothing is copied again.
    expect(again.stderr).toContain('continuing the interrupted copy of docs after 5000 of 5000 rows')
    const rows = await allRows(s.client)
    expect(rows).toHaveLength(ROWS)
    for (const r of rows) expect(r.lang).toBe('en')
  }, 180_000)

  it('SIGINT during the swap (not a safe point) of the last migration: the swap is finished, it says so, stdout says applied, exit 0', async () => {
    const s = await seeded('swap')
    writeMigration(s.dir, `${V2}_lang.ts`, ALTER)
    const run = startUp(s.dir, s.args('up'), 'alter:after-swap=sleep:2000')
    await until('the swap', () => /docs: swap/.test(run.out.stderr))
    run.child.kill('SIGINT')
    const exit = await run.exited
    expect(exit.code, run.out.stderr).toBe(0)
    expect(run.out.stdout).toContain('Applied 1 migration(s)')
    expect(errorLines(run.out.stderr)).toEqual([])
    expect(run.out.stderr).toContain(
      `SIGINT came during the swap of 'docs', which cannot stop half-way: finishing it, then stopping\n`,
    )
    expect(run.out.stderr.trimEnd().split('\n').pop()).toBe(
      `SIGINT came during the swap of 'docs' (migrations/${V2}_lang.ts), which was finished; nothing was left to stop: 1 migration(s) applied, none left to run.`,
    )
    const report = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(report.lock).toBeNull()
    expect(report.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'applied'])
    expect((await allRows(s.client)).filter((r) => r.lang === 'en')).toHaveLength(ROWS)
  }, 180_000)

  it('--json: SIGINT during the swap of the last migration: the result on stdout says what the signal came during; exit 0', async () => {
    const s = await seeded('swapjson')
    writeMigration(s.dir, `${V2}_lang.ts`, ALTER)
    const run = startUp(s.dir, s.args('up', '--json'), 'alter:after-swap=sleep:2000')
    await until('the swap', () => /"phase":"swap"/.test(run.out.stderr))
    run.child.kill('SIGINT')
    const exit = await run.exited
    expect(exit.code, run.out.stderr).toBe(0)
    const result = JSON.parse(run.out.stdout)
    expect(result.migrations.map((m: { version: string }) => m.version)).toEqual([V2])
    expect(result.interrupted).toEqual({ signal: 'SIGINT', during: `the swap of 'docs' (migrations/${V2}_lang.ts)` })
  }, 180_000)

  it('SIGINT during the swap with a migration after it: the swap is finished and applied, the next is not run; exit 130 saying so; up runs the rest', async () => {
    const s = await seeded('swapnext')
    writeMigration(s.dir, `${V2}_lang.ts`, ALTER)
    writeMigration(s.dir, '20260401000003_tags.ts', createCollectionMigration('tags'))
    const run = startUp(s.dir, s.args('up'), 'alter:after-swap=sleep:2000')
    await until('the swap', () => /docs: swap/.test(run.out.stderr))
    run.child.kill('SIGINT')
    const exit = await run.exited
    expect(exit.code, run.out.stderr).toBe(130)
    expect(run.out.stdout).toBe('')
    expect(errorLines(run.out.stderr)).toEqual([
      `error: Interrupted (SIGINT) during the swap of 'docs' (migrations/${V2}_lang.ts), which was finished: 1 migration(s) of this batch were applied and stay applied; 1 migration(s) of this batch not run`,
      'hint: The migration lock is released. Nothing is recorded for 20260401000003_tags. To run the 1 left, from 20260401000003_tags, run `mvmigrate up`.',
    ])
    const report = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(report.lock).toBeNull()
    expect(report.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'applied', 'pending'])
    const again = await cli(s.dir, s.args('up'))
    expect(again.code, again.stderr).toBe(0)
    expect((await s.client.hasCollection({ collection_name: 'tags' })).value).toBe(true)
  }, 180_000)
})

describe('progress within a page computed by a slow backfill', () => {
  it('--json events carry model calls, retries and rows computed as fields, advancing before the page is written; status from another terminal shows rows computed', async () => {
    const s = await seeded('bfprogress', 2000)
    const log = path.join(s.dir, 'calls.log')
    // One page of 2,000 rows, batches of 100 one at a time, 400 ms each: 8 s before the page is written.
    writeMigration(
      s.dir,
      `${V2}_summary.ts`,
      backfilled(
        log,
        "t.backfill('summary', async (rows) => { log(rows); await sleep(400); return rows.map((r) => 's' + r.title) }, { batchSize: 100, concurrency: 1 })",
        2000,
      ),
    )
    const run = startUp(s.dir, s.args('up', '--json'), '')
    // status from another terminal, while the page is computed.
    let seen: { rowsDone?: number; rowsComputed?: number; modelCalls?: number; retries?: number } | undefined
    await until(
      'status to show rows computed',
      async () => {
        const st = await cli(s.dir, s.args('status', '--json'))
        const running = JSON.parse(st.stdout).interrupted?.[0]
        if (running?.rowsComputed > 0 && running.rowsDone === 0) seen = running
        return !!seen
      },
      30_000,
    )
    expect(seen).toMatchObject({ rowsDone: 0, retries: 0 })
    expect(seen!.rowsComputed! % 100).toBe(0)
    expect(seen!.modelCalls).toBe(seen!.rowsComputed! / 100)
    const text = await cli(s.dir, s.args('status'))
    expect(text.stdout).toMatch(
      /Running alter of docs \(migration 20260401000002\): copy 0\/2,000 rows \(0%\), [\d,]+ rows computed \(\d+ model call\(s\), 0 retries\)/,
    )
    const exit = await run.exited
    expect(exit.code, run.out.stderr).toBe(0)
    const events = run.out.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === 'alter-progress' && e.phase === 'copy')
    for (const e of events) {
      expect(typeof e.modelCalls).toBe('number')
      expect(e.retries).toBe(0)
      expect(typeof e.rowsComputed).toBe('number')
    }
    // Before the page was written: rows 0, and the rows computed advancing (rate-limited: about one a second).
    const within = events.filter((e) => e.rows === 0 && e.rowsComputed > 0 && e.rowsComputed < 2000)
    expect(new Set(within.map((e) => e.rowsComputed)).size, JSON.stringify(events)).toBeGreaterThanOrEqual(4)
    for (const e of within) expect(e.modelCalls).toBe(e.rowsComputed / 100)
    expect(events[events.length - 1]).toMatchObject({ rows: 2000, total: 2000, rowsComputed: 2000, modelCalls: 20 })
  }, 180_000)
})
