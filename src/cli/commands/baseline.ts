import type { Command } from 'commander'
import { type CliContext, parseVersion } from '../cli-context'
import { formatRun } from '../output'

export function register(program: Command, cli: CliContext): void {
  program
    .command('baseline <version>')
    .description(
      'mark every migration up to and including <version> as applied without running it (collections that already exist)',
    )
    .option('--dry-run', 'list what would be marked; change nothing')
    .action(async (version: string, opts: { dryRun?: boolean }) => {
      parseVersion('baseline <version>')(version)
      const result = await cli.withMigrator(await cli.config(), (m) => m.baseline(version, opts))
      if (cli.json) cli.printJson(result)
      else cli.out(formatRun(result))
    })
}
