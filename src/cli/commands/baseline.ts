import type { Command } from 'commander'
import { type CliContext, lockTimeoutOption, parseVersion } from '../cli-context'
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
    .addOption(lockTimeoutOption())
    .action(async (version: string, opts: { dryRun?: boolean; lockTimeout?: number }) => {
      parseVersion('baseline <version>')(version)
      const cfg = await cli.config({ lockTimeout: opts.lockTimeout })
      const result = await cli.withMigrator(cfg, (m) => m.baseline(version, opts))
      if (cli.json) cli.printJson(result)
      else cli.out(formatRun(result))
    })
}
