import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import type { Journal, JournalEntry } from '../ledger/journal'
import { type Ledger, type LedgerRow, nextBatchOf } from '../ledger/ledger'
import { dropCollection, unlessGone } from '../milvus/collections'
import type { MigrationStatus } from './plan'

/**
 * `resolve`: settles a migration recorded as failed by hand, as Prisma's `migrate resolve` does.
 *   rolled-back  forget the failed attempt: the user undid (or keeps) what it changed. The
 *                migration is pending again (or gone from status, when its file was deleted).
 *   applied      record it as applied: the user finished its changes by hand (its file must exist:
 *                the checksum is recorded, and `down` will run its down()).
 * Only a failed migration can be resolved (or, as rolled back, one whose run was killed outright
 * mid-copy and recorded nothing: its partial copy is all there is), and never while one of its
 * alters stands half-way through a swap: the collection's name is then between two collections.
 */
export type Resolution = 'rolled-back' | 'applied'

export interface ResolveResult {
  version: string
  name: string
  resolvedAs: Resolution
  dryRun: boolean
  /** False when the ledger had no row of it (a run killed outright): only partial copies were settled. */
  wasRecorded: boolean
  /** Partial copies of the migration's interrupted alters that were dropped (rolled-back). */
  droppedPartialCopies: string[]
  /** Finished alters of the failed run kept as records of their backups only (rolled-back): status and prune list the backups. */
  retiredAlters: string[]
  /** applied: the batch it was recorded in. */
  batch?: number
}

export interface ResolveDeps {
  client: MilvusClient
  journal: Journal
  ledger: Ledger
  entries: MigrationStatus[]
  ledgerRows: LedgerRow[]
}

/** What resolving would do, refusing (changing nothing) when it cannot be done safely. */
export function planResolve(
  deps: Pick<ResolveDeps, 'entries'>,
  journal: JournalEntry[],
  version: string,
  as: Resolution,
): { entry: MigrationStatus; partial: JournalEntry[]; finished: JournalEntry[] } {
  const failed = deps.entries.filter((e) => e.state === 'failed')
  const found = deps.entries.find((e) => e.version === version)
  const mine = journal.filter((j) => j.version === version && !j.retired && j.direction !== 'down')
  const partial = mine.filter((j) => j.state === 'copying')
  const failedList = failed.length
    ? `Migrations recorded as failed: ${failed.map((e) => `${e.version}_${e.name}`).join(', ')}.`
    : 'No migration is recorded as failed.'
  const midSwap = mine.filter((j) => j.state === 'swapping' || j.state === 'reverting')
  // A run killed outright records nothing: an alter it left copying (or half-way through its swap)
  // is all there is to settle, and the refusals below say what to do about it.
  const interruptedOnly = (!found || found.state === 'pending') && (partial.length > 0 || midSwap.length > 0)
  if (!found && !interruptedOnly)
    throw new MvmError('UNKNOWN_VERSION', `resolve ${version}: no migration has that version`, {
      hint: `${failedList} To list them all, {{status}}.`,
    })
  // (Its name was in the ledger or the file; neither is left.)
  const entry: MigrationStatus = found ?? { version, name: '', state: 'pending' }
  const label = entry.name ? `${version}_${entry.name}` : version
  if (entry.state !== 'failed' && !interruptedOnly) {
    const why =
      entry.state === 'pending'
        ? 'it never ran, so there is nothing to resolve'
        : entry.state === 'missing' || entry.state === 'changed'
          ? 'it is recorded as applied'
          : `it is ${entry.state === 'baseline' ? 'baselined (recorded as applied)' : 'applied'}`
    throw new MvmError('RESOLVE_REFUSED', `Cannot resolve ${label}: ${why}`, {
      hint: `Nothing was changed. resolve settles a migration recorded as failed. ${
        entry.state === 'pending' ? 'To run it, {{up}}.' : 'To undo an applied one, {{down}}.'
      } ${failedList}`,
    })
  }
  if (midSwap.length)
    throw new MvmError(
      'RESOLVE_REFUSED',
      `Cannot resolve ${label}: its alter of ${midSwap.map((j) => `'${j.name}'`).join(', ')} stopped half-way through the swap`,
      {
        hint: `Nothing was changed. ${entry.file ? '' : 'Restore its file from version control. '}To finish the swap (no copy), {{up}}; then, if you want it undone, {{down}}.`,
      },
    )
  if (as === 'applied') {
    if (!entry.file)
      throw new MvmError('RESOLVE_REFUSED', `Cannot mark ${label} as applied: its file is gone`, {
        hint: 'Nothing was changed. An applied migration is recorded with its file (its checksum, and the down() that undoes it): restore the file from version control first, or resolve it as rolled back ({{rolledBack}}) if you abandoned it.',
      })
    if (partial.length)
      throw new MvmError(
        'RESOLVE_REFUSED',
        `Cannot mark ${label} as applied: its alter of ${partial.map((j) => `'${j.name}'`).join(', ')} never swapped (the collection is not altered)`,
        {
          hint: 'Nothing was changed. {{upCommand}} continues that alter from its checkpoint; or resolve it as rolled back ({{rolledBack}}), which drops the partial copy.',
        },
      )
  }
  return { entry, partial, finished: mine.filter((j) => j.state === 'done') }
}

export async function resolveFailed(
  deps: ResolveDeps,
  version: string,
  as: Resolution,
  opts: { dryRun?: boolean; toolVersion: string; onChange?: (what: string) => void } = { toolVersion: '' },
): Promise<ResolveResult> {
  const journal = await deps.journal.list()
  const { entry, partial, finished } = planResolve(deps, journal, version, as)
  const result: ResolveResult = {
    version,
    name: entry.name,
    resolvedAs: as,
    dryRun: !!opts.dryRun,
    wasRecorded: !!entry.row,
    droppedPartialCopies: as === 'rolled-back' ? partial.map((j) => j.target) : [],
    retiredAlters: as === 'rolled-back' ? finished.map((j) => j.name) : [],
  }
  if (as === 'applied') result.batch = nextBatchOf(deps.ledgerRows)
  if (opts.dryRun) return result
  if (as === 'rolled-back') {
    // The partial copy holds only rows copied from the source, which is untouched: nothing is lost.
    for (const j of partial) {
      await unlessGone(deps.client, j.target, () => dropCollection(deps.client, j.target))
      await deps.journal.remove(j.id)
      opts.onChange?.(`dropped the partial copy ${j.target} of its alter of ${j.name}`)
    }
    // A finished alter stays (the collection is altered); retired, a run of the migration again
    // alters anew instead of skipping, and its backup stays listed for prune.
    const retired = await deps.journal.retire(version)
    for (const j of retired)
      opts.onChange?.(
        `its finished alter of ${j.name} stays; its backup ${j.backup || '(none kept)'} is listed by status`,
      )
    if (entry.row) await deps.ledger.remove(version)
  } else {
    const row = entry.row!
    await deps.ledger.write({
      ...row,
      checksum: entry.file!.checksum,
      batch: result.batch!,
      state: 'applied',
      appliedAt: new Date().toISOString(),
      toolVersion: opts.toolVersion,
      error: undefined,
    })
  }
  return result
}
