import * as path from 'node:path'
import { MvmError } from '../errors'
import type { Migration } from './define'
import type { MigrationFile } from './files'
import { loadErrorText, requireUserModule } from './load-module'

export interface LoadedMigration extends MigrationFile {
  migration: Migration
}

/** Loads one migration file and checks its shape; any problem names the file (relative to `cwd`). */
export function loadMigration(file: MigrationFile, cwd = process.cwd()): LoadedMigration {
  const rel = path.relative(cwd, file.path) || file.path
  let mod: unknown
  try {
    mod = requireUserModule(file.path)
  } catch (e) {
    throw new MvmError('MIGRATION_INVALID', `Migration ${rel} could not be loaded: ${loadErrorText(e)}`, {
      hint: 'Fix the error in the file, then run the command again. Nothing was changed.',
      cause: e,
    })
  }
  const m = mod as Record<string, unknown> | undefined
  const candidate = (m && typeof m === 'object' && 'default' in m ? m.default : m) as
    Record<string, unknown> | undefined
  if (!candidate || typeof candidate.up !== 'function') {
    throw new MvmError('MIGRATION_INVALID', `Migration ${rel} does not export an up() function`, {
      hint: "Write `export default defineMigration({ async up(ctx) { ... }, async down(ctx) { ... } })` (import { defineMigration } from 'mvmigrate').",
    })
  }
  if (candidate.down !== undefined && typeof candidate.down !== 'function') {
    throw new MvmError('MIGRATION_INVALID', `Migration ${rel} exports a down that is not a function`, {
      hint: 'Make down an async function, or remove it.',
    })
  }
  return { ...file, migration: candidate as unknown as Migration }
}
