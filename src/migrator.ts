import type { AlterSummary } from './alter/types'
import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { AlterContext } from './alter/engine'
import { type LeftoverCollection, findLeftovers, pruneLeftovers } from './alter/leftovers'
import {
  type WritesPolicy,
  alteredCollectionBeneath,
  backupProblem,
  checkWritesSince,
  writesRefusal,
} from './alter/revert'
import { type WritesReport, hasWrites } from './alter/writes-since'
import { CallTracker, tracked } from './context/call-tracker'
import { type ContextOptions, MigrationContext } from './context/context'
import { type Logger, silentLogger } from './context/logger'
import { MvmError, messageOf } from './errors'
import { type MigrationPlan, PlanningContext } from './context/planning-context'
import { Journal, type JournalEntry, revertibleBy } from './ledger/journal'
import { Ledger, type LedgerRow, nextBatchOf } from './ledger/ledger'
import { describeCollectionSpec } from './milvus/describe'
import { type LockHolder, MigrationLock, processAlive } from './ledger/lock'
import { discoverMigrations } from './migrations/files'
import { type LoadedMigration, loadMigration } from './migrations/loader'
import {
  type DownOptions,
  type MigrationState,
  type MigrationStatus,
  type UpOptions,
  computeStatus,
  isDone,
  planDown,
  planUp,
} from './migrations/plan'
import { describeDatabase } from './declarative/live'
import { Snapshots } from './ledger/snapshots'
import { type SchemaChange, diffSchemas } from './schema/diff'
import { failpoint } from './failpoints'
import { TOOL_VERSION } from './version'
import { type Resolution, type ResolveResult, resolveFailed } from './migrations/resolve'
import { redactUri } from './util/redact'
import { type Audience, renderWords, resolveRolledBack } from './hints'
import { phase } from './util/timings'
import { StopPoint, interruptName, isInterrupted } from './util/interrupt'

export interface MigratorOptions {
  client: MilvusClient
  migrationsDir: string
  /** Where migrationsDir came from, named when it does not exist (loadConfig's migrationsDirOrigin; default: the migrationsDir option). */
  migrationsDirOrigin?: string
  logger?: Logger
  /**
   * How long up, down, prune, baseline and resolve wait for another runner's lock (default 0: fail
   * at once, naming the holder); their dry runs check the lock the same way, without taking it.
   */
  lockTimeoutMs?: number
  ledgerCollection?: string
  lockCollection?: string
  /** Default verification for every alter of this run ('count' unless a migration says otherwise). */
  verify?: 'count' | 'full'
  /** false: every alter of this run is offline (any write during its copy fails it); default online. */
  online?: boolean
  /** Paths in messages are shown relative to this directory (default: process.cwd()). */
  cwd?: string
  /** Applied to every text stored in Milvus (a failed migration's error): keeps secrets out of the ledger. Default: a uri's userinfo is removed. */
  redact?: (text: string) => string
  /** Whose words log lines use for what to do: the library's (default) or the CLI's. */
  audience?: Audience
  /**
   * Stops `up` at the next point where stopping leaves a state the next run picks up (an alter's
   * copy at its last written page, with a checkpoint, pages being computed abandoned; an alter
   * before its swap; a migration before its next ctx call; the batch before its next migration),
   * releases the lock and throws INTERRUPTED saying what the next `up` does. A swap is finished
   * first; a run that finished everything anyway returns `interrupted` (what the signal came during).
   * The CLI aborts it on SIGINT / SIGTERM.
   */
  signal?: AbortSignal
}

export type { LeftoverCollection } from './alter/leftovers'

/** Drift: changes since the last snapshot; snapshotAt null when there is none yet (a ledger from before snapshots). */
export interface Drift {
  snapshotAt: string | null
  changes: SchemaChange[]
}

