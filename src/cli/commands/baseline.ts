import type { Command } from 'commander'
import { type CliContext, parseVersion } from '../cli-context'
import { formatRun } from '../output'
import { CONFIG, CONNECT, LITE, LOCK, NO_MIGRATIONS_DIR, exitCodesHelp } from '../exit-help'

export function register(program: Command, cli: CliContext): void {
  program
    .command('baseline <version>')
    .description(
      'mark every migration up to and including <version> as applied without running it (collections that already exist)',
    )
    .addHelpText(
      'after',
      exitCodesHelp([
        ['UNKNOWN_VERSION', 'no migration file has that version'],
        ['BASELINE_REFUSED', 'one of them already ran or failed (nothing marked)'],
        NO_MIGRATIONS_DIR,
        ['MIGRATION_INVALID', 'a migration file is invalid'],
        CONNECT,
        LOCK,
        CONFIG,
        LITE,
      ]),
    )
    .option('--dry-run', 'list what would be marked; change nothing')
    .action(async (version: string, opts: { dryRun?: boolean }) => {
      parseVersion('baseline <version>')(version)
      const result = await cli.withMigrator(await cli.config(), (m) => m.baseline(version, opts))
      if (cli.json) cli.printJson(result)
      else cli.out(formatRun(result))
    })
}
