import { type Command, Option } from 'commander'
import { type CliContext, finishedNote, lockTimeoutOption, parseCount, parseVersion } from '../cli-context'
import { formatRun } from '../output'
import { CONFIG, CONNECT, INTERRUPTS, LITE, LOCK, NO_MIGRATIONS_DIR, exitCodesHelp } from '../exit-help'

interface DownFlags {
  step?: number
  to?: string
  all?: boolean
  dryRun?: boolean
  lockTimeout?: number
  carryWrites?: boolean
  discardWrites?: boolean
  verify?: 'count' | 'full'
  offline?: boolean
}

export function register(program: Command, cli: CliContext): void {
  program
    .command('down')
    .description('roll back the last batch (newest first), or --step n / --to <version> / --all')
    .addHelpText(
      'after',
      exitCodesHelp([
        ['MIGRATION_FAILED', 'a down() failed, or the server lacks what a step needs'],
        ['USAGE', 'more than one of --step, --to and --all, or an unknown --to version'],
        [
          'WRITES_SINCE_ALTER',
          'refused, nothing undone: rows were written since an alter (choose --carry-writes or --discard-writes), a migration has no down() or its backup was pruned, or an applied file is missing or changed',
        ],
        NO_MIGRATIONS_DIR,
        ['NOTHING_TO_UNDO', 'nothing to roll back'],
        ['MIGRATION_INVALID', 'a migration file is invalid'],
        CONNECT,
        LOCK,
        CONFIG,
        LITE,

        ...INTERRUPTS,
      ]),
    )
    .addOption(new Option('--step <n>', 'roll back the n most recent migrations').argParser(parseCount('--step')))
    .addOption(
      new Option('--to <version>', 'roll back every migration newer than this version').argParser(parseVersion('--to')),
    )
    .option('--all', 'roll back every applied migration')
    .option('--dry-run', 'list what would be rolled back; change nothing')
    .addOption(
      new Option('--carry-writes', 'copy rows written since an alter back into the restored collection').conflicts(
        'discardWrites',
      ),
    )
    .option(
      '--discard-writes',
      'roll back even though rows were written since an alter; they stay only in the leftover collection',
    )
    .addOption(
      new Option(
        '--verify <mode>',
        'find rows written since an alter by their keys (count), or compare every value too (full)',
      ).choices(['count', 'full']),
    )
    .option('--offline', 'alters made by down() refuse to swap if anything wrote to the collection during the copy')
    .addOption(lockTimeoutOption())
    .action(async (opts: DownFlags) => {
      const cfg = await cli.config({ lockTimeout: opts.lockTimeout })
      const writes = opts.carryWrites ? 'carry' : opts.discardWrites ? 'discard' : 'refuse'
      const result = await cli.withMigrator(cfg, (m) => m.down({ ...opts, writes, verify: opts.verify }), {
        online: opts.offline ? false : undefined,
      })
      cli.finishedNote = finishedNote(result)
      if (cli.json) cli.printJson(result)
      else cli.out(formatRun(result))
    })
}
