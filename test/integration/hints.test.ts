import * as grpc from '@grpc/grpc-js'
import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MigrationLock } from '../../src/ledger/lock'
import { freshDatabase, snapshot } from '../helpers/milvus'
import { BIN, type CliResult, cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'

/**
 * Every hint against the case that raises it: each test runs the CLI into one case and asserts the
 * whole printed error (message and hint), so a hint written for another case shows up here. Exit
 * codes are asserted as README's table gives them. Cases that need authentication (an unset
 * token variable) are in test/standalone/standalone.test.ts.
 */
const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

async function remoteProject(files: Record<string, string> = {}) {
  const db = await freshDatabase('hints')
  clients.push(db.client)
  const dir = tempProject()
  for (const [name, body] of Object.entries(files)) writeMigration(dir, name, body)
  const run = (...a: string[]) => cli(dir, ['--uri', db.uri, '--database', db.database, ...a])
  return { ...db, dir, run }
}

/** The error a command printed: stderr exactly, and the exit code. */
function failed(r: CliResult, code: number, stderr: string): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code, stderr })
}

describe('hints fit their case', () => {
  it('--env naming no environment: with environments, pick one; with none, add one or leave --env out (exit 7)', async () => {
    const none = tempProject()
    failed(
      await cli(none, ['--env', 'nope', 'status']),
      7,
      "error: Unknown environment 'nope': mvmigrate.config.json defines no environments\n" +
        "hint: Add it to the config file (environments: { nope: { uri: ... } }), or leave --env <name> / MVMIGRATE_ENV unset to use the config's top-level settings.\n",
    )
    const some = tempProject({ environments: { prod: { uri: 'http://127.0.0.1:9' }, staging: {} } })
    failed(
      await cli(some, ['--env', 'prdo', 'status']),
      7,
      "error: Unknown environment 'prdo': mvmigrate.config.json defines prod, staging (did you mean 'prod'?)\n" +
        'hint: Pick one of those with --env <name> / MVMIGRATE_ENV, or add it under environments in the config file.\n',
    )
  })

  it('an unreachable server: the address flag in CLI words (exit 6)', async () => {
    const dir = tempProject()
    const refused = await cli(dir, ['--uri', 'http://127.0.0.1:9', 'status'])
    expect(refused.code).toBe(6)
    // The SDK's own words (with its retry timings) follow the address; the hint is ours, whole.
    expect(refused.stderr).toMatch(
      /^error: Could not reach Milvus at http:\/\/127\.0\.0\.1:9: the Milvus server did not answer \(14 UNAVAILABLE: .*ECONNREFUSED 127\.0\.0\.1:9.*\)\n/,
    )
    expect(refused.stderr.split('\n').slice(1)).toEqual([
      'hint: Check that the server is running and that --uri / MILVUS_URI is its address, or leave --uri out to use the embedded Milvus Lite.',
      '',
    ])
    const silent = net.createServer(() => undefined)
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as net.AddressInfo).port
    const hung = await cli(dir, ['--uri', `http://127.0.0.1:${port}`, '--connect-timeout', '2', 'status'])
    silent.close()
    failed(
      hung,
      6,
      `error: Could not reach Milvus at http://127.0.0.1:${port} within 2 s\n` +
        'hint: Check that the server is running and that --uri / MILVUS_URI is its address, or leave --uri out to use the embedded Milvus Lite.\n',
    )
  })

  it('an unreachable server the config file names: the hint names the file, the key and the environment, not --uri (exit 6)', async () => {
    const dir = tempProject()
    fs.writeFileSync(
      path.join(dir, 'alt.config.ts'),
      "export default { uri: 'http://127.0.0.1:9', environments: { bad: { uri: 'http://127.0.0.1:8' } } }\n",
    )
    // grpc-js's message, whole but for the SDK's retry timings (and no empty "Resolution note: ").
    const said = (port: number) =>
      new RegExp(
        `^error: Could not reach Milvus at http://127\\.0\\.0\\.1:${port}: the Milvus server did not answer \\(14 UNAVAILABLE: No connection established\\. Last error: Error: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\. \\(retried \\d+ times, \\d+ms\\)\\)$`,
      )
    const top = await cli(dir, ['--config', 'alt.config.ts', 'status'])
    expect(top.code).toBe(6)
    const [message, ...rest] = top.stderr.split('\n')
    expect(message).toMatch(said(9))
    expect(rest).toEqual([
      'hint: Check that the server is running and that uri in alt.config.ts is its address, or remove uri from alt.config.ts to use the embedded Milvus Lite.',
      '',
    ])
    const env = await cli(dir, ['--config', 'alt.config.ts', '--env', 'bad', 'status'])
    expect(env.code).toBe(6)
    expect(env.stderr.split('\n')[0]).toMatch(said(8))
    expect(env.stderr.split('\n').slice(1)).toEqual([
      'hint: Check that the server is running and that uri in alt.config.ts (environment bad) is its address, or remove uri from alt.config.ts to use the embedded Milvus Lite.',
      '',
    ])
    // The flag beats the file: then the flag is what the hint names.
    const flag = await cli(dir, ['--config', 'alt.config.ts', '--env', 'bad', '--uri', 'http://127.0.0.1:9', 'status'])
    expect(flag.code).toBe(6)
    expect(flag.stderr.split('\n')[0]).toMatch(said(9))
    expect(flag.stderr.split('\n').slice(1)).toEqual([
      'hint: Check that the server is running and that --uri / MILVUS_URI is its address, or leave --uri out to use the embedded Milvus Lite.',
      '',
    ])
    // The library says the same (its words for flags are not used either).
    const { loadConfig, openSession } = await import('../../src/index')
    const cfg = await loadConfig({ cwd: dir, configFile: 'alt.config.ts', environment: 'bad', env: {} })
    const e = await openSession(cfg).then(
      () => undefined,
      (x: unknown) => x as { code: string; hint: string },
    )
    expect({ code: e?.code, hint: e?.hint }).toEqual({
      code: 'UNREACHABLE',
      hint: 'Check that the server is running and that uri in alt.config.ts (environment bad) is its address, or remove uri from alt.config.ts to use the embedded Milvus Lite.',
    })
  })

  it('an address that is not one (a typo, another scheme): named, with the form to use, before anything dials (exit 6)', async () => {
    const dir = tempProject()
    for (const uri of ['not a uri', 'ftp://127.0.0.1:1', 'http://127.0.0.1:99999'])
      failed(
        await cli(dir, ['--uri', uri, 'status']),
        6,
        `error: '${uri}' is not a Milvus address\n` +
          'hint: Give --uri / MILVUS_URI as http://host:19530 (https://... for TLS or Zilliz Cloud; host:port alone works too).\n',
      )
  })

  it('a migrations directory that is not there, with migrations applied: says so, not that every file is missing (exit 4)', async () => {
    const p = await remoteProject({ '20260101000001_docs.ts': createCollectionMigration('docs') })
    expect((await p.run('up')).code).toBe(0)
    // (An address with a trailing slash is the same address.)
    const slash = await cli(p.dir, ['--uri', `${p.uri}/`, '--database', p.database, 'status', '--check'])
    expect(slash.code, slash.stderr).toBe(0)
    const snap = await snapshot(p.client)
    const hint =
      "hint: Nothing was changed. Run from the project's root (where the config file is), or point --migrations-dir (or migrationsDir in the config) at the directory that holds them.\n"
    for (const command of ['status', 'up'])
      failed(
        await p.run('--migrations-dir', 'nodir', command),
        4,
        `error: The migrations directory ${path.join(p.dir, 'nodir')} (--migrations-dir) does not exist, but the ledger records 1 migration(s) run from it\n` +
          hint,
      )
    expect(await snapshot(p.client)).toEqual(snap)
  })

  it('a migrations directory that is not there, with an empty ledger: an error naming the path and where it came from, for every command that reads it (exit 4, nothing created)', async () => {
    const p = await remoteProject()
    const wrong =
      `error: The migrations directory ${path.join(p.dir, 'nodir')} (--migrations-dir) does not exist\n` +
      'hint: Nothing was changed. Point --migrations-dir (or migrationsDir in the config) at your migrations (a relative migrationsDir in a config file is relative to that file, --migrations-dir to the working directory), or create the directory.\n'
    for (const command of [
      ['status'],
      ['status', '--check'],
      ['up'],
      ['up', '--dry-run'],
      ['plan'],
      ['down'],
      ['baseline', '20260101000001'],
      ['resolve', '20260101000001', '--rolled-back'],
    ])
      failed(await p.run('--migrations-dir', 'nodir', ...command), 4, wrong)
    // The default directory of a project never set up: init makes it.
    fs.rmSync(path.join(p.dir, 'migrations'), { recursive: true })
    failed(
      await p.run('up'),
      4,
      `error: The migrations directory ${path.join(p.dir, 'migrations')} (the default: migrations in the working directory) does not exist\n` +
        'hint: Nothing was changed. In a new project, run `mvmigrate init` (it creates migrations/, and the config file where missing); if your migrations are elsewhere, point --migrations-dir (or migrationsDir in the config) at them.\n',
    )
    // A config file's migrationsDir, named with the file it is in.
    const deploy = path.join(p.dir, 'deploy')
    fs.mkdirSync(deploy)
    fs.writeFileSync(path.join(deploy, 'mvmigrate.config.json'), JSON.stringify({ migrationsDir: 'db/migrations' }))
    failed(
      await p.run('--config', 'deploy/mvmigrate.config.json', 'status'),
      4,
      `error: The migrations directory ${path.join(deploy, 'db', 'migrations')} (migrationsDir in ${path.join(deploy, 'mvmigrate.config.json')}, relative to that file) does not exist\n` +
        'hint: Nothing was changed. Point --migrations-dir (or migrationsDir in the config) at your migrations (a relative migrationsDir in a config file is relative to that file, --migrations-dir to the working directory), or create the directory.\n',
    )
    // A path that is a file: said so.
    failed(
      await p.run('--migrations-dir', 'mvmigrate.config.json', 'plan'),
      4,
      `error: The migrations directory ${path.join(p.dir, 'mvmigrate.config.json')} (--migrations-dir) is a file, not a directory\n` +
        'hint: Nothing was changed. Point --migrations-dir (or migrationsDir in the config) at your migrations (a relative migrationsDir in a config file is relative to that file, --migrations-dir to the working directory), or create the directory.\n',
    )
    // Nothing was created: no ledger, no lock.
    expect((await p.client.listCollections()).data.map((c) => c.name)).toEqual([])
    // make creates the directory it writes into, as documented (as init does).
    const made = await p.run('make', 'first')
    expect(made.code, made.stderr).toBe(0)
    expect(path.dirname(made.stdout.trim())).toBe(path.join(p.dir, 'migrations'))
    const st = await p.run('status')
    expect([st.code, st.stdout.split('\n')[1]]).toEqual([0, expect.stringMatching(/^\d{14} +first +pending/)])
  })

  it('a gRPC server that is not Milvus (every call unimplemented): not Milvus, check the address (exit 6)', async () => {
    const server = new grpc.Server()
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    )
    try {
      failed(
        await cli(tempProject(), ['--uri', `http://127.0.0.1:${port}`, 'status']),
        6,
        'error: The server answered, but not as Milvus does: it sent no collection list\n' +
          "hint: Check that --uri / MILVUS_URI is Milvus' gRPC address (port 19530 unless changed; Zilliz Cloud: the cluster's public endpoint), not another service's port.\n",
      )
    } finally {
      server.forceShutdown()
    }
  })

  it('the data directory served by `lite serve`: use its --uri (exit 5)', async () => {
    const dir = tempProject()
    const server = spawn(process.execPath, [BIN, 'lite', 'serve'], { cwd: dir })
    let out = ''
    server.stdout.on('data', (d) => (out += d))
    const t0 = Date.now()
    while (!/on (http:\/\/127\.0\.0\.1:\d+)/.test(out) && Date.now() - t0 < 60_000)
      await new Promise((r) => setTimeout(r, 100))
    const uri = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]
    try {
      const r = await cli(dir, ['status'])
      expect(r.code).toBe(5)
      expect(r.stderr).toMatch(
        new RegExp(
          `^error: The embedded Milvus data directory ${escape(path.join(dir, '.mvmigrate', 'milvus'))} is served by \`mvmigrate lite serve\` \\(pid ${server.pid}, since [0-9T:.Z-]+\\) on ${escape(uri)}\nhint: Use that server: pass --uri ${escape(uri)} \\(or set uri in the config\\)\\.\n$`,
        ),
      )
      const shared = await cli(dir, ['--uri', uri, 'status'])
      expect(shared.code, shared.stderr).toBe(0)
    } finally {
      server.kill('SIGINT')
      await new Promise((r) => server.on('exit', r))
    }
  })

  it('prune off a terminal without --yes: pass --yes, nothing dropped (exit 2)', async () => {
    const p = await remoteProject({ '20260101000001_docs.ts': createCollectionMigration('docs') })
    writeMigration(
      p.dir,
      '20260101000002_grow.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await ctx.alter('docs', (t) => { t.alterField('title', { maxLength: 300 }) }) } })
`,
    )
    expect((await p.run('up')).code).toBe(0)
    failed(
      await p.run('prune'),
      2,
      'error: prune would drop 1 collection(s) and needs --yes when not run on a terminal\n' +
        'hint: Nothing was dropped. `mvmigrate prune --dry-run` lists them; pass --yes to drop them without asking.\n',
    )
    expect((await p.client.hasCollection({ collection_name: 'docs__mvm_bak_20260101000002' })).value).toBe(true)
  })

  it('a missing schema file: write one with pull, or point the config or --schema at it (exit 8)', async () => {
    const dir = tempProject()
    // --from-empty reads no database: the schema file is all it needs.
    failed(
      await cli(dir, ['make', 'initial', '--from-schema', '--from-empty']),
      8,
      'error: Schema file mvmigrate.schema.ts does not exist\n' +
        'hint: Write one (`mvmigrate pull` writes one from the database), or point the schemaFile config key or --schema <file> at yours.\n',
    )
    expect(fs.readdirSync(path.join(dir, 'migrations'))).toEqual([])
  })

  it('a config file that does not exist: check --config, or init (exit 7)', async () => {
    const dir = tempProject()
    failed(
      await cli(dir, ['--config', 'nope.json', 'status']),
      7,
      `error: Config file ${path.join(dir, 'nope.json')} does not exist\n` +
        'hint: Check --config, or run `mvmigrate init` to write one.\n',
    )
  })

  it('a bad migration name: an example of a good one (exit 2)', async () => {
    failed(
      await cli(tempProject(), ['make', 'AddPage']),
      2,
      'error: Invalid migration name "AddPage": use lower snake_case or kebab-case (letters, digits, _ or -)\n' +
        'hint: For example: mvmigrate make add_page_num\n',
    )
  })

  it('an unknown --to version: the known ones, and status (exit 2)', async () => {
    const p = await remoteProject({ '20260101000001_a.ts': createCollectionMigration('a') })
    failed(
      await p.run('up', '--to', '20260101000009'),
      2,
      'error: --to 20260101000009: no migration has that version\n' +
        'hint: Known versions: 20260101000001. To list them, run `mvmigrate status`.\n',
    )
  })

  it('down with nothing applied: status shows what is (exit 9)', async () => {
    const p = await remoteProject({ '20260101000001_a.ts': createCollectionMigration('a') })
    failed(
      await p.run('down'),
      9,
      'error: Nothing to undo: no migration is applied\nhint: To see what is applied, run `mvmigrate status`.\n',
    )
  })

  it('pull onto an existing schema file: --force (exit 9)', async () => {
    const p = await remoteProject()
    fs.writeFileSync(path.join(p.dir, 'mvmigrate.schema.ts'), 'export default []\n')
    failed(
      await p.run('pull'),
      9,
      'error: Schema file mvmigrate.schema.ts already exists\n' +
        'hint: Nothing was written. To overwrite it with what the database holds, run `mvmigrate pull --force`.\n',
    )
    expect(fs.readFileSync(path.join(p.dir, 'mvmigrate.schema.ts'), 'utf8')).toBe('export default []\n')
  })

  it('the lock held by another runner: wait, --lock-timeout, or unlock a dead one (exit 5)', async () => {
    const p = await remoteProject({ '20260101000001_a.ts': createCollectionMigration('a') })
    const lock = new MigrationLock(p.client)
    expect(await lock.tryAcquire('mvmigrate up')).toBe(true)
    try {
      const r = await p.run('up')
      expect(r.code).toBe(5)
      expect(r.stderr).toMatch(/^error: Another mvmigrate holds the migration lock: .*mvmigrate up.*\n/)
      expect(r.stderr.split('\n')[1]).toBe(
        'hint: Wait for it to finish, pass --lock-timeout <seconds> to wait, or if that runner is dead, run `mvmigrate unlock`.',
      )
    } finally {
      await lock.release()
    }
  })

  it('prune while another runner holds the lock: the dry run meets the real run refusal, --lock-timeout waits (exit 5)', async () => {
    const p = await remoteProject({ '20260101000001_docs.ts': createCollectionMigration('docs') })
    writeMigration(
      p.dir,
      '20260101000002_grow.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await ctx.alter('docs', (t) => { t.alterField('title', { maxLength: 300 }) }) } })
`,
    )
    expect((await p.run('up')).code).toBe(0)
    const backup = 'docs__mvm_bak_20260101000002'
    const free = await p.run('prune', '--dry-run')
    expect([free.code, free.stdout.split('\n')[0]]).toEqual([0, 'Would drop 1 collection(s):'])
    expect(free.stdout).toContain(backup)
    const lock = new MigrationLock(p.client)
    expect(await lock.tryAcquire('mvmigrate up')).toBe(true)
    const h = (await lock.holder())!
    const refusal = `error: Another mvmigrate holds the migration lock: mvmigrate up on ${h.host} (pid ${h.pid}) since ${h.since}\n`
    try {
      const atOnce =
        refusal +
        'hint: Wait for it to finish, pass --lock-timeout <seconds> to wait, or if that runner is dead, run `mvmigrate unlock`.\n'
      failed(await p.run('prune', '--dry-run'), 5, atOnce)
      failed(await p.run('prune', '--yes'), 5, atOnce)
      failed(await p.run('prune'), 5, atOnce) // off a terminal: the refusal, not "needs --yes"
      failed(await p.run('baseline', '20260101000001', '--dry-run'), 5, atOnce)
      const waited = refusal + 'hint: Still held after waiting 1 s. If that runner is dead, run `mvmigrate unlock`.\n'
      failed(await p.run('prune', '--dry-run', '--lock-timeout', '1'), 5, waited)
      failed(await p.run('prune', '--yes', '--lock-timeout', '1'), 5, waited)
      expect((await p.client.hasCollection({ collection_name: backup })).value).toBe(true)
      // The lock freed while prune waits: it takes it and drops the backup.
      const pruning = p.run('prune', '--yes', '--lock-timeout', '60')
      await new Promise((r) => setTimeout(r, 3000))
      await lock.release()
      const pruned = await pruning
      expect([pruned.code, pruned.stdout.split('\n')[0]]).toEqual([0, 'Dropped 1 collection(s):'])
      expect((await p.client.hasCollection({ collection_name: backup })).value).toBe(false)
    } finally {
      await lock.release()
    }
  })

  it('an applied migration changed since: revert it or --allow-changed, nothing changed (exit 4)', async () => {
    const p = await remoteProject({ '20260101000001_a.ts': createCollectionMigration('a') })
    expect((await p.run('up')).code).toBe(0)
    writeMigration(p.dir, '20260101000001_a.ts', createCollectionMigration('a') + '// edited\n')
    failed(
      await p.run('up'),
      4,
      'error: Refusing to run: the migrations on disk do not match the ledger:\n' +
        '  applied migration migrations/20260101000001_a.ts was changed after it was applied (checksum differs)\n' +
        'hint: Nothing was changed. To fix: revert edits to applied files (write a new migration instead) or pass --allow-changed.\n',
    )
  })
})

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

