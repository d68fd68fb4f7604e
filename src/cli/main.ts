import { Command, CommanderError, Option } from 'commander'
import { MvmError, isMvmError, messageOf } from '../errors'
import { enableTimings, formatTimings, recordPhase, timingReport } from '../util/timings'
import { traceMilvusCalls } from '../milvus/call'
import { TOOL_VERSION } from '../version'
import { CliContext, interruptExitCode, parseSeconds, usage } from './cli-context'
import { CONFIG, CONNECT, INTERRUPTS, LITE, LOCK, exitCodesHelp } from './exit-help'
import { register as baseline } from './commands/baseline'
import { register as diff } from './commands/diff'
import { register as down } from './commands/down'
import { register as init } from './commands/init'
import { register as lite } from './commands/lite'
import { register as make } from './commands/make'
import { register as prune } from './commands/prune'
import { register as pull } from './commands/pull'
import { register as resolve } from './commands/resolve'
import { register as status } from './commands/status'
import { register as unlock } from './commands/unlock'
import { register as upAndPlan } from './commands/up'
import { errorJson, formatError } from './output'
import { redactingOutput, secretsIn } from './redaction'

/**
 * The command line: the program with its global options, the commands (one module each under
 * commands/), and the error handling that turns any failure into a message, a hint and an exit
 * code. Returns the exit code instead of exiting, so tests can call it in-process too.
 */
function program(cli: CliContext): Command {
  const p = new Command('mvmigrate')
    .description('Versioned schema migrations for Milvus')
    .version(TOOL_VERSION, '-V, --version')
    .option('--uri <uri>', 'Milvus address (env MILVUS_URI); without it the embedded Milvus Lite is used')
    .option('--token <token>', 'API key or "user:password" (env MILVUS_TOKEN)')
    .option('--database <name>', 'Milvus database (env MILVUS_DATABASE)')
    .option(
      '--tls-ca <file>',
      "PEM file of the CA that signed the server's certificate; turns TLS on (env MILVUS_TLS_CA)",
    )
    .option('--tls-cert <file>', 'PEM client certificate, for mutual TLS; turns TLS on (env MILVUS_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert (env MILVUS_TLS_KEY)')
    .option(
      '--tls-server-name <name>',
      "the name the server's certificate carries, when not the uri's host; turns TLS on (env MILVUS_TLS_SERVER_NAME)",
    )
    .option('--config <file>', 'config file (default: mvmigrate.config.{ts,js,json} in the working directory)')
    .option('--migrations-dir <dir>', 'directory of migration files (default: migrations)')
    .option('--data-dir <dir>', 'embedded Milvus Lite data directory (default: .mvmigrate/milvus)')
    .option('--env <name>', 'the environment of the config file to use (env MVMIGRATE_ENV)')
    .option('--schema <file>', 'the declarative schema file (default: mvmigrate.schema.{ts,mts,cts,js,mjs,cjs,json})')
    .addOption(
      new Option('--connect-timeout <seconds>', 'give up connecting after this long (default: 15)').argParser(
        parseSeconds('--connect-timeout'),
      ),
    )
    .option('--json', 'machine-readable output on stdout')
    .option('--verbose', 'every Milvus call with its time, and stack traces on errors')
    .option('--no-color', 'no colours (also: NO_COLOR, or output that is not a terminal)')
    .addHelpText(
      'after',
      exitCodesHelp([
        ['MIGRATION_FAILED', 'a migration failed, the server lacks what a step needs, or an unexpected error'],
        ['USAGE', 'bad command line'],
        ['NOT_UP_TO_DATE', 'status --check / diff --exit-code found something pending, changed or drifted'],
        ['CHANGED_FILE', 'refused for integrity (files vs ledger, rows only an alter holds, data loss not allowed)'],
        LOCK,
        CONNECT,
        CONFIG,
        ['MIGRATION_INVALID', 'invalid migration or schema file'],
        ['NOTHING_TO_UNDO', 'nothing to do where something was asked'],
        LITE,
        ...INTERRUPTS,
      ]),
    )
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => void (!cli.json && process.stderr.write(s)) })
  cli.attach(p)
  for (const register of [init, make, upAndPlan, prune, down, status, baseline, resolve, diff, pull, unlock, lite])
    register(p, cli)
  return p
}

/**
 * The commands and options the CLI has (for the test that checks README and docs/ against it):
 * global long options, and each command's (subcommands as "lite serve").
 */
export function commandLine(): { global: string[]; takesValue: string[]; commands: Record<string, string[]> } {
  const p = program(new CliContext(process.cwd(), {}, [], new Set()))
  const longs = (c: Command) => c.options.map((o) => o.long).filter((l): l is string => !!l)
  const commands: Record<string, string[]> = {}
  const walk = (c: Command, prefix: string) => {
    for (const sub of c.commands) {
      const name = `${prefix}${sub.name()}`
      if (sub.commands.length) walk(sub, `${name} `)
      else commands[name] = longs(sub)
    }
  }
  walk(p, '')
  const takesValue = p.options.filter((o) => o.required || o.optional).map((o) => o.long!)
  return { global: [...longs(p), '--help'], takesValue, commands }
}

