import type { MigrationContext } from '../context/context'

/** What a migration file exports (as default, or as named `up` / `down`). */
export interface Migration {
  up(ctx: MigrationContext): Promise<void> | void
  /** Undo `up`. Without it the migration cannot be rolled back by `mvmigrate down`. */
  down?(ctx: MigrationContext): Promise<void> | void
}

/** Identity helper that gives a migration file its types: `export default defineMigration({ ... })`. */
export function defineMigration(migration: Migration): Migration {
  return migration
}