export interface DownRunOptions extends DownOptions {
  dryRun?: boolean
  /**
   * Rows written to an altered collection since its alter: 'refuse' (default) stops before undoing
   * anything; 'carry' copies them back into the restored collection; 'discard' rolls back anyway
   * and keeps them only in the leftover collection.
   */
  writes?: WritesPolicy
  /** 'full': also compare every value of rows on both sides (default: the Migrator's verify). */
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

export interface StatusReport {
  migrations: MigrationStatusRow[]
  /** Backups and other collections alters left; `mvmigrate prune` drops them. */
  backups: LeftoverCollection[]
  /** Alters in progress: running now (another runner holds the lock), or interrupted by a crash and what the next run does. */
  interrupted: AlterInProgress[]
  /** Who holds the migration lock; null when nobody does. */
  lock: LockHolder | null
  /**
   * True when the lock's holder ran on this machine and its process is gone (killed before it
   * released the lock): the next up/down here takes the lock over. Unknown for other machines: false.
   */
  lockHolderGone: boolean
  /** Changes made outside migrations since the last run, or why that cannot be told yet. */
  drift: Drift
  /** True when every migration is applied and unchanged: what `status --check` gates on. */
  upToDate: boolean
}

export interface RunResult {
  direction: 'up' | 'down' | 'baseline'
  dryRun: boolean
  batch?: number
  migrations: { version: string; name: string; durationMs?: number }[]
  /** down: the newest baselined migration, where the rollback stopped (it was never run). */
  stoppedAt?: { version: string; name: string }
  /** down: rows written since an alter that were carried back or left in a leftover collection. */
  writes?: (WritesReport & { version: string; handled: 'carried' | 'discarded' })[]
  /** The alters the run made (up: with what writers did during online alters). */
  alters?: (AlterSummary & { version: string })[]
  /** up: migrations recorded as failed whose file is gone: up cannot run them; `resolve` settles them. */
  unresolved?: { version: string; name: string }[]
  /**
   * A signal (Ctrl-C) came when nothing was left that could stop safely (a swap, a migration's last
   * steps): what it came during. The run finished everything it was asked to; nothing is left undone.
   */
  interrupted?: { signal: string; during: string }
}

/** An alter the journal says is not done: how far it got, and whether a runner is at it now. */
export interface AlterInProgress {
  name: string
  version: string
  state: string
  /** True when the runner holding the lock is alive: the alter is running now, not interrupted. */
  running: boolean
  phase?: 'copy' | 'catch-up' | 'verify' | 'sweep'
  rowsDone?: number
  totalRows?: number
  rowsPerSecond?: number
  etaSeconds?: number
  /** With backfills, while copying: the running copy's model calls, retries and rows computed (rows are written a page at a time). */
  modelCalls?: number
  retries?: number
  rowsComputed?: number
  /** What the next run does about it (for an interrupted one), or who runs it. */
  next: string
}

const count = (n: number) => n.toLocaleString('en-US')

function alterInProgress(j: JournalEntry, lock: LockHolder | null): AlterInProgress {
  // A live holder: on this machine its process exists; elsewhere the journal moved in the last 2 minutes.
  const running =
    !!lock && (lock.host === os.hostname() ? processAlive(lock.pid) : Date.now() - Date.parse(j.updatedAt) < 120_000)
  const done = j.checkpoint?.rows ?? (j.phase === 'verify' ? j.rowsCopied : 0)
  const total = j.sourceRows
  const elapsedS = j.copyStartedAt ? (Date.parse(j.updatedAt) - Date.parse(j.copyStartedAt)) / 1000 : 0
  const rate = elapsedS > 0 ? Math.round((done - (j.rowsAtStart ?? 0)) / elapsedS) : 0
  const eta = rate > 0 && total !== undefined ? Math.ceil((total - done) / rate) : undefined
  const progress = {
    ...(j.phase ? { phase: j.phase } : {}),
    ...(total !== undefined ? { rowsDone: done, totalRows: total } : {}),
    ...(rate ? { rowsPerSecond: rate } : {}),
    ...(eta !== undefined ? { etaSeconds: eta } : {}),
    ...(j.backfill && j.phase === 'copy'
      ? { modelCalls: j.backfill.calls, retries: j.backfill.retries, rowsComputed: j.backfill.rows }
      : {}),
  }
  let next: string
  // An alter made by a down() is continued by running down again.
  const rerun = j.direction === 'down' ? 'down' : 'up'
  if (running) next = `running: ${lock!.command} on ${lock!.host} (pid ${lock!.pid})`
  else if (j.state === 'copying')
    next =
      j.checkpoint && total !== undefined
        ? `copy ${count(done)}/${count(total)} rows done; ${rerun} will continue`
        : `${rerun} drops the partial copy ${j.target} and copies again`
  else if (j.state === 'reverting') next = `down finishes moving ${j.backup} back to ${j.name} (no copy)`
  else next = `${rerun} finishes the swap of ${j.name} (no copy)`
  return { name: j.name, version: j.version, state: j.state, running, ...progress, next }
}

/** Failed migrations whose file is gone: nothing can run them again; they wait for `resolve`. */
function failedWithoutFile(entries: MigrationStatus[]): Pick<RunResult, 'unresolved'> {
  const list = entries.filter((e) => e.state === 'failed' && !e.file).map((e) => ({ version: e.version, name: e.name }))
  return list.length ? { unresolved: list } : {}
}

/**
 * Decides what to run (from files and the ledger), holds the lock while running, runs each
 * migration's up()/down() with a MigrationContext, and records the outcome in the ledger.
 */
export class Migrator {
  readonly ledger: Ledger
  readonly lock: MigrationLock
  readonly journal: Journal
  readonly snapshots: Snapshots
  private readonly log: Logger

  constructor(private readonly opts: MigratorOptions) {
    this.ledger = new Ledger(opts.client, opts.ledgerCollection)
    this.lock = new MigrationLock(opts.client, opts.lockCollection)
    this.journal = new Journal(opts.client)
    this.snapshots = new Snapshots(opts.client)
    this.log = opts.logger ?? silentLogger
  }

  private async entries(): Promise<MigrationStatus[]> {
    await this.requireMigrationsDir()
    const files = discoverMigrations(this.opts.migrationsDir)
    const rows = await phase('ledger', () => this.ledger.list())
    return computeStatus(files, rows)
  }

  /**
   * A migrations directory that is not there is a wrong path (or a project never set up), whatever
   * the ledger holds: reading it as "no migrations" would report "up to date" for a wrong path, and
   * every applied file "missing" says less than the truth. Checked before anything is written.
   */
  private async requireMigrationsDir(): Promise<void> {
    const dir = this.opts.migrationsDir
    const stat = fs.statSync(dir, { throwIfNoEntry: false })
    if (stat?.isDirectory()) return
    const origin = this.opts.migrationsDirOrigin ?? 'the migrationsDir option'
    const applied = stat ? [] : (await this.ledger.list()).filter((r) => r.state !== 'failed')
    const defaultDir = path.resolve(this.opts.cwd ?? process.cwd(), 'migrations')
    throw new MvmError(
      'MISSING_FILE',
      stat
        ? `The migrations directory ${dir} (${origin}) is a file, not a directory`
        : `The migrations directory ${dir} (${origin}) does not exist${applied.length ? `, but the ledger records ${applied.length} migration(s) run from it` : ''}`,
      {
        hint: applied.length
          ? "Nothing was changed. Run from the project's root (where the config file is), or point {{migrationsDir}} at the directory that holds them."
          : path.resolve(dir) === defaultDir
            ? 'Nothing was changed. In a new project, {{initDir}}; if your migrations are elsewhere, point {{migrationsDir}} at them.'
            : 'Nothing was changed. Point {{migrationsDir}} at your migrations (a relative migrationsDir in a config file is relative to that file, {{migrationsDirFlag}} to the working directory), or create the directory.',
      },
    )
  }

