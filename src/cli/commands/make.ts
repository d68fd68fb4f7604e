import type { Command } from 'commander'
import { makeMigration } from '../../scaffold/make'
import type { CliContext } from '../cli-context'

export function register(program: Command, cli: CliContext): void {
  program
    .command('make <name>')
    .description('write migrations/<yyyyMMddHHmmss>_<name>.ts from the template')
    .option('--js', 'write a .js migration instead of .ts')
    .action((name: string, opts: { js?: boolean }) => {
      const cfg = cli.config()
      const file = makeMigration(name, {
        migrationsDir: cfg.migrationsDir,
        templatesDir: cfg.templatesDir,
        js: opts.js,
      })
      if (cli.json) cli.printJson({ file })
      else cli.out(file)
    })
}
