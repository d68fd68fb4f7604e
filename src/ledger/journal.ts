import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import type { CopyCheckpoint } from '../alter/resume'
import { collectionExists, ensureLoaded } from '../milvus/collections'
import { deleteRows, queryRows, upsertRows } from '../milvus/rows'
import { HIDDEN_VECTOR, HIDDEN_VECTOR_VALUE, ensureMetaCollection } from './meta-collection'

export const JOURNAL_COLLECTION = '_migrations_journal'
const ENTRY_BYTES = 8192

/**
 * Where a copy-and-swap alter stands, written before each step so that a crash at any point can be
 * resumed or cleaned up by the next `up` (or `down`):
 *   copying    the target is being created and filled (a rerun drops it and starts again)
 *   swapping   the copy is verified; names are being moved (a rerun finishes the move)
 *   done       swapped; the backup (if kept) is recorded for `down` and `prune`
 *   reverting  `down` is swapping the backup back; `undone` names where the altered collection goes
 */
export type AlterState = 'copying' | 'swapping' | 'done' | 'reverting'

export interface JournalEntry {
  /** `${version}/${name}`, `/down` added for an alter made by down(), `/retired/<when>` once retired. */
  id: string
  version: string
  /** The name the migration altered (a collection or an alias). */
  name: string
  state: AlterState
  /** 'rename': plain collection name swapped by renames; 'alias': the alias was repointed. */
  mode: 'rename' | 'alias'
  source: string
  target: string
  /** The old collection kept after the swap, or '' when not kept. */
  backup: string
  /** When `prune` dropped the backup (ISO 8601); `down` then says so. */
  backupPrunedAt?: string
  rowsCopied: number
  /** Whether the source was loaded (the swap loads the target to match). */
  loaded: boolean
  updatedAt: string
  durationMs: number
  /**
   * The altered collection as the swap left it: its row count and the digest of its primary keys.
   * `down` compares them with the collection as it is then, to find rows written since.
   */
  swappedRows?: number
  swappedKeys?: string
  /** Target field -> the source field its value came from (null for a new field): how `down --carry-writes` converts back. */
  fieldMap?: Record<string, string | null>
  /** True when the target got new primary keys (newIds): rows cannot be matched by key across the swap. */
  newIds?: boolean
  /** True when the alter changed the primary key (retype, converter, backfill): keys cannot be matched either. */
  keysChanged?: boolean
  /** While reverting: the name the altered collection is moved to. */
  undone?: string
  /**
   * Once reverted: how many of the set-aside collection's rows existed only there (writes since the
   * alter that `down --discard-writes` left behind; 0 when none, or carried back). Nothing writes
   * to that collection afterwards, so this stays its count: a later write to the restored
   * collection does not make the old rows "unique".
   */
  rowsOnlyHere?: number
  /** While copying: how far the copy got (written every 2% of the rows), so a rerun continues after it. */
  checkpoint?: CopyCheckpoint
  /** '_2', '_3', ...: the suffix of this alter's collection names when an earlier alter's held them (alter/names.ts). */
  slot?: string
  /** 'down': an alter made by the migration's down() (journalled apart from the alter its up() made). */
  direction?: 'down'
  /**
   * When the migration was rolled back with this alter still in place (its down() altered back, or
   * did something else): the entry is kept only to list and prune the backup. Never resumed or reverted.
   */
  retired?: string
  /** While copying: what it does now, the source's rows, when the copy started and with how many rows already done. */
  phase?: 'copy' | 'catch-up' | 'verify' | 'sweep'
  /** An online alter (writers allowed): its catch-up passes so far, and after the swap its sweeps. */
  online?: boolean
  passes?: number
  /** Content digest (alter/content.ts) of the altered collection as the alter left it: `down` compares values, not only keys. */
  swappedContent?: string
  /** Keys written in both collections after the swap: the backup keeps the old side's values (first 20 listed). */
  conflicts?: number
  conflictKeys?: string[]
  /** The sweep after the swap did not finish (a crash): late writes may exist only in the backup. */
  sweepIncomplete?: boolean
  sourceRows?: number
  copyStartedAt?: string
  rowsAtStart?: number
  /** While copying with backfills: this run's model calls, retries and rows computed (rows are written a page at a time). */
  backfill?: { calls: number; retries: number; rows: number }
}

