import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freshDatabase, snapshot } from '../helpers/milvus'
import { cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'

/** The real CLI, as separate processes, against the test run's Milvus Lite (--uri) or embedded. */
const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

async function remoteProject(files: Record<string, string> = {}) {
  const db = await freshDatabase('cli')
  clients.push(db.client)
  const dir = tempProject()
  for (const [name, body] of Object.entries(files)) writeMigration(dir, name, body)
  const args = (...a: string[]) => ['--uri', db.uri, '--database', db.database, ...a]
  return { ...db, dir, args }
}

describe('mvmigrate CLI', () => {
  it('make writes a timestamped migration from the template, rejects bad names and --js writes .js', async () => {
    const dir = tempProject()
    const r = await cli(dir, ['make', 'add_page_num'])
    expect(r.code).toBe(0)
    const file = r.stdout.trim()
    expect(path.basename(file)).toMatch(/^\d{14}_add_page_num\.ts$/)
    expect(fs.readFileSync(file, 'utf8')).toContain('defineMigration')
    await new Promise((r) => setTimeout(r, 1100)) // versions are per second
    const js = await cli(dir, ['make', 'seed-data', '--js'])
    expect(js.code).toBe(0)
    expect(js.stdout.trim()).toMatch(/_seed-data\.js$/)
    const bad = await cli(dir, ['make', 'AddPage'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('Invalid migration name "AddPage"')
    expect(bad.stderr).toContain('hint:')
    expect(bad.stderr).not.toMatch(/\n\s+at /) // no stack without --verbose
    const verbose = await cli(dir, ['make', 'AddPage', '--verbose'])
    expect(verbose.code).toBe(2)
    expect(verbose.stderr).toMatch(/\n\s+at /)
    expect(fs.readdirSync(path.join(dir, 'migrations'))).toHaveLength(2)
  })

  it('make refuses when a migration with the same version exists, and writes nothing', async () => {
    const dir = tempProject()
    // Occupy the versions of the next seconds so the make below must collide, whatever the clock does.
    const { versionFor } = await import('../../src/scaffold/make')
    const now = Date.now()
    for (let s = 0; s < 20; s++) writeMigration(dir, `${versionFor(new Date(now + s * 1000))}_taken.ts`, '// mine\n')
    const r = await cli(dir, ['make', 'taken'])
    expect(r.code).toBe(9)
    expect(r.stderr).toMatch(/A migration with version \d{14} already exists: .*_taken\.ts/)
    expect(r.stderr).toContain('Nothing was written')
    const files = fs.readdirSync(path.join(dir, 'migrations'))
    expect(files).toHaveLength(20)
    for (const f of files) expect(fs.readFileSync(path.join(dir, 'migrations', f), 'utf8')).toBe('// mine\n')
  })

  it('init writes a config and migrations/ and never overwrites', async () => {
    const dir = tempProject()
    fs.rmSync(path.join(dir, 'mvmigrate.config.json'))
    fs.rmdirSync(path.join(dir, 'migrations'))
    const r = await cli(dir, ['init'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('created')
    const cfg = path.join(dir, 'mvmigrate.config.ts')
    expect(fs.readFileSync(cfg, 'utf8')).toContain('migrationsDir')
    fs.writeFileSync(cfg, 'export default { migrationsDir: "mine" }\n')
    const again = await cli(dir, ['init'])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('kept')
    expect(fs.readFileSync(cfg, 'utf8')).toBe('export default { migrationsDir: "mine" }\n')
  })

  it('up, status --check (3 while pending, 0 after), status --json, down and unlock against --uri', async () => {
    const p = await remoteProject({ '20260101000001_docs.ts': createCollectionMigration('docs') })
    const pending = await cli(p.dir, p.args('status', '--check'))
    expect(pending.code).toBe(3)
    expect(pending.stdout).toMatch(/20260101000001\s+docs\s+pending/)
    expect(pending.stderr).toContain('not up to date')

    const dry = await cli(p.dir, p.args('up', '--dry-run'))
    expect(dry.code).toBe(0)
    expect(dry.stdout).toContain(
      '20260101000001_docs\n  - create collection docs (id Int64, vector FloatVector, title VarChar)',
    )
    expect(((await p.client.listCollections()).data ?? []).map((x) => x.name)).toEqual([]) // touched nothing

    const up = await cli(p.dir, p.args('up'))
    expect(up.code).toBe(0)
    expect(up.stdout).toContain('Applied 1 migration(s) as batch 1')

    const ok = await cli(p.dir, p.args('status', '--check'))
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/20260101000001\s+docs\s+applied\s+1\s+\d{4}-\d\d-\d\dT/)
    // --verbose: every Milvus call on stderr with its time; stdout is the same report.
    const verboseStatus = await cli(p.dir, p.args('status', '--verbose'))
    expect(verboseStatus.code).toBe(0)
    expect(verboseStatus.stdout).toBe(ok.stdout)
    const calls = verboseStatus.stderr.split('\n').filter((l) => l.startsWith('milvus: '))
    expect(calls.length).toBeGreaterThan(2)
    for (const line of calls) expect(line).toMatch(/^milvus: .+ \(\d+ ms\)$/)
    expect(calls.some((l) => l.includes("'_migrations'"))).toBe(true)
    expect((await cli(p.dir, p.args('status', '--verbose', '--json'))).stderr).not.toContain('milvus: ')

    const js = await cli(p.dir, p.args('status', '--json'))
    const report = JSON.parse(js.stdout)
    expect(report.upToDate).toBe(true)
    expect(report.migrations[0]).toMatchObject({ version: '20260101000001', name: 'docs', state: 'applied', batch: 1 })

    const down = await cli(p.dir, p.args('down'))
    expect(down.code).toBe(0)
    expect(down.stdout).toContain('Rolled back 1 migration(s)')
    expect((await p.client.hasCollection({ collection_name: 'docs' })).value).toBe(false)

    const nothing = await cli(p.dir, p.args('down'))
    expect(nothing.code).toBe(9)
    expect(nothing.stderr).toContain('Nothing to undo')

    await p.client.createCollection({
      collection_name: '_migrations_lock',
      fields: [
        { name: 'id', data_type: 5, is_primary_key: true },
        { name: 'v', data_type: 101, dim: 2 },
      ],
      properties: {
        'mvmigrate.lock.holder': JSON.stringify({
          token: 't',
          host: 'build-7',
          pid: 4242,
          since: '2026-11-26T00:00:00Z',
          command: 'mvmigrate up',
        }),
      },
    })
    const locked = await cli(p.dir, p.args('up'))
    expect(locked.code).toBe(5)
    expect(locked.stderr).toContain('mvmigrate up on build-7 (pid 4242) since 2026-11-26T00:00:00Z')
    const st = await cli(p.dir, p.args('status'))
    expect(st.stdout).toContain('Locked by mvmigrate up on build-7 (pid 4242)')
    const unlock = await cli(p.dir, p.args('unlock'))
    expect(unlock.code).toBe(0)
    expect(unlock.stdout).toContain('Released the lock held by mvmigrate up on build-7 (pid 4242)')
    expect((await cli(p.dir, p.args('up'))).code).toBe(0)
  })

  it('environment variables supply the connection; flags beat them', async () => {
    const p = await remoteProject({ '20260101000001_docs.ts': createCollectionMigration('docs') })
    const env = { MILVUS_URI: p.uri, MILVUS_DATABASE: p.database }
    expect((await cli(p.dir, ['up'], { env })).code).toBe(0)
    expect((await p.client.hasCollection({ collection_name: 'docs' })).value).toBe(true)
    const wrong = await cli(p.dir, ['--database', 'no_such_db', 'status'], { env })
    expect(wrong.code).toBe(6)
    expect(wrong.stderr).toContain("Database 'no_such_db' does not exist")
  })

  it('embedded default: with no uri, up then status in two invocations share the data in .mvmigrate/milvus', async () => {
    const dir = tempProject()
    writeMigration(dir, '20260101000001_docs.ts', createCollectionMigration('docs'))
    const up = await cli(dir, ['up'])
    expect(up.code, up.stderr).toBe(0)
    expect(fs.existsSync(path.join(dir, '.mvmigrate', 'milvus'))).toBe(true)
    const st = await cli(dir, ['status', '--check'])
    expect(st.code, st.stderr).toBe(0)
    expect(st.stdout).toMatch(/docs\s+applied\s+1/)
    // TLS options are for a server at a uri: the embedded one (loopback) is used without TLS, and a warning says so.
    const tls = await cli(dir, ['status', '--check', '--tls-ca', 'ca.pem'])
    expect(tls.code, tls.stderr).toBe(0)
    expect(tls.stderr).toContain(
      'warning: TLS options are set but no uri is: using the embedded Milvus Lite (loopback, without TLS)',
    )
    // The embedded server was stopped after each command: nothing left running for this directory.
    expect(fs.existsSync(path.join(dir, '.mvmigrate', 'milvus.server.json'))).toBe(false)
  })

  it('embedded default: a second mvmigrate on the same data directory says clearly that it is in use', async () => {
    const dir = tempProject()
    writeMigration(
      dir,
      '20260101000001_slow.ts',
      `export default { async up() { await new Promise((r) => setTimeout(r, 6000)) } }\n`,
    )
    const first = cli(dir, ['up'])
    const record = path.join(dir, '.mvmigrate', 'milvus.server.json')
    const t0 = Date.now()
    while (!fs.existsSync(record) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100))
    const second = await cli(dir, ['status'])
    expect(second.code).toBe(5)
    expect(second.stderr).toContain('is in use by another mvmigrate')
    expect(second.stderr).toContain('mvmigrate lite serve')
    const r = await first
    expect(r.code, r.stderr).toBe(0)
    const after = await cli(dir, ['status', '--check'])
    expect(after.code, after.stderr).toBe(0)
  })
})

describe('plan, alter, backups and prune from the CLI', () => {
  it('plan shows the diff and rows to copy and changes nothing; up runs it; status lists the backup; prune needs --yes off a terminal', async () => {
    const p = await remoteProject({ '20260101000001_docs.ts': createCollectionMigration('docs') })
    expect((await cli(p.dir, p.args('up'))).code).toBe(0)
    await p.client.insert({
      collection_name: 'docs',
      data: Array.from({ length: 250 }, (_, i) => ({ id: String(i + 1), vector: [i, 1, 2, 3], title: `t${i}` })),
    })
    writeMigration(
      p.dir,
      '20260101000002_grow_title.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => {
      t.alterField('title', { maxLength: 1000 })
      t.addField({ name: 'lang', type: 'VarChar', maxLength: 8, default: 'en' })
    })
  },
  async down(ctx) { await ctx.revertAlter('docs') },
})
`,
    )
    const before = await snapshot(p.client)
    const plan = await cli(p.dir, p.args('plan'))
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toContain('20260101000002_grow_title')
    expect(plan.stdout).toContain('alter docs: copy 250 rows, then swap; backup kept as docs__mvm_bak_20260101000002')
    expect(plan.stdout).toContain('~ alter field title: VarChar(maxLength=200) -> VarChar(maxLength=1000)')
    expect(plan.stdout).toContain('+ add field lang VarChar(maxLength=8, default="en")')
    // Milvus Lite does not crash on an upsert that leaves out a defaulted field (Milvus 2.3 does): no warning.
    expect(plan.stdout.split('\n').filter((l) => l.startsWith('    ! '))).toEqual([])
    // The writers' note says what Milvus Lite's rename costs, and how to avoid it.
    const flat = plan.stdout.replace(/\s+/g, ' ')
    expect(flat).toContain(
      'every write acknowledged before the swap ends up in the new collection unless a later write to the same key there superseded it (on Milvus Lite, except a write acknowledged during its rename, which it can lose: swap through an alias, { convertToAlias: true }, or stop writers for the swap);',
    )
    expect(flat).toContain(
      'writes by name fail while the name is missing between the two renames (seconds on Milvus Lite; an alias avoids it);',
    )
    const dry = await cli(p.dir, p.args('up', '--dry-run'))
    expect(dry.stdout).toContain('copy 250 rows')
    expect(await snapshot(p.client)).toEqual(before)

    const badVerify = await cli(p.dir, p.args('up', '--verify', 'fast'))
    expect(badVerify.code).toBe(2)
    expect(badVerify.stderr).toContain("argument 'fast' is invalid")
    const up = await cli(p.dir, p.args('up', '--verify', 'full'))
    expect(up.code, up.stderr).toBe(0)
    // Not a terminal: plain progress lines on stderr.
    expect(up.stderr).toMatch(/docs: copy 0\/250 rows \(0%\)/)
    expect(up.stderr).toMatch(/docs: done: 250 rows copied, verified and swapped in \d+\.\d s/)
    expect(up.stderr.split('\n').filter((l) => l.startsWith('warning: '))).toEqual([])
    const st = await cli(p.dir, p.args('status'))
    expect(st.stdout).toContain('docs__mvm_bak_20260101000002  backup of docs, migration 20260101000002')

    const noYes = await cli(p.dir, p.args('prune'))
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toContain('needs --yes when not run on a terminal')
    const dryPrune = await cli(p.dir, p.args('prune', '--dry-run'))
    expect(dryPrune.stdout).toContain('Would drop 1 collection(s)')
    expect((await p.client.hasCollection({ collection_name: 'docs__mvm_bak_20260101000002' })).value).toBe(true)
    const pruned = await cli(p.dir, p.args('prune', '--yes'))
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(pruned.stdout).toContain('Dropped 1 collection(s)')
    expect((await p.client.hasCollection({ collection_name: 'docs__mvm_bak_20260101000002' })).value).toBe(false)
    // With the backup gone, down of the alter cannot swap back: it says so and changes nothing.
    const snap = await snapshot(p.client)
    const down = await cli(p.dir, p.args('down'))
    expect(down.code).toBe(4)
    expect(down.stderr).toContain("its backup 'docs__mvm_bak_20260101000002' was pruned")
    expect(await snapshot(p.client)).toEqual(snap)
  })
})

describe('mvmigrate lite serve', () => {
  it('serves a data directory on loopback for other commands to share with --uri, and stops on SIGINT', async () => {
    const { spawn } = await import('node:child_process')
    const { BIN } = await import('../helpers/project')
    const dir = tempProject()
    writeMigration(dir, '20260101000001_docs.ts', createCollectionMigration('docs'))
    const server = spawn(process.execPath, [BIN, 'lite', 'serve'], { cwd: dir })
    let out = ''
    server.stdout.on('data', (d) => (out += d))
    const t0 = Date.now()
    while (!/on (http:\/\/127\.0\.0\.1:\d+)/.test(out) && Date.now() - t0 < 30_000)
      await new Promise((r) => setTimeout(r, 100))
    const uri = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]
    const [a, b] = await Promise.all([
      cli(dir, ['--uri', uri, 'up', '--lock-timeout', '30']),
      cli(dir, ['--uri', uri, 'status']),
    ])
    expect(a.code, a.stderr).toBe(0)
    expect(b.code, b.stderr).toBe(0)
    server.kill('SIGINT')
    const code = await new Promise((r) => server.on('exit', r))
    expect(code).toBe(0)
    // The data is in the project's data directory: the embedded default sees it.
    const st = await cli(dir, ['status', '--check'])
    expect(st.code, st.stderr).toBe(0)
  })
})

describe('lite serve with TLS options', () => {
  it('says it ignores them (it serves loopback without TLS), and serves', async () => {
    const { spawn } = await import('node:child_process')
    const { BIN } = await import('../helpers/project')
    const dir = tempProject()
    const server = spawn(process.execPath, [BIN, '--tls-ca', '/tmp/nope.pem', 'lite', 'serve'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
    })
    let out = ''
    let err = ''
    server.stdout.on('data', (d) => (out += d))
    server.stderr.on('data', (d) => (err += d))
    const t0 = Date.now()
    while (!/on (http:\/\/127\.0\.0\.1:\d+)/.test(out) && Date.now() - t0 < 30_000)
      await new Promise((r) => setTimeout(r, 100))
    const uri = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1]
    server.kill('SIGINT')
    const code = await new Promise((r) => server.on('exit', r))
    expect({ code, uri, err }).toEqual({
      code: 0,
      uri: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      err: 'warning: TLS options are set but `lite serve` ignores them: it serves Milvus Lite on loopback without TLS (pass its --uri without TLS options)\n',
    })
  })
})

describe('a config file in another directory (--config deploy/mvmigrate.config.json)', () => {
  it('its paths are relative to it, from any working directory; flags stay relative to the working directory', async () => {
    const db = await freshDatabase('cfgdir')
    clients.push(db.client)
    const root = tempProject()
    const deploy = path.join(root, 'app', 'deploy')
    fs.mkdirSync(path.join(deploy, 'db', 'migrations'), { recursive: true })
    const config = path.join(deploy, 'mvmigrate.config.json')
    fs.writeFileSync(config, JSON.stringify({ uri: db.uri, database: db.database, migrationsDir: 'db/migrations' }))
    writeMigration(root, '../app/deploy/db/migrations/20260101000001_docs.ts', createCollectionMigration('docs'))
    // From the directory above the project, with the config's absolute path.
    const up = await cli(path.dirname(root), ['--config', config, 'up'])
    expect(up.code, up.stderr).toBe(0)
    expect(up.stderr).toContain('applied 20260101000001_docs')
    expect((await db.client.hasCollection({ collection_name: 'docs' })).value).toBe(true)
    // From the project root, with a relative path to it: the same migrations, applied.
    const st = await cli(root, ['--config', 'app/deploy/mvmigrate.config.json', 'status', '--check'])
    expect([st.code, st.stderr]).toEqual([0, ''])
    // A --migrations-dir flag is relative to the working directory, not to the config file.
    const flag = await cli(deploy, [
      '--config',
      'mvmigrate.config.json',
      '--migrations-dir',
      'db/migrations',
      'status',
      '--check',
    ])
    expect([flag.code, flag.stderr]).toEqual([0, ''])
    const wrong = await cli(root, ['--config', config, '--migrations-dir', 'db/migrations', 'status'])
    expect([wrong.code, wrong.stderr.split('\n')[0]]).toEqual([
      4,
      `error: The migrations directory ${path.join(root, 'db', 'migrations')} (--migrations-dir) does not exist, but the ledger records 1 migration(s) run from it`,
    ])
  })
})

describe('lite serve on a port another program holds', () => {
  it('refuses before starting anything (Milvus Lite would share the port), saying what to do (exit 10)', async () => {
    const holder = net.createServer()
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r))
    const port = (holder.address() as net.AddressInfo).port
    try {
      const r = await cli(tempProject(), ['lite', 'serve', '--port', String(port)], { timeoutMs: 60_000 })
      expect(r.code, r.stderr).toBe(10)
      expect(r.stderr).toContain(
        `error: Port ${port} on 127.0.0.1 is already in use (another Milvus Lite, or another program)`,
      )
      expect(r.stderr).toContain(
        `hint: Pick another port, or leave the port out for a free one; to use the server already there, connect to http://127.0.0.1:${port}.`,
      )
    } finally {
      holder.close()
    }
  })
})

