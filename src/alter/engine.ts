import { MvmError, messageOf } from '../errors'
import { failpoint } from '../failpoints'
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
import { readAfter } from '../milvus/rows'
import { requireRpcs, serverTraits } from '../milvus/server-traits'
import { type CollectionSpec, primaryKeyOf } from '../schema/spec'
import type { AlterOptions } from './builder'
import { copyPartitions, copyRows } from './copy'
import { type CopyCheckpoint, checkpointProblem } from './resume'
import type { KeyDigest } from './keys'
import { alterNames, freeSlot } from './names'
import type { AlterContext, AlterPlan, AlterSummary } from './types'
import { finishSwap } from './swap'
import { verifyCopy, verifyValues } from './verify'

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
    return summary(await journal.write({ ...previous, state: 'done' }))
  }
  return undefined
}

/** What the swap needs the server to do, by the RPC's name: checked before anything is created. */
function rpcsNeeded(plan: AlterPlan, mode: 'rename' | 'alias', options: AlterOptions): string[] {
  const needed = new Set<string>()
  if (mode === 'rename') needed.add('RenameCollection')
  if (mode === 'alias' || options.convertToAlias || plan.source.aliases.length) needed.add('AlterAlias')
  if (plan.target.partitions.length) needed.add('CreatePartition')
  if (Object.keys(plan.target.properties).length || (primaryKeyOf(plan.target)?.autoId && !options.newIds))
    needed.add('AlterCollection')
  return [...needed]
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
  await requireRpcs(client, rpcsNeeded(plan, mode, options), `${where}cannot alter '${name}' on this server`)
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
    // Kept until proven or replaced: a crash before that must not lose it.
    ...(resumeFrom ? { checkpoint: resumeFrom } : {}),
  }
  const { id: journalId } = await journal.write(entry)
  log.info(`alter ${name}: ${plan.changes.join('; ') || 'rebuild'}`)
  const record = async (fields: Partial<JournalEntry>) => {
    entry = { ...entry, ...fields }
    await journal.write(entry)
  }

  let built: { rowsCopied: number; rowsResumed: number; targetKeys: KeyDigest }
  try {
    built = await buildTarget(ctx, name, plan, sourceName, targetName, options, started, resumeFrom, record)
  } catch (e) {
    // A failure, not a crash: the source was never touched. Drop the partial target and say what happened.
    await dropCollection(client, targetName).catch(() => undefined)
    await journal.remove(journalId).catch(() => undefined)
    throw e
  }
  const { rowsCopied } = built

  failpoint('alter:after-verify')
  log.progress?.({ name, phase: 'swap', rows: rowsCopied, total: rowsCopied, elapsedMs: Date.now() - started })
  const swapping = await journal.write({
    ...entry,
    state: 'swapping',
    rowsCopied,
    durationMs: Date.now() - started,
    swappedRows: built.targetKeys.count,
    swappedKeys: built.targetKeys.toString(),
  })
  await finishSwap(ctx, swapping, options)
  failpoint('alter:after-swap')
  const done = await journal.write({ ...swapping, state: 'done', durationMs: Date.now() - started })
  log.progress?.({ name, phase: 'done', rows: rowsCopied, total: rowsCopied, elapsedMs: done.durationMs })
  log.info(
    `alter ${name}: ${rowsCopied - built.rowsResumed} rows copied${built.rowsResumed ? ` (and ${built.rowsResumed} by the interrupted run before)` : ''} in ${done.durationMs} ms; ${done.backup ? `backup kept as ${done.backup}` : 'no backup kept'}`,
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
  }
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
): Promise<{ rowsCopied: number; rowsResumed: number; targetKeys: KeyDigest }> {
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
  let result: { rowsCopied: number; rowsResumed: number; targetKeys: KeyDigest }
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
      const problem = await checkpointProblem(
        data.client,
        { name: sourceName, pk: primaryKeyOf(plan.source)! },
        { name: targetName, pk: primaryKeyOf(plan.target)! },
        copyPartitions(plan),
        resumeFrom,
      )
      if (problem) {
        log.info(`cannot continue the interrupted copy of ${name}: ${problem}; copying again from the start`)
        await dropCollection(client, targetName)
        await createTarget(client, plan, targetName, options)
        resumeFrom = undefined
      } else log.info(`continuing the interrupted copy of ${name} after ${resumeFrom.rows} of ${before} rows`)
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
      log.progress?.({ name, phase, rows, total: before, elapsedMs: Date.now() - started })
    progress('copy', resumeFrom?.rows ?? 0)
    const copy = await copyRows({
      client: data.client,
      plan,
      sourceName,
      targetName,
      batchSize: options.batchSize,
      pagesInFlight: options.pagesInFlight,
      newIds: options.newIds,
      onProgress: (n) => progress('copy', n),
      resumeFrom,
      // A checkpoint every 2% of the rows: a rerun copies at most that much again.
      checkpointEvery: Math.max(1, Math.ceil(before / 50)),
      onCheckpoint: (cp) => record({ checkpoint: cp, rowsCopied: cp.rows }),
      readAfter: copyReads,
    })
    progress('verify', copy.rowsCopied)
    await record({ phase: 'verify', rowsCopied: copy.rowsCopied })
    const verifyReads = readAfter(ctx.journal.lastWrite)
    await ensureLoaded(client, targetName)

    failpoint('alter:after-copy')
    const targetKeys = await verifyCopy(
      client,
      data.client,
      plan,
      sourceName,
      targetName,
      { sourceRowsBefore: before, rowsCopied: copy.rowsCopied, sourceKeys: copy.sourceKeys },
      !!options.newIds,
      verifyReads,
      traits.flushBeforeScans,
    )
    if (options.verify === 'full') await verifyValues(data.client, plan, sourceName, targetName, copy.batchSize)
    result = { rowsCopied: copy.rowsCopied, rowsResumed: copy.rowsResumed, targetKeys }
  } finally {
    await data.close()
  }
  if (autoId && !options.newIds) {
    await dropProperties(client, targetName, ['allow_insert_auto_id']).catch((e) =>
      ctx.log.warn(`could not remove allow_insert_auto_id from ${targetName}: ${messageOf(e)}`),
    )
  }
  if (!plan.source.loaded) await releaseCollection(client, targetName)
  return result
}
