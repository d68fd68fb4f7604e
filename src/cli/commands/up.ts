import { type Command, Option } from 'commander'
import { type CliContext, finishedNote, lockTimeoutOption, parseCount, parseVersion } from '../cli-context'
import { formatPlan, formatRun } from '../output'
import { CONFIG, CONNECT, type ExitCase, INTERRUPTS, LITE, LOCK, NO_MIGRATIONS_DIR, exitCodesHelp } from '../exit-help'

interface UpFlags {
  to?: string
  step?: number
  dryRun?: boolean
  allowChanged?: boolean
  allowOutOfOrder?: boolean
  lockTimeout?: number
  verify?: 'count' | 'full'
  offline?: boolean
}

/** up and plan (which runs up's checks) exit alike. */
const UP_EXITS: ExitCase[] = [
  ['MIGRATION_FAILED', 'a migration failed, or the server lacks what a step needs (plan says so too)'],
  ['USAGE', 'an unknown --to version'],
  [
    'CHANGED_FILE',
    'refused for integrity, nothing run: an applied file is missing or changed, or a pending one is older than the newest applied',
  ],
  NO_MIGRATIONS_DIR,
  [
    'MIGRATION_INVALID',
    'a migration file is invalid, or a definition or alter cannot work (found before it changed anything)',
  ],
  CONNECT,
  LOCK,
  CONFIG,
  LITE,
]

export function register(program: Command, cli: CliContext): void {
  program
    .command('up')
    .description('apply pending migrations in version order, as one batch, under the lock')
    .addHelpText('after', exitCodesHelp([...UP_EXITS, ...INTERRUPTS]))
    .addOption(new Option('--to <version>', 'apply up to and including this version').argParser(parseVersion('--to')))
    .addOption(new Option('--step <n>', 'apply at most n migrations').argParser(parseCount('--step')))
    .option('--dry-run', 'list what would run; change nothing')
    .option('--allow-changed', 'run even though applied migration files changed since')
    .option('--allow-out-of-order', 'apply pending migrations older than the newest applied one')
    .addOption(
      new Option('--verify <mode>', 'alters verify row count and keys (count), or every value too (full)').choices([
        'count',
        'full',
      ]),
    )
    .option(
      '--offline',
      'alters refuse to swap if anything wrote to the collection during the copy (default: catch up with writers)',
    )
    .addOption(lockTimeoutOption())
    .action(async (opts: UpFlags) => {
      const cfg = await cli.config({ lockTimeout: opts.lockTimeout })
      if (opts.dryRun) {
        const plans = await cli.withMigrator(cfg, (m) => m.plan(opts), {
          verify: opts.verify,
          online: opts.offline ? false : undefined,
        })
        if (cli.json) cli.printJson({ direction: 'up', dryRun: true, migrations: plans })
        else cli.out(formatPlan(plans, cli.colors))
        return
      }
      const result = await cli.withMigrator(cfg, (m) => m.up(opts), {
        verify: opts.verify,
        online: opts.offline ? false : undefined,
      })
      cli.finishedNote = finishedNote(result)
      if (cli.json) cli.printJson(result)
      else cli.out(formatRun(result))
    })

  program
    .command('plan')
    .description('show what up would do: steps, schema diffs, rows to copy, backups kept; changes nothing')
    .addHelpText('after', exitCodesHelp(UP_EXITS))
    .addOption(new Option('--to <version>', 'plan up to and including this version').argParser(parseVersion('--to')))
    .option('--allow-changed', 'plan even though applied migration files changed since')
    .option('--allow-out-of-order', 'include pending migrations older than the newest applied one')
    .action(async (opts: { to?: string; allowChanged?: boolean; allowOutOfOrder?: boolean }) => {
      const plans = await cli.withMigrator(await cli.config(), (m) => m.plan(opts))
      if (cli.json) cli.printJson({ migrations: plans })
      else cli.out(formatPlan(plans, cli.colors))
    })
}
