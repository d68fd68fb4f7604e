import type { Command } from 'commander'
import { diffWithSchemaFile } from '../../declarative/workflow'
import { EXIT_CODES } from '../../errors'
import type { CliContext } from '../cli-context'
import { formatChanges } from '../output'
import { CONFIG, CONNECT, LITE, LOCK, exitCodesHelp } from '../exit-help'

export function register(program: Command, cli: CliContext): void {
  program
    .command('diff')
    .description(
      'show what differs between the database and the schema file (mvmigrate.schema.ts), and how each change would be made',
    )
    .addHelpText(
      'after',
      exitCodesHelp([
        ['NOT_UP_TO_DATE', 'with --exit-code: the database differs from the schema file'],
        ['MIGRATION_INVALID', 'the schema file is missing or invalid'],
        CONNECT,
        CONFIG,
        LOCK,
        LITE,
      ]),
    )
    .option('--exit-code', 'exit 3 when anything differs, 0 when nothing does')
    .action(async (opts: { exitCode?: boolean }) => {
      const cfg = await cli.config()
      const result = await cli.withMigrator(cfg, (_m, s) =>
        diffWithSchemaFile(s.client, cfg.schemaFile, cli.shown(cfg.schemaFile)),
      )
      if (cli.json) cli.printJson(result)
      else
        cli.out(
          result.changes.length
            ? formatChanges(result.changes, cli.colors, `The database differs from ${result.schemaFile}:`)
            : `The database matches ${result.schemaFile}.`,
        )
      if (opts.exitCode && result.changes.length) cli.exitCode = EXIT_CODES.NOT_UP_TO_DATE
    })
}
