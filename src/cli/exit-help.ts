import { EXIT_CODES, type ErrorCode } from '../errors'

/**
 * The "Exit codes:" section of a command's --help: the codes that matter for that command, each
 * with the case, numbered from src/errors.ts (never typed twice). README's table has them all.
 */
export type ExitCase = [ErrorCode | number, string]

/** Every command that talks to Milvus can meet these. */
export const CONNECT: ExitCase = [
  'UNREACHABLE',
  'Milvus cannot be reached, rejects the credentials, or has no such database',
]
export const LOCK: ExitCase = [
  'LOCKED',
  'another runner holds the migration lock, or the embedded data directory is in use',
]
export const CONFIG: ExitCase = ['CONFIG_INVALID', 'the config file is invalid, or --env names no environment of it']
/** Every command that reads the migrations directory (status, plan, up, down, baseline, resolve). */
export const NO_MIGRATIONS_DIR: ExitCase = ['MISSING_FILE', 'the migrations directory does not exist']
export const LITE: ExitCase = ['LITE_START_FAILED', 'the embedded Milvus Lite could not be installed or started']

/** A run stopped by a signal (up, down): it says what stopped, releases the lock, and exits as a shell reports the signal. */
export const INTERRUPTS: ExitCase[] = [
  ['INTERRUPTED', 'stopped by Ctrl-C (SIGINT): checkpointed, the lock released'],
  [143, 'stopped by SIGTERM, likewise'],
]

export function exitCodesHelp(cases: ExitCase[]): string {
  const rows = new Map<number, string[]>([[0, ['success']]])
  // Every command can be given a bad command line.
  const all: ExitCase[] = cases.some(([c]) => c === 'USAGE') ? cases : [...cases, ['USAGE', 'bad command line']]
  for (const [code, text] of all) {
    const n = typeof code === 'number' ? code : EXIT_CODES[code]
    rows.set(n, [...(rows.get(n) ?? []), text])
  }
  const lines = [...rows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([n, texts]) => `  ${String(n).padStart(3)}  ${texts.join('; ')}`)
  return `\nExit codes:\n${lines.join('\n')}\n(every code: README, "Exit codes")`
}
