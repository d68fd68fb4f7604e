import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as path from 'node:path'
import { MigrationContext } from './context/context'
import { Logger, silentLogger } from './context/logger'
import { MvmError, messageOf } from './errors'
import { MigrationPlan, PlanningContext } from './context/planning-context'
import { Journal } from './ledger/journal'
import { milvusCall } from './milvus/call'
import { Ledger, LedgerRow } from './ledger/ledger'
import { LockHolder, MigrationLock } from './ledger/lock'
import { discoverMigrations } from './migrations/files'
import { LoadedMigration, loadMigration } from './migrations/loader'
import { DownOptions, MigrationState, MigrationStatus, UpOptions, computeStatus, planDown, planUp } from './migrations/plan'
import { failpoint } from './failpoints'
import { TOOL_VERSION } from './version'

export interface MigratorOptions {
  client: MilvusClient
  migrationsDir: string
  logger?: Logger
  /** How long up/down wait for another runner's lock (default 0: fail at once, naming the holder). */
  lockTimeoutMs?: number
  ledgerCollection?: string
  lockCollection?: string
  /** Default verification for every alter of this run ('count' unless a migration says otherwise). */
  verify?: 'count' | 'full'
}

export interface MigrationStatusRow {
  version: string
  name: string
  state: MigrationState
  batch?: number
  appliedAt?: string
  durationMs?: number
  error?: string
  file?: string
}

/** A collection an alter left behind: a kept backup, an undone alter's result, or a partial copy. */
export interface LeftoverCollection {
  collection: string
  kind: 'backup' | 'undone' | 'partial copy'
  /** The migration version and the altered name it belongs to. */
  version: string
  of: string
}

export interface StatusReport {
  migrations: MigrationStatusRow[]
  /** Backups and other collections alters left; `mvmigrate prune` drops them. */
  backups: LeftoverCollection[]
  /** Alters a crash interrupted, and what the next `up` does about them. */
  interrupted: { name: string; version: string; state: string; next: string }[]
  /** Who holds the migration lock, if anyone. */
  lock?: LockHolder
  /** True when every migration is applied and unchanged: what `status --check` gates on. */
  upToDate: boolean
}

export interface RunResult {
  direction: 'up' | 'down'
  dryRun: boolean
  batch?: number
  migrations: { version: string; name: string; durationMs?: number }[]
}

/**
 * Decides what to run (from files and the ledger), holds the lock while running, runs each
 * migration's up()/down() with a MigrationContext, and records the outcome in the ledger.
 */
export class Migrator {
  readonly ledger: Ledger
  readonly lock: MigrationLock
  readonly journal: Journal
  private readonly log: Logger

  constructor(private readonly opts: MigratorOptions) {
    this.ledger = new Ledger(opts.client, opts.ledgerCollection)
    this.lock = new MigrationLock(opts.client, opts.lockCollection)
    this.journal = new Journal(opts.client)
    this.log = opts.logger ?? silentLogger
  }

  private async entries(): Promise<MigrationStatus[]> {
    const files = discoverMigrations(this.opts.migrationsDir)
    return computeStatus(files, await this.ledger.list())
  }

  /** Read-only: touches nothing in Milvus (the ledger is not created by looking at it). */
  async status(): Promise<StatusReport> {
    const entries = await this.entries()
    const migrations = entries.map(
      (e): MigrationStatusRow => ({
        version: e.version,
        name: e.name,
        state: e.state,
        ...(e.row && e.row.state === 'applied' ? { batch: e.row.batch, appliedAt: e.row.appliedAt, durationMs: e.row.durationMs } : {}),
        ...(e.row?.error ? { error: e.row.error } : {}),
        ...(e.file ? { file: e.file.path } : {}),
      }),
    )
    const journal = await this.journal.list()
    const interrupted = journal
      .filter((j) => j.state !== 'done')
      .map((j) => ({
        name: j.name,
        version: j.version,
        state: j.state,
        next: j.state === 'copying' ? `up drops the partial copy ${j.target} and copies again` : `up finishes the swap of ${j.name} (no copy)`,
      }))
    return { migrations, backups: await this.leftovers(), interrupted, lock: await this.lock.holder(), upToDate: migrations.every((m) => m.state === 'applied') }
  }

