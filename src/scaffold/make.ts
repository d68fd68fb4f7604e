import * as fs from 'node:fs'
import * as path from 'node:path'
import { MvmError } from '../errors'
import { MIGRATION_FILE_RE, MIGRATION_NAME_RE } from '../migrations/files'
import { moduleFormat } from '../migrations/load-module'
import { PACKAGE_TEMPLATES_DIR } from '../config/config'

export const MIGRATION_EXTENSIONS = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'] as const
export type MigrationExtension = (typeof MIGRATION_EXTENSIONS)[number]

export interface MakeOptions {
  migrationsDir: string
  templatesDir: string
  /** Write a JavaScript migration (.js, or the JavaScript extension the project already uses). */
  js?: boolean
  /** The file extension; default: the one the newest migration in the directory has, else ts (js with `js`). */
  ext?: MigrationExtension
  /** For tests: the moment that becomes the version. */
  now?: Date
  /** A named template instead of the plain one: 'reembed' (a new embedding model, computed in batches). */
  template?: string
}

/** The named templates the package ships (templates/<name>.<ts|js|mjs>.stub). */
export const NAMED_TEMPLATES = ['reembed'] as const

/** The version for a migration made now: UTC yyyyMMddHHmmss. */
export function versionFor(now: Date): string {
  const two = (n: number) => String(n).padStart(2, '0')
  return `${now.getUTCFullYear()}${two(now.getUTCMonth() + 1)}${two(now.getUTCDate())}${two(now.getUTCHours())}${two(now.getUTCMinutes())}${two(now.getUTCSeconds())}`
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

/** The extension a new migration gets: asked for, or what the project's migrations already use. */
export function extensionFor(opts: Pick<MakeOptions, 'migrationsDir' | 'js' | 'ext'>): MigrationExtension {
  if (opts.ext) return opts.ext
  // Oldest first (the version leads the name): the last is the newest migration's.
  const existing = fs.existsSync(opts.migrationsDir)
    ? fs
        .readdirSync(opts.migrationsDir)
        .sort()
        .map((f) => MIGRATION_FILE_RE.exec(f)?.[3] as MigrationExtension | undefined)
        .filter((e): e is MigrationExtension => !!e)
    : []
  const js = existing.filter((e) => e.endsWith('js'))
  if (opts.js) return js[js.length - 1] ?? 'js'
  return existing[existing.length - 1] ?? 'ts'
}

/**
 * The template for a file: TypeScript (import/export, which tsx turns into CommonJS where the
 * project is CommonJS), or JavaScript in the module system the file will be loaded in.
 */
function templateFor(file: string, ext: MigrationExtension, templatesDir: string, name = 'migration'): string {
  const kind = ext.endsWith('ts') ? 'ts' : moduleFormat(file) === 'esm' ? 'mjs' : 'js'
  const stub = `${name}.${kind}.stub`
  // A named template the project's own templates directory does not have comes from the package.
  if (name !== 'migration' && !fs.existsSync(path.join(templatesDir, stub)))
    return path.join(PACKAGE_TEMPLATES_DIR, stub)
  return path.join(templatesDir, stub)
}

/** Writes migrations/<version>_<name>.<ext> from the template; never overwrites. Returns the path. */
export function makeMigration(name: string, opts: MakeOptions): string {
  validateMigrationName(name)
  if (opts.template !== undefined && !(NAMED_TEMPLATES as readonly string[]).includes(opts.template)) {
    throw new MvmError('USAGE', `Unknown template ${JSON.stringify(opts.template)}`, {
      hint: `The templates: ${NAMED_TEMPLATES.join(', ')}; without one, the plain template is used. Nothing was written.`,
    })
  }
  const ext = extensionFor(opts)
  const version = versionFor(opts.now ?? new Date())
  const file = path.join(opts.migrationsDir, `${version}_${name}.${ext}`)
  const template = templateFor(file, ext, opts.templatesDir, opts.template)
  if (!fs.existsSync(template)) {
    throw new MvmError('CONFIG_INVALID', `Migration template ${template} does not exist`, {
      hint: 'Check templatesDir in the config, or remove it to use the built-in templates.',
    })
  }
  const body = fs
    .readFileSync(template, 'utf8')
    .replace(/\{\{name\}\}/g, name)
    .replace(/\{\{version\}\}/g, version)
  writeNewMigration(file, body, opts.migrationsDir, version)
  return file
}

/** Writes a new migration file: refuses when its version is taken, and never overwrites. */
export function writeNewMigration(file: string, body: string, migrationsDir: string, version: string): void {
  const sameVersion = fs.existsSync(migrationsDir)
    ? fs.readdirSync(migrationsDir).find((f) => f.startsWith(`${version}_`))
    : undefined
  if (sameVersion) {
    throw new MvmError(
      'FILE_EXISTS',
      `A migration with version ${version} already exists: ${path.join(migrationsDir, sameVersion)}`,
      {
        hint: 'Wait a second and run make again (versions are per-second timestamps). Nothing was written.',
      },
    )
  }
  fs.mkdirSync(migrationsDir, { recursive: true })
  // 'wx' fails if the file appeared meanwhile: make never overwrites.
  try {
    fs.writeFileSync(file, body, { flag: 'wx' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new MvmError('FILE_EXISTS', `${file} already exists`, {
        hint: 'Nothing was written. Another make wrote it this second: wait a second and run make again, or pick another name.',
      })
    throw e
  }
}
