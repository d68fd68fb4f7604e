import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { silentLogger } from '../../src/context/logger'
import { isMvmError, messageOf } from '../../src/errors'
import { connectMilvus } from '../../src/milvus/connect'
import { Migrator } from '../../src/migrator'
import type { CaseSpec, MigrationSpec, OpSpec, ServerCaps } from './case'
import { dropDatabase, expectedRows, readRows, seedCollection } from './database'
import { describeCase } from './generate'
import { checkInvariants, compareRows } from './invariants'
import { type ModelState, applyMigration, primaryKey } from './model'
import { generateRows } from './rows'
import { startCaseWriter } from './writer'

/**
 * Runs one case against a real server: seed the collection with plain SDK calls, then each step
 * through mvmigrate's Migrator (migration files in a temp project, as a user has them), checking
 * every invariant after every step and reading the final state once more with pymilvus.
 */
export interface ServerTarget {
  uri: string
  token?: string
  name: string
  caps: ServerCaps
  /** A Python with pymilvus, for the read-back by a client mvmigrate did not write. */
  python?: string
}

export interface CaseOutcome {
  seed: number
  shape: string
  ops: string
  ok: boolean
  /** The failing step (0: seeding the collection) and what did not hold. */
  failure?: { step: number; what: string; problems: string[] }
  stepsRun: number
  invalidRejected: number
  rowsChecked: number
  /** Writes the concurrent writer made during `up` steps, every one acknowledged and checked. */
  writes: number
  ms: number
}

const RUNTIME = path.join(__dirname, 'migration-runtime')
const execFileAsync = promisify(execFile)

export function versionOf(migration: number): string {
  return `20260101${String(100000 + migration * 10).slice(1)}`.padEnd(14, '0')
}

function migrationSource(collection: string, pk: string, spec: MigrationSpec): string {
  return `import { alterMigration } from ${JSON.stringify(RUNTIME)}\nexport default alterMigration(${JSON.stringify(collection)}, ${JSON.stringify(pk)}, ${JSON.stringify(spec, null, 2)})\n`
}

function stepText(c: CaseSpec, step: number, applied: number): string {
  const st = c.steps[step - 1]
  if (!st) return 'seeding the collection'
  if (st.kind === 'up')
    return `up of migration ${applied + 1} (${c.migrations[applied]?.ops.map((o) => o.op).join(', ')})`
  if (st.kind === 'down') return `down of migration ${applied}`
  return `invalid migration (${st.why})`
}