describe('bad input: a clear message, a documented non-zero exit, and no change in Milvus', () => {
  it('unknown command and unknown flag exit 2', async () => {
    const dir = tempProject()
    const cmd = await cli(dir, ['frobnicate'])
    expect(cmd.code).toBe(2)
    expect(cmd.stderr).toContain("unknown command 'frobnicate'")
    // Like every error, a usage error says what to do (commander prints the error line itself).
    expect(cmd.stderr).toContain('hint: Run `mvmigrate --help` for the commands and options.')
    const flag = await cli(dir, ['up', '--frob'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain("unknown option '--frob'")
    expect(flag.stderr).toContain('hint: Run `mvmigrate --help` for the commands and options.')
    const step = await cli(dir, ['up', '--step', 'many'])
    expect(step.code).toBe(2)
    expect(step.stderr).toContain("--step must be a positive whole number, got 'many'")
  })

  it('syntax error, missing up(), a throwing migration, --to unknown: named, exit code, nothing changed', async () => {
    const p = await remoteProject({ '20260101000001_a.ts': createCollectionMigration('a') })
    expect((await cli(p.dir, p.args('up'))).code).toBe(0)
    const cases: { file: string; body: string; args: string[]; code: number; text: string }[] = [
      {
        file: '20260101000002_syntax.ts',
        body: 'export default { async up( {',
        args: ['up'],
        code: 8,
        text: '20260101000002_syntax.ts could not be loaded',
      },
      {
        file: '20260101000002_noup.ts',
        body: 'export default { async down() {} }\n',
        args: ['up'],
        code: 8,
        text: '20260101000002_noup.ts does not export an up() function',
      },
      {
        file: '20260101000002_ok.ts',
        body: createCollectionMigration('b'),
        args: ['up', '--to', '20990101000000'],
        code: 2,
        text: '--to 20990101000000: no migration has that version',
      },
      {
        file: '20260101000002_ok.ts',
        body: createCollectionMigration('b'),
        args: ['down', '--to', '20990101000000'],
        code: 2,
        text: 'no migration has that version',
      },
      {
        file: '20260101000002_ok.ts',
        body: createCollectionMigration('b'),
        args: ['up', '--to', 'latest'],
        code: 2,
        text: '--to takes a 14-digit migration version',
      },
    ]
    for (const c of cases) {
      const before = await snapshot(p.client)
      const file = writeMigration(p.dir, c.file, c.body)
      const r = await cli(p.dir, p.args(...c.args))
      expect(r.code, `${c.file} ${c.args.join(' ')}: ${r.stderr}`).toBe(c.code)
      expect(r.stderr).toContain(c.text)
      expect(r.stderr).toContain('hint:')
      expect(await snapshot(p.client)).toEqual(before)
      fs.rmSync(file)
    }
    // A migration that throws: exit 1, recorded as failed, nothing else changed.
    writeMigration(p.dir, '20260101000002_throws.ts', 'export default { async up() { throw new Error("kaboom") } }\n')
    const r = await cli(p.dir, p.args('up'))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('20260101000002_throws.ts failed: kaboom')
    const st = JSON.parse((await cli(p.dir, p.args('status', '--json'))).stdout)
    expect(st.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'failed'])
    expect((await cli(p.dir, p.args('status', '--check'))).code).toBe(3)
  })

  it('a malformed config file exits 7 naming the file', async () => {
    const dir = tempProject()
    fs.writeFileSync(path.join(dir, 'mvmigrate.config.json'), '{ "uri": "http://x", ')
    const r = await cli(dir, ['status'])
    expect(r.code).toBe(7)
    expect(r.stderr).toContain('mvmigrate.config.json')
    fs.writeFileSync(path.join(dir, 'mvmigrate.config.json'), '{ "migrationDir": "x" }')
    const r2 = await cli(dir, ['status'])
    expect(r2.code).toBe(7)
    expect(r2.stderr).toContain("unknown key 'migrationDir'")
    const r3 = await cli(dir, ['--config', 'nope.ts', 'status'])
    expect(r3.code).toBe(7)
    expect(r3.stderr).toContain('nope.ts does not exist')
  })

  it('an unreachable server fails within a bounded time, naming the address', async () => {
    const dir = tempProject()
    // A port nobody listens on (refused at once) and a listener that never speaks gRPC (a hang).
    const refused = await cli(dir, ['--uri', 'http://127.0.0.1:9', 'status'])
    expect(refused.code).toBe(6)
    expect(refused.stderr).toContain('Could not reach Milvus at http://127.0.0.1:9')
    // In the CLI's words, not the library's.
    expect(refused.stderr).toContain(
      'hint: Check that the server is running and that --uri / MILVUS_URI is its address, or leave --uri out to use the embedded Milvus Lite.',
    )
    const silent = net.createServer(() => undefined)
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as net.AddressInfo).port
    const t0 = Date.now()
    const hung = await cli(dir, ['--uri', `http://127.0.0.1:${port}`, '--connect-timeout', '3', 'status'])
    silent.close()
    expect(hung.code).toBe(6)
    expect(hung.stderr).toContain(`127.0.0.1:${port}`)
    expect(Date.now() - t0).toBeLessThan(20_000)
  })

  it('--json errors are machine-readable on stdout', async () => {
    const dir = tempProject()
    const r = await cli(dir, ['--json', 'make', 'Bad Name'])
    expect(r.code).toBe(2)
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'BAD_NAME', exitCode: 2 })
  })
})
