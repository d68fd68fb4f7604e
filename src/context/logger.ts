/** The logger handed to migrations and used by the runner; the CLI decides where lines go. */
export interface Logger {
  info(message: string): void
  warn(message: string): void
  debug(message: string): void
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
