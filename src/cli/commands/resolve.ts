import type { Command } from 'commander'
import type { Resolution, ResolveResult } from '../../migrations/resolve'
import { type CliContext, lockTimeoutOption, parseVersion, usage } from '../cli-context'
import { CONFIG, CONNECT, LITE, LOCK, NO_MIGRATIONS_DIR, exitCodesHelp } from '../exit-help'

export function register(program: Command, cli: CliContext): void {
  program
    .command('resolve <version>')
    .description(
      'settle a migration recorded as failed by hand: --rolled-back forgets the attempt, --applied records it as applied',
    )
    .addHelpText(
      'after',
      exitCodesHelp([
        ['USAGE', 'neither or both of --rolled-back and --applied'],
        ['UNKNOWN_VERSION', 'no migration has that version'],
        [
          'RESOLVE_REFUSED',
          'it is not failed, an alter of it stopped half-way through its swap, or --applied without its file',
        ],
        NO_MIGRATIONS_DIR,
        CONNECT,
        LOCK,
        CONFIG,
        LITE,
      ]),
    )
    .option(
      '--rolled-back',
      'forget the failed attempt (you undid what it changed, or keep it): it is pending again, or gone when its file is',
    )
    .option('--applied', 'record it as applied (you finished its changes by hand; its file must exist)')
    .option('--dry-run', 'say what would be recorded and dropped; change nothing')
    .addOption(lockTimeoutOption())
    .action(
      async (
        version: string,
        opts: { rolledBack?: boolean; applied?: boolean; dryRun?: boolean; lockTimeout?: number },
      ) => {
        parseVersion('resolve <version>')(version)
        if (!!opts.rolledBack === !!opts.applied)
          throw usage(
            opts.applied
              ? 'resolve: pass only one of --rolled-back and --applied'
              : 'resolve: say how the failed migration was settled',
            'Pass --rolled-back (you abandoned or undid it) or --applied (you finished its changes by hand).',
          )
        const as: Resolution = opts.applied ? 'applied' : 'rolled-back'
        const cfg = await cli.config({ lockTimeout: opts.lockTimeout })
        const result = await cli.withMigrator(cfg, (m) => m.resolve(version, as, { dryRun: opts.dryRun }))
        if (cli.json) return cli.printJson(result)
        cli.out(formatResolve(result))
      },
    )
}

function formatResolve(r: ResolveResult): string {
  const would = r.dryRun ? 'Would ' : ''
  const what =
    r.resolvedAs === 'applied'
      ? `${r.dryRun ? 'Would record' : 'Recorded'} ${r.version}_${r.name} as applied (batch ${r.batch}): \`mvmigrate down\` runs its down().`
      : r.wasRecorded
        ? `${r.dryRun ? 'Would forget' : 'Forgot'} the failed attempt of ${r.version}_${r.name}: it is no longer recorded.`
        : `Migration ${r.version} was never recorded (its run was killed): ${r.dryRun ? 'would settle' : 'settled'} what it left.`
  return [
    what,
    ...r.droppedPartialCopies.map(
      (c) => `  ${would}${would ? 'drop' : 'Dropped'} the partial copy ${c} (its source is untouched)`,
    ),
    ...r.retiredAlters.map(
      (n) =>
        `  its finished alter of ${n} stays (the collection stays altered); its backup is listed by \`mvmigrate status\``,
    ),
  ].join('\n')
}
