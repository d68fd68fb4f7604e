import type { Command } from 'commander'
import { type CliContext, confirm, lockTimeoutOption, usage } from '../cli-context'
import { formatLeftovers } from '../output'
import { CONFIG, CONNECT, LITE, LOCK, exitCodesHelp } from '../exit-help'

export function register(program: Command, cli: CliContext): void {
  program
    .command('prune')
    .description('drop the backups (and leftovers) that alters kept; asks first on a terminal')
    .addHelpText(
      'after',
      exitCodesHelp([
        ['USAGE', 'not run on a terminal and --yes not given'],
        [
          'WRITES_SINCE_ALTER',
          'a leftover holds rows that exist nowhere else and --discard-writes was not given (nothing dropped)',
        ],
        CONNECT,
        LOCK,
        CONFIG,
        LITE,
      ]),
    )
    .option('--yes', 'do not ask (for scripts)')
    .option('--dry-run', 'list what would be dropped (or the refusal the real run would meet)')
    .option(
      '--discard-writes',
      'also drop leftovers holding rows that exist nowhere else (rows written after an alter that down set aside)',
    )
    .addOption(lockTimeoutOption())
    .action(async (opts: { yes?: boolean; dryRun?: boolean; discardWrites?: boolean; lockTimeout?: number }) => {
      await cli.withMigrator(await cli.config({ lockTimeout: opts.lockTimeout }), async (m) => {
        // The dry run answers as the real run will (a refusal is the same error, the same exit code).
        const list =
          opts.yes && !opts.dryRun ? undefined : await m.prune({ dryRun: true, discardWrites: opts.discardWrites })
        if (list && (opts.dryRun || !list.length)) {
          if (cli.json) cli.printJson({ dropped: [], wouldDrop: list })
          else cli.out(formatLeftovers(list, 'Would drop'))
          return
        }
        if (list) {
          if (!process.stdin.isTTY) {
            throw usage(
              `prune would drop ${list.length} collection(s) and needs --yes when not run on a terminal`,
              'Nothing was dropped. `mvmigrate prune --dry-run` lists them; pass --yes to drop them without asking.',
            )
          }
          cli.out(formatLeftovers(list, 'Will drop'))
          if (!(await confirm('Drop them? [y/N] '))) {
            cli.out('Nothing dropped.')
            return
          }
        }
        const dropped = await m.prune({ discardWrites: opts.discardWrites })
        if (cli.json) cli.printJson({ dropped })
        else cli.out(formatLeftovers(dropped, 'Dropped'))
      })
    })
}
