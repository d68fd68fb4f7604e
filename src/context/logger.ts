/** Progress of one copy-and-swap alter, reported per page and at each phase. */
export interface AlterProgress {
  /** The name being altered. */
  name: string
  phase: 'copy' | 'catch-up' | 'verify' | 'swap' | 'sweep' | 'done'
  /** What the phase is at, in words (catch-up: which pass, windows and rows re-copied). */
  detail?: string
  rows: number
  total: number
  elapsedMs: number
  /** Copy with backfills: model calls, retries and rows computed so far (they advance within a page; rows only when it is written). */
  modelCalls?: number
  retries?: number
  rowsComputed?: number
}

/** The logger handed to migrations and used by the runner; the CLI decides where lines go. */
export interface Logger {
  info(message: string): void
  warn(message: string): void
  debug(message: string): void
  /** Alter progress (the CLI draws a bar on a terminal, plain lines otherwise, JSON with --json). */
  progress?(event: AlterProgress): void
}

export const silentLogger: Logger = { info() {}, warn() {}, debug() {} }

export function consoleLogger(verbose = false): Logger {
  return {
    info: (m) => process.stderr.write(m + '\n'),
    warn: (m) => process.stderr.write('warning: ' + m + '\n'),
    debug: (m) => {
      if (verbose) process.stderr.write(m + '\n')
    },
  }
}