  /** Read-only: touches nothing in Milvus (the ledger is not created by looking at it). */
  async status(): Promise<StatusReport> {
    const entries = await this.entries()
    const migrations = entries.map((e): MigrationStatusRow => ({
      version: e.version,
      name: e.name,
      state: e.state,
      ...(e.row && e.row.state !== 'failed'
        ? { batch: e.row.batch, appliedAt: e.row.appliedAt, durationMs: e.row.durationMs }
        : {}),
      ...(e.row?.error ? { error: e.row.error } : {}),
      ...(e.file ? { file: e.file.path } : {}),
    }))
    // Read once for all that status shows: each read of a collection with Strong consistency waits
    // for the server (150-350 ms on Milvus 2.3), and nothing here writes it.
    const journal = await phase('journal', () => this.journal.list())
    const lock = (await phase('lock', () => this.lock.holder())) ?? null
    const withFile = new Set(entries.filter((e) => e.file).map((e) => e.version))
    const interrupted = journal
      .filter((j) => j.state !== 'done')
      .map((j) => alterInProgress(j, lock))
      .map((i) =>
        // Nothing reruns an alter whose migration file is gone: say what settles it instead.
        !i.running && i.state === 'copying' && !withFile.has(i.version)
          ? {
              ...i,
              next: `its migration file is gone: ${resolveRolledBack(i.version, this.opts.audience ?? 'api')} drops the partial copy (the source is untouched)`,
            }
          : i,
      )
    const drift = await phase('drift', () => this.drift(journal))
    return {
      migrations,
      backups: await phase('leftovers', () => findLeftovers(this.opts.client, journal)),
      interrupted,
      lock,
      lockHolderGone: !!lock && lock.host === os.hostname() && lock.pid !== process.pid && !processAlive(lock.pid),
      drift,
      upToDate: migrations.every((m) => isDone(m.state)) && drift.changes.length === 0,
    }
  }

  /**
   * What changed in the database outside migrations: the last snapshot (taken after every up, down
   * and baseline) against the live collections. mvmigrate's own collections are never drift.
   */
  async drift(journal?: JournalEntry[]): Promise<Drift> {
    // Read at once: each read waits for the server (a Strong read 150-350 ms on Milvus 2.3).
    const [snapshot, entries, live] = await Promise.all([
      this.snapshots.latest(),
      journal ?? this.journal.list(),
      describeDatabase(this.opts.client),
    ])
    if (!snapshot) return { snapshotAt: null, changes: [] }
    // A running (or interrupted) alter's own collections change under it: its target appears, its
    // alias moves. status lists the alter itself; they are not drift.
    // So is what an alter finished since the snapshot changed (the run records a new one after it).
    const busy = new Set(
      entries
        .filter((j) => j.state !== 'done' || (j.updatedAt > snapshot.takenAt && !j.backupPrunedAt && !j.retired))
        .flatMap((j) => [j.name, j.source, j.target, j.backup, j.undone ?? ''])
        .filter(Boolean),
    )
    return {
      snapshotAt: snapshot.takenAt,
      changes: diffSchemas(snapshot.collections, live).filter((c) => !busy.has(c.collection)),
    }
  }

  private async warnOfDrift(): Promise<void> {
    const drift = await phase('drift', () => this.drift())
    if (!drift.changes.length) return
    const what = drift.changes
      .slice(0, 5)
      .map((c) => `${c.collection}: ${c.kind}${c.item ? ` ${c.item}` : ''}`)
      .join('; ')
    this.log.warn(
      `the database changed outside migrations since ${drift.snapshotAt} (${what}${drift.changes.length > 5 ? `; ${drift.changes.length - 5} more` : ''}): this run's schema snapshot includes those changes, so status will not report them as drift again. Write a migration for them if they are meant to stay.`,
    )
  }

  /** After a run: the snapshot drift is measured from (a failure to take it is reported, not fatal). */
  private async snapshotAfterRun(): Promise<void> {
    await phase('snapshot', () => this.recordSnapshot()).catch((e) =>
      this.log.warn(`could not record the schema snapshot (drift detection): ${messageOf(e)}`),
    )
  }

  /** Records the schema as it is now: drift is measured from here. */
  async recordSnapshot(): Promise<void> {
    await this.snapshots.write(await describeDatabase(this.opts.client))
  }

  /**
   * Marks every migration up to and including `version` as applied without running it (state
   * 'baseline', a batch of its own): for collections that already exist. Refuses, changing
   * nothing, when one of them is already applied or failed.
   */
  async baseline(version: string, opts: { dryRun?: boolean } = {}): Promise<RunResult> {
    await this.requireMigrationsDir()
    const prepare = async () => {
      const entries = await this.entries()
      if (!entries.some((e) => e.version === version && e.file)) {
        throw new MvmError('UNKNOWN_VERSION', `baseline ${version}: no migration file has that version`, {
          hint: `Known versions: ${
            entries
              .filter((e) => e.file)
              .map((e) => e.version)
              .join(', ') || 'none'
          }. To list them, {{status}}.`,
        })
      }
      const chosen = entries.filter((e) => e.file && e.version <= version)
      const blocked = chosen.filter((e) => e.state !== 'pending')
      if (blocked.length) {
        throw new MvmError(
          'BASELINE_REFUSED',
          `Cannot baseline up to ${version}: ${blocked.map((e) => `${e.version}_${e.name} is ${e.state}`).join(', ')}`,
          {
            hint: 'Nothing was changed. Baseline marks migrations that never ran; pick a version before the first applied one, or roll back first.',
            details: { blocked: blocked.map((e) => ({ version: e.version, state: e.state })) },
          },
        )
      }
      return chosen
    }
    if (opts.dryRun) {
      await this.checkLock()
      return {
        direction: 'baseline',
        dryRun: true,
        migrations: (await prepare()).map((e) => ({ version: e.version, name: e.name })),
      }
    }
    return this.underLock('baseline', async () => {
      const chosen = await prepare()
      await this.ledger.ensure()
      const batch = await this.ledger.nextBatch()
      for (const e of chosen) {
        await this.ledger.write({
          version: e.version,
          name: e.name,
          checksum: e.file!.checksum,
          batch,
          state: 'baseline',
          appliedAt: new Date().toISOString(),
          durationMs: 0,
          toolVersion: TOOL_VERSION,
        })
        this.log.info(`   baselined ${e.version}_${e.name}`)
      }
      await this.recordSnapshot()
      return {
        direction: 'baseline',
        dryRun: false,
        batch,
        migrations: chosen.map((e) => ({ version: e.version, name: e.name })),
      }
    })
  }