describe('--help names the exit codes that matter for each command', () => {
  const help = async (...command: string[]) => {
    const r = await cli(tempProject(), [...command, '--help'])
    expect(r.code).toBe(0)
    return r.stdout.slice(r.stdout.indexOf('Exit codes:'))
  }

  it('status --help: --check exits 3 on pending, failed, changed or drift', async () => {
    expect(await help('status')).toBe(
      [
        'Exit codes:',
        '    0  success',
        '    2  bad command line',
        '    3  with --check: something is pending, failed, missing or changed, or the database drifted',
        '    4  the migrations directory does not exist',
        '    5  another runner holds the migration lock, or the embedded data directory is in use',
        '    6  Milvus cannot be reached, rejects the credentials, or has no such database',
        '    7  the config file is invalid, or --env names no environment of it',
        '   10  the embedded Milvus Lite could not be installed or started',
        '(every code: README, "Exit codes")',
        '',
      ].join('\n'),
    )
  })

  it('every command that can fail in its own way lists its codes', async () => {
    const expected: Record<string, string[]> = {
      make: ['2', '4', '8', '9'],
      up: ['1', '2', '4', '5', '8', '130', '143'],
      plan: ['1', '4', '8'],
      down: ['1', '2', '4', '9', '130', '143'],
      diff: ['3', '8'],
      prune: ['2', '4'],
      baseline: ['2', '4'],
      status: ['3', '4'],
      resolve: ['2', '4'],
      pull: ['9'],
      unlock: ['6'],
      'lite install': ['10'],
      'lite serve': ['5', '10'],
    }
    for (const [command, codes] of Object.entries(expected)) {
      const text = await help(...command.split(' '))
      const listed = [...text.matchAll(/^ +(\d+) {2}/gm)].map((m) => m[1])
      for (const code of codes) expect(listed, `${command} --help`).toContain(code)
    }
    expect((await cli(tempProject(), ['--help'])).stdout).toContain('   9  nothing to do where something was asked')
  })
})

