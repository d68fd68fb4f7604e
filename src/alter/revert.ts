import { MvmError } from '../errors'
import { failpoint } from '../failpoints'
import type { JournalEntry } from '../ledger/journal'
import { collectionExists, listCollectionNames } from '../milvus/collections'
import { requireRpcs } from '../milvus/server-traits'
import type { AlterContext } from './types'
import { alterNames, nextUndoneName } from './names'
import type { AlterPlan } from './types'
import { swapBack } from './swap'
import { type WritesReport, carryWrites, describeWrites, hasWrites, writesSinceAlter } from './writes-since'

/** What `down` does with rows written to an altered collection after its alter. */
export type WritesPolicy = 'refuse' | 'carry' | 'discard'

export interface RevertOptions {
  /** Default 'refuse': stop before changing anything when rows were written since the alter. */
  writes?: WritesPolicy
  /** 'full' also compares every value of rows that exist on both sides (needs `planOf`). */
  verify?: 'count' | 'full'
  /** The alter's plan against the backup's schema, for verify 'full' (the Migrator re-plans the migration's up()). */
  planOf?: (name: string) => Promise<AlterPlan | undefined>
  /** A check already made for this alter (the Migrator checks every alter of a batch before undoing any). */
  checked?: WritesReport
}

export interface RevertSummary {
  name: string
  /** The collection the name resolves to again. */
  restored: string
  /** Where the altered collection was kept. */
  leftover: string
  writes?: WritesReport
  carried?: { carried: number; deleted: number }
  /** Rows written since the alter that are now only in the leftover (down --discard-writes). */
  discarded?: number
}

/** The collection that holds an alter's result now. */
/**
 * The collection that holds an alter's result when a newer alter of the same name (by plain name)
 * is in `journal` too: that alter's backup, which its undo puts back under the name. Otherwise
 * alteredCollectionOf(entry).
 */
export function alteredCollectionBeneath(entry: JournalEntry, journal: JournalEntry[]): string {
  const newer = journal
    .filter(
      (j) =>
        j.name === entry.name &&
        j.mode === 'rename' &&
        entry.mode === 'rename' &&
        j.version > entry.version &&
        !j.retired &&
        j.direction !== 'down' &&
        j.state === 'done' &&
        j.backup,
    )
    .sort((a, b) => a.version.localeCompare(b.version))[0]
  return newer ? newer.backup : alteredCollectionOf(entry)
}

export function alteredCollectionOf(entry: JournalEntry): string {
  return entry.mode === 'alias' || entry.target === alterNames(entry.name, entry.version, entry.slot).versioned
    ? entry.target
    : entry.name
}

/** Why an alter cannot be undone by swapping its backup back, or undefined when it can. */
export async function backupProblem(ctx: AlterContext, entry: JournalEntry): Promise<MvmError | undefined> {
  if (entry.backup && (await collectionExists(ctx.client, entry.backup))) return undefined
  const what = `${ctx.migration.file}: cannot undo the alter of '${entry.name}'`
  const hint = `Write a down() that reverses the change with ctx.alter (for example ctx.alter('${entry.name}', (t) => { ... }) with the opposite operations). Nothing was changed.`
  if (entry.backupPrunedAt)
    return new MvmError(
      'IRREVERSIBLE',
      `${what}: its backup '${alterNames(entry.name, entry.version, entry.slot).backup}' was pruned (${entry.backupPrunedAt})`,
      { hint },
    )
  if (!entry.backup) return new MvmError('IRREVERSIBLE', `${what}: no backup was kept (keepBackup: false)`, { hint })
  return new MvmError('IRREVERSIBLE', `${what}: its backup '${entry.backup}' is gone (dropped outside mvmigrate)`, {
    hint,
  })
}

/** Finds rows written since the alter, as `down` would before undoing it. */
export async function checkWritesSince(
  ctx: AlterContext,
  entry: JournalEntry,
  opts: RevertOptions & { alteredName?: string } = {},
): Promise<WritesReport> {
  // The plan lets changed values be named (and carried); without it they are only detected. It is
  // looked for only when values differ (writes-since.ts).
  const plan = opts.verify === 'full' ? await opts.planOf?.(entry.name) : undefined
  if (opts.verify === 'full' && !plan) {
    throw new MvmError(
      'USAGE',
      `${ctx.migration.file}: verify 'full' cannot check the alter of '${entry.name}': its up() did not alter it when planned again`,
      { hint: 'Nothing was undone. To roll back with the default verification (count and keys), {{verifyCount}}.' },
    )
  }
  return writesSinceAlter(ctx.client, entry, opts.alteredName ?? alteredCollectionOf(entry), {
    verify: opts.verify,
    plan,
    planIfNeeded: async () => opts.planOf?.(entry.name),
  })
}