  /** Collections alters left behind (found by name and in the journal), with their row counts. Changes nothing. */
  async leftovers(): Promise<LeftoverCollection[]> {
    return findLeftovers(this.opts.client, this.journal)
  }

  /**
   * Drops backups and leftovers (not partial copies of an alter still in the journal), under the
   * lock. Refuses, dropping nothing, when one holds rows that exist nowhere else, unless
   * `discardWrites`. A dry run gives the same answer, refusal included, and drops nothing.
   */
  async prune(opts: { dryRun?: boolean; discardWrites?: boolean } = {}): Promise<LeftoverCollection[]> {
    if (opts.dryRun) {
      await this.checkLock()
      return pruneLeftovers(this.opts.client, this.journal, { dryRun: true, discardWrites: opts.discardWrites })
    }
    return this.underLock('prune', () =>
      pruneLeftovers(this.opts.client, this.journal, {
        discardWrites: opts.discardWrites,
        onDrop: (l) => this.log.info(`dropped ${l.kind} ${l.collection}`),
      }),
    )
  }

  /** What `up` would do, without doing it: steps, schema diffs, rows to copy, backups. */
  async plan(opts: UpOptions = {}): Promise<MigrationPlan[]> {
    return this.planLoaded(await this.loadAll(planUp(await this.entries(), { ...opts, cwd: this.opts.cwd })))
  }

  private async planLoaded(loaded: LoadedMigration[]): Promise<MigrationPlan[]> {
    const overlay = new Map()
    const plans: MigrationPlan[] = []
    for (const m of loaded) {
      const ctx = new PlanningContext(this.opts.client, this.info(m), overlay, true)
      try {
        await m.migration.up(ctx)
      } catch (e) {
        // What up would refuse (the same checks, the same message): plan fails with it too.
        if (e instanceof MvmError && e.code === 'UNSUPPORTED_BY_SERVER')
          throw MvmError.wrap(
            e,
            (msg) => msg,
            (h) => `${h ?? ''} {{upCommand}} stops at this migration the same way, before it changes anything.`.trim(),
          )
        throw e
      }
      plans.push({ version: m.version, name: m.name, steps: ctx.steps, alters: ctx.alters })
    }
    return plans
  }

  /** Loads every file first, so a syntax error or a missing up() fails before anything runs. */
  private async loadAll(todo: MigrationStatus[]): Promise<LoadedMigration[]> {
    const loaded: LoadedMigration[] = []
    await phase('load migration files', async () => {
      for (const e of todo) loaded.push(await loadMigration(e.file!, this.opts.cwd))
    })
    return loaded
  }

