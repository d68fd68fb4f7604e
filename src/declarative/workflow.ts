import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { MvmError } from '../errors'
import { moduleFormat } from '../migrations/load-module'
import { countRows, isLoaded } from '../milvus/collections'
import { extensionFor, validateMigrationName, versionFor, writeNewMigration } from '../scaffold/make'
import { type SchemaChange, diffSchemas } from '../schema/diff'
import type { CollectionSpec } from '../schema/spec'
import { type GeneratedMigration, type ModuleKind, generateMigration } from './generate'
import { describeDatabase } from './live'
import { type SourceKind, definitionOf, renderSchemaFile } from './render'
import { loadSchemaFile } from './schema-file'

/**
 * The declarative workflow: `diff` (the database against the schema file), `make --from-schema`
 * (a migration that performs that diff) and `pull` (the schema file from the database).
 */
export interface DiffResult {
  schemaFile: string
  changes: (SchemaChange & { rowsToCopy?: number | null })[]
}

/** The database against the schema file; copy-and-swap changes carry the rows they would copy. */
export async function diffWithSchemaFile(
  client: MilvusClient,
  schemaFile: string,
  shown = schemaFile,
): Promise<DiffResult> {
  const wanted = await loadSchemaFile(schemaFile, shown)
  const live = await describeDatabase(client)
  const changes = diffSchemas(live, wanted, { partial: true })
  const rows = new Map<string, number | null>()
  for (const c of changes) {
    if (c.how !== 'copy-and-swap' || rows.has(c.collection)) continue
    rows.set(
      c.collection,
      (await isLoaded(client, c.collection)) ? await countRows(client, c.collection).catch(() => null) : null,
    )
  }
  return {
    schemaFile: shown,
    changes: changes.map((c) => (c.how === 'copy-and-swap' ? { ...c, rowsToCopy: rows.get(c.collection) ?? null } : c)),
  }
}

export interface MakeFromSchemaOptions {
  name: string
  schemaFile: string
  shownSchemaFile?: string
  migrationsDir: string
  /** Diff against an empty database (the migration that creates everything from nothing). */
  fromEmpty?: boolean
  allowDestructive?: boolean
  ext?: Parameters<typeof extensionFor>[0]['ext']
  now?: Date
}

export interface MadeFromSchema extends GeneratedMigration {
  /** The file written; undefined when the database already matches the schema file. */
  file?: string
  changes: SchemaChange[]
}

/** Writes the migration that turns the database (or an empty one) into the schema file; refuses destructive changes unless allowed. */
export async function makeFromSchema(
  client: MilvusClient | undefined,
  opts: MakeFromSchemaOptions,
): Promise<MadeFromSchema> {
  validateMigrationName(opts.name)
  const shown = opts.shownSchemaFile ?? opts.schemaFile
  const wanted = await loadSchemaFile(opts.schemaFile, shown)
  const live = opts.fromEmpty || !client ? [] : await describeDatabase(client)
  const changes = diffSchemas(live, wanted, { partial: true })
  const version = versionFor(opts.now ?? new Date())
  const ext = extensionFor({ migrationsDir: opts.migrationsDir, ext: opts.ext })
  const file = path.join(opts.migrationsDir, `${version}_${opts.name}.${ext}`)
  const kind: ModuleKind = ext.endsWith('ts') ? 'ts' : moduleFormat(file) === 'esm' ? 'esm' : 'cjs'
  const generated = generateMigration(changes, live, { kind, name: opts.name, version, source: shown })
  if (!changes.length) return { ...generated, changes }
  if (generated.unsupported.length) {
    throw new MvmError(
      'IRREVERSIBLE',
      `Cannot generate a migration for: ${generated.unsupported.map((c) => `${c.collection}: ${c.text}`).join('; ')}`,
      {
        hint: 'Changing the primary key needs a migration written by hand (ctx.alter with allowPrimaryKeyChange). Nothing was written.',
        details: { unsupported: generated.unsupported },
      },
    )
  }
  if (generated.destructive.length && !opts.allowDestructive) {
    throw new MvmError(
      'IRREVERSIBLE',
      `The schema file asks for changes that lose data:\n  ${generated.destructive.map((c) => `${c.collection}: ${c.text}`).join('\n  ')}`,
      {
        hint: 'Nothing was written. If you mean them, {{allowDestructive}}; a field dropped and another added may be a rename: write t.renameField instead to keep the values.',
        details: { destructive: generated.destructive },
      },
    )
  }
  writeNewMigration(file, generated.source, opts.migrationsDir, version)
  return { ...generated, file, changes }
}

export interface PullOptions {
  schemaFile: string
  shownSchemaFile?: string
  force?: boolean
  /** Written into the file's header: where it was pulled from. */
  source?: string
}

/** Writes the schema file from the database: every user collection as a definition. */
export async function pullSchema(
  client: MilvusClient,
  opts: PullOptions,
): Promise<{ file: string; collections: string[] }> {
  const shown = opts.shownSchemaFile ?? opts.schemaFile
  if (fs.existsSync(opts.schemaFile) && !opts.force) {
    throw new MvmError('FILE_EXISTS', `Schema file ${shown} already exists`, {
      hint: 'Nothing was written. To overwrite it with what the database holds, {{pullForce}}.',
    })
  }
  const specs: CollectionSpec[] = await describeDatabase(client)
  const ext = path.extname(opts.schemaFile).slice(1)
  const kind: SourceKind =
    ext === 'json' ? 'json' : ext.endsWith('ts') ? 'ts' : moduleFormat(opts.schemaFile) === 'esm' ? 'esm' : 'cjs'
  const header = [
    `The collections mvmigrate manages, pulled${opts.source ? ` from ${opts.source}` : ''} on ${new Date().toISOString().slice(0, 10)}.`,
    'Edit it to describe what you want; `mvmigrate diff` shows what differs from the database and',
    '`mvmigrate make <name> --from-schema` writes the migration that gets there.',
  ]
  fs.mkdirSync(path.dirname(opts.schemaFile), { recursive: true })
  fs.writeFileSync(opts.schemaFile, renderSchemaFile(specs.map(definitionOf), kind, header))
  return { file: shown, collections: specs.map((s) => s.name) }
}
