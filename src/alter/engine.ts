import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import type { MigrationInfo } from '../context/context'
import type { Logger } from '../context/logger'
import { MvmError, messageOf } from '../errors'
import { Journal, JournalEntry } from '../ledger/journal'
import { milvusCall } from '../milvus/call'
import { createCollectionFromSpec } from '../milvus/create'
import { aliasesOf, collectionNameOf, describeCollectionSpec } from '../milvus/describe'
import { CollectionSpec } from '../schema/spec'
import { failpoint } from '../failpoints'
import { AlterOp, AlterOptions } from './builder'
import { copyRows, keyDigest, verifyValues } from './copy'
import { countRows } from './pager'
import { openDataClient } from '../milvus/data-client'
import { AlterPlan, planAlter } from './plan'

export interface AlterSummary {
  /** The name the migration altered. */
  name: string
  mode: 'rename' | 'alias'
  /** The collection the name now resolves to. */
  collection: string
  /** The old collection kept as a backup ('' when not kept). */
  backup: string
  rowsCopied: number
  durationMs: number
  changes: string[]
  /** True when a rerun found this alter already done (after a crash between swap and ledger). */
  resumed?: boolean
}

export interface AlterContext {
  client: MilvusClient
  migration: MigrationInfo
  log: Logger
  journal: Journal
}

/** Names of the collections an alter creates, derived from the migration version. */
export function alterNames(name: string, version: string) {
  return {
    temp: `${name}__mvm_tmp_${version}`,
    backup: `${name}__mvm_bak_${version}`,
    /** In alias mode the new collection keeps this name for good. */
    versioned: `${name}_v${version}`,
    undone: `${name}__mvm_undone_${version}`,
  }
}

async function exists(client: MilvusClient, name: string): Promise<boolean> {
  return !!(await milvusCall(`check collection '${name}'`, () => client.hasCollection({ collection_name: name }))).value
}

async function rename(client: MilvusClient, from: string, to: string): Promise<void> {
  await milvusCall(`rename collection '${from}' to '${to}'`, () => client.renameCollection({ collection_name: from, new_collection_name: to }))
  // The SDK caches describe results by name (search uses them): both names now mean something else.
  const sdk = client as unknown as { invalidateCollectionInfo?: (d: object) => void }
  sdk.invalidateCollectionInfo?.({ collection_name: from })
  sdk.invalidateCollectionInfo?.({ collection_name: to })
}

async function loadIf(client: MilvusClient, name: string, loaded: boolean): Promise<void> {
  if (!loaded) return
  const state = await milvusCall(`load state of '${name}'`, () => client.getLoadState({ collection_name: name }))
  if (String(state.state) !== 'LoadStateLoaded') await milvusCall(`load '${name}'`, () => client.loadCollection({ collection_name: name }))
}

/** Which collection a name resolves to, and whether the name is an alias. */
export async function resolveName(client: MilvusClient, name: string): Promise<{ collection: string; alias: boolean } | undefined> {
  const d = await client.describeCollection({ collection_name: name })
  if (d.status?.code !== 0 && d.status?.error_code !== 'Success') return undefined
  if (d.status?.code && d.status.code !== 0) return undefined
  const actual = await collectionNameOf(client, d, name)
  return { collection: actual, alias: actual !== name }
}

/**
 * One copy-and-swap alter: plan and validate, build the target under a temporary name, copy every
 * row, verify, swap names (or repoint the alias), keep the old collection as a backup. Each step is
 * journalled first, so a rerun after a crash resumes or restarts cleanly.
 */
