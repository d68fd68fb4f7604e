import { MvmError, messageOf } from '../errors'
import { failpoint, failpointDelay } from '../failpoints'
import type { JournalEntry } from '../ledger/journal'
import {
  collectionExists,
  ensureLoaded,
  countRows,
  dropCollection,
  dropProperties,
  flush,
  listCollectionNames,
  releaseCollection,
} from '../milvus/collections'
import { createCollectionFromSpec } from '../milvus/create'
import { openDataClient } from '../milvus/data-client'
import { queryRows, readAfter } from '../milvus/rows'
import { serverTraits } from '../milvus/server-traits'
import { type CollectionSpec, primaryKeyOf } from '../schema/spec'
import type { AlterOptions } from './builder'
import { STOP_WAIT_MS, copyPartitions, copyRows, passedThroughVectors } from './copy'
import {
  catchUpProblem,
  type PassOptions,
  type PassResult,
  ImplausibleSweep,
  type ReadUpTo,
  runPass,
  verifyTransforms,
  verifyWritten,
} from './catch-up'
import { ContentDigest } from './content'
import { WindowTable } from './windows'
import { keyDigest } from './verify'
import { type KeyListing, MAX_QUERY_WINDOW, readKeyWindows } from './pager'
import { type CopyCheckpoint, checkpointProblem } from './resume'
import type { KeyDigest } from './keys'
import { alterNames, freeSlot } from './names'
import { preflightAlter } from './preflight'
import { changesPrimaryKey } from './plan'
import type { AlterContext, AlterPlan, AlterSummary, OnlineFigures } from './types'
import { interruptName, interrupted, isInterrupted } from '../util/interrupt'
import { finishSwap } from './swap'
import { verifyCopy, verifyValues } from './verify'
import { BackfillFailed, Backfiller, type BackfillSpec, backfillError } from './backfill'

/** The alter already done or half-swapped by an earlier run of this migration, finished: no copy. */
export type { AlterContext, AlterSummary } from './types'

export async function resumeAlter(ctx: AlterContext, name: string): Promise<AlterSummary | undefined> {
  const { migration, log, journal } = ctx
  const previous = await journal.get(migration.version, name, ctx.direction)
  const summary = (e: JournalEntry): AlterSummary => ({
    name,
    mode: e.mode,
    collection: e.target,
    backup: e.backup,
    rowsCopied: e.rowsCopied,
    durationMs: e.durationMs,
    changes: [],
    resumed: true,
  })
  if (previous?.state === 'done') {
    log.info(`alter of ${name} was already done by an earlier run (collection ${previous.target})`)
    return summary(previous)
  }
  if (previous?.state === 'swapping') {
    log.info(`finishing the interrupted swap of ${name}`)
    await finishSwap(ctx, previous)
    if (previous.online) {
      // The windows the sweep needs died with the interrupted run: late writes to the old collection
      // cannot be told from the application's newer ones, so nothing is overwritten and it is kept.
      const old = previous.mode === 'alias' ? previous.source : alterNames(name, previous.version, previous.slot).backup
      log.warn(
        `alter ${name}: the run that swapped it was interrupted before its sweep of the old collection finished: writes that landed in '${old}' after its last pass may exist only there. It is kept as the backup; compare it with '${name}' before pruning it (prune refuses until told to discard).`,
      )
      return summary(
        await journal.write({ ...previous, state: 'done', phase: undefined, backup: old, sweepIncomplete: true }),
      )
    }
    return summary(await journal.write({ ...previous, state: 'done' }))
  }
  return undefined
}

/**
 * One copy-and-swap alter of a planned change: build the target under a temporary name, copy every
 * row, verify, swap names (or repoint the alias), keep the old collection as a backup. Each step is
 * journalled first, so a rerun after a crash resumes or restarts cleanly. `plan` is validated.
 */
