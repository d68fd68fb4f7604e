import type { Command } from 'commander'
import { EXIT_CODES } from '../../errors'
import { isDone } from '../../migrations/plan'
import type { CliContext } from '../cli-context'
import { formatStatus } from '../output'
import { CONFIG, CONNECT, LITE, LOCK, NO_MIGRATIONS_DIR, exitCodesHelp } from '../exit-help'

export function register(program: Command, cli: CliContext): void {
  program
    .command('status')
    .description('show every migration: applied, pending, failed, missing file or changed since applied')
    .addHelpText(
      'after',
      exitCodesHelp([
        ['NOT_UP_TO_DATE', 'with --check: something is pending, failed, missing or changed, or the database drifted'],
        NO_MIGRATIONS_DIR,
        CONNECT,
        CONFIG,
        LOCK,
        LITE,
      ]),
    )
    .option('--check', 'exit 3 unless every migration is applied and unchanged and nothing drifted (a CI gate)')
    .action(async (opts: { check?: boolean }) => {
      const report = await cli.withMigrator(await cli.config(), (m) => m.status())
      if (cli.json) cli.printJson(report)
      else cli.out(formatStatus(report, cli.colors))
      if (opts.check && !report.upToDate) {
        const notApplied = report.migrations.filter((m) => !isDone(m.state))
        const list = notApplied
          .map((m) => `${m.version}_${m.name} (${m.state}${m.state === 'failed' && !m.file ? ', file missing' : ''})`)
          .join(', ')
        const drift = report.drift.changes.length
          ? `${report.drift.changes.length} change(s) made outside migrations`
          : ''
        if (!cli.json)
          process.stderr.write(cli.colors.red(`not up to date: ${[list, drift].filter(Boolean).join('; ')}`) + '\n')
        cli.exitCode = EXIT_CODES.NOT_UP_TO_DATE
      }
    })
}