describe('hints fit their case: connecting', () => {
  it('a database that does not exist: how to create it, or --database (exit 6)', async () => {
    const p = await remoteProject()
    const r = await cli(p.dir, ['--uri', p.uri, '--database', 'no_such_db', 'status'])
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(
      /^error: Database 'no_such_db' does not exist on http:\/\/127\.0\.0\.1:\d+ \(it has: .*\)\n/,
    )
    expect(r.stderr.split('\n').slice(1)).toEqual([
      "hint: Create it first (createDatabase({ db_name: 'no_such_db' }) with the Milvus SDK, create_database('no_such_db') with pymilvus), or pass the right --database / MILVUS_DATABASE.",
      '',
    ])
  })
})

describe('hints fit their case: migrations, config and schema files', () => {
  const noDown = (name: string) => `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await ctx.createCollection({ name: '${name}', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }] }) } })
`

  it('down of a migration without down(): add one; undoing fewer steps is offered only when newer ones can be undone (exit 4)', async () => {
    const p = await remoteProject({
      '20260101000001_a.ts': noDown('a'),
      '20260101000002_b.ts': createCollectionMigration('b'),
    })
    expect((await p.run('up')).code).toBe(0)
    failed(
      await p.run('down'),
      4,
      'error: Cannot roll back: migrations/20260101000001_a.ts has no down()\n' +
        'hint: Nothing was undone. Add a down() to the migration, or undo only the 1 newer one(s) (--step / --to).\n',
    )
    expect((await p.run('down', '--step', '1')).code).toBe(0)
    failed(
      await p.run('down'),
      4,
      'error: Cannot roll back: migrations/20260101000001_a.ts has no down()\n' +
        'hint: Nothing was undone. Add a down() to the migration.\n',
    )
  })

  it('down given two of --step, --to and --all: pick one (exit 2)', async () => {
    const p = await remoteProject({ '20260101000001_a.ts': createCollectionMigration('a') })
    failed(
      await p.run('down', '--step', '1', '--to', '20260101000001'),
      2,
      'error: down takes only one of --step, --to and --all\nhint: Pick one; without any, down undoes the last batch.\n',
    )
  })

  it('baseline of an applied migration: pick an earlier version or roll back (exit 4)', async () => {
    const p = await remoteProject({ '20260101000001_a.ts': createCollectionMigration('a') })
    expect((await p.run('up')).code).toBe(0)
    failed(
      await p.run('baseline', '20260101000001'),
      4,
      'error: Cannot baseline up to 20260101000001: 20260101000001_a is applied\n' +
        'hint: Nothing was changed. Baseline marks migrations that never ran; pick a version before the first applied one, or roll back first.\n',
    )
  })

  it('a migration without up(): how to write one (exit 8)', async () => {
    const p = await remoteProject({ '20260101000001_noup.ts': 'export default { async down() {} }\n' })
    failed(
      await p.run('up'),
      8,
      'error: Migration migrations/20260101000001_noup.ts does not export an up() function\n' +
        "hint: Write `export default defineMigration({ async up(ctx) { ... }, async down(ctx) { ... } })` (import { defineMigration } from 'mvmigrate').\n",
    )
  })

  it('an unknown config key: the known keys (exit 7)', async () => {
    const dir = tempProject({ urii: 'http://127.0.0.1:9' })
    failed(
      await cli(dir, ['status']),
      7,
      `error: ${path.join(dir, 'mvmigrate.config.json')}: unknown key 'urii' (did you mean 'uri'?)\n` +
        'hint: Known keys: uri, token, username, password, database, migrationsDir, templatesDir, lockTimeout, connectTimeout, schemaFile, lite, tls, environments; lite: { dataDir, venvDir, python, port }; tls: { ca, cert, key, serverName }.\n',
    )
  })

  it('a schema file that is not an array, or does not parse: what to write, or fix it (exit 8)', async () => {
    const dir = tempProject()
    fs.writeFileSync(path.join(dir, 'mvmigrate.schema.ts'), 'export default { name: 1 }\n')
    failed(
      await cli(dir, ['make', 'x', '--from-schema', '--from-empty']),
      8,
      'error: Schema file mvmigrate.schema.ts must export an array of collection definitions, got object\n' +
        "hint: Write `export default [{ name: 'documents', fields: [...], indexes: [...] }]` (JSON: the array itself).\n",
    )
    fs.writeFileSync(path.join(dir, 'mvmigrate.schema.ts'), 'export default [\n')
    failed(
      await cli(dir, ['make', 'x', '--from-schema', '--from-empty']),
      8,
      `error: Schema file mvmigrate.schema.ts could not be loaded: ${path.join(dir, 'mvmigrate.schema.ts')}:2:1: Unexpected end of file\n` +
        'hint: Fix the error in the file. Nothing was changed.\n',
    )
  })
})
