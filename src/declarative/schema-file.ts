import * as fs from 'node:fs'
import * as path from 'node:path'
import { MvmError } from '../errors'
import { defaultExport, importUserModule, loadErrorText } from '../migrations/load-module'
import { type CollectionDefinition, specFromDefinition } from '../schema/definition'
import type { CollectionSpec } from '../schema/spec'
import { comparable } from './live'

/**
 * The declarative schema: a file holding the collections a team wants, as an array of
 * createCollection definitions (camelCase or pymilvus' snake_case). Its default export (for .json,
 * the whole file) is the array. `diff` compares it with the database; `make --from-schema` writes
 * the migration that gets there; `pull` writes it from the database.
 */
export const SCHEMA_FILE_EXTENSIONS = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs', 'json'] as const

/** The schema file in a directory, if there is one (mvmigrate.schema.<ext>). */
export function findSchemaFile(cwd: string): string | undefined {
  return SCHEMA_FILE_EXTENSIONS.map((e) => path.join(cwd, `mvmigrate.schema.${e}`)).find((p) => fs.existsSync(p))
}

/** Reads and validates a schema file: every problem at once, naming the file, collection and field. */
export async function loadSchemaFile(file: string, shown = file): Promise<CollectionSpec[]> {
  if (!fs.existsSync(file)) {
    // Exit 8 with the other schema-file problems (README's exit codes), not 7: the config is fine.
    throw new MvmError('MIGRATION_INVALID', `Schema file ${shown} does not exist`, {
      hint: 'Write one ({{pull}}), or point the schemaFile config key or {{schemaFile}} at yours.',
    })
  }
  let raw: unknown
  try {
    raw = file.endsWith('.json')
      ? JSON.parse(fs.readFileSync(file, 'utf8'))
      : defaultExport(await importUserModule(file))
  } catch (e) {
    throw new MvmError('MIGRATION_INVALID', `Schema file ${shown} could not be loaded: ${loadErrorText(e, 3, file)}`, {
      hint: 'Fix the error in the file. Nothing was changed.',
      cause: e,
    })
  }
  if (!Array.isArray(raw)) {
    throw new MvmError(
      'MIGRATION_INVALID',
      `Schema file ${shown} must export an array of collection definitions, got ${raw === null ? 'null' : typeof raw}`,
      {
        hint: "Write `export default [{ name: 'documents', fields: [...], indexes: [...] }]` (JSON: the array itself).",
      },
    )
  }
  const problems: string[] = []
  const specs: CollectionSpec[] = []
  const names = new Map<string, string>() // collection or alias name -> what it is
  for (const [i, def] of (raw as CollectionDefinition[]).entries()) {
    const where = `${shown}: `
    if (!def || typeof def !== 'object') {
      problems.push(`${where}entry ${i} is not a collection definition`)
      continue
    }
    const { spec, problems: own } = specFromDefinition(def, where)
    problems.push(...own)
    const aliases = def.aliases ?? []
    if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string'))
      problems.push(`${where}collection '${def.name}': aliases must be an array of names`)
    for (const n of [def.name, ...(Array.isArray(aliases) ? aliases : [])]) {
      const other = names.get(n)
      if (other)
        problems.push(
          `${where}'${n}' is ${other} and also ${n === def.name ? 'a collection' : `an alias of '${def.name}'`}`,
        )
      names.set(n, n === def.name ? 'a collection' : `an alias of '${def.name}'`)
    }
    specs.push(comparable({ ...spec, aliases: Array.isArray(aliases) ? aliases : [] }))
  }
  if (problems.length) {
    throw new MvmError('MIGRATION_INVALID', `Invalid schema file ${shown}:\n  ${problems.join('\n  ')}`, {
      hint: 'Fix the schema file. Nothing was changed.',
    })
  }
  return specs
}