export async function runAlter(
  ctx: AlterContext,
  name: string,
  resolved: { collection: string; alias: boolean },
  plan: AlterPlan,
  options: AlterOptions = {},
): Promise<AlterSummary> {
  const { client, migration, log, journal } = ctx
  const started = Date.now()
  const where = `${migration.file}: `
  const previous = await journal.get(migration.version, name, ctx.direction)
  const mode: 'rename' | 'alias' = resolved.alias ? 'alias' : 'rename'
  const sourceName = resolved.collection
  for (const w of plan.warnings) log.warn(w)
  // What plan checks too: RPCs the swap needs, what the target needs kept, the server's known faults.
  for (const w of await preflightAlter(client, plan, name, mode, options, where)) log.warn(w)
  // An interrupted run's names, else the first free ones: an earlier alter of this name by this
  // migration (rolled back, or made by its up() when this is its down()) may keep its backup.
  const slot =
    previous?.state === 'copying'
      ? (previous.slot ?? '')
      : freeSlot(name, migration.version, await listCollectionNames(client))
  const names = alterNames(name, migration.version, slot)

  const targetName = mode === 'alias' || options.convertToAlias ? names.versioned : names.temp
  // A leftover target from an interrupted run (journal says copying): continued from its last
  // checkpoint when there is one (proven first, in buildTarget), otherwise dropped and rebuilt.
  let resumeFrom: CopyCheckpoint | undefined
  if (await collectionExists(client, targetName)) {
    if (previous?.state === 'copying' && previous.target === targetName) {
      if (previous.checkpoint && !options.newIds) resumeFrom = previous.checkpoint
      else {
        log.info(`dropping the partial copy ${targetName} left by an interrupted run`)
        await dropCollection(client, targetName)
      }
    } else {
      throw new MvmError(
        'MIGRATION_INVALID',
        `${where}cannot alter '${name}': a collection named '${targetName}' already exists and mvmigrate did not create it`,
        {
          hint: `Rename or drop '${targetName}'. Nothing was changed.`,
        },
      )
    }
  }
  const backup = mode === 'alias' ? sourceName : names.backup
  if (mode === 'rename' && (await collectionExists(client, backup))) {
    throw new MvmError('MIGRATION_INVALID', `${where}cannot alter '${name}': the backup name '${backup}' is taken`, {
      hint: `Prune or rename '${backup}' first. Nothing was changed.`,
    })
  }

  const fieldMap = Object.fromEntries([...plan.fields].map(([target, src]) => [target, src.from ?? null]))
  let entry: Omit<JournalEntry, 'id' | 'updatedAt'> = {
    version: migration.version,
    name,
    state: 'copying',
    mode,
    source: sourceName,
    target: targetName,
    backup: options.keepBackup === false ? '' : backup,
    rowsCopied: resumeFrom?.rows ?? 0,
    loaded: plan.source.loaded,
    durationMs: 0,
    fieldMap,
    ...(slot ? { slot } : {}),
    ...(ctx.direction === 'down' ? { direction: 'down' as const } : {}),
    ...(options.newIds ? { newIds: true } : {}),
    ...(changesPrimaryKey(plan) ? { keysChanged: true } : {}),
    // Kept until proven or replaced: a crash before that must not lose it.
    ...(resumeFrom ? { checkpoint: resumeFrom } : {}),
  }
  const { id: journalId } = await journal.write(entry)
  log.info(`alter ${name}: ${plan.changes.join('; ') || 'rebuild'}`)
  // Written one after another, in order: progress written while a page is computed (backfills)
  // must never land after a later checkpoint. Drained before any other write of the entry.
  let writing: Promise<unknown> = Promise.resolve()
  const record = (fields: Partial<JournalEntry>): Promise<void> => {
    entry = { ...entry, ...fields }
    const snapshot = entry
    const p = writing.then(() => journal.write(snapshot))
    writing = p.catch(() => undefined)
    return p.then(() => undefined)
  }

  let built: Built
  try {
    built = await buildTarget(ctx, name, plan, sourceName, targetName, options, started, resumeFrom, record)
  } catch (e) {
    await writing
    // Stopped on request: the copy and its checkpoint stay, and the next run continues from there.
    if (isInterrupted(e)) throw e
    // A backfill that failed for good (a model service down, a quota spent) after part of the copy:
    // nothing is swapped, the source is untouched, and the copy so far is kept with its checkpoint,
    // so the next run continues after it instead of paying the model for those rows again.
    if (e instanceof BackfillFailed && entry.checkpoint)
      throw backfillError(e, { source: sourceName, target: targetName, rowsKept: entry.checkpoint.rows })
    // A failure, not a crash: the source was never touched. Drop the partial target and say what happened.
    await dropCollection(client, targetName).catch(() => undefined)
    await journal.remove(journalId).catch(() => undefined)
    if (e instanceof BackfillFailed) throw backfillError(e, { source: sourceName, target: targetName, rowsKept: 0 })
    throw e
  }
  const { rowsCopied } = built
  await writing

  failpoint('alter:after-verify')
  // The last point where stopping is safe: from the swap on, the alter finishes (a signal then is
  // told so, and the run reports what it came during).
  if (ctx.signal?.aborted) {
    await built.online?.close?.()
    throw stoppedBeforeSwap(ctx.signal, name, rowsCopied, !!built.online)
  }
  const online = built.online
  const swap = async (): Promise<JournalEntry> => {
    log.progress?.({ name, phase: 'swap', rows: rowsCopied, total: rowsCopied, elapsedMs: Date.now() - started })
    const swapping = await journal.write({
      ...entry,
      state: 'swapping',
      rowsCopied,
      durationMs: Date.now() - started,
      swappedRows: built.targetKeys.count,
      swappedKeys: built.targetKeys.toString(),
      ...(online ? { online: true, phase: 'sweep' as const } : {}),
    })
    // Online: the old collection is swept after the swap, so it is kept until then whatever keepBackup says.
    let done: JournalEntry
    try {
      const nameGapMs = await finishSwap(ctx, swapping, online ? { ...options, keepBackup: true } : options)
      failpoint('alter:after-swap')
      await failpointDelay('alter:after-swap')
      if (online) {
        online.figures.nameGapMs = nameGapMs
        const altered = targetName === names.temp ? name : targetName
        const old = mode === 'alias' ? sourceName : names.backup
        const swept = await sweepOld(
          ctx,
          name,
          { ...online.pass, source: old, target: altered },
          online.figures,
          options,
          started,
          built.targetKeys.count,
        )
        await settleTarget(ctx, plan, altered, options)
        const figures = online.figures
        const keepOld = options.keepBackup !== false || figures.conflicts > 0 || !swept
        if (!keepOld) await dropCollection(client, old)
        else if (options.keepBackup === false && swept)
          log.warn(
            `alter ${name}: the old collection '${old}' is kept despite keepBackup: false: it holds the old side of ${figures.conflicts} conflicting write(s)`,
          )
        done = await journal.write({
          ...swapping,
          state: 'done',
          phase: undefined,
          backup: keepOld ? old : '',
          durationMs: Date.now() - started,
          ...contentOf(built.windows),
          ...(figures.conflicts
            ? { conflicts: figures.conflicts, conflictKeys: figures.conflictKeys.slice(0, 20) }
            : {}),
          ...(swept ? {} : { sweepIncomplete: true }),
        })
      } else
        done = await journal.write({
          ...swapping,
          state: 'done',
          durationMs: Date.now() - started,
          ...contentOf(built.windows),
        })
    } finally {
      await online?.close?.()
    }
    return done
  }
  const done = ctx.stopPoint ? await ctx.stopPoint.unstoppable(`the swap of '${name}'`, swap) : await swap()
  log.progress?.({ name, phase: 'done', rows: rowsCopied, total: rowsCopied, elapsedMs: done.durationMs })
  const f = online?.figures
  const bf = built.backfiller?.figures
  const backfill = bf
    ? { ...bf, rowsPerSecond: bf.busyMs ? Math.round((bf.rows / bf.busyMs) * 1000) : bf.rows }
    : undefined
  log.info(
    `alter ${name}: ${rowsCopied - built.rowsResumed} rows copied${built.rowsResumed ? ` (and ${built.rowsResumed} by the interrupted run before)` : ''} in ${done.durationMs} ms; ${done.backup ? `backup kept as ${done.backup}` : 'no backup kept'}` +
      (f
        ? `; online: ${f.passes} catch-up pass(es) re-copied ${f.rowsRecopied} rows (${f.windowsRecopied} windows) and deleted ${f.rowsDeleted}, the sweep brought over ${f.sweptRows} late write(s), the name was missing for ${f.nameGapMs} ms`
        : '') +
      (backfill
        ? `; backfill: ${backfill.calls} call(s) (${backfill.retries} retries) computed ${backfill.rows} rows` +
          // A rate over a few milliseconds of quick synchronous calls says nothing: the time is given instead.
          (backfill.busyMs >= 1000
            ? `, ${backfill.rowsPerSecond} rows/s while calls were in flight`
            : `, ${backfill.busyMs} ms in calls`)
        : ''),
  )
  // Writers were seen (the passes or sweeps found their writes) and Milvus Lite renamed the collection under them.
  if (
    f &&
    mode === 'rename' &&
    f.rowsRecopied + f.rowsDeleted + f.sweptRows > 0 &&
    (await serverTraits(client)).renameLosesWrites
  )
    log.warn(
      `alter ${name}: writers were active, and Milvus Lite can lose a write acknowledged while it renames a collection (its own fault; the name was missing for ${f.nameGapMs} ms): a write made then may be in neither '${name}' nor '${done.backup || 'the old collection'}'. ${options.convertToAlias ? `'${name}' is an alias now: later alters swap it with no rename.` : 'Swap through an alias to avoid it ({ convertToAlias: true }), or stop writers for the swap.'}`,
    )
  if (f?.conflicts)
    log.warn(
      `alter ${name}: ${f.conflicts} key(s) were written both in the old collection after the last pass and in the new one since the swap (${f.conflictKeys.slice(0, 5).join(', ')}${f.conflicts > 5 ? ', ...' : ''}): the new collection keeps its own values; the old ones are in '${done.backup}' (status lists them)`,
    )
  return {
    name,
    mode,
    collection: targetName === names.temp ? name : targetName,
    backup: done.backup,
    rowsCopied: rowsCopied - built.rowsResumed,
    ...(built.rowsResumed ? { rowsResumed: built.rowsResumed } : {}),
    durationMs: done.durationMs,
    changes: plan.changes,
    ...(f ? { online: f } : {}),
    ...(backfill ? { backfill } : {}),
  }
}