export function writesRefusal(file: string, reports: WritesReport[]): MvmError {
  const unmatched = reports.some((r) => !r.matchable)
  return new MvmError(
    'WRITES_SINCE_ALTER',
    `Cannot roll back ${file}: ${reports.map(describeWrites).join('; ')}. Undoing the alter would swap the backup back in without them.`,
    {
      hint: unmatched
        ? 'Nothing was undone. Rows cannot be carried back across a changed primary key (or new ids): {{discardWrites}} rolls back anyway and keeps them only in the leftover collection; or write a down() that alters back with ctx.alter (it copies every row, writes included).'
        : 'Nothing was undone. Choose: {{carryWrites}} copies those rows back into the restored collection (converted back) and deletes there what was deleted since; {{discardWrites}} rolls back anyway and keeps them only in the leftover collection.',
      details: { writes: reports },
    },
  )
}

/**
 * Undo of an alter: swap the backup back in, without copying. Rows written to the altered
 * collection since the alter are found first; by default that stops the revert before anything
 * changes. The altered collection is kept as `<name>__mvm_undone_<version>[_n]` until pruned.
 */
export async function revertAlter(ctx: AlterContext, name: string, opts: RevertOptions = {}): Promise<RevertSummary> {
  const { client, migration, journal, log } = ctx
  const entry = await journal.get(migration.version, name)
  if (!entry || (entry.state !== 'done' && entry.state !== 'reverting')) {
    throw new MvmError(
      'NOTHING_TO_UNDO',
      `${migration.file}: no completed alter of '${name}' by this migration is recorded`,
      { hint: 'Nothing was changed.' },
    )
  }
  const names = alterNames(name, migration.version, entry.slot)
  if (entry.state === 'reverting' && entry.undone) {
    log.info(`finishing the interrupted revert of ${name}`)
    await swapBack(ctx, { ...entry, undone: entry.undone })
    await journal.remove(entry.id)
    return { name, restored: entry.backup, leftover: entry.undone }
  }
  // A revert interrupted by a crash before this journal recorded reverting: the name is free, the backup waits.
  if (
    entry.mode === 'rename' &&
    entry.target !== names.versioned &&
    !(await collectionExists(client, name)) &&
    (await collectionExists(client, names.undone)) &&
    (await collectionExists(client, entry.backup))
  ) {
    await swapBack(ctx, { ...entry, undone: names.undone })
    await journal.remove(entry.id)
    return { name, restored: entry.backup, leftover: names.undone }
  }
  const problem = await backupProblem(ctx, entry)
  if (problem) throw problem
  await requireRpcs(
    client,
    entry.mode === 'alias' ? ['AlterAlias', 'RenameCollection'] : ['RenameCollection'],
    `${migration.file}: cannot undo the alter of '${name}' on this server`,
  )

  // Checked before the rollback began, against the collection that holds this alter's result now;
  // after a newer alter of the same name was undone in this rollback (and its writes perhaps
  // carried back into it), that is another collection: checked again.
  const writes =
    opts.checked && opts.checked.collection === alteredCollectionOf(entry)
      ? opts.checked
      : await checkWritesSince(ctx, entry, opts)
  const policy = opts.writes ?? 'refuse'
  const summary: RevertSummary = { name, restored: entry.backup, leftover: '', writes }
  if (hasWrites(writes)) {
    if (policy === 'refuse') throw writesRefusal(migration.file, [writes])
    if (policy === 'carry') {
      summary.carried = await carryWrites(client, entry, alteredCollectionOf(entry), {
        verify: opts.verify,
        plan: opts.verify === 'full' ? await opts.planOf?.(name) : undefined,
        planIfNeeded: async () => opts.planOf?.(name),
      })
      failpoint('revert:after-carry')
      log.info(
        `carried ${summary.carried.carried} row(s) written since the alter back into '${entry.backup}'${summary.carried.deleted ? ` and deleted ${summary.carried.deleted} there` : ''}`,
      )
    } else summary.discarded = writes.inserted + (writes.changed ?? 0)
  }
  const undone = nextUndoneName(name, migration.version, await listCollectionNames(client))
  const reverting = await journal.write({ ...entry, state: 'reverting', undone })
  await swapBack(ctx, { ...reverting, undone })
  // Kept (retired) only for how the leftover's fields map onto the restored collection's: prune and
  // status compare their values by it.
  await journal.write({
    ...reverting,
    state: 'done',
    backup: '',
    retired: new Date().toISOString(),
    // Keys that cannot be matched name no row: every row of it counts as its own.
    rowsOnlyHere: summary.discarded === undefined ? 0 : writes.matchable ? summary.discarded : writes.rowsNow,
  })
  await journal.remove(entry.id)
  summary.leftover = undone
  log.info(
    `reverted the alter of ${name}: '${entry.backup}' is back${entry.mode === 'alias' ? ' behind the alias' : ''}; the altered collection is kept as '${undone}'`,
  )
  if (summary.discarded !== undefined || (hasWrites(writes) && policy === 'discard')) {
    log.warn(
      `${describeWrites(writes)}: rolled back WITHOUT them (discarding writes). They exist only in '${undone}' now; prune will not drop it unless told to discard them.`,
    )
  }
  return summary
}