  async up(opts: UpOptions & { dryRun?: boolean } = {}): Promise<RunResult> {
    // Before the lock and the ledger are created: a wrong path changes nothing.
    await this.requireMigrationsDir()
    if (opts.dryRun) {
      const todo = planUp(await this.entries(), { ...opts, cwd: this.opts.cwd })
      await this.loadAll(todo)
      return { direction: 'up', dryRun: true, migrations: todo.map((e) => ({ version: e.version, name: e.name })) }
    }
    return this.underLock('up', async () => {
      // A ledger this run just created is empty: no need to wait for its load to read that.
      const created = await phase('ledger', () => this.ledger.ensure())
      const entries = created ? computeStatus(discoverMigrations(this.opts.migrationsDir), []) : await this.entries()
      const todo = planUp(entries, { ...opts, cwd: this.opts.cwd })
      const loaded = await this.loadAll(todo)
      const unresolved = failedWithoutFile(entries)
      if (!loaded.length) return { direction: 'up', dryRun: false, migrations: [], ...unresolved }
      // The snapshot this run records after it includes whatever changed outside migrations: say so
      // now, or status never reports that drift again.
      if (!created) await this.warnOfDrift()
      // From the rows just read (under the lock nothing else writes them): no second read of the ledger.
      const batch = nextBatchOf(entries.flatMap((e) => (e.row ? [e.row] : [])))
      const done: RunResult['migrations'] = []
      const alters: NonNullable<RunResult['alters']> = []
      let recordedFailure = false
      const stop = this.stopPoint()
      try {
        for (const [i, m] of loaded.entries()) {
          if (this.opts.signal?.aborted)
            throw this.interruptedBetween(this.opts.signal, m, done, loaded.length - i, undefined, stop.during)
          const started = Date.now()
          this.log.info(`-> ${m.version}_${m.name}`)
          stop.migration = this.rel(m.path)
          const tracker = new CallTracker(this.rel(m.path), 'up', this.opts.signal)
          const ctx = this.context(m, { tracker, stopPoint: stop })
          try {
            await phase('migrations', () => this.invoke(m, 'up', ctx, tracker))
          } catch (e) {
            const durationMs = Date.now() - started
            if (isInterrupted(e) && this.opts.signal?.aborted && !ctx.changedSomething) {
              // Stopped before this migration changed anything: nothing to record, it runs again from the start.
              throw this.interruptedBetween(this.opts.signal, m, done, loaded.length - i, e)
            }
            if (e instanceof MvmError && e.code === 'UNSUPPORTED_BY_SERVER' && !ctx.changedSomething) {
              // The server lacks what this migration needs, found before anything changed: nothing to record.
              const stays = done.length ? `; the ${done.length} before it in this batch stay applied` : ''
              throw MvmError.wrap(
                e,
                (m) => m,
                (h) => `${h ?? ''} Nothing is recorded for this migration${stays}.`.trim(),
                { applied: done },
              )
            }
            if (e instanceof MvmError && e.code === 'MIGRATION_INVALID' && !ctx.changedSomething) {
              // Bad input found before this migration changed anything: not a failed run, nothing to record.
              throw new MvmError('MIGRATION_INVALID', e.message, {
                // The error's own advice (what to change) comes first when it has some.
                hint: `${e.hintTemplate ? `${e.hintTemplate} Then {{up}} again: nothing` : 'Fix the migration file and {{up}} again. Nothing'} was changed by this migration${done.length ? `; the ${done.length} before it in this batch stay applied` : ''}.`,
                cause: e,
                details: { applied: done },
              })
            }
            if (e instanceof MvmError && (e.code === 'UNREACHABLE' || e.code === 'AUTH_FAILED')) {
              // The server is gone: the failure cannot be recorded, and that is the news to report.
              throw new MvmError(e.code, `Migration ${this.rel(m.path)} stopped: ${e.message}`, {
                hint: 'Nothing is recorded as applied for it. When the server is back, {{upCommand}} runs it again from the start; an alter it interrupted continues from its checkpoint ({{status}} to see it).',
                cause: e,
              })
            }
            await this.ledger.write(this.row(m, batch, 'failed', durationMs, messageOf(e)))
            recordedFailure = true
            // A retry skips the alters this run finished: editing one of them would change nothing.
            const finished = (await this.journal.list().catch(() => [] as JournalEntry[]))
              .filter((a) => revertibleBy(m.version)(a) && a.state === 'done')
              .map((a) => `'${a.name}'`)
            // The advice of a bad call found after something changed (e.g. a second alter of one name),
            // of a backfill that failed for good (what to do about the model service, kept copy and all),
            // and an alter's own verdict (writers during an offline copy, a catch-up outrun by writes, a
            // failed verification). Each says what to do and then to run it again (the file may be
            // fine): no "fix it" after it.
            const advice =
              e instanceof MvmError &&
              (e.code === 'MIGRATION_INVALID' || e.code === 'MIGRATION_FAILED' || e.details?.rowsKept !== undefined) &&
              e.hintTemplate
                ? `${e.hintTemplate} `
                : ''
            if (isInterrupted(e) && this.opts.signal?.aborted) {
              throw this.interruptedDuring(e, m, done, tracker.changes, finished)
            }
            const kept = finished.length
              ? ` Its alter of ${finished.join(', ')} finished and is kept: a retry does not run it again, so change only what comes after it.`
              : ''
            // What up() changed before it failed stays: a retry runs up() from the start and meets it.
            const made = tracker.changes
            const stays = made.length
              ? ` Before it failed, up() made ${made.length === 1 ? 'this change, which stays' : `these ${made.length} changes, which stay`}: ${made.join('; ')}. A retry runs up() from the start: make each step safe to run again (createCollection(def, { ifNotExists: true }), dropCollection(name, { ifExists: true })) or undo it first.`
              : ''
            throw new MvmError('MIGRATION_FAILED', `Migration ${this.rel(m.path)} failed: ${messageOf(e)}`, {
              hint: `${advice}${done.length ? `The ${done.length} migration(s) before it in this batch stay applied. ` : ''}It is recorded as failed${advice ? ' until {{upCommand}} runs it again' : '; fix it and {{up}} again to retry'}.${stays}${kept}`,
              cause: e,
              details: { applied: done, failed: m.version, changes: made },
            })
          }
          const durationMs = Date.now() - started
          failpoint('migrator:before-ledger-write')
          await phase('ledger', () => this.ledger.write(this.row(m, batch, 'applied', durationMs)))
          done.push({ version: m.version, name: m.name, durationMs })
          alters.push(...ctx.alterSummaries.map((a) => ({ ...a, version: m.version })))
          this.log.info(`   applied ${m.version}_${m.name} (${durationMs} ms)`)
          stop.migration = undefined
        }
      } finally {
        if (done.length || recordedFailure) await this.snapshotAfterRun()
      }
      return {
        direction: 'up',
        dryRun: false,
        batch,
        migrations: done,
        ...(alters.length ? { alters } : {}),
        ...unresolved,
        ...this.finishedDespite(stop),
      }
    })
  }

  /**
   * Settles a migration recorded as failed, by hand (like Prisma's `migrate resolve`):
   * 'rolled-back' forgets the attempt (what it changed stays as it is; a partial copy of an
   * interrupted alter is dropped), 'applied' records it as applied (its file must exist).
   * Refuses, changing nothing, for any other state or an alter stopped half-way through its swap.
   */
  async resolve(version: string, as: Resolution, opts: { dryRun?: boolean } = {}): Promise<ResolveResult> {
    await this.requireMigrationsDir()
    const run = async () => {
      const ledgerRows = await this.ledger.list()
      const entries = computeStatus(discoverMigrations(this.opts.migrationsDir), ledgerRows)
      return resolveFailed(
        { client: this.opts.client, journal: this.journal, ledger: this.ledger, entries, ledgerRows },
        version,
        as,
        { dryRun: opts.dryRun, toolVersion: TOOL_VERSION, onChange: (w) => this.log.info(w) },
      )
    }
    if (!opts.dryRun) return this.underLock('resolve', run)
    await this.checkLock()
    return run()
  }

