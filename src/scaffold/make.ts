import { UTCDate } from '@date-fns/utc'
import { format } from 'date-fns'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { MvmError } from '../errors'
import { MIGRATION_NAME_RE } from '../migrations/files'

export interface MakeOptions {
  migrationsDir: string
  templatesDir: string
  /** Write a .js migration instead of .ts. */
  js?: boolean
  /** For tests: the moment that becomes the version. */
  now?: Date
}

/** The version for a migration made now: UTC yyyyMMddHHmmss. */
export function versionFor(now: Date): string {
  return format(new UTCDate(now), 'yyyyMMddHHmmss')
}

export function validateMigrationName(name: string): void {
  if (!MIGRATION_NAME_RE.test(name)) {
    throw new MvmError(
      'BAD_NAME',
      `Invalid migration name ${JSON.stringify(name)}: use lower snake_case or kebab-case (letters, digits, _ or -)`,
      {
        hint: 'For example: {{makeExample}}',
      },
    )
  }
}

/** Writes migrations/<version>_<name>.ts from the template; never overwrites. Returns the path. */
export function makeMigration(name: string, opts: MakeOptions): string {
  validateMigrationName(name)
  const ext = opts.js ? 'js' : 'ts'
  const template = path.join(opts.templatesDir, `migration.${ext}.stub`)
  if (!fs.existsSync(template)) {
    throw new MvmError('CONFIG_INVALID', `Migration template ${template} does not exist`, {
      hint: 'Check templatesDir in the config, or remove it to use the built-in templates.',
    })
  }
  const version = versionFor(opts.now ?? new Date())
  const file = path.join(opts.migrationsDir, `${version}_${name}.${ext}`)
  const sameVersion = fs.existsSync(opts.migrationsDir)
    ? fs.readdirSync(opts.migrationsDir).find((f) => f.startsWith(`${version}_`))
    : undefined
  if (sameVersion) {
    throw new MvmError(
      'FILE_EXISTS',
      `A migration with version ${version} already exists: ${path.join(opts.migrationsDir, sameVersion)}`,
      {
        hint: 'Wait a second and run make again (versions are per-second timestamps). Nothing was written.',
      },
    )
  }
  const body = fs
    .readFileSync(template, 'utf8')
    .replace(/\{\{name\}\}/g, name)
    .replace(/\{\{version\}\}/g, version)
  fs.mkdirSync(opts.migrationsDir, { recursive: true })
  // 'wx' fails if the file appeared meanwhile: make never overwrites.
  try {
    fs.writeFileSync(file, body, { flag: 'wx' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new MvmError('FILE_EXISTS', `${file} already exists`, { hint: 'Nothing was written.' })
    throw e
  }
  return file
}
