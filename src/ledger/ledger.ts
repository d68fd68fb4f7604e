import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { collectionExists, ensureLoaded } from '../milvus/collections'
import { deleteRows, queryRows, upsertRows } from '../milvus/rows'
import { HIDDEN_VECTOR, HIDDEN_VECTOR_VALUE, ensureMetaCollection } from './meta-collection'

/** One row of the `_migrations` collection. */
export interface LedgerRow {
  version: string
  name: string
  checksum: string
  batch: number
  /** 'baseline': marked as applied by `baseline` without running (the collections already existed). */
  state: 'applied' | 'failed' | 'baseline'
  /** ISO 8601, UTC. */
  appliedAt: string
  durationMs: number
  toolVersion: string
  /** The error of a failed attempt. */
  error?: string
}

export const LEDGER_COLLECTION = '_migrations'
const MAX_ERROR_LENGTH = 4000
const OUTPUT_FIELDS = [
  'version',
  'name',
  'checksum',
  'batch',
  'state',
  'applied_at',
  'duration_ms',
  'tool_version',
  'error',
]
// Milvus caps offset + limit per query at 16384; one ledger holds far fewer migrations than that.
const QUERY_LIMIT = 16384

/**
 * The applied-migrations ledger, a collection in the same database as the user's data. Reads use
 * Strong consistency so a runner always sees what the previous one wrote.
 */
export class Ledger {
  constructor(
    private readonly client: MilvusClient,
    readonly collection: string = LEDGER_COLLECTION,
  ) {}

  async exists(): Promise<boolean> {
    return collectionExists(this.client, this.collection)
  }

  /** Creates the ledger on first use (true when it did: it is empty). Call under the lock. */
  async ensure(): Promise<boolean> {
    return ensureMetaCollection(this.client, this.collection, 'mvmigrate: applied schema migrations', [
      { name: 'version', type: 'VarChar', primaryKey: true, maxLength: 64 },
      { name: 'name', type: 'VarChar', maxLength: 512 },
      { name: 'checksum', type: 'VarChar', maxLength: 64 },
      { name: 'batch', type: 'Int64' },
      { name: 'state', type: 'VarChar', maxLength: 16 },
      { name: 'applied_at', type: 'VarChar', maxLength: 40 },
      { name: 'duration_ms', type: 'Int64' },
      { name: 'tool_version', type: 'VarChar', maxLength: 32 },
      { name: 'error', type: 'VarChar', maxLength: MAX_ERROR_LENGTH * 4 },
    ])
  }

  /** All rows, oldest version first. An absent ledger reads as empty (and is not created). */
  async list(): Promise<LedgerRow[]> {
    if (!(await this.exists())) return []
    await ensureLoaded(this.client, this.collection)
    const rows = await queryRows(this.client, this.collection, {
      filter: 'version != ""',
      outputFields: OUTPUT_FIELDS,
      limit: QUERY_LIMIT,
    })
    return rows
      .map((r) => ({
        version: String(r.version),
        name: String(r.name),
        checksum: String(r.checksum),
        batch: Number(r.batch),
        state:
          r.state === 'failed'
            ? ('failed' as const)
            : r.state === 'baseline'
              ? ('baseline' as const)
              : ('applied' as const),
        appliedAt: String(r.applied_at),
        durationMs: Number(r.duration_ms),
        toolVersion: String(r.tool_version),
        ...(r.error ? { error: String(r.error) } : {}),
      }))
      .sort((a, b) => a.version.localeCompare(b.version))
  }

  async nextBatch(): Promise<number> {
    return nextBatchOf(await this.list())
  }

  /** Insert-or-replace by version: a retried failure becomes an applied row. */
  async write(row: LedgerRow): Promise<void> {
    await upsertRows(this.client, this.collection, [
      {
        version: row.version,
        name: row.name,
        checksum: row.checksum,
        batch: row.batch,
        state: row.state,
        applied_at: row.appliedAt,
        duration_ms: row.durationMs,
        tool_version: row.toolVersion,
        error: (row.error ?? '').slice(0, MAX_ERROR_LENGTH),
        [HIDDEN_VECTOR]: HIDDEN_VECTOR_VALUE,
      },
    ])
  }

  async remove(version: string): Promise<void> {
    await deleteRows(this.client, this.collection, `version == ${JSON.stringify(version)}`)
  }
}

/** The batch number a run records next: one more than the highest of the rows that are not failures. */
export function nextBatchOf(rows: LedgerRow[]): number {
  return rows.filter((r) => r.state !== 'failed').reduce((max, r) => Math.max(max, r.batch), 0) + 1
}