export async function runAlter(ctx: AlterContext, name: string, ops: AlterOp[], options: AlterOptions = {}): Promise<AlterSummary> {
  const { client, migration, log, journal } = ctx
  const started = Date.now()
  const names = alterNames(name, migration.version)
  const where = `${migration.file}: `
  const previous = await journal.get(migration.version, name)

  if (previous?.state === 'done') {
    log.info(`alter of ${name} was already done by an earlier run (collection ${previous.target})`)
    return { name, mode: previous.mode, collection: previous.target, backup: previous.backup, rowsCopied: previous.rowsCopied, durationMs: previous.durationMs, changes: [], resumed: true }
  }
  if (previous?.state === 'swapping') {
    log.info(`finishing the interrupted swap of ${name}`)
    await finishSwap(ctx, previous, names)
    const done = await journal.write({ ...previous, state: 'done' })
    return { name, mode: done.mode, collection: done.target, backup: done.backup, rowsCopied: done.rowsCopied, durationMs: done.durationMs, changes: [], resumed: true }
  }

  const resolved = await resolveName(client, name)
  if (!resolved) {
    throw new MvmError('MIGRATION_INVALID', `${where}cannot alter '${name}': no such collection or alias`, { hint: 'Check the name (mvmigrate status shows what has run). Nothing was changed.' })
  }
  const mode: 'rename' | 'alias' = resolved.alias ? 'alias' : 'rename'
  const sourceName = resolved.collection
  const source = await describeCollectionSpec(client, sourceName)
  const plan = planAlter(source, ops, options, where)
  if (plan.problems.length) {
    throw new MvmError('MIGRATION_INVALID', `Cannot alter '${name}':\n  ${plan.problems.join('\n  ')}`, { hint: 'Fix the alter in the migration file. Nothing was created or changed.' })
  }
  for (const w of plan.warnings) log.warn(w)

  const targetName = mode === 'alias' || options.convertToAlias ? names.versioned : names.temp
  // A leftover target from an interrupted run (journal says copying) is dropped and rebuilt.
  if (await exists(client, targetName)) {
    if (previous?.state === 'copying' && previous.target === targetName) {
      log.info(`dropping the partial copy ${targetName} left by an interrupted run`)
      await milvusCall(`drop '${targetName}'`, () => client.dropCollection({ collection_name: targetName }))
    } else {
      throw new MvmError('MIGRATION_INVALID', `${where}cannot alter '${name}': a collection named '${targetName}' already exists and mvmigrate did not create it`, {
        hint: `Rename or drop '${targetName}'. Nothing was changed.`,
      })
    }
  }
  const backup = mode === 'alias' ? sourceName : names.backup
  if (mode === 'rename' && (await exists(client, backup))) {
    throw new MvmError('MIGRATION_INVALID', `${where}cannot alter '${name}': the backup name '${backup}' is taken`, { hint: `Prune or rename '${backup}' first. Nothing was changed.` })
  }

  const entry: Omit<JournalEntry, 'id' | 'updatedAt'> = {
    version: migration.version, name, state: 'copying', mode, source: sourceName, target: targetName, backup: options.keepBackup === false ? '' : backup,
    rowsCopied: 0, loaded: source.loaded, durationMs: 0,
  }
  await journal.write(entry)
  log.info(`alter ${name}: ${plan.changes.join('; ') || 'rebuild'}`)

  let rowsCopied = 0
  try {
    rowsCopied = await buildTarget(ctx, plan, sourceName, targetName, options)
  } catch (e) {
    // The source was never touched: drop the partial target and say what happened.
    await milvusCall(`drop '${targetName}'`, () => client.dropCollection({ collection_name: targetName })).catch(() => undefined)
    await journal.remove(`${migration.version}/${name}`).catch(() => undefined)
    throw e
  }

  failpoint('alter:after-verify')
  log.progress?.({ name, phase: 'swap', rows: rowsCopied, total: rowsCopied, elapsedMs: Date.now() - started })
  const swapping = await journal.write({ ...entry, state: 'swapping', rowsCopied, durationMs: Date.now() - started })
  await finishSwap(ctx, swapping, names, options)
  failpoint('alter:after-swap')
  const done = await journal.write({ ...swapping, state: 'done', durationMs: Date.now() - started })
  log.progress?.({ name, phase: 'done', rows: rowsCopied, total: rowsCopied, elapsedMs: done.durationMs })
  log.info(`alter ${name}: ${rowsCopied} rows copied in ${done.durationMs} ms; ${done.backup ? `backup kept as ${done.backup}` : 'no backup kept'}`)
  return { name, mode, collection: targetName === names.temp ? name : targetName, backup: done.backup, rowsCopied, durationMs: done.durationMs, changes: plan.changes }
}

async function flush(client: MilvusClient, collection: string): Promise<void> {
  await milvusCall(`flush '${collection}'`, () => client.flushSync({ collection_names: [collection] }))
}