export class Journal {
  /** The server's timestamp of the last entry written: reads after it see every earlier write (milvus/rows.ts ReadAfter). */
  lastWrite?: string

  constructor(
    private readonly client: MilvusClient,
    readonly collection: string = JOURNAL_COLLECTION,
  ) {}

  async exists(): Promise<boolean> {
    return collectionExists(this.client, this.collection)
  }

  async ensure(): Promise<void> {
    await ensureMetaCollection(this.client, this.collection, 'mvmigrate: progress of copy-and-swap alters', [
      { name: 'id', type: 'VarChar', primaryKey: true, maxLength: 512 },
      { name: 'entry', type: 'VarChar', maxLength: ENTRY_BYTES },
    ])
  }

  async list(): Promise<JournalEntry[]> {
    if (!(await this.exists())) return []
    await ensureLoaded(this.client, this.collection)
    const rows = await queryRows(this.client, this.collection, {
      filter: 'id != ""',
      outputFields: ['entry'],
      limit: 16384,
    })
    return rows.map((r) => JSON.parse(String(r.entry)) as JournalEntry).sort((a, b) => a.id.localeCompare(b.id))
  }

  /** The live (not retired) entry of the alter of `name` made by the migration's up() or down(). */
  async get(version: string, name: string, direction: 'up' | 'down' = 'up'): Promise<JournalEntry | undefined> {
    const id = entryId({ version, name, ...(direction === 'down' ? { direction } : {}) })
    return (await this.list()).find((e) => e.id === id)
  }

  async write(entry: Omit<JournalEntry, 'id' | 'updatedAt'>): Promise<JournalEntry> {
    await this.ensure()
    let full: JournalEntry = { ...entry, id: entryId(entry), updatedAt: new Date().toISOString() }
    // An entry is one VarChar: a checkpoint with a very long VarChar key may not fit. Without it the
    // copy is not resumable (a rerun copies again), which is safe.
    if (Buffer.byteLength(JSON.stringify(full)) > ENTRY_BYTES && full.checkpoint)
      full = { ...full, checkpoint: undefined }
    const res = await upsertRows(this.client, this.collection, [
      { id: full.id, entry: JSON.stringify(full), [HIDDEN_VECTOR]: HIDDEN_VECTOR_VALUE },
    ])
    this.lastWrite = res.timestamp
    return full
  }

  async remove(id: string): Promise<void> {
    await deleteRows(this.client, this.collection, `id == ${JSON.stringify(id)}`)
  }

  /**
   * Called when a migration is rolled back: its alters still recorded stay only as records of their
   * backups (status, prune). Without this, running the migration again would find them done and
   * skip its alters, and a down() altering back would find the up()'s alter and do nothing.
   */
  async retire(version: string): Promise<JournalEntry[]> {
    const mine = (await this.list()).filter((e) => e.version === version && !e.retired && e.state === 'done')
    const when = new Date().toISOString()
    for (const e of mine) {
      await this.write({ ...e, retired: when })
      await this.remove(e.id)
    }
    return mine
  }
}

/** Where an entry is stored: one per alter of one name by a migration's up(), and by its down(). */
function entryId(e: Pick<JournalEntry, 'version' | 'name' | 'direction' | 'retired'>): string {
  return `${e.version}/${e.name}${e.direction === 'down' ? '/down' : ''}${e.retired ? `/retired/${e.retired}` : ''}`
}

/** An alter by the migration `version`'s up() that `down` may swap back: done (or being undone), not retired. */
export function revertibleBy(version: string) {
  return (e: JournalEntry) =>
    e.version === version && !e.retired && e.direction !== 'down' && (e.state === 'done' || e.state === 'reverting')
}