/**
 * Content digest of the whole target as the copy, passes and sweeps left it; none when part of it
 * was copied by an interrupted run of an offline alter (its rows' hashes are not known).
 */
function contentOf(windows: WindowTable): { swappedContent?: string } {
  const all = new ContentDigest()
  for (const w of windows.windows) {
    const h = w.hashes
    if (!h) return {}
    for (let i = 0; i < h.length; i += 2) all.add([h[i], h[i + 1]])
  }
  return { swappedContent: all.toString() }
}

/**
 * After the swap: the old collection is swept for writes that landed there after the last pass,
 * then, if that found any, again after a grace period (requests in flight, clients that still
 * write to it by a cached name): every write landing there within the grace period is brought
 * over. The second sweep re-reads only what the first read before the grace period ended (per
 * partition, up to the last window of keys it learned before then); what it read later already
 * holds those writes. At 100,000 rows the first sweep takes longer than the grace period, so the
 * second is a fraction of a read instead of a whole one. While a sweep still finds writes (a
 * client keeps writing to the old collection), whole sweeps follow after the grace period, up to
 * MAX_SWEEPS, then a warning. False when the sweeps did not bring over every late write (the old
 * collection is then kept, its rows possibly unique).
 */
async function sweepOld(
  ctx: AlterContext,
  name: string,
  pass: PassOptions,
  figures: OnlineFigures,
  options: AlterOptions,
  started: number,
  rowsAtSwap: number,
): Promise<boolean> {
  // Both are read: Milvus Lite releases a renamed collection (and the new one stays loaded only if
  // the source was; settleTarget releases it again after the sweeps when the source was not).
  await ensureLoaded(ctx.client, pass.source)
  await ensureLoaded(ctx.client, pass.target)
  // A sweep takes a row missing from the old collection for a late delete and deletes it from the
  // live one: the old collection must still hold about what it held at the swap (writers delete a
  // few rows in the seconds around it; Milvus Lite has lost a renamed collection's data file).
  const oldStillWhole = async () => {
    const rowsNow = await countRows(ctx.client, pass.source)
    if (rowsAtSwap - rowsNow > Math.max(100, Math.floor(rowsAtSwap * 0.01)))
      throw new ImplausibleSweep(`holds ${rowsNow} rows where it held ${rowsAtSwap} at the swap`)
  }
  const grace = Math.max(0, options.graceMs ?? 2000)
  // Writes landing in the old collection until then are promised to be brought over.
  const horizon = Date.now() + grace
  let first: PassResult | undefined
  for (let round = 1; round <= MAX_SWEEPS; round++) {
    const readUpTo = round === 2 && first ? readBefore(first.listings, horizon) : undefined
    if (round === 2) await sleepUntil(horizon)
    else if (round > 2) await sleepUntil(Date.now() + grace)
    await ctx.journal.write({ ...(await ctx.journal.get(ctx.migration.version, name, ctx.direction))!, phase: 'sweep' })
    if ((await serverTraits(ctx.client)).flushBeforeScans) await flush(ctx.client, pass.source)
    let r: PassResult
    try {
      // Before the sweep, and again before any page of many deletions.
      await oldStillWhole()
      r = await runPass(
        {
          ...pass,
          readAfter: readAfter(ctx.journal.lastWrite),
          // Finer windows of keys in the first sweep: the second re-reads less.
          ...(round === 1 ? { keyWindow: sweepKeyWindow(pass.batchSize) } : {}),
          ...(readUpTo ? { readUpTo } : {}),
          beforeManyDeletes: oldStillWhole,
        },
        'sweep',
      )
    } catch (e) {
      if (e instanceof ImplausibleSweep) return sweepRefused(ctx, name, pass.source, e.what)
      throw e
    }
    if (round === 1) first = r
    figures.sweptRows += r.rowsWritten + r.rowsDeleted
    for (const k of r.conflicts) if (!figures.conflictKeys.includes(k)) figures.conflictKeys.push(k)
    figures.conflicts = figures.conflictKeys.length
    ctx.log.progress?.({
      name,
      phase: 'sweep',
      detail: `sweep ${round}${readUpTo ? ' (what sweep 1 read within the grace period)' : ''}: ${r.rowsRead} rows read, ${r.windowsChanged} window(s) of the old collection changed, ${r.rowsWritten + r.rowsDeleted} late write(s) brought over, ${r.conflicts.length} conflict(s)`,
      rows: r.rowsRead,
      total: r.rowsRead,
      elapsedMs: Date.now() - started,
    })
    failpoint('alter:after-sweep')
    // A sweep that found nothing ends them: also the first, when no writer wrote to the old
    // collection after the last pass (a quiet alter pays one sweep, not the grace period too).
    if (r.rowsWritten + r.rowsDeleted + r.conflicts.length === 0) return true
  }
  ctx.log.warn(
    `alter ${name}: writes were still landing in the old collection '${pass.source}' ${MAX_SWEEPS} sweeps after the swap: a client keeps writing to it by its old name or id. Writes made to it from now on are only there; restart that client (the Node SDK caches collections by name).`,
  )
  // It is kept as the backup, its rows possibly unique (prune refuses until told to discard).
  return false
}

