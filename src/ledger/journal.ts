import { DataType, MilvusClient } from '@zilliz/milvus2-sdk-node'
import { milvusCall } from '../milvus/call'
import { HIDDEN_VECTOR, HIDDEN_VECTOR_VALUE, ensureLoaded, ensureMetaCollection } from './meta-collection'

export const JOURNAL_COLLECTION = '_migrations_journal'

/**
 * Where a copy-and-swap alter stands, written before each step so that a crash at any point can be
 * resumed or cleaned up by the next `up`:
 *   copying   the target is being created and filled (a rerun drops it and starts again)
 *   swapping  the copy is verified; names are being moved (a rerun finishes the move)
 *   done      swapped; the backup (if kept) is recorded for `down` and `prune`
 */
export type AlterState = 'copying' | 'swapping' | 'done'

export interface JournalEntry {
  /** `${version}/${name}`: one alter of one collection name per migration. */
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
  rowsCopied: number
  /** Whether the source was loaded (the swap loads the target to match). */
  loaded: boolean
  updatedAt: string
  durationMs: number
}

export class Journal {
  constructor(
    private readonly client: MilvusClient,
    readonly collection: string = JOURNAL_COLLECTION,
  ) {}

  async exists(): Promise<boolean> {
    return !!(await milvusCall(`check for ${this.collection}`, () => this.client.hasCollection({ collection_name: this.collection }))).value
  }

  async ensure(): Promise<void> {
    await ensureMetaCollection(this.client, this.collection, 'mvmigrate: progress of copy-and-swap alters', [
      { name: 'id', data_type: DataType.VarChar, is_primary_key: true, autoID: false, max_length: 512 },
      { name: 'entry', data_type: DataType.VarChar, max_length: 8192 },
    ])
  }

  async list(): Promise<JournalEntry[]> {
    if (!(await this.exists())) return []
    await ensureLoaded(this.client, this.collection)
    const res = await milvusCall(`read ${this.collection}`, () =>
      this.client.query({ collection_name: this.collection, filter: 'id != ""', output_fields: ['entry'], limit: 16384, consistency_level: 'Strong' as never }),
    )
    return (res.data as { entry: string }[]).map((r) => JSON.parse(r.entry) as JournalEntry).sort((a, b) => a.id.localeCompare(b.id))
  }

  async get(version: string, name: string): Promise<JournalEntry | undefined> {
    return (await this.list()).find((e) => e.id === `${version}/${name}`)
  }

  async write(entry: Omit<JournalEntry, 'id' | 'updatedAt'>): Promise<JournalEntry> {
    await this.ensure()
    const full: JournalEntry = { ...entry, id: `${entry.version}/${entry.name}`, updatedAt: new Date().toISOString() }
    await milvusCall(`record alter of ${entry.name} in ${this.collection}`, () =>
      this.client.upsert({ collection_name: this.collection, data: [{ id: full.id, entry: JSON.stringify(full), [HIDDEN_VECTOR]: HIDDEN_VECTOR_VALUE }] }),
    )
    return full
  }

  async remove(id: string): Promise<void> {
    await milvusCall(`remove ${id} from ${this.collection}`, () => this.client.delete({ collection_name: this.collection, filter: `id == ${JSON.stringify(id)}` }))
  }
}