/** Create the target, copy, verify. The source is only read. Returns the rows copied. */
async function buildTarget(ctx: AlterContext, plan: AlterPlan, sourceName: string, targetName: string, options: AlterOptions): Promise<number> {
  const { client, log } = ctx
  const autoId = plan.target.fields.some((f) => f.primaryKey && f.autoId)
  const target: CollectionSpec = { ...plan.target, loaded: true, aliases: [] }
  // Keep auto_id keys: the target accepts explicit keys while it is filled (Milvus >= 2.6.3, Milvus Lite).
  if (autoId && !options.newIds) target.properties = { ...target.properties, allow_insert_auto_id: 'true' }
  await createCollectionFromSpec(client, target, targetName)
  failpoint('alter:after-create')
  await loadIf(client, sourceName, true) // the copy reads the source, so it must be loaded

  // Rows move over a connection of their own, without the SDK's per-call JSON logging (see data-client.ts).
  const data = await openDataClient(client)
  let rowsCopied = 0
  try {
    // Sealed data reads faster than a server's write buffer (on Milvus Lite, ~3x for key windows
    // and counts), and the server has to seal it anyway: flush the source before reading it and
    // the target before verifying it. Flushing changes no row.
    await flush(client, sourceName)
    const before = await countRows(client, sourceName)
    const started = Date.now()
    const progress = (phase: 'copy' | 'verify' | 'swap', rows: number) => log.progress?.({ name: plan.source.name, phase, rows, total: before, elapsedMs: Date.now() - started })
    progress('copy', 0)
    const copy = await copyRows({ client: data.client, plan, sourceName, targetName, batchSize: options.batchSize, pagesInFlight: options.pagesInFlight, newIds: options.newIds, onProgress: (n) => progress('copy', n) })
    progress('verify', copy.rowsCopied)

    failpoint('alter:after-copy')
    await flush(client, targetName)
    // Verify: the target holds exactly the source's rows, and the source did not change meanwhile.
    const targetCount = await countRows(client, targetName)
    const sourceAfter = await keyDigest(data.client, sourceName, plan, 'source')
    const sameKeys = sourceAfter.toString() === copy.sourceKeys.toString()
    if (sameKeys && sourceAfter.count < before && (await countRows(client, sourceName)) === before) {
      throw new MvmError('MIGRATION_FAILED', `'${sourceName}' counts ${before} rows but its queries return only ${sourceAfter.count} of them (the same keys before and after the copy), so ${before - sourceAfter.count} row(s) cannot be copied; the swap was aborted, the copy dropped, and '${sourceName}' is untouched`, {
        hint: 'Milvus 2.3 never returns a row keyed 9223372036854775807 (the Int64 maximum) to any query. Re-insert such a row under another key (or upgrade Milvus), then run `mvmigrate up` again.',
      })
    }
    if (!sameKeys || before !== sourceAfter.count) {
      throw new MvmError('MIGRATION_FAILED', `Writes happened to '${sourceName}' during the migration (${before} rows before, ${sourceAfter.count} after the copy); the swap was aborted, the copy dropped, and '${sourceName}' is untouched`, {
        hint: 'Stop writers (or point them elsewhere) while the alter runs, then run `mvmigrate up` again.',
      })
    }
    if (targetCount !== copy.rowsCopied || targetCount !== before) {
      throw new MvmError('MIGRATION_FAILED', `Verification failed: '${targetName}' holds ${targetCount} rows, the source ${before}; the copy was dropped and the source is untouched`, { hint: 'Run `mvmigrate up` again; report this if it repeats.' })
    }
    if (!options.newIds) {
      const targetKeys = await keyDigest(data.client, targetName, plan, 'target')
      if (targetKeys.toString() !== copy.sourceKeys.toString()) {
        throw new MvmError('MIGRATION_FAILED', `Verification failed: the primary keys of '${targetName}' differ from the source's; the copy was dropped and the source is untouched`, { hint: 'Run `mvmigrate up` again; report this if it repeats.' })
      }
    }
    if (options.verify === 'full') await verifyValues(data.client, plan, sourceName, targetName, copy.batchSize)
    rowsCopied = copy.rowsCopied
  } finally {
    await data.close()
  }
  if (autoId && !options.newIds) {
    await milvusCall(`reset allow_insert_auto_id on '${targetName}'`, () => client.dropCollectionProperties({ collection_name: targetName, properties: ['allow_insert_auto_id'] })).catch((e) =>
      ctx.log.warn(`could not remove allow_insert_auto_id from ${targetName}: ${messageOf(e)}`),
    )
  }
  if (!plan.source.loaded) await milvusCall(`release '${targetName}'`, () => client.releaseCollection({ collection_name: targetName }))
  return rowsCopied
}

/**
 * Moves names so `entry.name` resolves to the new collection. Idempotent: a rerun after a crash in
 * the middle picks up from whatever state the names are in.
 */
