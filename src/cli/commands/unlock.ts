import type { Command } from 'commander'
import { describeHolder } from '../../ledger/lock'
import type { CliContext } from '../cli-context'
import { CONFIG, CONNECT, LITE, LOCK, exitCodesHelp } from '../exit-help'

export function register(program: Command, cli: CliContext): void {
  program
    .command('unlock')
    .description('show who holds the migration lock and release it')
    .addHelpText('after', exitCodesHelp([CONNECT, CONFIG, LOCK, LITE]))
    .action(async () => {
      const holder = await cli.withMigrator(await cli.config(), (m) => m.unlock())
      if (cli.json) return cli.printJson({ released: holder ?? null })
      cli.out(holder ? `Released the lock held by ${describeHolder(holder)}` : 'The migration lock was not held.')
    })
}
