import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import type { Logger } from '../context/logger'
import type { Journal } from '../ledger/journal'
import type { MigrationInfo } from '../migrations/info'
import type { CollectionSpec } from '../schema/spec'
import type { BackfillFigures, BackfillSpec } from './backfill'
import type { Row } from './builder'
import type { StopPoint } from '../util/interrupt'

/** The shapes the alter modules share: a plan, what one alter needs to run, and what it returns. */

/** Where one target field's value comes from. */
export interface FieldSource {
  /** Source field the value comes from (its name in the source, before renames), if any. */
  from?: string
  convert?: (value: unknown, row: Row) => unknown
  backfill?: (row: Row) => unknown
  /** The backfill's settings (batched or not, retries, quota); set with every backfill. */
  backfillSpec?: BackfillSpec
  /** Value for rows that have none (a new field without backfill). */
  fill?: unknown
}

export interface AlterPlan {
  source: CollectionSpec
  target: CollectionSpec
  /** Target field name -> where its value comes from. Function outputs are left to the server. */
  fields: Map<string, FieldSource>
  mapRows: ((row: Row, source: Row) => Row | Promise<Row>)[]
  /** Human-readable steps, for `plan` and logs. */
  changes: string[]
  warnings: string[]
  problems: string[]
}

export interface AlterSummary {
  /** The name the migration altered. */
  name: string
  mode: 'rename' | 'alias'
  /** The collection the name now resolves to. */
  collection: string
  /** The old collection kept as a backup ('' when not kept). */
  backup: string
  /** Rows this run copied. */
  rowsCopied: number
  /** Rows an interrupted earlier run had copied, when this run continued its copy. */
  rowsResumed?: number
  durationMs: number
  changes: string[]
  /** True when a rerun found this alter already done (after a crash between swap and ledger). */
  resumed?: boolean
  /** What writers did during an online alter, and what it cost. */
  online?: OnlineFigures
  /** What the backfills cost: calls, retries, rows computed and the rows per second of the model. */
  backfill?: BackfillFigures & { rowsPerSecond: number }
}

export interface OnlineFigures {
  /** Catch-up passes run after the copy (each a read of the whole source). */
  passes: number
  windowsRecopied: number
  rowsRecopied: number
  rowsDeleted: number
  /** Late writes found in the old collection after the swap and brought over. */
  sweptRows: number
  /** Keys written in both collections since the swap: left as the new collection has them, the old values kept in the backup. */
  conflicts: number
  conflictKeys: string[]
  /** How long the name was missing (two renames; 0 through an alias). */
  nameGapMs: number
}

export interface AlterContext {
  client: MilvusClient
  migration: MigrationInfo
  log: Logger
  journal: Journal
  /** Which of the migration's functions runs: alters made by down() are journalled apart from up()'s. */
  direction?: 'up' | 'down'
  /**
   * Aborted (Ctrl-C): the copy stops at its last written page with a checkpoint (pages not written
   * yet abandoned), a catch-up pass after its page, an alter after its verification before the swap.
   */
  signal?: AbortSignal
  /** Where the run is when a signal comes: the swap runs as a step that cannot stop half-way. */
  stopPoint?: StopPoint
}
