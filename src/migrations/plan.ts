import * as path from 'node:path'
import { MvmError } from '../errors'
import type { LedgerRow } from '../ledger/ledger'
import type { MigrationFile } from './files'

/**
 * Pure decisions: given the files on disk and the ledger rows, what state is each migration in,
 * what may `up` run and what must `down` undo. No I/O here, so all of it is unit-tested.
 */
/** 'baseline': recorded as applied by `baseline`, never run (counts as applied). */
export type MigrationState = 'applied' | 'baseline' | 'pending' | 'missing' | 'changed' | 'failed'

export interface MigrationStatus {
  version: string
  name: string
  state: MigrationState
  file?: MigrationFile
  row?: LedgerRow
}

export function computeStatus(files: MigrationFile[], rows: LedgerRow[]): MigrationStatus[] {
  const byVersion = new Map<string, MigrationStatus>()
  for (const f of files) byVersion.set(f.version, { version: f.version, name: f.name, state: 'pending', file: f })
  for (const row of rows) {
    const entry = byVersion.get(row.version)
    if (!entry) {
      // A failed attempt whose file is gone is history, not a problem; an applied one is.
      byVersion.set(row.version, {
        version: row.version,
        name: row.name,
        state: row.state === 'failed' ? 'failed' : 'missing',
        row,
      })
      continue
    }
    entry.row = row
    if (row.state === 'failed') entry.state = 'failed'
    else
      entry.state =
        entry.file!.checksum !== row.checksum ? 'changed' : row.state === 'baseline' ? 'baseline' : 'applied'
  }
  return [...byVersion.values()].sort((a, b) => a.version.localeCompare(b.version))
}

const isApplied = (s: MigrationStatus) =>
  s.state === 'applied' || s.state === 'baseline' || s.state === 'changed' || s.state === 'missing'

/** Applied (or baselined) and unchanged: what `status --check` wants of every migration. */
export const isDone = (state: MigrationState) => state === 'applied' || state === 'baseline'
const isRunnable = (s: MigrationStatus) => (s.state === 'pending' || s.state === 'failed') && !!s.file

export interface UpOptions {
  /** Apply up to and including this version. */
  to?: string
  /** Apply at most this many. */
  step?: number
  allowChanged?: boolean
  allowOutOfOrder?: boolean
  /** Paths in messages are relative to this directory (default: process.cwd()). */
  cwd?: string
}

function rel(p: string | undefined, cwd = process.cwd()): string {
  return p ? path.relative(cwd, p) || p : '(no file)'
}

function checkVersionKnown(entries: MigrationStatus[], version: string | undefined): void {
  if (version !== undefined && !entries.some((e) => e.version === version)) {
    throw new MvmError('UNKNOWN_VERSION', `{{to}} ${version}: no migration has that version`, {
      hint: `Known versions: ${entries.map((e) => e.version).join(', ') || 'none'}. To list them, {{status}}.`,
    })
  }
}

/** The integrity rules `up` enforces before changing anything; every problem is reported at once. */
export function integrityProblems(entries: MigrationStatus[], opts: UpOptions): MvmError | undefined {
  const missing = entries.filter((e) => e.state === 'missing')
  const changed = opts.allowChanged ? [] : entries.filter((e) => e.state === 'changed')
  const newestApplied = entries
    .filter(isApplied)
    .map((e) => e.version)
    .sort()
    .pop()
  const outOfOrder =
    opts.allowOutOfOrder || !newestApplied ? [] : entries.filter((e) => isRunnable(e) && e.version < newestApplied)
  if (!missing.length && !changed.length && !outOfOrder.length) return undefined
  const lines = [
    ...missing.map((e) => `applied migration ${e.version}_${e.name} has no file any more (missing)`),
    ...changed.map(
      (e) => `applied migration ${rel(e.file?.path, opts.cwd)} was changed after it was applied (checksum differs)`,
    ),
    ...outOfOrder.map(
      (e) => `pending migration ${rel(e.file?.path, opts.cwd)} is older than the newest applied one (${newestApplied})`,
    ),
  ]
  const hints = [
    missing.length && 'restore missing files from version control',
    changed.length && 'revert edits to applied files (write a new migration instead) or {{allowChanged}}',
    outOfOrder.length && 'give the pending migration a newer version (rename it) or {{allowOutOfOrder}}',
  ].filter(Boolean)
  const code = missing.length ? 'MISSING_FILE' : changed.length ? 'CHANGED_FILE' : 'OUT_OF_ORDER'
  return new MvmError(
    code,
    `Refusing to run: the migrations on disk do not match the ledger:\n  ${lines.join('\n  ')}`,
    {
      hint: `Nothing was changed. To fix: ${hints.join('; ')}.`,
    },
  )
}

/** What `up` will apply, in order. Throws before anything runs when integrity rules are broken. */
export function planUp(entries: MigrationStatus[], opts: UpOptions = {}): MigrationStatus[] {
  checkVersionKnown(entries, opts.to)
  const problem = integrityProblems(entries, opts)
  if (problem) throw problem
  let todo = entries.filter(isRunnable)
  if (opts.to !== undefined) todo = todo.filter((e) => e.version <= opts.to!)
  if (opts.step !== undefined) todo = todo.slice(0, opts.step)
  return todo
}

export interface DownOptions {
  /** Undo this many of the most recently applied migrations (by version). */
  step?: number
  /** Undo every applied migration newer than this version (it stays applied). */
  to?: string
  /** Undo everything. */
  all?: boolean
}

/** What `down` will undo, newest first. Default: the last batch. */
export function planDown(entries: MigrationStatus[], opts: DownOptions = {}): MigrationStatus[] {
  const chosen = [opts.step !== undefined, opts.to !== undefined, !!opts.all].filter(Boolean).length
  if (chosen > 1)
    throw new MvmError('USAGE', 'down takes only {{downChoice}}', {
      hint: 'Pick one; without any, down undoes the last batch.',
    })
  checkVersionKnown(entries, opts.to)
  const applied = entries.filter(isApplied).sort((a, b) => b.version.localeCompare(a.version))
  let todo: MigrationStatus[]
  if (opts.all) todo = applied
  else if (opts.to !== undefined) todo = applied.filter((e) => e.version > opts.to!)
  else if (opts.step !== undefined) todo = applied.slice(0, opts.step)
  else {
    const lastBatch = Math.max(...applied.map((e) => e.row!.batch))
    todo = applied.filter((e) => e.row!.batch === lastBatch)
  }
  if (!todo.length) {
    throw new MvmError(
      'NOTHING_TO_UNDO',
      opts.to !== undefined
        ? `Nothing to undo: no applied migration is newer than ${opts.to}`
        : 'Nothing to undo: no migration is applied',
      {
        hint: 'To see what is applied, {{status}}.',
      },
    )
  }
  const missing = todo.filter((e) => !e.file)
  if (missing.length) {
    throw new MvmError(
      'MISSING_FILE',
      `Cannot undo ${missing.map((e) => `${e.version}_${e.name}`).join(', ')}: the file is missing, so its down() is unknown`,
      {
        hint: 'Restore the file from version control. Nothing was undone.',
      },
    )
  }
  return todo
}
