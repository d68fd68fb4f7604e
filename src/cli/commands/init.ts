import type { Command } from 'commander'
import { initProject } from '../../scaffold/init'
import type { CliContext } from '../cli-context'

export function register(program: Command, cli: CliContext): void {
  program
    .command('init')
    .description('write a commented mvmigrate.config.ts and migrations/ where missing (never overwrites)')
    .action(() => {
      const r = initProject(cli.cwd)
      if (cli.json) return cli.printJson(r)
      for (const f of r.created) cli.out(`created ${f}`)
      for (const f of r.kept) cli.out(`kept    ${f} (already there)`)
      if (r.gitignore) cli.out(`added   .mvmigrate/ to ${r.gitignore} (the embedded Milvus Lite's venv and data)`)
    })
}
