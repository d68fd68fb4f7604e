import type { Command } from 'commander'
import type { CliContext } from '../cli-context'
import { formatStatus } from '../output'

export function register(program: Command, cli: CliContext): void {
  program
    .command('status')
    .description('show every migration: applied, pending, failed, missing file or changed since applied')
    .option('--check', `exit 3 unless every migration is applied and unchanged (a CI gate)`)
    .action(async (opts: { check?: boolean }) => {
      const report = await cli.withMigrator(await cli.config(), (m) => m.status())
      if (cli.json) cli.printJson(report)
      else cli.out(formatStatus(report, cli.colors))
      if (opts.check && !report.upToDate) {
        const notApplied = report.migrations.filter((m) => m.state !== 'applied')
        const list = notApplied.map((m) => `${m.version}_${m.name} (${m.state})`).join(', ')
        if (!cli.json) process.stderr.write(cli.colors.red(`not up to date: ${list}`) + '\n')
        cli.exitCode = 3
      }
    })
}
