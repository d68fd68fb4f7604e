import { EXIT_CODES, type ErrorCode } from '../errors'

/**
 * The "Exit codes:" section of a command's --help: the codes that matter for that command, each
 * with the case, numbered from src/errors.ts (never typed twice). README's table has them all.
 */
export type ExitCase = [ErrorCode | 0, string]

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
export const LITE: ExitCase = ['LITE_START_FAILED', 'the embedded Milvus Lite could not be installed or started']

export function exitCodesHelp(cases: ExitCase[]): string {
  const rows = new Map<number, string[]>([[0, ['success']]])
  for (const [code, text] of cases) {
    const n = code === 0 ? 0 : EXIT_CODES[code]
    rows.set(n, [...(rows.get(n) ?? []), text])
  }
  const lines = [...rows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([n, texts]) => `  ${String(n).padStart(2)}  ${texts.join('; ')}`)
  return `\nExit codes:\n${lines.join('\n')}\n(every code: README, "Exit codes")`
}
