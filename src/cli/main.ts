import { Command, CommanderError, Option } from 'commander'
import { type ConfigOverrides, type MvmigrateConfig, loadConfig } from '../config/config'
import { type Logger, consoleLogger, silentLogger } from '../context/logger'
import { MvmError, isMvmError, messageOf } from '../errors'
import { ensureLiteInstalled } from '../lite/install'
import { startLiteServer } from '../lite/server'
import { describeHolder } from '../ledger/lock'
import { Migrator } from '../migrator'
import { initProject } from '../scaffold/init'
import { makeMigration } from '../scaffold/make'
import { type Session, openSession } from '../session'
import { TOOL_VERSION } from '../version'
import { redactSecrets, secretsOf, splitCredentials } from '../util/redact'
import { progressReporter } from './progress'
import { errorJson, formatError, formatLeftovers, formatPlan, formatRun, formatStatus, makeColors } from './output'

function confirm(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const rl = require('node:readline').createInterface({ input: process.stdin, output: process.stdout })
    rl.question(question, (answer: string) => {
      rl.close()
      resolve(/^y(es)?$/i.test(answer.trim()))
    })
  })
}

/**
 * The command line: a thin layer that parses flags, builds the config, calls the library and
 * prints. Returns the exit code instead of exiting, so tests can call it in-process too.
 */
interface GlobalFlags {
  uri?: string
  token?: string
  database?: string
  config?: string
  migrationsDir?: string
  dataDir?: string
  connectTimeout?: number
  json?: boolean
  verbose?: boolean
  color?: boolean
}

function usage(message: string): MvmError {
  return new MvmError('USAGE', message, { hint: 'Run `mvmigrate --help` for the commands and options.' })
}

const parseCount = (flag: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw usage(`${flag} must be a positive whole number, got '${v}'`)
  return Number(v)
}
const parseSeconds = (flag: string) => (v: string) => {
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw usage(`${flag} must be a number of seconds (0 or more), got '${v}'`)
  return n
}
const parseVersion = (flag: string) => (v: string) => {
  if (!/^\d{14}$/.test(v)) throw usage(`${flag} takes a 14-digit migration version (yyyyMMddHHmmss), got '${v}'`)
  return v
}

/** Secrets of this run (token, password, a uri's userinfo) that no output may show. */
function secretsIn(argv: string[], env: NodeJS.ProcessEnv): string[] {
  const out = secretsOf({ token: env.MILVUS_TOKEN, password: env.MILVUS_PASSWORD })
  const uris = [env.MILVUS_URI]
  argv.forEach((a, i) => {
    const [flag, inline] = a.split(/=(.*)/s, 2)
    const value = inline ?? argv[i + 1]
    if (flag === '--token') out.push(...secretsOf({ token: value }))
    if (flag === '--uri') uris.push(value)
  })
  for (const u of uris) if (u) out.push(...secretsOf({ password: splitCredentials(u).password }))
  return out
}

/** Runs fn with everything written to stdout and stderr passed through the redactor. */
async function redactingOutput<T>(secrets: Set<string>, fn: () => Promise<T>): Promise<T> {
  const streams = [process.stdout, process.stderr] as const
  const originals = streams.map((s) => s.write)
  streams.forEach((stream, i) => {
    const original = originals[i]
    stream.write = function (chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : chunk
      return (original as (...a: unknown[]) => boolean).call(
        stream,
        typeof text === 'string' ? redactSecrets(text, [...secrets]) : text,
        ...rest,
      )
    } as typeof stream.write
  })
  try {
    return await fn()
  } finally {
    streams.forEach((stream, i) => (stream.write = originals[i]))
  }
}

export async function run(argv: string[], io: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const env = io.env ?? process.env
  const secrets = new Set(secretsIn(argv, env))
  return redactingOutput(secrets, () => runCommand(argv, { ...io, env }, secrets))
}