/**
 * Per partition, what a sweep must read again to see every write that landed before `horizon`:
 * up to the last key of the last window of keys learned before it ('none' when its first came
 * after; undefined, all of it, when the window reaching the end came before).
 */
export function readBefore(listings: KeyListing[][], horizon: number): ReadUpTo[] | undefined {
  const bounds = Array.from(listings, (ls): ReadUpTo => {
    if (!ls) return 'all' // not listed at all: read it whole
    const before = ls.filter((l) => l.requestedAt < horizon)
    if (!before.length) return 'none'
    const last = before[before.length - 1]
    return last.lastKey === undefined ? 'all' : { key: last.lastKey }
  })
  return bounds.every((b) => b === 'all') ? undefined : bounds
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())))

/** Keys learned per query in a first sweep: a few pages (the server's window is far coarser). */
const sweepKeyWindow = (batchSize: number) => Math.min(MAX_QUERY_WINDOW, Math.max(1024, batchSize * 8))

const MAX_SWEEPS = 5

/**
 * The old collection lost more rows than writers could have deleted (Milvus Lite has lost a renamed
 * collection's data file; or a bulk delete): its sweep is not applied, nothing is deleted from the
 * live collection on its word, and it is kept as a backup whose rows may be unique (as after a
 * crash in the sweep). False: the sweep did not finish.
 */
function sweepRefused(ctx: AlterContext, name: string, old: string, what: string): false {
  ctx.log.warn(
    `alter ${name}: the old collection '${old}' ${what}: Milvus lost rows of it, or something deleted them in bulk. Its sweep is stopped, so nothing more is deleted from '${name}' on its word (the new collection keeps the rows the copy and passes wrote). Writes that landed in '${old}' after the last pass may exist only there: it is kept as the backup (prune refuses until told to discard); compare it with '${name}', and check the server's logs.`,
  )
  return false
}

