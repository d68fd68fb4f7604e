import { type Command, Option } from 'commander'
import { makeFromSchema } from '../../declarative/workflow'
import { MIGRATION_EXTENSIONS, type MigrationExtension, NAMED_TEMPLATES, makeMigration } from '../../scaffold/make'
import type { CliContext } from '../cli-context'
import { formatChanges } from '../output'
import { CONFIG, CONNECT, LITE, LOCK, exitCodesHelp } from '../exit-help'

interface MakeFlags {
  js?: boolean
  ext?: MigrationExtension
  fromSchema?: boolean
  fromEmpty?: boolean
  allowDestructive?: boolean
  template?: string
}

export function register(program: Command, cli: CliContext): void {
  program
    .command('make <name>')
    .description(
      'write migrations/<yyyyMMddHHmmss>_<name>.<ext> from the template, or (--from-schema) the migration to the schema file',
    )
    .addHelpText(
      'after',
      exitCodesHelp([
        ['BAD_NAME', 'the name is not lower snake_case or kebab-case'],
        ['IRREVERSIBLE', '--from-schema: changes that lose data without --allow-destructive (nothing written)'],
        ['MIGRATION_INVALID', '--from-schema: the schema file is missing or invalid'],
        ['FILE_EXISTS', 'a migration with this version exists (nothing written)'],
        ['CONFIG_INVALID', 'templatesDir has no migration template'],
        CONFIG,
        CONNECT,
        LOCK,
        LITE,
      ]),
    )
    .option('--js', 'write a JavaScript migration (in the module system of the project)')
    .addOption(
      new Option('--ext <ext>', 'file extension (default: what the newest migration uses, else ts)').choices([
        ...MIGRATION_EXTENSIONS,
      ]),
    )
    .option(
      '--template <name>',
      `start from a named template: ${NAMED_TEMPLATES.join(', ')} (reembed: a new embedding model, computed in batches)`,
    )
    .option('--from-schema', 'write the migration that turns the database into the schema file (what `diff` shows)')
    .option('--from-empty', 'with --from-schema: the migration that creates the schema from an empty database')
    .option(
      '--allow-destructive',
      'with --from-schema: also write changes that lose data (drops, narrowed types or lengths, new dims)',
    )
    .action(async (name: string, opts: MakeFlags) => {
      const cfg = await cli.config()
      if (!opts.fromSchema) {
        const file = makeMigration(name, {
          migrationsDir: cfg.migrationsDir,
          templatesDir: cfg.templatesDir,
          js: opts.js,
          ext: opts.ext,
          template: opts.template,
        })
        if (cli.json) cli.printJson({ file })
        else cli.out(file)
        return
      }
      const ext = opts.ext ?? (opts.js ? 'js' : undefined)
      const run = (client?: Parameters<typeof makeFromSchema>[0]) =>
        makeFromSchema(client, {
          name,
          schemaFile: cfg.schemaFile,
          shownSchemaFile: cli.shown(cfg.schemaFile),
          migrationsDir: cfg.migrationsDir,
          fromEmpty: opts.fromEmpty,
          allowDestructive: opts.allowDestructive,
          ext,
        })
      // From an empty database nothing needs to be read: no server is started.
      const made = opts.fromEmpty ? await run() : await cli.withMigrator(cfg, (_m, s) => run(s.client))
      if (cli.json)
        return cli.printJson({ file: made.file ?? null, steps: made.steps, todos: made.todos, changes: made.changes })
      if (!made.file) return cli.out(`Nothing to write: the database already matches ${cli.shown(cfg.schemaFile)}.`)
      cli.out(made.file)
      process.stderr.write(formatChanges(made.changes, cli.colors, 'It makes these changes:') + '\n')
      for (const t of made.todos) process.stderr.write(cli.colors.yellow(`TODO ${t} (marked in the file)`) + '\n')
    })
}