  /** Collections alters left behind, found by name and in the journal. */
  async leftovers(): Promise<LeftoverCollection[]> {
    const journal = await this.journal.list()
    const res = await milvusCall('list collections', () => this.opts.client.listCollections())
    const names = new Set((res.data ?? []).map((c) => c.name))
    const out: LeftoverCollection[] = []
    for (const j of journal) if (j.state === 'done' && j.backup && names.has(j.backup)) out.push({ collection: j.backup, kind: 'backup', version: j.version, of: j.name })
    for (const n of names) {
      const m = /^(.+)__mvm_(tmp|undone)_(\d{14})$/.exec(n)
      if (m) out.push({ collection: n, kind: m[2] === 'tmp' ? 'partial copy' : 'undone', version: m[3], of: m[1] })
    }
    return out.sort((a, b) => a.collection.localeCompare(b.collection))
  }

  /** Drops backups and leftovers (not partial copies of an alter still in the journal). Under the lock. */
  async prune(opts: { dryRun?: boolean } = {}): Promise<LeftoverCollection[]> {
    const pick = async () => {
      const journal = await this.journal.list()
      const active = new Set(journal.filter((j) => j.state !== 'done').map((j) => j.target))
      return (await this.leftovers()).filter((l) => !active.has(l.collection))
    }
    if (opts.dryRun) return pick()
    return this.underLock('prune', async () => {
      const todo = await pick()
      for (const l of todo) {
        await milvusCall(`drop '${l.collection}'`, () => this.opts.client.dropCollection({ collection_name: l.collection }))
        if (l.kind === 'backup') {
          const entry = (await this.journal.list()).find((j) => j.backup === l.collection)
          if (entry) await this.journal.write({ ...entry, backup: '' })
        }
        this.log.info(`dropped ${l.kind} ${l.collection}`)
      }
      return todo
    })
  }

  /** What `up` would do, without doing it: steps, schema diffs, rows to copy, backups. */
  async plan(opts: UpOptions = {}): Promise<MigrationPlan[]> {
    return this.planLoaded(this.loadAll(planUp(await this.entries(), opts)))
  }

  private async planLoaded(loaded: LoadedMigration[]): Promise<MigrationPlan[]> {
    const overlay = new Map()
    const plans: MigrationPlan[] = []
    for (const m of loaded) {
      const ctx = new PlanningContext(this.opts.client, { version: m.version, name: m.name, file: this.rel(m.path) }, overlay)
      await m.migration.up(ctx)
      plans.push({ version: m.version, name: m.name, steps: ctx.steps, alters: ctx.alters })
    }
    return plans
  }

  /** Loads every file first, so a syntax error or a missing up() fails before anything runs. */
  private loadAll(todo: MigrationStatus[]): LoadedMigration[] {
    return todo.map((e) => loadMigration(e.file!))
  }

  async up(opts: UpOptions & { dryRun?: boolean } = {}): Promise<RunResult> {
    if (opts.dryRun) {
      const todo = planUp(await this.entries(), opts)
      this.loadAll(todo)
      return { direction: 'up', dryRun: true, migrations: todo.map((e) => ({ version: e.version, name: e.name })) }
    }
    return this.underLock('up', async () => {
      await this.ledger.ensure()
      const todo = planUp(await this.entries(), opts)
      const loaded = this.loadAll(todo)
      if (!loaded.length) return { direction: 'up', dryRun: false, migrations: [] }
      const batch = await this.ledger.nextBatch()
      const done: RunResult['migrations'] = []
      for (const m of loaded) {
        const started = Date.now()
        this.log.info(`-> ${m.version}_${m.name}`)
        const ctx = this.context(m)
        try {
          await m.migration.up(ctx)
        } catch (e) {
          const durationMs = Date.now() - started
          if (e instanceof MvmError && e.code === 'MIGRATION_INVALID' && !ctx.changedSomething) {
            // Bad input found before this migration changed anything: not a failed run, nothing to record.
            throw new MvmError('MIGRATION_INVALID', e.message, {
              hint: `Fix the migration file and run \`mvmigrate up\` again. Nothing was changed by this migration${done.length ? `; the ${done.length} before it in this batch stay applied` : ''}.`,
              cause: e,
              details: { applied: done },
            })
          }
          if (e instanceof MvmError && (e.code === 'UNREACHABLE' || e.code === 'AUTH_FAILED')) {
            // The server is gone: the failure cannot be recorded, and that is the news to report.
            throw new MvmError(e.code, `Migration ${this.rel(m.path)} stopped: ${e.message}`, {
              hint: 'Nothing is recorded as applied for it. When the server is back, run `mvmigrate status` (it shows an interrupted alter) and `mvmigrate up` to finish.',
              cause: e,
            })
          }
          await this.ledger.write(this.row(m, batch, 'failed', durationMs, messageOf(e)))
          throw new MvmError('MIGRATION_FAILED', `Migration ${this.rel(m.path)} failed: ${messageOf(e)}`, {
            hint: `${done.length ? `The ${done.length} migration(s) before it in this batch stay applied. ` : ''}It is recorded as failed; fix it and run \`mvmigrate up\` again to retry.`,
            cause: e,
            details: { applied: done, failed: m.version },
          })
        }
        const durationMs = Date.now() - started
        failpoint('migrator:before-ledger-write')
        await this.ledger.write(this.row(m, batch, 'applied', durationMs))
        done.push({ version: m.version, name: m.name, durationMs })
        this.log.info(`   applied ${m.version}_${m.name} (${durationMs} ms)`)
      }
      return { direction: 'up', dryRun: false, batch, migrations: done }
    })
  }

