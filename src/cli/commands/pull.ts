import type { Command } from 'commander'
import { pullSchema } from '../../declarative/workflow'
import type { CliContext } from '../cli-context'
import { CONFIG, CONNECT, LITE, LOCK, exitCodesHelp } from '../exit-help'

export function register(program: Command, cli: CliContext): void {
  program
    .command('pull')
    .description('write the schema file (mvmigrate.schema.ts) from the collections in the database')
    .addHelpText(
      'after',
      exitCodesHelp([
        ['FILE_EXISTS', 'the schema file exists and --force was not given (nothing written)'],
        CONNECT,
        CONFIG,
        LOCK,
        LITE,
      ]),
    )
    .option('--force', 'overwrite the schema file if it exists')
    .action(async (opts: { force?: boolean }) => {
      const cfg = await cli.config()
      const result = await cli.withMigrator(cfg, (_m, s) =>
        pullSchema(s.client, {
          schemaFile: cfg.schemaFile,
          shownSchemaFile: cli.shown(cfg.schemaFile),
          force: opts.force,
          source: s.lite ? 'the embedded Milvus Lite' : s.uri,
        }),
      )
      if (cli.json) cli.printJson(result)
      else
        cli.out(
          `Wrote ${result.file}: ${result.collections.length} collection(s)${result.collections.length ? ` (${result.collections.join(', ')})` : ''}`,
        )
    })
}
