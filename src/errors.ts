import { type Audience, renderWords } from './hints'

/**
 * One error class for everything a user can hit. `code` is stable (scripts and tests match on it),
 * `message` says what went wrong, `hint` says what to do. The CLI maps `code` to an exit code.
 */
export type ErrorCode =
  | 'USAGE'
  | 'BAD_NAME'
  | 'UNKNOWN_VERSION'
  | 'NOT_UP_TO_DATE'
  | 'MISSING_FILE'
  | 'CHANGED_FILE'
  | 'OUT_OF_ORDER'
  | 'IRREVERSIBLE'
  | 'BASELINE_REFUSED'
  | 'RESOLVE_REFUSED'
  | 'LOCKED'
  | 'DATA_DIR_IN_USE'
  | 'UNREACHABLE'
  | 'AUTH_FAILED'
  | 'DATABASE_NOT_FOUND'
  | 'TLS_FILE_INVALID'
  | 'TLS_FAILED'
  | 'CONFIG_INVALID'
  | 'MIGRATION_INVALID'
  | 'NOTHING_TO_UNDO'
  | 'FILE_EXISTS'
  | 'PYTHON_MISSING'
  | 'LITE_INSTALL_FAILED'
  | 'LITE_START_FAILED'
  | 'MIGRATION_FAILED'
  | 'MILVUS_ERROR'
  | 'UNSUPPORTED_BY_SERVER'
  | 'WRITES_SINCE_ALTER'
  | 'INTERRUPTED'
  | 'INTERNAL'

/** Exit codes, documented in README ("Exit codes"). Grouped by what a script would do about them. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  MIGRATION_FAILED: 1,
  MILVUS_ERROR: 1,
  UNSUPPORTED_BY_SERVER: 1,
  INTERNAL: 1,
  USAGE: 2,
  BAD_NAME: 2,
  UNKNOWN_VERSION: 2,
  NOT_UP_TO_DATE: 3,
  MISSING_FILE: 4,
  CHANGED_FILE: 4,
  OUT_OF_ORDER: 4,
  IRREVERSIBLE: 4,
  BASELINE_REFUSED: 4,
  RESOLVE_REFUSED: 4,
  WRITES_SINCE_ALTER: 4,
  LOCKED: 5,
  DATA_DIR_IN_USE: 5,
  UNREACHABLE: 6,
  AUTH_FAILED: 6,
  DATABASE_NOT_FOUND: 6,
  TLS_FILE_INVALID: 6,
  TLS_FAILED: 6,
  CONFIG_INVALID: 7,
  MIGRATION_INVALID: 8,
  NOTHING_TO_UNDO: 9,
  FILE_EXISTS: 9,
  PYTHON_MISSING: 10,
  LITE_INSTALL_FAILED: 10,
  LITE_START_FAILED: 10,
  // As a shell reports a process stopped by SIGINT (128 + 2); the CLI exits 143 for SIGTERM.
  INTERRUPTED: 130,
}

/**
 * The words README's exit-code table uses for each error: test/unit/exit-codes.test.ts checks that
 * each stands in the row of its exit code, so a code moved here and not there (or the other way)
 * fails a test. Keep them short: a phrase of that row.
 */
export const EXIT_CODE_CASES: Record<ErrorCode, string> = {
  MIGRATION_FAILED: "a migration's `up()`/`down()` threw",
  MILVUS_ERROR: 'Milvus refused a call',
  UNSUPPORTED_BY_SERVER: 'the server lacks an operation a step needs',
  INTERNAL: 'an unexpected error',
  USAGE: 'bad command line',
  BAD_NAME: 'bad migration name',
  UNKNOWN_VERSION: 'unknown `--to` version',
  NOT_UP_TO_DATE: '`status --check`',
  MISSING_FILE: 'applied file missing',
  CHANGED_FILE: 'applied file missing or changed',
  OUT_OF_ORDER: 'out-of-order pending migration',
  IRREVERSIBLE: 'migration without `down()`',
  BASELINE_REFUSED: '`baseline` of a migration that already ran or failed',
  RESOLVE_REFUSED: '`resolve` of a migration that is not failed',
  WRITES_SINCE_ALTER: '`down` with rows written since an alter',
  LOCKED: 'the migration lock is held',
  DATA_DIR_IN_USE: 'the embedded data directory is in use',
  UNREACHABLE: 'server unreachable',
  AUTH_FAILED: 'credentials rejected',
  DATABASE_NOT_FOUND: 'database missing',
  TLS_FILE_INVALID: 'TLS failed (certificate, CA or key file)',
  TLS_FAILED: 'TLS failed',
  CONFIG_INVALID: 'invalid config file',
  MIGRATION_INVALID: 'invalid migration or schema file',
  NOTHING_TO_UNDO: '`down` with nothing to undo',
  FILE_EXISTS: '`make` when the version is taken',
  PYTHON_MISSING: 'no Python 3.10+',
  LITE_INSTALL_FAILED: 'could not be installed',
  LITE_START_FAILED: 'or started',
  INTERRUPTED: 'stopped by Ctrl-C (SIGINT)',
}

/** Exit codes no MvmError gives: README's table lists them too. */
export const OTHER_EXIT_CODES: Record<number, string> = {
  0: 'success',
  // INTERRUPTED is 130 for SIGINT; SIGTERM exits 143, as a shell reports that signal.
  143: 'stopped by SIGTERM',
}

/**
 * Messages and hints may name what to do with {{action}} placeholders (src/hints.ts): `message` and
 * `hint` are in the library's words (`migrator.unlock()`), render('cli') in the CLI's.
 */
export class MvmError extends Error {
  readonly code: ErrorCode
  /** Structured detail for --json output and tests (e.g. the lock holder). */
  readonly details?: Record<string, unknown>
  private readonly template: { message: string; hint?: string }

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(renderWords(message, 'api'), opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'MvmError'
    this.code = code
    this.details = opts.details
    this.template = { message, hint: opts.hint }
  }

  /** What to do, in the library's words. */
  get hint(): string | undefined {
    return this.template.hint === undefined ? undefined : renderWords(this.template.hint, 'api')
  }

  /** The hint with its {{action}} placeholders, for an error that wraps this one and keeps its advice. */
  get hintTemplate(): string | undefined {
    return this.template.hint
  }

  /** Message and hint in the words of the CLI or of the library. */
  render(audience: Audience): { message: string; hint?: string } {
    const hint = this.template.hint === undefined ? undefined : renderWords(this.template.hint, audience)
    return { message: renderWords(this.template.message, audience), ...(hint === undefined ? {} : { hint }) }
  }

  /** A copy with another message/hint (same code, details, cause): for wrapping with more context. */
  static wrap(
    e: MvmError,
    message: (m: string) => string,
    hint?: (h: string | undefined) => string | undefined,
    details?: Record<string, unknown>,
  ): MvmError {
    const h = hint ? hint(e.template.hint) : e.template.hint
    return new MvmError(e.code, message(e.template.message), { hint: h, cause: e, details: details ?? e.details })
  }

  get exitCode(): number {
    return EXIT_CODES[this.code]
  }
}

export function isMvmError(e: unknown): e is MvmError {
  return e instanceof MvmError
}

/** The message of anything thrown: the SDK sometimes throws plain status objects, not Errors. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>
    if (typeof o.reason === 'string' && o.reason) return o.reason
    if (typeof o.message === 'string') return o.message
    try {
      return JSON.stringify(e)
    } catch {
      return String(e)
    }
  }
  return String(e)
}
