/** Which migration is running: error messages name its file, alters derive their names from its version. */
export interface MigrationInfo {
  version: string
  name: string
  /** Path of the migration file, as the user would write it (relative to the working directory). */
  file: string
}