  /**
   * Rolls back (the last batch by default). Before undoing anything: every migration must be
   * reversible (a down(), or alters whose backups are still there), and rows written to an altered
   * collection since its alter are found; by default they stop the rollback (see DownRunOptions.writes).
   */
  async down(opts: DownRunOptions = {}): Promise<RunResult> {
    await this.requireMigrationsDir()
    const verify = opts.verify ?? this.opts.verify
    const prepare = async () => {
      const planned = planDown(await this.entries(), opts)
      // A baselined migration never ran: its down() must not run either. The rollback stops before it.
      const stop = planned.findIndex((e) => e.row?.state === 'baseline')
      const todo = stop < 0 ? planned : planned.slice(0, stop)
      const stoppedAt = stop < 0 ? undefined : { version: planned[stop].version, name: planned[stop].name }
      if (stoppedAt && !todo.length) {
        throw new MvmError(
          'IRREVERSIBLE',
          `Cannot roll back ${stoppedAt.version}_${stoppedAt.name}: it was baselined, not run, so its down() is not run either`,
          {
            hint: 'Nothing was undone. To undo what it describes, write a new migration that does it.',
          },
        )
      }
      const loaded = await this.loadAll(todo)
      const journal = await this.journal.list()
      const altersOf = (v: string) => journal.filter(revertibleBy(v))
      // Which alters each down() swaps back: all of them without a down(); those its down() reverts (planned) otherwise.
      const reverts = new Map<string, JournalEntry[]>()
      const irreversible: string[] = []
      // How many migrations, newest first, could be undone before the first that cannot.
      let undoable = loaded.length
      for (const [i, m] of loaded.entries()) {
        const alters = altersOf(m.version)
        if (!m.migration.down) {
          if (!alters.length) {
            irreversible.push(`${this.rel(m.path)} has no down()`)
            undoable = Math.min(undoable, i)
          }
          reverts.set(m.version, alters)
          continue
        }
        const names = await this.plannedReverts(m).catch(() => undefined)
        reverts.set(m.version, names ? alters.filter((a) => names.includes(a.name)) : [])
      }
      for (const [i, m] of loaded.entries()) {
        for (const a of reverts.get(m.version) ?? []) {
          if (a.state !== 'done') continue
          const problem = await backupProblem(this.alterContext(m), a)
          if (problem) {
            irreversible.push(`${problem.message.replace(/^[^:]*: /, `${this.rel(m.path)}: `)}`)
            undoable = Math.min(undoable, i)
          }
        }
      }
      if (irreversible.length) {
        const pruned = irreversible.some((l) => /was pruned|no backup was kept|is gone/.test(l))
        // Undoing fewer steps helps only when newer migrations come before the one that cannot be undone.
        const fewer = undoable > 0 ? `, or undo only the ${undoable} newer one(s) ({{downRange}})` : ''
        throw new MvmError('IRREVERSIBLE', `Cannot roll back: ${irreversible.join('; ')}`, {
          hint: pruned
            ? `Nothing was undone. An alter whose backup is gone cannot be swapped back: write a down() that reverses the change with ctx.alter (the opposite operations)${fewer}.`
            : `Nothing was undone. Add a down() to the migration${fewer}.`,
        })
      }
      // Rows written since each alter, for every alter this rollback swaps back, before undoing any.
      const checked = new Map<string, Map<string, WritesReport>>()
      const withWrites: { file: string; report: WritesReport }[] = []
      for (const m of loaded) {
        const mine = new Map<string, WritesReport>()
        for (const a of reverts.get(m.version) ?? []) {
          if (a.state !== 'done') continue
          const report = await checkWritesSince(this.alterContext(m), a, {
            verify,
            planOf: (name) => this.alterPlanOf(m, a, name),
            // A newer alter of the same name is undone first: this one's result is in its backup.
            alteredName: alteredCollectionBeneath(a, journal),
          })
          mine.set(a.name, report)
          if (hasWrites(report)) withWrites.push({ file: this.rel(m.path), report })
        }
        checked.set(m.version, mine)
      }
      if (withWrites.length && (opts.writes ?? 'refuse') === 'refuse')
        throw writesRefusal(
          withWrites.map((w) => w.file).join(', '),
          withWrites.map((w) => w.report),
        )
      return { loaded, checked, withWrites, stoppedAt }
    }
    if (opts.dryRun) {
      const { loaded, withWrites, stoppedAt } = await prepare()
      return {
        direction: 'down',
        dryRun: true,
        migrations: loaded.map((m) => ({ version: m.version, name: m.name })),
        ...(withWrites.length
          ? {
              writes: withWrites.map((w) => ({
                ...w.report,
                version: '',
                handled: opts.writes === 'carry' ? ('carried' as const) : ('discarded' as const),
              })),
            }
          : {}),
        ...(stoppedAt ? { stoppedAt } : {}),
      }
    }
    return this.underLock('down', async () => {
      const { loaded, checked, stoppedAt } = await prepare()
      const done: RunResult['migrations'] = []
      const writes: NonNullable<RunResult['writes']> = []
      const stop = this.stopPoint()
      for (const m of loaded) {
        if (this.opts.signal?.aborted) {
          throw new MvmError(
            'INTERRUPTED',
            `Interrupted (${interruptName(this.opts.signal)}) before rolling back ${this.rel(m.path)}: ${done.length} migration(s) rolled back, ${loaded.length - done.length} not`,
            { hint: 'To undo the rest, {{down}} again.', details: { reverted: done, stoppedAt: m.version } },
          )
        }
        const started = Date.now()
        this.log.info(`<- ${m.version}_${m.name}`)
        stop.migration = this.rel(m.path)
        try {
          const tracker = new CallTracker(this.rel(m.path), 'down', this.opts.signal)
          const revert = {
            writes: opts.writes,
            verify,
            checked: checked.get(m.version),
            planOf: (name: string) => this.alterPlanOf(m, undefined, name),
          }
          const ctx = this.context(m, { tracker, revert, direction: 'down', stopPoint: stop })
          if (m.migration.down) await this.invoke(m, 'down', ctx, tracker)
          else {
            const mine = (await this.journal.list()).filter(revertibleBy(m.version)).reverse()
            for (const a of mine) await ctx.revertAlter(a.name)
          }
          for (const r of checked.get(m.version)?.values() ?? [])
            if (hasWrites(r))
              writes.push({ ...r, version: m.version, handled: opts.writes === 'carry' ? 'carried' : 'discarded' })
        } catch (e) {
          if (e instanceof MvmError && (e.code === 'WRITES_SINCE_ALTER' || e.code === 'IRREVERSIBLE') && !done.length)
            throw e
          if (isInterrupted(e) && this.opts.signal?.aborted)
            throw new MvmError('INTERRUPTED', `${e.message} (rolling back ${this.rel(m.path)})`, {
              hint: `It stays recorded as applied.${done.length ? ` Already undone: ${done.map((d) => d.version).join(', ')}.` : ''} To go on, {{down}} again: an alter back that was copying continues from its checkpoint.`,
              cause: e,
              details: { ...e.details, reverted: done, failed: m.version },
            })
          if (e instanceof MvmError && (e.code === 'UNREACHABLE' || e.code === 'AUTH_FAILED'))
            // The server is gone, not the down() at fault: the news, with its exit code, and no "fix it".
            throw new MvmError(e.code, `Rolling back ${this.rel(m.path)} stopped: ${e.message}`, {
              hint: `It stays recorded as applied.${done.length ? ` Already undone: ${done.map((d) => d.version).join(', ')}.` : ''} When the server is back, {{down}} again: an alter back that was copying continues from its checkpoint.`,
              cause: e,
              details: { reverted: done, failed: m.version },
            })
          // The error's own advice when it has some (writers during --carry-writes, say): the down()
          // may be fine, or there may be none (an alter undone by its backup).
          const advice =
            e instanceof MvmError && e.hintTemplate
              ? e.hintTemplate
              : m.migration.down
                ? 'Fix its down() and {{down}} again.'
                : 'To retry, {{down}} again.'
          throw new MvmError('MIGRATION_FAILED', `Rolling back ${this.rel(m.path)} failed: ${messageOf(e)}`, {
            hint: `It stays recorded as applied.${done.length ? ` Already undone: ${done.map((d) => d.version).join(', ')}.` : ''} ${advice}`,
            cause: e,
            details: { reverted: done, failed: m.version },
          })
        }
        // Before the ledger forgets it: alters still in place must not count as done for a later up.
        await this.journal.retire(m.version)
        await this.ledger.remove(m.version)
        const durationMs = Date.now() - started
        done.push({ version: m.version, name: m.name, durationMs })
        this.log.info(`   reverted ${m.version}_${m.name} (${durationMs} ms)`)
        stop.migration = undefined
      }
      if (done.length) await this.snapshotAfterRun()
      if (stoppedAt) this.log.warn(`stopped before ${stoppedAt.version}_${stoppedAt.name}: it was baselined, not run`)
      return {
        direction: 'down',
        dryRun: false,
        migrations: done,
        ...(writes.length ? { writes } : {}),
        ...(stoppedAt ? { stoppedAt } : {}),
        ...this.finishedDespite(stop),
      }
    })
  }