/** The target as the plan says, empty, loaded while it is filled. */
async function createTarget(
  client: AlterContext['client'],
  plan: AlterPlan,
  targetName: string,
  options: AlterOptions,
): Promise<void> {
  const autoId = plan.target.fields.some((f) => f.primaryKey && f.autoId)
  const target: CollectionSpec = { ...plan.target, loaded: true, aliases: [] }
  // Keep auto_id keys: the target accepts explicit keys while it is filled (Milvus >= 2.6.3, Milvus Lite).
  if (autoId && !options.newIds) target.properties = { ...target.properties, allow_insert_auto_id: 'true' }
  // Filled by inserts, which need no load; verification waits for it (ensureLoaded).
  await createCollectionFromSpec(client, target, targetName, { loadInBackground: true })
}

/**
 * Create the target (or prove an interrupted copy's checkpoint and continue it), copy, verify.
 * The source is only read. Returns the rows copied (resumed ones included) and the target's key digest.
 */
async function buildTarget(
  ctx: AlterContext,
  name: string,
  plan: AlterPlan,
  sourceName: string,
  targetName: string,
  options: AlterOptions,
  started: number,
  resumeFrom: CopyCheckpoint | undefined,
  record: (fields: Partial<JournalEntry>) => Promise<void>,
): Promise<Built> {
  const { client, log } = ctx
  const autoId = plan.target.fields.some((f) => f.primaryKey && f.autoId)
  if (!resumeFrom) {
    await createTarget(client, plan, targetName, options)
    failpoint('alter:after-create')
  } else await ensureLoaded(client, targetName)
  // The copy reads the source, so it must be loaded.
  await ensureLoaded(client, sourceName)
  const traits = await serverTraits(client)

  // Rows move over a connection of their own, without the SDK's per-call JSON logging (see data-client.ts).
  const data = await openDataClient(client)
  let result: Built
  // Online: writers may keep writing; the copy records its windows and passes catch up after it.
  const offlineBecause = catchUpProblem(plan, !!options.newIds)
  const online = options.online !== false && !offlineBecause
  if (options.online !== false && offlineBecause)
    log.warn(`alter ${name}: ${offlineBecause}, so writes during it cannot be caught up: stop writers while it runs`)
  // Every alter records its windows: the content digest `down` compares is made from them.
  const windows = new WindowTable()
  // One for the copy and the passes: a field's calls share its slots, quota and counts.
  const specs = [...plan.fields.values()].map((s) => s.backfillSpec).filter((s): s is BackfillSpec => !!s)
  const backfiller = specs.length ? new Backfiller(specs, primaryKeyOf(plan.source)!.name) : undefined
  const modelDetail = () =>
    backfiller
      ? `${backfiller.figures.calls} model call(s), ${backfiller.figures.retries} retries, ${backfiller.figures.rows} rows computed`
      : undefined
  const modelFigures = () =>
    backfiller
      ? {
          detail: modelDetail(),
          modelCalls: backfiller.figures.calls,
          retries: backfiller.figures.retries,
          rowsComputed: backfiller.figures.rows,
        }
      : {}
  try {
    // Milvus Lite reads sealed data ~3x faster than its write buffer (key windows, counts): flush
    // the source before reading it and the target before verifying it. Flushing changes no row.
    if (traits.flushBeforeScans) await flush(client, sourceName)
    // Reads see every write made before the journal's entry: as strong a read as a strong query,
    // without waiting for a time tick on each (milvus/rows.ts ReadAfter).
    await record({ phase: 'copy' })
    const copyReads = readAfter(ctx.journal.lastWrite)
    const before = await countRows(client, sourceName, undefined, copyReads)
    if (resumeFrom) {
      // The checkpoint's keys are the source's: a copy whose keys may differ cannot be matched with them.
      const problem =
        changesPrimaryKey(plan) || plan.mapRows.length
          ? `the alter ${plan.mapRows.length ? 'transforms rows (mapRows)' : 'changes the primary key'}, so the rows copied cannot be matched with the source's by key`
          : await checkpointProblem(
              data.client,
              { name: sourceName, pk: primaryKeyOf(plan.source)! },
              { name: targetName, pk: primaryKeyOf(plan.target)! },
              copyPartitions(plan),
              resumeFrom,
              online,
            )
      if (problem) {
        log.info(`cannot continue the interrupted copy of ${name}: ${problem}; copying again from the start`)
        await dropCollection(client, targetName)
        await createTarget(client, plan, targetName, options)
        resumeFrom = undefined
      } else log.info(`continuing the interrupted copy of ${name} after ${resumeFrom.rows} of ${before} rows`)
    }
    if (resumeFrom) {
      // What the interrupted run copied is known only as key ranges: the first pass compares them row by row.
      for (let p = 0; p < resumeFrom.partition; p++) windows.add({ partition: p })
      windows.add({ partition: resumeFrom.partition, upper: resumeFrom.lastKey })
    }
    const copyStartedAt = new Date().toISOString()
    await record({
      sourceRows: before,
      copyStartedAt,
      rowsAtStart: resumeFrom?.rows ?? 0,
      phase: 'copy',
      checkpoint: resumeFrom,
    })
    const progress = (phase: 'copy' | 'verify', rows: number) =>
      log.progress?.({
        name,
        phase,
        rows,
        total: before,
        elapsedMs: Date.now() - started,
        ...(phase === 'copy' ? modelFigures() : {}),
      })
    let rowsWritten = resumeFrom?.rows ?? 0
    progress('copy', rowsWritten)
    const copyStarted = Date.now()
    // Within a page, as the backfill's calls end: the progress (at most once a second) and the
    // journal `status` reads (at most every 2 s) show rows computed, not a count frozen until the write.
    let copying = true
    let lastEvent = 0
    let lastJournal = Date.now()
    if (backfiller)
      backfiller.onProgress = () => {
        const now = Date.now()
        if (!copying || now - lastEvent < 1000) return
        lastEvent = now
        progress('copy', rowsWritten)
        if (now - lastJournal < 2000) return
        lastJournal = now
        const f = backfiller.figures
        void record({ backfill: { calls: f.calls, retries: f.retries, rows: f.rows } }).catch(() => undefined)
      }
    // A stop that must wait for model calls in flight says so (their page is abandoned either way).
    const sayWaiting = () => {
      const calls = backfiller?.callsInFlight ?? 0
      if (calls)
        log.info(
          `alter ${name}: stopping the copy at the last page written; waiting up to ${STOP_WAIT_MS / 1000} s for ${calls} model call(s) in flight (the rows not written yet are computed again by the next run)`,
        )
    }
    ctx.signal?.addEventListener('abort', sayWaiting, { once: true })
    const copy = await copyRows({
      client: data.client,
      plan,
      sourceName,
      targetName,
      batchSize: options.batchSize,
      pagesInFlight: options.pagesInFlight,
      newIds: options.newIds,
      onProgress: (n) => {
        rowsWritten = n
        progress('copy', n)
      },
      resumeFrom,
      // A checkpoint every 2% of the rows: a rerun copies at most that much again.
      checkpointEvery: Math.max(1, Math.ceil(before / 50)),
      onCheckpoint: (cp) => record({ checkpoint: cp, rowsCopied: cp.rows }),
      readAfter: copyReads,
      windows,
      backfiller,
      signal: ctx.signal,
    })
      .catch((e: unknown) => {
        if (!isInterrupted(e)) throw e
        const rows = Number(e.details?.rowsCopied ?? 0)
        throw MvmError.wrap(
          e,
          () =>
            `Interrupted (${interruptName(ctx.signal!)}): the alter of '${name}' stopped copying ${rows ? `at ${rows.toLocaleString('en-US')} of ${before.toLocaleString('en-US')} rows, after a checkpoint` : `before it wrote any of ${before.toLocaleString('en-US')} rows`}`,
          undefined,
          { alter: name, rowsCopied: rows, totalRows: before, resumes: rows ? 'copy' : 'start' },
        )
      })
      .finally(() => {
        copying = false
        ctx.signal?.removeEventListener('abort', sayWaiting)
      })
    // What catch-up passes, the sweep and a full verification of written values read and write with.
    const passOptions: PassOptions = {
      client: data.client,
      plan,
      source: sourceName,
      target: targetName,
      windows,
      partitions: copyPartitions(plan),
      batchSize: copy.batchSize,
      typedVectors: passedThroughVectors(plan, floatVectorsOf(plan)),
      floatVectors: floatVectorsOf(plan),
      autoIdTarget: autoId,
      signal: ctx.signal,
      backfiller,
    }
    if (online) {
      const caught = await catchUp(ctx, name, passOptions, options, Date.now() - copyStarted, record, (detail) =>
        log.progress?.({
          name,
          phase: 'catch-up',
          detail,
          rows: copy.rowsCopied,
          total: before,
          elapsedMs: Date.now() - started,
        }),
      ).catch((e: unknown) => {
        if (!isInterrupted(e)) throw e
        throw MvmError.wrap(
          e,
          () =>
            `Interrupted (${interruptName(ctx.signal!)}): the alter of '${name}' stopped catching up with writes, after copying all ${copy.rowsCopied.toLocaleString('en-US')} rows`,
          undefined,
          { alter: name, rowsCopied: copy.rowsCopied, totalRows: before, resumes: 'catch-up' },
        )
      })
      await refuseHiddenMaximum(data.client, plan, sourceName, caught.final, readAfter(ctx.journal.lastWrite))
      progress('verify', caught.final.rowsRead)
      await record({ phase: 'verify', rowsCopied: copy.rowsCopied })
      const verifyReads = readAfter(ctx.journal.lastWrite)
      await ensureLoaded(client, targetName)
      failpoint('alter:after-copy')
      await failpointDelay('alter:after-copy')
      if (ctx.signal?.aborted) throw stoppedBeforeSwap(ctx.signal, name, copy.rowsCopied, true)
      if (traits.flushBeforeScans) await flush(client, targetName)
      const targetKeys = await keyDigest(data.client, targetName, primaryKeyOf(plan.target)!, verifyReads)
      if (targetKeys.toString() !== caught.final.sourceKeys.toString()) {
        const differ = await keysThatDiffer(data.client, plan, sourceName, targetName, verifyReads).catch(() => '')
        throw new MvmError(
          'MIGRATION_FAILED',
          `Verification failed: '${targetName}' holds ${targetKeys.count} rows, and the last catch-up pass read ${caught.final.sourceKeys.count} from '${sourceName}', with different keys${differ}; the copy was dropped and the source is untouched`,
          { hint: 'Run the migration again; report this if it repeats.' },
        )
      }
      if (options.verify === 'full') {
        await verifyWritten({ ...passOptions, readAfter: verifyReads })
        await verifyTransforms({ ...passOptions, readAfter: verifyReads })
      }
      result = {
        rowsCopied: copy.rowsCopied,
        rowsResumed: copy.rowsResumed,
        targetKeys,
        windows,
        online: { pass: passOptions, figures: caught.figures },
        backfiller,
      }
      return result
    }
    progress('verify', copy.rowsCopied)
    await record({ phase: 'verify', rowsCopied: copy.rowsCopied })
    const verifyReads = readAfter(ctx.journal.lastWrite)
    await ensureLoaded(client, targetName)

    failpoint('alter:after-copy')
    await failpointDelay('alter:after-copy')
    if (ctx.signal?.aborted) throw stoppedBeforeSwap(ctx.signal, name, copy.rowsCopied, false)
    const targetKeys = await verifyCopy(
      client,
      data.client,
      plan,
      sourceName,
      targetName,
      {
        sourceRowsBefore: before,
        rowsCopied: copy.rowsCopied,
        sourceKeys: copy.sourceKeys,
        writtenKeys: copy.writtenKeys,
      },
      !!options.newIds,
      verifyReads,
      traits.flushBeforeScans,
    )
    if (options.verify === 'full') {
      // Backfilled values are compared with what the copy wrote (the windows' hashes), not computed again.
      if (backfiller) await verifyWritten({ ...passOptions, readAfter: verifyReads })
      await verifyValues(data.client, plan, sourceName, targetName, copy.batchSize)
    }
    result = { rowsCopied: copy.rowsCopied, rowsResumed: copy.rowsResumed, targetKeys, windows, backfiller }
  } finally {
    if (!result! || !result.online) await data.close()
    else result.online.close = () => data.close()
  }
  // An online alter's target takes the sweep's late writes after the swap: its settings stay until then.
  if (!result.online) await settleTarget(ctx, plan, targetName, options)
  return result
}

