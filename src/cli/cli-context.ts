import { type Command, Option } from 'commander'
import * as path from 'node:path'
import { type ConfigOverrides, type MvmigrateConfig, loadConfig } from '../config/config'
import { type Logger, consoleLogger, silentLogger } from '../context/logger'
import { MvmError } from '../errors'
import { Migrator } from '../migrator'
import { type Session, explainWithConfig, openSession } from '../session'
import { redactSecrets, secretsOf } from '../util/redact'
import { phase } from '../util/timings'
import { type Colors, makeColors } from './output'
import { progressReporter } from './progress'

/** Global options, before or after the command. */
export interface GlobalFlags {
  uri?: string
  token?: string
  database?: string
  tlsCa?: string
  tlsCert?: string
  tlsKey?: string
  tlsServerName?: string
  config?: string
  migrationsDir?: string
  dataDir?: string
  connectTimeout?: number
  env?: string
  schema?: string
  json?: boolean
  verbose?: boolean
  color?: boolean
}

export function usage(message: string, hint = 'Run `mvmigrate --help` for the commands and options.'): MvmError {
  return new MvmError('USAGE', message, { hint })
}

/**
 * What every command module gets: where it runs, how to print, the merged config, and a Migrator
 * on an open session (always closed afterwards, stopping an embedded server).
 */
export class CliContext {
  /** Set by a command that wants a non-zero exit without an error (status --check). */
  exitCode = 0
  /**
   * The signal that asked this command to stop, if one did: a command it stopped exits 130 (SIGINT)
   * or 143 (SIGTERM); one that finished anyway (the signal came when nothing could stop safely, a
   * swap say) exits with its own code and says so (`finishedNote`, else a general line).
   */
  interruptedBy?: NodeJS.Signals
  /** What to say on stderr when the command finished although a signal came (set by up and down from their result). */
  finishedNote?: string
  readonly colors: Colors
  private program?: Command

  constructor(
    readonly cwd: string,
    readonly env: NodeJS.ProcessEnv,
    readonly argv: string[],
    /** Secrets no output may show; the config file adds its own when read. */
    readonly secrets: Set<string>,
  ) {
    this.colors = makeColors(!argv.includes('--no-color'))
  }

  attach(program: Command): void {
    this.program = program
  }

  get flags(): GlobalFlags {
    return this.program?.opts<GlobalFlags>() ?? {}
  }

  /** --json, known before commander parsed (for its own errors) and after. */
  get json(): boolean {
    return !!this.flags.json || this.argv.includes('--json')
  }

  get verbose(): boolean {
    return !!this.flags.verbose || this.argv.includes('--verbose')
  }

  out(line: string): void {
    process.stdout.write(line + '\n')
  }

  printJson(value: unknown): void {
    this.out(JSON.stringify(value, null, 2))
  }

  /** Log lines on stderr (silent with --json), and alter progress as a bar, lines or JSON. */
  logger(): Logger {
    const base = this.json ? silentLogger : consoleLogger(this.verbose)
    return {
      ...base,
      // After a second signal the connections are being closed under the run: what it still reports
      // (a lock it cannot release, a call the closing pool refused) is what the stop line already said.
      warn: (m) => void (!this.stoppingNow && base.warn(m)),
      progress: progressReporter(this.json ? 'json' : process.stderr.isTTY ? 'tty' : 'lines'),
    }
  }

  /** A second SIGINT / SIGTERM came: the process exits as soon as the session is closed. */
  private stoppingNow = false

  /** Flags beat environment beat the config file beat defaults. */
  async config(extra: ConfigOverrides = {}): Promise<MvmigrateConfig> {
    const g = this.flags
    const cfg = await phase('config', () =>
      loadConfig({
        cwd: this.cwd,
        env: this.env,
        configFile: g.config,
        environment: g.env,
        flags: {
          schemaFile: g.schema,
          uri: g.uri,
          token: g.token,
          database: g.database,
          tls: { ca: g.tlsCa, cert: g.tlsCert, key: g.tlsKey, serverName: g.tlsServerName },
          migrationsDir: g.migrationsDir,
          connectTimeout: g.connectTimeout,
          lite: { dataDir: g.dataDir },
          ...extra,
        },
      }),
    )
    for (const secret of secretsOf(cfg)) this.secrets.add(secret)
    return cfg
  }

