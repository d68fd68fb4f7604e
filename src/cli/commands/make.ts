import { type Command, Option } from 'commander'
import { MIGRATION_EXTENSIONS, type MigrationExtension, makeMigration } from '../../scaffold/make'
import type { CliContext } from '../cli-context'

export function register(program: Command, cli: CliContext): void {
  program
    .command('make <name>')
    .description('write migrations/<yyyyMMddHHmmss>_<name>.<ext> from the template')
    .option('--js', 'write a JavaScript migration (in the module system of the project)')
    .addOption(
      new Option('--ext <ext>', 'file extension (default: what the newest migration uses, else ts)').choices([
        ...MIGRATION_EXTENSIONS,
      ]),
    )
    .action(async (name: string, opts: { js?: boolean; ext?: MigrationExtension }) => {
      const cfg = await cli.config()
      const file = makeMigration(name, {
        migrationsDir: cfg.migrationsDir,
        templatesDir: cfg.templatesDir,
        js: opts.js,
        ext: opts.ext,
      })
      if (cli.json) cli.printJson({ file })
      else cli.out(file)
    })
}