/** The target's temporary settings removed, its load state the source's. */
async function settleTarget(ctx: AlterContext, plan: AlterPlan, targetName: string, options: AlterOptions) {
  const { client } = ctx
  const autoId = plan.target.fields.some((f) => f.primaryKey && f.autoId)
  if (autoId && !options.newIds) {
    await dropProperties(client, targetName, ['allow_insert_auto_id']).catch((e) =>
      ctx.log.warn(`could not remove allow_insert_auto_id from ${targetName}: ${messageOf(e)}`),
    )
  }
  if (!plan.source.loaded) await releaseCollection(client, targetName)
}

/**
 * Milvus 2.3 counts a row keyed with the Int64 maximum but never returns it to a query, so no pass
 * reads it: an online alter would swap without it. Asked of the server directly (a count of that
 * one key), as the offline verification finds it from the counts.
 */
async function refuseHiddenMaximum(
  client: AlterContext['client'],
  plan: AlterPlan,
  sourceName: string,
  last: PassResult,
  after: ReturnType<typeof readAfter>,
): Promise<void> {
  const pk = primaryKeyOf(plan.source)!
  if (pk.type !== 'Int64') return
  const hidden = await queryRows(client, sourceName, {
    filter: `${pk.name} > 9223372036854775806`,
    outputFields: ['count(*)'],
    after,
  })
  if (Number(hidden[0]?.['count(*)'] ?? 0) === 0 || last.sawInt64Max) return
  const total = await countRows(client, sourceName, undefined, after)
  throw new MvmError(
    'MIGRATION_FAILED',
    `'${sourceName}' counts ${total} rows but its queries return only ${last.rowsRead} of them (the row keyed 9223372036854775807 is counted and never returned), so it cannot be copied; the swap was aborted, the copy dropped, and '${sourceName}' is untouched`,
    {
      hint: 'Milvus 2.3 never returns a row keyed 9223372036854775807 (the Int64 maximum) to any query. Re-insert such a row under another key (or upgrade Milvus), then run the migration again.',
    },
  )
}

