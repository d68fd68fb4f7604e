import { MvmError, messageOf } from '../errors'
import { failpoint } from '../failpoints'
import type { JournalEntry } from '../ledger/journal'
import {
  collectionExists,
  countRows,
  dropCollection,
  dropProperties,
  flush,
  loadCollection,
  releaseCollection,
} from '../milvus/collections'
import { createCollectionFromSpec } from '../milvus/create'
import { openDataClient } from '../milvus/data-client'
import { requireRpcs } from '../milvus/server-traits'
import { type CollectionSpec, primaryKeyOf } from '../schema/spec'
import type { AlterOptions } from './builder'
import { copyRows } from './copy'
import type { KeyDigest } from './keys'
import { alterNames } from './names'
import type { AlterContext, AlterPlan, AlterSummary } from './types'
import { finishSwap } from './swap'
import { verifyCopy, verifyValues } from './verify'

/** The alter already done or half-swapped by an earlier run of this migration, finished: no copy. */
export type { AlterContext, AlterSummary } from './types'

export async function resumeAlter(ctx: AlterContext, name: string): Promise<AlterSummary | undefined> {
  const { migration, log, journal } = ctx
  const previous = await journal.get(migration.version, name)
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
  const names = alterNames(name, migration.version)
  const where = `${migration.file}: `
  const previous = await journal.get(migration.version, name)
  const mode: 'rename' | 'alias' = resolved.alias ? 'alias' : 'rename'
  const sourceName = resolved.collection
  for (const w of plan.warnings) log.warn(w)
  await requireRpcs(client, rpcsNeeded(plan, mode, options), `${where}cannot alter '${name}' on this server`)

  const targetName = mode === 'alias' || options.convertToAlias ? names.versioned : names.temp
  // A leftover target from an interrupted run (journal says copying) is dropped and rebuilt.
  if (await collectionExists(client, targetName)) {
    if (previous?.state === 'copying' && previous.target === targetName) {
      log.info(`dropping the partial copy ${targetName} left by an interrupted run`)
      await dropCollection(client, targetName)
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
  const entry: Omit<JournalEntry, 'id' | 'updatedAt'> = {
    version: migration.version,
    name,
    state: 'copying',
    mode,
    source: sourceName,
    target: targetName,
    backup: options.keepBackup === false ? '' : backup,
    rowsCopied: 0,
    loaded: plan.source.loaded,
    durationMs: 0,
    fieldMap,
    ...(options.newIds ? { newIds: true } : {}),
  }
  await journal.write(entry)
  log.info(`alter ${name}: ${plan.changes.join('; ') || 'rebuild'}`)

  let built: { rowsCopied: number; targetKeys: KeyDigest }
  try {
    built = await buildTarget(ctx, name, plan, sourceName, targetName, options, started)
  } catch (e) {
    // The source was never touched: drop the partial target and say what happened.
    await dropCollection(client, targetName).catch(() => undefined)
    await journal.remove(`${migration.version}/${name}`).catch(() => undefined)
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
    `alter ${name}: ${rowsCopied} rows copied in ${done.durationMs} ms; ${done.backup ? `backup kept as ${done.backup}` : 'no backup kept'}`,
  )
  return {
    name,
    mode,
    collection: targetName === names.temp ? name : targetName,
    backup: done.backup,
    rowsCopied,
    durationMs: done.durationMs,
    changes: plan.changes,
  }
}

/** Create the target, copy, verify. The source is only read. Returns the rows copied and the target's key digest. */
async function buildTarget(
  ctx: AlterContext,
  name: string,
  plan: AlterPlan,
  sourceName: string,
  targetName: string,
  options: AlterOptions,
  started: number,
): Promise<{ rowsCopied: number; targetKeys: KeyDigest }> {
  const { client, log } = ctx
  const autoId = plan.target.fields.some((f) => f.primaryKey && f.autoId)
  const target: CollectionSpec = { ...plan.target, loaded: true, aliases: [] }
  // Keep auto_id keys: the target accepts explicit keys while it is filled (Milvus >= 2.6.3, Milvus Lite).
  if (autoId && !options.newIds) target.properties = { ...target.properties, allow_insert_auto_id: 'true' }
  await createCollectionFromSpec(client, target, targetName)
  failpoint('alter:after-create')
  // The copy reads the source, so it must be loaded. Loaded always: some servers report a
  // collection that was never loaded as loaded, and then answer its queries with no rows.
  await loadCollection(client, sourceName)

  // Rows move over a connection of their own, without the SDK's per-call JSON logging (see data-client.ts).
  const data = await openDataClient(client)
  let result: { rowsCopied: number; targetKeys: KeyDigest }
  try {
    // Sealed data reads faster than a server's write buffer (on Milvus Lite, ~3x for key windows
    // and counts), and the server has to seal it anyway: flush the source before reading it and
    // the target before verifying it. Flushing changes no row.
    await flush(client, sourceName)
    const before = await countRows(client, sourceName)
    const progress = (phase: 'copy' | 'verify', rows: number) =>
      log.progress?.({ name, phase, rows, total: before, elapsedMs: Date.now() - started })
    progress('copy', 0)
    const copy = await copyRows({
      client: data.client,
      plan,
      sourceName,
      targetName,
      batchSize: options.batchSize,
      pagesInFlight: options.pagesInFlight,
      newIds: options.newIds,
      onProgress: (n) => progress('copy', n),
    })
    progress('verify', copy.rowsCopied)

    failpoint('alter:after-copy')
    const targetKeys = await verifyCopy(
      client,
      data.client,
      plan,
      sourceName,
      targetName,
      { sourceRowsBefore: before, rowsCopied: copy.rowsCopied, sourceKeys: copy.sourceKeys },
      !!options.newIds,
    )
    if (options.verify === 'full') await verifyValues(data.client, plan, sourceName, targetName, copy.batchSize)
    result = { rowsCopied: copy.rowsCopied, targetKeys }
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