  /** Names whose alters the migration's down() swaps back (ctx.revertAlter), found by planning down(). */
  private async plannedReverts(m: LoadedMigration): Promise<string[]> {
    const ctx = new PlanningContext(this.opts.client, this.info(m), new Map())
    await m.migration.down!(ctx)
    return ctx.reverted
  }

  /**
   * The plan of the migration's alter of `name`, made again against its backup (the collection as
   * it was before the alter): what `down --verify full` transforms backup rows with.
   */
  private async alterPlanOf(m: LoadedMigration, entry: JournalEntry | undefined, name: string) {
    const a = entry ?? (await this.journal.get(m.version, name))
    if (!a?.backup) return undefined
    const overlay = new Map([[name, { ...(await describeCollectionSpec(this.opts.client, a.backup)), name }]])
    const ctx = new PlanningContext(this.opts.client, this.info(m), overlay)
    await m.migration.up(ctx)
    return ctx.alters.find((x) => x.name === name)?.plan
  }

  /** Runs up() or down(); a call still running when it returned (a missing await) fails it, after the call settled. */
  private async invoke(
    m: LoadedMigration,
    which: 'up' | 'down',
    ctx: MigrationContext,
    tracker: CallTracker,
  ): Promise<void> {
    let error: unknown
    try {
      await m.migration[which]!(tracked(ctx, 'ctx', tracker))
    } catch (e) {
      error = e
    }
    const unawaited = await tracker.finish()
    if (error) throw error
    if (unawaited) throw unawaited
  }

  /** Releases whoever holds the lock; returns the holder it removed. */
  async unlock(): Promise<LockHolder | undefined> {
    return this.lock.forceRelease()
  }

  /** A dry run's answer about the lock: the real run's refusal (the same wait), without taking it. */
  private async checkLock(): Promise<void> {
    await phase('lock', () => this.lock.check(this.opts.lockTimeoutMs ?? 0, this.opts.signal))
  }