interface Built {
  rowsCopied: number
  rowsResumed: number
  targetKeys: KeyDigest
  /** The copy's key windows with the hashes of the rows as written (the content digest is made of them). */
  windows: WindowTable
  /** The backfills' runner (its figures are the result's). */
  backfiller?: Backfiller
  /** An online alter: what the sweep after the swap needs (the windows, the bulk connection). */
  online?: { pass: PassOptions; figures: OnlineFigures; close?: () => Promise<void> }
}

/** For a failed verification: a few keys only one side holds (each side read once more, keys only). */
async function keysThatDiffer(
  client: AlterContext['client'],
  plan: AlterPlan,
  source: string,
  target: string,
  after: ReturnType<typeof readAfter>,
): Promise<string> {
  const pk = primaryKeyOf(plan.source)!
  const keysOf = async (collection: string) => {
    const out = new Set<string>()
    for await (const keys of readKeyWindows({ client, collection, pk, readAfter: after }))
      for (const k of keys) out.add(k)
    return out
  }
  const [a, b] = [await keysOf(source), await keysOf(target)]
  const onlySource = [...a].filter((k) => !b.has(k)).slice(0, 5)
  const onlyTarget = [...b].filter((k) => !a.has(k)).slice(0, 5)
  return ` (now only in the source: ${onlySource.join(', ') || 'none'}; only in the copy: ${onlyTarget.join(', ') || 'none'})`
}