  /** Opens a session, runs fn with a Migrator on it, and always closes (stopping an embedded server). */
  /** A path as the user would type it: relative to the working directory. */
  shown(p: string): string {
    return path.relative(this.cwd, p) || p
  }

  async withMigrator<T>(
    cfg: MvmigrateConfig,
    fn: (m: Migrator, s: Session) => Promise<T>,
    opts: { verify?: 'count' | 'full'; online?: boolean } = {},
  ): Promise<T> {
    const session = await openSession(cfg, this.logger())
    // The first SIGINT / SIGTERM asks the run to stop where the next run can pick up (an alter's copy
    // at the last page it wrote, with a checkpoint), release the lock and say what comes next; a second
    // one stops at once.
    const controller = new AbortController()
    const stop = (signal: NodeJS.Signals) => {
      if (!this.interruptedBy) {
        this.interruptedBy = signal
        process.stderr.write(
          `\n${signal} received: stopping at the next safe point (an alter's copy stops at the last page it wrote, with a checkpoint), then releasing the migration lock. ${signal === 'SIGINT' ? 'Press Ctrl-C again' : 'Send it again'} to stop at once, leaving the lock for the next run on this machine to take over.\n`,
        )
        controller.abort(signal)
        return
      }
      this.stoppingNow = true
      process.stderr.write(
        `${signal} again: stopping now. The lock stays until the next run on this machine takes it over (or run \`mvmigrate unlock\`).\n`,
      )
      void session.close().finally(() => process.exit(interruptExitCode(signal)))
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    try {
      const migrator = new Migrator({
        client: session.client,
        migrationsDir: cfg.migrationsDir,
        migrationsDirOrigin: cfg.migrationsDirOrigin,
        logger: this.logger(),
        lockTimeoutMs: cfg.lockTimeout * 1000,
        verify: opts.verify,
        online: opts.online,
        cwd: this.cwd,
        redact: (t) => redactSecrets(t, [...this.secrets]),
        audience: 'cli',
        signal: controller.signal,
      })
      // Milvus 2.3 connects without credentials and refuses the first real call.
      return await fn(migrator, session).catch((e: unknown) => {
        throw explainWithConfig(e, cfg)
      })
    } finally {
      process.removeListener('SIGINT', stop)
      process.removeListener('SIGTERM', stop)
      await phase('close', () => session.close())
    }
  }
}

/** Option parsers: a bad value is a usage error (exit 2) naming the flag. */
export const parseCount = (flag: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw usage(`${flag} must be a positive whole number, got '${v}'`)
  return Number(v)
}
export const parseSeconds = (flag: string) => (v: string) => {
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw usage(`${flag} must be a number of seconds (0 or more), got '${v}'`)
  return n
}
/**
 * --lock-timeout, on every command that takes the migration lock (their refusal's hint offers it),
 * dry runs included: they check the lock as the real run would.
 */
export function lockTimeoutOption(): Option {
  return new Option('--lock-timeout <seconds>', 'wait this long for another runner (default: fail at once)').argParser(
    parseSeconds('--lock-timeout'),
  )
}
export const parseVersion = (flag: string) => (v: string) => {
  if (!/^\d{14}$/.test(v)) throw usage(`${flag} takes a 14-digit migration version (yyyyMMddHHmmss), got '${v}'`)
  return v
}

/** y/N on the terminal. */
export function confirm(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const rl = require('node:readline').createInterface({ input: process.stdin, output: process.stdout })
    rl.question(question, (answer: string) => {
      rl.close()
      resolve(/^y(es)?$/i.test(answer.trim()))
    })
  })
}

/** 128 + the signal's number, as a shell reports a process a signal stopped. */
export function interruptExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? 143 : 130
}

/** The note of a run that finished although a signal came (up, down): what it came during, and that nothing is left. */
export function finishedNote(result: {
  direction: string
  migrations: unknown[]
  interrupted?: { signal: string; during: string }
}): string | undefined {
  const i = result.interrupted
  if (!i) return undefined
  const n = result.migrations.length
  return `${i.signal} came during ${i.during}, which was finished; nothing was left to stop: ${n} migration(s) ${result.direction === 'down' ? 'rolled back' : 'applied'}, none left to run.`
}
