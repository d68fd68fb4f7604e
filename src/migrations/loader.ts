import * as path from 'node:path'
import { MvmError } from '../errors'
import type { Migration } from './define'
import type { MigrationFile } from './files'
import { defaultExport, importUserModule, loadErrorText } from './load-module'

export interface LoadedMigration extends MigrationFile {
  migration: Migration
}

/** Loads one migration file and checks its shape; any problem names the file (relative to `cwd`). */
export async function loadMigration(file: MigrationFile, cwd = process.cwd()): Promise<LoadedMigration> {
  const rel = path.relative(cwd, file.path) || file.path
  let mod: Record<string, unknown>
  try {
    mod = await importUserModule(file.path)
  } catch (e) {
    throw new MvmError('MIGRATION_INVALID', `Migration ${rel} could not be loaded: ${loadErrorText(e, 3, file.path)}`, {
      hint: 'Fix the error in the file, then run the command again. Nothing was changed.',
      cause: e,
    })
  }
  // A default export (ESM, or module.exports), or named up/down exports.
  const fromDefault = defaultExport(mod) as Record<string, unknown> | undefined
  const candidate = fromDefault && typeof fromDefault.up === 'function' ? fromDefault : mod
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
