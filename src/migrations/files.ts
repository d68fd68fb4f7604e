import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { MvmError } from '../errors'

/** A migration file found on disk. */
export interface MigrationFile {
  /** 14-digit UTC timestamp, yyyyMMddHHmmss; orders migrations. */
  version: string
  name: string
  path: string
  checksum: string
}

export const MIGRATION_FILE_RE = /^(\d{14})_([a-z0-9]+(?:[_-][a-z0-9]+)*)\.(ts|mts|cts|js|mjs|cjs)$/
export const MIGRATION_NAME_RE = /^[a-z0-9]+(?:[_-][a-z0-9]+)*$/

/** sha256 of the file with line endings normalised, so a CRLF checkout is not "changed". */
export function checksumOf(content: string): string {
  return createHash('sha256').update(content.replace(/\r\n?/g, '\n')).digest('hex')
}

/**
 * Lists migrations in version order. Files that start with digits but do not follow the naming rule,
 * and two files with one version, are errors: they would otherwise be skipped or run in surprise order.
 */
export function discoverMigrations(dir: string): MigrationFile[] {
  if (!fs.existsSync(dir)) return []
  const problems: string[] = []
  const byVersion = new Map<string, MigrationFile>()
  for (const entry of fs.readdirSync(dir).sort()) {
    // Only script files that start with a digit are candidates; notes, backups and maps are not.
    if (/\.d\.[mc]?ts$/.test(entry) || !/\.[mc]?[tj]s$/.test(entry) || !/^\d/.test(entry)) continue
    const full = path.join(dir, entry)
    if (!fs.statSync(full).isFile()) continue
    const m = MIGRATION_FILE_RE.exec(entry)
    if (!m) {
      problems.push(
        `${full}: not a migration file name; expected <yyyyMMddHHmmss>_<lower_snake_or_kebab_name>.ts (or .mts, .cts, .js, .mjs, .cjs)`,
      )
      continue
    }
    const file: MigrationFile = {
      version: m[1],
      name: m[2],
      path: full,
      checksum: checksumOf(fs.readFileSync(full, 'utf8')),
    }
    const other = byVersion.get(file.version)
    if (other) problems.push(`${full}: version ${file.version} is also used by ${path.basename(other.path)}`)
    else byVersion.set(file.version, file)
  }
  if (problems.length) {
    throw new MvmError('MIGRATION_INVALID', `Invalid migration files in ${dir}:\n  ${problems.join('\n  ')}`, {
      hint: 'Rename the files ({{make}}), or move non-migrations out of the directory.',
    })
  }
  return [...byVersion.values()].sort((a, b) => a.version.localeCompare(b.version))
}