export async function runCase(
  spec: CaseSpec,
  server: ServerTarget,
  opts: { keep?: boolean; writer?: boolean } = {},
): Promise<CaseOutcome> {
  const started = Date.now()
  const { shape, ops } = describeCase(spec)
  const outcome: CaseOutcome = {
    seed: spec.seed,
    shape,
    ops,
    ok: true,
    stepsRun: 0,
    invalidRejected: 0,
    rowsChecked: 0,
    ms: 0,
    writes: 0,
  }
  const database = `rnd_${spec.seed.toString(36)}_${randomBytes(3).toString('hex')}`
  const admin = await connectMilvus({ uri: server.uri, token: server.token })
  await admin.createDatabase({ db_name: database })
  const client = await connectMilvus({ uri: server.uri, token: server.token, database })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-random-'))
  fs.mkdirSync(path.join(dir, 'migrations'))
  const fail = (step: number, applied: number, problems: string[]) => {
    outcome.ok = false
    outcome.failure = { step, what: stepText(spec, step, applied), problems }
  }
  try {
    let state: ModelState
    try {
      state = await seedCollection(client, spec, generateRows(spec))
    } catch (e) {
      fail(0, 0, [`seeding failed: ${messageOf(e)}`])
      return outcome
    }
    const partitionKeyPartitions = spec.schema.numPartitions
      ? ((await client.showPartitions({ collection_name: spec.collection })).partition_names ?? []).length
      : undefined
    const pk = primaryKey(spec.schema).name
    // The writer stops issuing writes once an alter reaches verification (see writer.ts).
    let onAlterPhase = (_phase: string) => {}
    const migrator = new Migrator({
      client,
      migrationsDir: path.join(dir, 'migrations'),
      cwd: dir,
      logger: { ...silentLogger, progress: (e) => onAlterPhase(e.phase) },
    })
    const applied: number[] = []
    const stack: ModelState[] = []
    const downs = new Map<number, number>()
    const expectation = () => ({
      collection: spec.collection,
      state,
      partitionKeyPartitions,
      applied: applied.map(versionOf),
      leftovers: [
        ...applied.map((i) => `${spec.collection}__mvm_bak_${versionOf(i)}`),
        ...[...downs].flatMap(([i, n]) =>
          Array.from({ length: n }, (_, k) => `${spec.collection}__mvm_undone_${versionOf(i)}${k ? `_${k + 1}` : ''}`),
        ),
      ],
    })
    const check = async (step: number) => {
      const problems = await checkInvariants(client, expectation())
      outcome.rowsChecked += state.rows.size
      if (problems.length) fail(step, applied.length, problems)
      return !problems.length
    }
    const seeded = await check(0).catch((e) => {
      fail(0, 0, [`reading the seeded collection back failed: ${messageOf(e)}`])
      return false
    })
    if (!seeded) return outcome
    for (let s = 1; s <= spec.steps.length; s++) {
      const st = spec.steps[s - 1]
      outcome.stepsRun = s
      try {
        if (st.kind === 'up') {
          const i = applied.length
          const file = path.join(dir, 'migrations', `${versionOf(i)}_alter_${i + 1}.ts`)
          if (!fs.existsSync(file)) fs.writeFileSync(file, migrationSource(spec.collection, pk, spec.migrations[i]))
          const writer =
            opts.writer === false || !writableDuring(spec, s) ? undefined : startCaseWriter(client, spec, state, s)
          onAlterPhase = (phase) => {
            if (phase !== 'copy' && phase !== 'catch-up') writer?.stop()
          }
          let before = state
          try {
            await migrator.up({ step: 1 })
          } finally {
            const written = await writer?.finish()
            if (written) {
              before = written.state
              outcome.writes += written.writes
            }
          }
          stack.push(before)
          state = applyMigration(before, spec.migrations[i].ops)
          applied.push(i)
        } else if (st.kind === 'down') {
          const i = applied.pop()!
          await migrator.down({ step: 1 })
          state = stack.pop()!
          downs.set(i, (downs.get(i) ?? 0) + 1)
        } else {
          const problems = await rejectsInvalid(client, migrator, dir, spec, pk, applied.length, st.ops, state)
          if (problems.length) {
            fail(s, applied.length, problems)
            return outcome
          }
          outcome.invalidRejected++
        }
      } catch (e) {
        fail(s, st.kind === 'down' ? applied.length + 1 : applied.length, [
          `${isMvmError(e) ? `${e.code}: ` : ''}${messageOf(e)}`,
        ])
        return outcome
      }
      try {
        if (!(await check(s))) return outcome
      } catch (e) {
        fail(s, applied.length, [`reading the collection back failed: ${messageOf(e)}`])
        return outcome
      }
    }
    if (server.python) {
      const problems = await pymilvusProblems(server, database, spec.collection, state).catch((e) => [
        `the pymilvus read-back failed: ${messageOf(e)}`,
      ])
      if (problems.length) fail(spec.steps.length, applied.length, problems)
    }
    return outcome
  } finally {
    outcome.ms = Date.now() - started
    if (!opts.keep || outcome.ok) {
      await dropDatabase(admin, client, database).catch(() => undefined)
      fs.rmSync(dir, { recursive: true, force: true })
    }
    await client.closeConnection()
    await admin.closeConnection()
  }
}

/**
 * Whether the writer may run during the `up` at `step` (1-based): its writes land before that
 * migration's swap, so they are writes made after the migration before it was applied, and a later
 * `down` of that earlier migration rightly refuses to drop them (WRITES_SINCE_ALTER). The writer
 * runs only where no later step rolls back below the migration this step applies.
 */
export function writableDuring(spec: CaseSpec, step: number): boolean {
  let applied = 0
  let floor = Infinity
  let before = 0
  spec.steps.forEach((st, i) => {
    if (i + 1 === step) before = applied
    if (st.kind === 'up') applied++
    else if (st.kind === 'down') applied--
    if (i + 1 > step) floor = Math.min(floor, applied)
  })
  return floor >= before
}