async function runCommand(
  argv: string[],
  io: { cwd?: string; env?: NodeJS.ProcessEnv },
  secrets: Set<string>,
): Promise<number> {
  const cwd = io.cwd ?? process.cwd()
  const env = io.env ?? process.env
  let exitCode = 0
  let jsonMode = argv.includes('--json')
  let verbose = argv.includes('--verbose')
  const colorsWanted = !argv.includes('--no-color')
  const c = makeColors(colorsWanted)
  const out = (s: string): void => void process.stdout.write(s + '\n')
  const json = (o: unknown) => out(JSON.stringify(o, null, 2))

  const program = new Command('mvmigrate')
    .description('Versioned schema migrations for Milvus')
    .version(TOOL_VERSION, '-V, --version')
    .option('--uri <uri>', 'Milvus address (env MILVUS_URI); without it the embedded Milvus Lite is used')
    .option('--token <token>', 'API key or "user:password" (env MILVUS_TOKEN)')
    .option('--database <name>', 'Milvus database (env MILVUS_DATABASE)')
    .option('--config <file>', 'config file (default: mvmigrate.config.{ts,js,json} in the working directory)')
    .option('--migrations-dir <dir>', 'directory of migration files (default: migrations)')
    .option('--data-dir <dir>', 'embedded Milvus Lite data directory (default: .mvmigrate/milvus)')
    .addOption(
      new Option('--connect-timeout <seconds>', 'give up connecting after this long (default: 15)').argParser(
        parseSeconds('--connect-timeout'),
      ),
    )
    .option('--json', 'machine-readable output on stdout')
    .option('--verbose', 'debug output, and stack traces on errors')
    .option('--no-color', 'no colours (also: NO_COLOR, or output that is not a terminal)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => {
        if (!jsonMode) process.stderr.write(s)
      },
    })

  const globals = (): GlobalFlags => program.opts<GlobalFlags>()
  let verifyMode: 'count' | 'full' | undefined
  const logger = (): Logger => {
    const base = jsonMode ? silentLogger : consoleLogger(verbose)
    return { ...base, progress: progressReporter(jsonMode ? 'json' : process.stderr.isTTY ? 'tty' : 'lines') }
  }
  const config = (extra: ConfigOverrides = {}): MvmigrateConfig => {
    const g = globals()
    const cfg = loadConfig({
      cwd,
      env,
      configFile: g.config,
      flags: {
        uri: g.uri,
        token: g.token,
        database: g.database,
        migrationsDir: g.migrationsDir,
        connectTimeout: g.connectTimeout,
        lite: { dataDir: g.dataDir },
        ...extra,
      },
    })
    for (const secret of secretsOf(cfg)) secrets.add(secret)
    return cfg
  }
  /** Opens a session, runs fn, and always closes (stopping an embedded server). */
  const withMigrator = async <T>(cfg: MvmigrateConfig, fn: (m: Migrator, s: Session) => Promise<T>): Promise<T> => {
    const session = await openSession(cfg, logger())
    const stop = () => {
      void session.close().finally(() => process.exit(130))
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      const migrator = new Migrator({
        client: session.client,
        migrationsDir: cfg.migrationsDir,
        logger: logger(),
        lockTimeoutMs: cfg.lockTimeout * 1000,
        verify: verifyMode,
        cwd,
        redact: (t) => redactSecrets(t, [...secrets]),
      })
      return await fn(migrator, session)
    } finally {
      process.removeListener('SIGINT', stop)
      process.removeListener('SIGTERM', stop)
      await session.close()
    }
  }

  program
    .command('init')
    .description('write a commented mvmigrate.config.ts and migrations/ where missing (never overwrites)')
    .action(() => {
      const r = initProject(cwd)
      if (jsonMode) return json(r)
      for (const f of r.created) out(`created ${f}`)
      for (const f of r.kept) out(`kept    ${f} (already there)`)
      if (r.gitignore) out(`added   .mvmigrate/ to ${r.gitignore} (the embedded Milvus Lite's venv and data)`)
    })

  program
    .command('make <name>')
    .description('write migrations/<yyyyMMddHHmmss>_<name>.ts from the template')
    .option('--js', 'write a .js migration instead of .ts')
    .action((name: string, opts: { js?: boolean }) => {
      const cfg = config()
      const file = makeMigration(name, {
        migrationsDir: cfg.migrationsDir,
        templatesDir: cfg.templatesDir,
        js: opts.js,
      })
      if (jsonMode) json({ file })
      else out(file)
    })

  program
    .command('up')
    .description('apply pending migrations in version order, as one batch, under the lock')
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
    .addOption(
      new Option('--lock-timeout <seconds>', 'wait this long for another runner (default: fail at once)').argParser(
        parseSeconds('--lock-timeout'),
      ),
    )
    .action(
      async (opts: {
        to?: string
        step?: number
        dryRun?: boolean
        allowChanged?: boolean
        allowOutOfOrder?: boolean
        lockTimeout?: number
        verify?: 'count' | 'full'
      }) => {
        const cfg = config({ lockTimeout: opts.lockTimeout })
        verifyMode = opts.verify
        if (opts.dryRun) {
          const plans = await withMigrator(cfg, (m) => m.plan(opts))
          if (jsonMode) json({ direction: 'up', dryRun: true, migrations: plans })
          else out(formatPlan(plans, c))
          return
        }
        const result = await withMigrator(cfg, (m) => m.up(opts))
        if (jsonMode) json(result)
        else out(formatRun(result))
      },
    )

  program
    .command('plan')
    .description('show what up would do: steps, schema diffs, rows to copy, backups kept; changes nothing')
    .addOption(new Option('--to <version>', 'plan up to and including this version').argParser(parseVersion('--to')))
    .option('--allow-changed', 'plan even though applied migration files changed since')
    .option('--allow-out-of-order', 'include pending migrations older than the newest applied one')
    .action(async (opts: { to?: string; allowChanged?: boolean; allowOutOfOrder?: boolean }) => {
      const plans = await withMigrator(config(), (m) => m.plan(opts))
      if (jsonMode) json({ migrations: plans })
      else out(formatPlan(plans, c))
    })

  program
    .command('prune')
    .description('drop the backups (and leftovers) that alters kept; asks first on a terminal')
    .option('--yes', 'do not ask (for scripts)')
    .option('--dry-run', 'list what would be dropped')
    .option(
      '--discard-writes',
      'also drop leftovers holding rows that exist nowhere else (rows written after an alter that down set aside)',
    )
    .action(async (opts: { yes?: boolean; dryRun?: boolean; discardWrites?: boolean }) => {
      const cfg = config()
      await withMigrator(cfg, async (m) => {
        const list = await m.prune({ dryRun: true })
        if (opts.dryRun || !list.length) {
          if (jsonMode) json({ dropped: [], wouldDrop: list })
          else out(formatLeftovers(list, 'Would drop'))
          return
        }
        if (!opts.yes) {
          if (!process.stdin.isTTY)
            throw usage(`prune would drop ${list.length} collection(s) and needs --yes when not run on a terminal`)
          out(formatLeftovers(list, 'Will drop'))
          if (!(await confirm('Drop them? [y/N] '))) {
            out('Nothing dropped.')
            return
          }
        }
        const dropped = await m.prune({ discardWrites: opts.discardWrites })
        if (jsonMode) json({ dropped })
        else out(formatLeftovers(dropped, 'Dropped'))
      })
    })

  program
    .command('down')
    .description('roll back the last batch (newest first), or --step n / --to <version> / --all')
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
    .addOption(
      new Option('--lock-timeout <seconds>', 'wait this long for another runner (default: fail at once)').argParser(
        parseSeconds('--lock-timeout'),
      ),
    )
    .action(
      async (opts: {
        step?: number
        to?: string
        all?: boolean
        dryRun?: boolean
        lockTimeout?: number
        carryWrites?: boolean
        discardWrites?: boolean
        verify?: 'count' | 'full'
      }) => {
        const cfg = config({ lockTimeout: opts.lockTimeout })
        const writes = opts.carryWrites ? 'carry' : opts.discardWrites ? 'discard' : 'refuse'
        const result = await withMigrator(cfg, (m) => m.down({ ...opts, writes, verify: opts.verify }))
        if (jsonMode) json(result)
        else out(formatRun(result))
      },
    )

  program
    .command('status')
    .description('show every migration: applied, pending, failed, missing file or changed since applied')
    .option('--check', `exit 3 unless every migration is applied and unchanged (a CI gate)`)
    .action(async (opts: { check?: boolean }) => {
      const report = await withMigrator(config(), (m) => m.status())
      if (jsonMode) json(report)
      else out(formatStatus(report, c))
      if (opts.check && !report.upToDate) {
        const notApplied = report.migrations.filter((m) => m.state !== 'applied')
        if (!jsonMode)
          process.stderr.write(
            c.red(`not up to date: ${notApplied.map((m) => `${m.version}_${m.name} (${m.state})`).join(', ')}`) + '\n',
          )
        exitCode = 3
      }
    })

  program
    .command('unlock')
    .description('show who holds the migration lock and release it')
    .action(async () => {
      const holder = await withMigrator(config(), (m) => m.unlock())
      if (jsonMode) return json({ released: holder ?? null })
      out(holder ? `Released the lock held by ${describeHolder(holder)}` : 'The migration lock was not held.')
    })

  const lite = program.command('lite').description('the embedded Milvus Lite')
  lite
    .command('install')
    .description('install the pinned Milvus Lite into the project virtual environment (.mvmigrate/venv)')
    .action(async () => {
      const cfg = config()
      const binary = await ensureLiteInstalled({
        venvDir: cfg.lite.venvDir,
        python: cfg.lite.python,
        log: (l) => !jsonMode && process.stderr.write(l + '\n'),
      })
      if (jsonMode) json({ binary })
      else out(`Milvus Lite is installed: ${binary}`)
    })
  lite
    .command('serve')
    .description('run Milvus Lite in the foreground, for several commands to share with --uri (Ctrl-C stops it)')
    .addOption(
      new Option('--port <port>', 'port on 127.0.0.1 (default: any free port)').argParser(parseCount('--port')),
    )
    .action(async (opts: { port?: number }) => {
      const cfg = config()
      const binary = await ensureLiteInstalled({
        venvDir: cfg.lite.venvDir,
        python: cfg.lite.python,
        log: (l) => process.stderr.write(l + '\n'),
      })
      const server = await startLiteServer({ binary, dataDir: cfg.lite.dataDir, port: opts.port ?? cfg.lite.port })
      if (jsonMode) json({ uri: server.uri, pid: server.pid, dataDir: server.dataDir })
      else
        out(
          `Milvus Lite is serving ${server.dataDir} on ${server.uri}\nUse: mvmigrate --uri ${server.uri} <command>   (Ctrl-C to stop)`,
        )
      await new Promise<void>((resolve) => {
        const stop = () => void server.stop().then(resolve)
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
    })

  try {
    await program.parseAsync(argv, { from: 'user' })
    jsonMode = !!globals().json
    return exitCode
  } catch (e) {
    jsonMode = jsonMode || !!program.opts<GlobalFlags>().json
    verbose = verbose || !!program.opts<GlobalFlags>().verbose
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return 0
      if (jsonMode) json(errorJson(usage(e.message.replace(/^error: /, ''))))
      return 2
    }
    const err = isMvmError(e)
      ? e
      : new MvmError('INTERNAL', `Unexpected error: ${messageOf(e)}`, {
          hint: 'Run again with --verbose for the stack trace, and report it if it persists.',
          cause: e,
        })
    if (jsonMode) json(errorJson(err))
    else process.stderr.write(formatError(err, c, verbose) + '\n')
    return err.exitCode
  }
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  // A ctx call made after its migration returned (a missing await) is refused, and the migration
  // fails saying so; the refusal also lands in the user's unawaited promise chain: not a crash.
  process.on('unhandledRejection', (e) => {
    if (isMvmError(e) && e.details?.lateCall) return
    throw e
  })
  const code = await run(argv)
  process.exitCode = code
  // The SDK keeps gRPC channels open; leave promptly once output is flushed.
  setImmediate(() => process.exit(code))
}