function floatVectorsOf(plan: AlterPlan): { name: string; dim: number }[] {
  return plan.target.fields
    .filter((f) => f.type === 'FloatVector' && !f.nullable && !f.functionOutput && f.dim)
    .map((f) => ({ name: f.name, dim: f.dim! }))
}

/**
 * Catch-up passes after the copy: each re-reads the source and re-copies the windows whose content
 * changed. Another pass runs only when it can be expected to find at most half of what the last
 * one found, and the last one wrote again more than 1% of what it read (the sweep takes the rest),
 * up to maxPasses.
 * A source that changes faster than a pass can catch up fails the alter, naming the write rate.
 */
async function catchUp(
  ctx: AlterContext,
  name: string,
  pass: PassOptions,
  options: AlterOptions,
  copyMs: number,
  record: (fields: Partial<JournalEntry>) => Promise<void>,
  report: (detail: string) => void,
): Promise<{ final: PassResult; figures: OnlineFigures }> {
  const maxPasses = Math.max(1, options.maxPasses ?? 10)
  const figures: OnlineFigures = {
    passes: 0,
    windowsRecopied: 0,
    rowsRecopied: 0,
    rowsDeleted: 0,
    sweptRows: 0,
    conflicts: 0,
    conflictKeys: [],
    nameGapMs: 0,
  }
  let previous: PassResult | undefined
  // How long the phase before this pass took (the copy, then each pass): writes made during it are what the pass finds.
  let previousMs = copyMs
  for (;;) {
    await record({ phase: 'catch-up', online: true, passes: figures.passes })
    report(`pass ${figures.passes + 1}`)
    // Milvus Lite reads sealed data ~3x faster than its write buffer, which the writers keep filling.
    if ((await serverTraits(ctx.client)).flushBeforeScans) await flush(ctx.client, pass.source)
    const r = await runPass({ ...pass, readAfter: readAfter(ctx.journal.lastWrite) }, 'catch-up')
    figures.passes++
    figures.windowsRecopied += r.windowsChanged
    figures.rowsRecopied += r.rowsWritten
    figures.rowsDeleted += r.rowsDeleted
    report(
      `pass ${figures.passes}: ${r.windowsChanged} of ${r.windows} windows changed, ${r.rowsWritten} rows re-copied, ${r.rowsDeleted} deleted, in ${r.durationMs} ms`,
    )
    ctx.log.debug?.(`alter ${name}: catch-up pass ${figures.passes}: ${r.windowsChanged}/${r.windows} windows changed`)
    // Rows a pass had to write again: while they shrink, another pass is worth it; once they stop
    // shrinking, writes arrive as fast as a pass finds them and the sweep after the swap takes the rest.
    // Another pass pays only if this one at least halved what is left: otherwise writes arrive
    // about as fast as a pass finds them, and passes would go on for little.
    const changed = r.rowsWritten + r.rowsDeleted
    const shrinking = !previous || changed * 2 <= previous.rowsWritten + previous.rowsDeleted
    // A pass that wrote again at most 1% of what it read leaves so little that the sweep after the
    // swap (which judges every key exactly) takes it: another whole read would not pay.
    const small = changed * 100 <= r.rowsRead
    // A pass finds what writers wrote during the phase before it. At a steady write rate the next
    // pass finds about changed x (this pass's time / the phase before's): unless this pass took at
    // most half as long as the one before it (the copy, typically), another would find as much
    // again, and the rows left for the sweep after the swap would be no fewer.
    // (A source rewritten by more than half in one pass gets passes while they shrink, and fails below if they stop.)
    const heavy = changed * 2 > Math.max(1, r.rowsRead)
    const worthAnother = heavy || r.durationMs * 2 <= previousMs
    const settled = small || !shrinking || !worthAnother || figures.passes >= maxPasses
    if (settled) {
      // A source where a pass must write again more than half of what it reads changes as fast as
      // it can be read: swapping now would leave the sweep to copy it all again against live writes.
      if (heavy && !shrinking) {
        const rate = Math.round(changed / Math.max(0.001, r.durationMs / 1000))
        const readRate = Math.round(r.rowsRead / Math.max(0.001, r.durationMs / 1000))
        throw new MvmError(
          'MIGRATION_FAILED',
          `'${pass.source}' changes faster than the alter can catch up: catch-up pass ${figures.passes} had to write ${changed} of the ${r.rowsRead} rows it read again (about ${rate} rows written a second, while a pass reads ${readRate} rows a second); the copy was dropped and '${pass.source}' is untouched`,
          {
            // Not "raise maxPasses": this stops passes that no longer shrink, however many are allowed.
            hint: 'Run the migration when writes are slower, or pause the busiest writer while it runs.',
          },
        )
      }
      return { final: r, figures }
    }
    previous = r
    previousMs = r.durationMs
  }
}

/** Stopped on request after the copy, before the swap: the copy is kept (checkpointed to its end), nothing swapped. */
function stoppedBeforeSwap(signal: AbortSignal, name: string, rowsCopied: number, online: boolean): MvmError {
  return interrupted(
    signal,
    `the alter of '${name}' stopped before its swap, with all ${rowsCopied.toLocaleString('en-US')} rows copied`,
    {
      alter: name,
      rowsCopied,
      resumes: 'verify',
      online,
    },
  )
}