  async down(opts: DownOptions & { dryRun?: boolean } = {}): Promise<RunResult> {
    const prepare = async () => {
      const todo = planDown(await this.entries(), opts)
      const loaded = this.loadAll(todo)
      // A migration without down() whose alters kept their backups is undone by swapping them back.
      const alters = await this.journal.list()
      const altered = (v: string) => alters.some((a) => a.version === v && a.state === 'done' && a.backup)
      const irreversible = loaded.filter((m) => !m.migration.down && !altered(m.version))
      if (irreversible.length) {
        throw new MvmError('IRREVERSIBLE', `Cannot roll back: ${irreversible.map((m) => this.rel(m.path)).join(', ')} ${irreversible.length > 1 ? 'have' : 'has'} no down()`, {
          hint: 'Nothing was undone. Add a down() to the migration, or undo fewer steps (--step / --to).',
        })
      }
      return loaded
    }
    if (opts.dryRun) {
      const loaded = await prepare()
      return { direction: 'down', dryRun: true, migrations: loaded.map((m) => ({ version: m.version, name: m.name })) }
    }
    return this.underLock('down', async () => {
      const loaded = await prepare()
      const done: RunResult['migrations'] = []
      for (const m of loaded) {
        const started = Date.now()
        this.log.info(`<- ${m.version}_${m.name}`)
        try {
          const ctx = this.context(m)
          if (m.migration.down) await m.migration.down(ctx)
          else {
            const mine = (await this.journal.list()).filter((a) => a.version === m.version && a.state === 'done').reverse()
            for (const a of mine) await ctx.revertAlter(a.name)
          }
        } catch (e) {
          throw new MvmError('MIGRATION_FAILED', `Rolling back ${this.rel(m.path)} failed: ${messageOf(e)}`, {
            hint: `It stays recorded as applied.${done.length ? ` Already undone: ${done.map((d) => d.version).join(', ')}.` : ''} Fix its down() and run \`mvmigrate down\` again.`,
            cause: e,
            details: { reverted: done, failed: m.version },
          })
        }
        await this.ledger.remove(m.version)
        const durationMs = Date.now() - started
        done.push({ version: m.version, name: m.name, durationMs })
        this.log.info(`   reverted ${m.version}_${m.name} (${durationMs} ms)`)
      }
      return { direction: 'down', dryRun: false, migrations: done }
    })
  }

  /** Releases whoever holds the lock; returns the holder it removed. */
  async unlock(): Promise<LockHolder | undefined> {
    return this.lock.forceRelease()
  }

  private async underLock<T>(command: string, fn: () => Promise<T>): Promise<T> {
    await this.lock.acquire(`mvmigrate ${command}`, this.opts.lockTimeoutMs ?? 0)
    try {
      return await fn()
    } finally {
      await this.lock.release().catch((e) => this.log.warn(`could not release the migration lock: ${messageOf(e)}; the next run on this machine takes it over, elsewhere run \`mvmigrate unlock\``))
    }
  }

  private context(m: LoadedMigration): MigrationContext {
    return new MigrationContext(this.opts.client, { version: m.version, name: m.name, file: this.rel(m.path) }, this.log, this.journal, { verify: this.opts.verify })
  }

  private row(m: LoadedMigration, batch: number, state: LedgerRow['state'], durationMs: number, error?: string): LedgerRow {
    return {
      version: m.version,
      name: m.name,
      checksum: m.checksum,
      batch,
      state,
      appliedAt: new Date().toISOString(),
      durationMs,
      toolVersion: TOOL_VERSION,
      ...(error ? { error } : {}),
    }
  }

  private rel(p: string): string {
    return path.relative(process.cwd(), p) || p
  }
}
