import { failpoint } from '../failpoints'
import type { JournalEntry } from '../ledger/journal'
import {
  aliasesOf,
  alterAlias,
  collectionExists,
  createAlias,
  dropAlias,
  dropCollection,
  ensureLoaded,
  renameCollection,
  resolveName,
} from '../milvus/collections'
import type { AlterOptions } from './builder'
import type { AlterContext } from './types'
import { alterNames } from './names'

/**
 * The swap state machine: moving names so that an altered name resolves to the new collection
 * (finishSwap) or back to the backup (swapBack). Both are idempotent: a rerun after a crash at any
 * point picks up from whatever state the names are in. Every rename and alias change is read back
 * (milvus/collections.ts) before the next step relies on it.
 */

async function loadIf(ctx: AlterContext, name: string, loaded: boolean): Promise<void> {
  if (loaded) await ensureLoaded(ctx.client, name)
}

/** Aliases of the collections that exist among `names`, except `skip`. */
async function aliasesOfAny(ctx: AlterContext, names: string[], skip: string): Promise<string[]> {
  const out: string[] = []
  for (const c of names) if (await collectionExists(ctx.client, c)) out.push(...(await aliasesOf(ctx.client, c)))
  return [...new Set(out)].filter((a) => a !== skip)
}

/**
 * Moves names so `entry.name` resolves to the new collection (`entry.target`). Returns how long the
 * name resolved to nothing (from the first rename to the second; 0 through an alias).
 */
export async function finishSwap(ctx: AlterContext, entry: JournalEntry, options: AlterOptions = {}): Promise<number> {
  let gapStarted: number | undefined
  let gapMs = 0
  const { client } = ctx
  const names = alterNames(entry.name, entry.version, entry.slot)
  if (entry.mode === 'alias') {
    await loadIf(ctx, entry.target, entry.loaded)
    await alterAlias(client, entry.target, entry.name)
  } else {
    // Aliases follow a renamed collection: after a crash they may already sit on the backup.
    const aliases = await aliasesOfAny(ctx, [entry.source, names.backup], entry.name)
    const converting = entry.target === names.versioned
    // 1. source -> backup (skipped if a crash came after it)
    if ((await collectionExists(client, entry.source)) && !(await collectionExists(client, names.backup))) {
      gapStarted = Date.now()
      await renameCollection(client, entry.source, names.backup)
      failpoint('alter:between-renames')
    }
    // 2. the name -> the new collection
    if (converting) {
      await loadIf(ctx, entry.target, entry.loaded)
      if ((await resolveName(client, entry.name))?.collection !== entry.target)
        await createAlias(client, entry.target, entry.name)
    } else if (await collectionExists(client, entry.target)) {
      await renameCollection(client, entry.target, entry.name)
    }
    if (gapStarted !== undefined) gapMs = Date.now() - gapStarted
    const final = converting ? entry.target : entry.name
    await loadIf(ctx, final, entry.loaded) // Milvus Lite releases collections on rename
    // 3. aliases that pointed at the old collection follow the name
    for (const alias of aliases) await alterAlias(client, final, alias)
  }
  const old = entry.mode === 'alias' ? entry.source : names.backup
  if (!entry.backup && options.keepBackup === false && (await collectionExists(client, old)))
    await dropCollection(client, old)
  return gapMs
}

/**
 * Moves names back: `entry.name` resolves to the backup again, and the altered collection is kept
 * as `entry.undone` (rows written after the alter live there) until pruned.
 */
export async function swapBack(ctx: AlterContext, entry: JournalEntry & { undone: string }): Promise<void> {
  const { client } = ctx
  const names = alterNames(entry.name, entry.version, entry.slot)
  const converted = entry.mode === 'rename' && entry.target === names.versioned
  if (entry.mode === 'alias') {
    if ((await resolveName(client, entry.name))?.collection !== entry.backup) {
      await loadIf(ctx, entry.backup, entry.loaded)
      await alterAlias(client, entry.backup, entry.name)
    }
    if (await collectionExists(client, entry.target)) await renameCollection(client, entry.target, entry.undone)
  } else {
    const current = converted ? entry.target : entry.name
    const aliases = await aliasesOfAny(ctx, [current, entry.undone], entry.name)
    // 1. free the name: the altered collection -> the leftover name
    if (converted) {
      if ((await resolveName(client, entry.name))?.alias) await dropAlias(client, entry.name)
      if (await collectionExists(client, entry.target)) await renameCollection(client, entry.target, entry.undone)
    } else if ((await collectionExists(client, entry.name)) && (await collectionExists(client, entry.backup))) {
      await renameCollection(client, entry.name, entry.undone)
      failpoint('revert:between-renames')
    }
    // 2. the backup -> the name
    if ((await collectionExists(client, entry.backup)) && !(await collectionExists(client, entry.name)))
      await renameCollection(client, entry.backup, entry.name)
    await loadIf(ctx, entry.name, entry.loaded)
    for (const alias of aliases) await alterAlias(client, entry.name, alias)
  }
  // Keep the leftover readable, so status and prune can count the rows that exist only there.
  await loadIf(ctx, entry.undone, entry.loaded)
}