/** An invalid migration: `up` must refuse it as MIGRATION_INVALID and leave the database exactly as it was. */
async function rejectsInvalid(
  client: MilvusClient,
  migrator: Migrator,
  dir: string,
  spec: CaseSpec,
  pk: string,
  next: number,
  ops: OpSpec[],
  state: ModelState,
): Promise<string[]> {
  const version = String(BigInt(versionOf(next)) - 5n)
  const file = path.join(dir, 'migrations', `${version}_invalid.ts`)
  fs.writeFileSync(file, migrationSource(spec.collection, pk, { ops, verify: 'count', explicitDown: false }))
  const before = await databaseSnapshot(client, spec.collection, state)
  try {
    await migrator.up()
    return ['the invalid migration was applied']
  } catch (e) {
    const after = await databaseSnapshot(client, spec.collection, state)
    const problems: string[] = []
    if (!isMvmError(e) || e.code !== 'MIGRATION_INVALID')
      problems.push(
        `failed with ${isMvmError(e) ? e.code : 'a plain error'} instead of MIGRATION_INVALID: ${messageOf(e)}`,
      )
    if (before !== after) problems.push(`the database changed: ${firstDifference(before, after)}`)
    return problems
  } finally {
    fs.rmSync(file, { force: true })
  }
}

/** Everything a failed migration must not change, as one text: collections, schemas, indexes, aliases, rows, ledger. */
async function databaseSnapshot(client: MilvusClient, collection: string, state: ModelState): Promise<string> {
  const names = ((await client.listCollections()).data ?? []).map((c) => c.name).sort()
  const parts: string[] = []
  for (const name of names) {
    // mvmigrate's own collections (the lock, the ledger, its snapshots) may be created by the first
    // run; what counts is the user's collections and the ledger's rows, compared below.
    if (name.startsWith('_migrations')) continue
    const d = await client.describeCollection({ collection_name: name })
    const idx = await client.describeIndex({ collection_name: name })
    const aliases = await client.listAliases({ collection_name: name })
    parts.push(
      JSON.stringify({
        name,
        fields: d.schema.fields.map((f) => [f.name, f.data_type, f.type_params, f.nullable, f.default_value]),
        properties: d.properties,
        // In name order: Milvus 2.3 lists indexes in a different order from one call to the next.
        indexes: (idx.index_descriptions ?? [])
          .map((i) => JSON.stringify([i.index_name, i.field_name, i.params]))
          .sort(),
        aliases: aliases.aliases,
      }),
    )
  }
  const rows = await readRows(client, collection, state.schema)
  // Fields in name order: Milvus 2.3 returns them in a different order from one query to the next.
  const sorted = (o: Record<string, string>) =>
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)))
  parts.push(
    JSON.stringify(
      [...rows.rows].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, r]) => [k, sorted(r.values), sorted(r.dynamic)]),
    ),
  )
  if (names.includes('_migrations')) {
    const ledger = await client.query({
      collection_name: '_migrations',
      filter: 'version != ""',
      output_fields: ['version', 'state', 'batch', 'checksum'],
      consistency_level: 'Strong' as never,
    })
    parts.push(JSON.stringify(ledger.data.map((r) => `${r.version}:${r.state}:${r.batch}:${r.checksum}`).sort()))
  } else parts.push('[]') // no ledger yet: no rows, as an empty one
  return parts.join('\n')
}

function firstDifference(a: string, b: string): string {
  const la = a.split('\n')
  const lb = b.split('\n')
  for (let i = 0; i < Math.max(la.length, lb.length); i++)
    if (la[i] !== lb[i]) {
      const a = la[i] ?? '(nothing)'
      const b = lb[i] ?? '(nothing)'
      let at = 0
      while (at < a.length && a[at] === b[at]) at++
      const from = Math.max(0, at - 60)
      return `before: …${a.slice(from, at + 140)} / after: …${b.slice(from, at + 140)}`
    }
  return 'no line differs'
}

/** The final state read by pymilvus (test/random/read_back.py) against the model. */
async function pymilvusProblems(
  server: ServerTarget,
  database: string,
  collection: string,
  state: ModelState,
): Promise<string[]> {
  const script = path.join(__dirname, 'read_back.py')
  const { stdout } = await execFileAsync(
    server.python!,
    [script, server.uri, server.token ?? '', database, collection],
    {
      maxBuffer: 512 * 1024 * 1024,
    },
  )
  const parsed = JSON.parse(stdout) as Record<string, Record<string, string> & { $dynamic: Record<string, string> }>
  const actual = new Map(
    Object.entries(parsed).map(([k, { $dynamic, ...values }]) => [
      k,
      { values: values as Record<string, string>, dynamic: $dynamic },
    ]),
  )
  return compareRows(actual, expectedRows(state), 'pymilvus')
}