export async function run(
  argv: string[],
  io: { cwd?: string; env?: NodeJS.ProcessEnv; startedAt?: number } = {},
): Promise<number> {
  const env = io.env ?? process.env
  const cli = new CliContext(io.cwd ?? process.cwd(), env, argv, new Set(secretsIn(argv, env)))
  const timings = !!env.MVMIGRATE_TIMINGS && env.MVMIGRATE_TIMINGS !== '0'
  enableTimings(timings)
  // --verbose: every Milvus call as it ends, with its time (a slow or hanging step shows where it is).
  if (cli.verbose && !cli.json)
    traceMilvusCalls((what, ms, failure) =>
      process.stderr.write(`milvus: ${what} (${Math.round(ms)} ms)${failure ? ` failed: ${failure}` : ''}\n`),
    )
  const started = performance.now()
  if (timings && io.startedAt !== undefined) {
    // Node's own start, then loading the CLI's modules (the SDK, gRPC, protobuf, commander, ...).
    recordPhase('node start', io.startedAt)
    recordPhase('load modules', started - io.startedAt)
  }
  const code = await redactingOutput(cli.secrets, async () => {
    let code: number
    let finished = false
    try {
      await program(cli).parseAsync(argv, { from: 'user' })
      code = cli.exitCode
      finished = true
    } catch (e) {
      code = reportError(cli, e)
    }
    if (cli.interruptedBy && finished) {
      // The signal came when nothing could stop safely (a swap) or nothing was left: the command did
      // all it was asked, so it exits as it would have, and says why it did not stop.
      if (!cli.json)
        process.stderr.write(
          `${cli.finishedNote ?? `${cli.interruptedBy} came when nothing was left to stop: the command finished.`}\n`,
        )
      return code
    }
    // Stopped by a signal: exit as a shell reports that signal.
    return cli.interruptedBy ? interruptExitCode(cli.interruptedBy) : code
  })
  traceMilvusCalls()
  if (timings) {
    // From the process's start when the bin script said when it began, else from run().
    const total = performance.now() - (io.startedAt !== undefined ? 0 : started)
    const measured = timingReport().reduce((sum, p) => sum + p.ms, 0)
    recordPhase('other (parsing, output)', Math.max(0, total - measured))
    process.stderr.write(formatTimings(timingReport(), total) + '\n')
  }
  return code
}

/** Prints any failure (message + hint in CLI words, JSON with --json) and returns its exit code. */
function reportError(cli: CliContext, e: unknown): number {
  if (e instanceof CommanderError) {
    if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(e.code)) return 0
    const bad = usage(e.message.replace(/^error: /, ''))
    // Commander printed the error line itself; the hint every error has follows it.
    if (cli.json) cli.printJson(errorJson(bad))
    else process.stderr.write(`hint: ${bad.hint}\n`)
    return 2
  }
  const err = isMvmError(e)
    ? e
    : new MvmError('INTERNAL', `Unexpected error: ${messageOf(e)}`, {
        hint: 'Run again with --verbose for the stack trace, and report it if it persists.',
        cause: e,
      })
  if (cli.json) cli.printJson(errorJson(err))
  else process.stderr.write(formatError(err, cli.colors, cli.verbose) + '\n')
  return err.exitCode
}

/**
 * gRPC sends the uri's host as the TLS server name even when it is an IP address, and Node then
 * prints a deprecation warning (DEP0123) on stderr. The certificate is still checked against that
 * IP address, as it should be: the warning says nothing a user can act on, so the CLI drops it.
 */
function dropIpServerNameWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const options = rest[0]
    const code = typeof options === 'object' && options ? (options as { code?: unknown }).code : rest[1]
    if (code === 'DEP0123') return
    emit(warning, ...rest)
  }) as typeof process.emitWarning
}

/** `startedAt`: performance.now() when bin/mvmigrate.js began, before it loaded the CLI (for MVMIGRATE_TIMINGS). */
export async function main(argv = process.argv.slice(2), startedAt?: number): Promise<void> {
  dropIpServerNameWarning()
  // A ctx call made after its migration returned (a missing await) is refused, and the migration
  // fails saying so; the refusal also lands in the user's unawaited promise chain: not a crash.
  process.on('unhandledRejection', (e) => {
    if (isMvmError(e) && e.details?.lateCall) return
    throw e
  })
  const code = await run(argv, { startedAt })
  process.exitCode = code
  // The SDK keeps gRPC channels open; leave promptly once output is flushed.
  setImmediate(() => process.exit(code))
}