  private async underLock<T>(command: string, fn: () => Promise<T>): Promise<T> {
    await phase('lock', () => this.lock.acquire(`mvmigrate ${command}`, this.opts.lockTimeoutMs ?? 0, this.opts.signal))
    let result: T
    try {
      result = await fn()
    } catch (e) {
      // A run stopped on request says that the lock is free again (it used to be left behind).
      if ((await this.releaseLock()) && isInterrupted(e))
        throw MvmError.wrap(
          e,
          (m) => m,
          (h) => `The migration lock is released. ${h ?? ''}`.trim(),
        )
      throw e
    }
    await this.releaseLock()
    return result
  }

  /** Releases the lock this runner holds; false (with a warning saying what to do) when it could not. */
  private async releaseLock(): Promise<boolean> {
    return phase('unlock', () => this.lock.release()).then(
      () => true,
      (e) => {
        this.log.warn(
          `could not release the migration lock: ${messageOf(e)}; the next run on this machine takes it over; elsewhere ${renderWords('{{unlock}}', this.opts.audience ?? 'api')}`,
        )
        return false
      },
    )
  }

  /** Where this run is when a signal comes (the swap of an alter cannot stop half-way: it says so). */
  private stopPoint(): StopPoint {
    return new StopPoint(this.opts.signal, (line) => this.log.info(line))
  }

  /** A run that finished although a signal came (it came when nothing could stop safely): what it came during. */
  private finishedDespite(stop: StopPoint): Pick<RunResult, 'interrupted'> {
    const signal = this.opts.signal
    if (!signal?.aborted) return {}
    return { interrupted: { signal: interruptName(signal), during: stop.during ?? 'the end of the run' } }
  }

  /**
   * Stopped on request between migrations (or before the first change of one): nothing of it is
   * recorded. `during`: what the signal came during, finished before stopping (a swap, say).
   */
  private interruptedBetween(
    signal: AbortSignal,
    m: LoadedMigration,
    done: RunResult['migrations'],
    left: number,
    cause?: unknown,
    during?: string,
  ): MvmError {
    const stays = done.length ? `${done.length} migration(s) of this batch were applied and stay applied; ` : ''
    const where = cause
      ? `during ${this.rel(m.path)}, before it changed anything`
      : during
        ? `during ${during}, which was finished`
        : `before ${this.rel(m.path)}`
    return new MvmError(
      'INTERRUPTED',
      `Interrupted (${interruptName(signal)}) ${where}: ${stays}${left} migration(s) of this batch not run`,
      {
        hint: `Nothing is recorded for ${m.version}_${m.name}. To run the ${left} left, from ${m.version}_${m.name}, {{up}}.`,
        cause,
        details: { applied: done, stoppedAt: m.version },
      },
    )
  }

  /** Stopped on request inside a migration that changed something: recorded as failed; what the next up does. */
  private interruptedDuring(
    e: MvmError,
    m: LoadedMigration,
    done: RunResult['migrations'],
    changes: string[],
    finished: string[],
  ): MvmError {
    const alter = typeof e.details?.alter === 'string' ? e.details.alter : undefined
    const resumes =
      alter && e.details?.resumes === 'copy'
        ? `its alter of '${alter}' continues the copy from the checkpoint (the ${Number(e.details.rowsCopied).toLocaleString('en-US')} rows copied are kept)`
        : alter && e.details?.resumes === 'start'
          ? `its alter of '${alter}' copies from the start (no page was written)`
          : alter
            ? `its alter of '${alter}' continues from its finished copy (${e.details?.online === false ? 'verify' : 'catch-up, verify'}, swap)`
            : 'it runs again from the start'
    const made = changes.length
      ? ` What up() changed before it stopped stays (${changes.join('; ')}), and up() runs again from the start: steps that cannot run twice need ifNotExists / ifExists.`
      : ''
    const kept = finished.length ? ` Its finished alter of ${finished.join(', ')} is not run again.` : ''
    return new MvmError(
      'INTERRUPTED',
      `${e.message.replace(/^(Interrupted \([^)]*\)): /, `$1: ${this.rel(m.path)}: `)}`,
      {
        hint: `To go on, {{up}}: it runs ${m.version}_${m.name} again and ${resumes}. It is recorded as failed until then${done.length ? `; the ${done.length} migration(s) before it in this batch stay applied` : ''}.${kept}${made}`,
        cause: e,
        details: { ...e.details, applied: done, failed: m.version },
      },
    )
  }

  private info(m: LoadedMigration) {
    return { version: m.version, name: m.name, file: this.rel(m.path) }
  }

  private context(m: LoadedMigration, extra: Partial<ContextOptions> = {}): MigrationContext {
    return new MigrationContext(this.opts.client, this.info(m), this.log, {
      journal: this.journal,
      alterDefaults: { verify: this.opts.verify, online: this.opts.online },
      signal: this.opts.signal,
      ...extra,
    })
  }

  private alterContext(m: LoadedMigration): AlterContext {
    return { client: this.opts.client, migration: this.info(m), log: this.log, journal: this.journal }
  }

  private row(
    m: LoadedMigration,
    batch: number,
    state: LedgerRow['state'],
    durationMs: number,
    error?: string,
  ): LedgerRow {
    return {
      version: m.version,
      name: m.name,
      checksum: m.checksum,
      batch,
      state,
      appliedAt: new Date().toISOString(),
      durationMs,
      toolVersion: TOOL_VERSION,
      ...(error ? { error: (this.opts.redact ?? redactUri)(error) } : {}),
    }
  }

  private rel(p: string): string {
    return path.relative(this.opts.cwd ?? process.cwd(), p) || p
  }
}