async function finishSwap(ctx: AlterContext, entry: JournalEntry, names: ReturnType<typeof alterNames>, options: AlterOptions = {}): Promise<void> {
  const { client } = ctx
  if (entry.mode === 'alias') {
    await milvusCall(`point alias '${entry.name}' at '${entry.target}'`, () => client.alterAlias({ alias: entry.name, collection_name: entry.target }))
  } else {
    // Aliases follow a renamed collection: after a crash they may already sit on the backup.
    const aliases: string[] = []
    for (const c of [entry.source, names.backup]) {
      if (await exists(client, c)) aliases.push(...(await aliasesOf(client, c)))
    }
    const converting = entry.target === names.versioned
    // 1. source -> backup (skipped if a crash came after it)
    if ((await exists(client, entry.source)) && !(await exists(client, names.backup))) {
      await rename(client, entry.source, names.backup)
      failpoint('alter:between-renames')
    }
    // 2. the name -> the new collection
    if (converting) {
      await loadIf(client, entry.target, entry.loaded)
      await milvusCall(`create alias '${entry.name}'`, () => client.createAlias({ alias: entry.name, collection_name: entry.target }))
    } else if (await exists(client, entry.target)) {
      await rename(client, entry.target, entry.name)
    }
    const final = converting ? entry.target : entry.name
    await loadIf(client, final, entry.loaded) // Milvus Lite releases collections on rename
    // 3. aliases that pointed at the old collection follow the name
    for (const alias of aliases.filter((a) => a !== entry.name)) await milvusCall(`move alias '${alias}'`, () => client.alterAlias({ alias, collection_name: final }))
  }
  if (!entry.backup && (await exists(client, entry.mode === 'alias' ? entry.source : names.backup)) && options.keepBackup === false) {
    await milvusCall('drop the old collection', () => client.dropCollection({ collection_name: entry.mode === 'alias' ? entry.source : names.backup }))
  }
}

/**
 * Undo of an alter: swap the backup back in, without copying. The altered collection is kept as
 * `<name>__mvm_undone_<version>` (rows written after the alter live there) until pruned.
 */
export async function revertAlter(ctx: AlterContext, name: string): Promise<void> {
  const { client, migration, journal, log } = ctx
  const entry = await journal.get(migration.version, name)
  if (!entry || entry.state !== 'done') {
    throw new MvmError('NOTHING_TO_UNDO', `${migration.file}: no completed alter of '${name}' by this migration is recorded`, { hint: 'Nothing was changed.' })
  }
  const names = alterNames(name, migration.version)
  const converted = entry.mode === 'rename' && entry.target === names.versioned
  const hasBackup = !!entry.backup && (await exists(client, entry.backup))
  // A crash between the two renames of an earlier revert: the name is free, the backup waits.
  const interrupted = entry.mode === 'rename' && !converted && hasBackup && !(await exists(client, name)) && (await exists(client, names.undone))
  const finished = entry.mode === 'rename' && !converted && !hasBackup && (await exists(client, names.undone)) && (await exists(client, name))
  if (finished) {
    await journal.remove(entry.id)
    return
  }
  if (!hasBackup) {
    throw new MvmError('MISSING_FILE', `${migration.file}: cannot undo the alter of '${name}': ${entry.backup ? `its backup '${entry.backup}' is gone` : 'its backup was pruned (or not kept)'}`, {
      hint: 'Write a down() that reverses the alter with ctx.alter instead. Nothing was changed.',
    })
  }
  if (entry.mode === 'alias') {
    await loadIf(client, entry.backup, entry.loaded)
    await milvusCall(`point alias '${name}' back at '${entry.backup}'`, () => client.alterAlias({ alias: name, collection_name: entry.backup }))
  } else {
    const current = converted ? entry.target : interrupted ? names.undone : name
    const aliases = (await aliasesOf(client, current)).filter((a) => a !== name)
    if (converted) await milvusCall(`drop alias '${name}'`, () => client.dropAlias({ alias: name }))
    if (!converted && !interrupted) {
      if (await exists(client, names.undone)) {
        throw new MvmError('MIGRATION_INVALID', `cannot undo the alter of '${name}': '${names.undone}' already exists`, { hint: 'Prune it first (mvmigrate prune). Nothing was changed.' })
      }
      await rename(client, name, names.undone)
      failpoint('revert:between-renames')
    }
    await rename(client, entry.backup, name)
    await loadIf(client, name, entry.loaded)
    for (const alias of aliases) await milvusCall(`move alias '${alias}'`, () => client.alterAlias({ alias, collection_name: name }))
  }
  await journal.remove(entry.id)
  log.info(`reverted the alter of ${name}: '${entry.backup}' is back${entry.mode === 'alias' ? ' behind the alias' : ''}`)
}
