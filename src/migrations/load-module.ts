import * as path from 'node:path'
import { messageOf } from '../errors'

let registered = false

/**
 * Loads a user's .ts or .js file (a migration or a config). TypeScript goes through ts-node in
 * transpile-only mode: no type check, no build step for the user, CommonJS output.
 */
export function requireUserModule(file: string): unknown {
  const abs = path.resolve(file)
  if (/\.(ts|mts|cts)$/.test(abs) && !registered) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('ts-node').register({
      transpileOnly: true,
      compilerOptions: {
        module: 'commonjs',
        moduleResolution: 'node',
        esModuleInterop: true,
        target: 'ES2022',
        sourceMap: true,
      },
    })
    registered = true
  }
  // Fresh load every time: the file may have changed since (status after edit, tests).
  delete require.cache[require.resolve(abs)]
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(abs)
}

/**
 * Why a file could not be loaded, as file:line:col and the compiler's own words: TypeScript
 * diagnostics ("f.ts(3,5): error TS1005: ',' expected.") and Node's syntax errors (whose
 * location is only in the stack) both come out as "f.ts:3:5: ',' expected. (TS1005)".
 */
export function loadErrorText(e: unknown, max = 3): string {
  const err = e as { diagnosticText?: string; stack?: string }
  if (typeof err?.diagnosticText === 'string' && err.diagnosticText.trim()) {
    return err.diagnosticText
      .split('\n')
      .filter((l) => l.trim())
      .slice(0, max)
      .map((l) => l.replace(/^(.*?)\((\d+),(\d+)\): error (TS\d+): (.*)$/, '$1:$2:$3: $5 ($4)'))
      .join(' | ')
  }
  if (e instanceof SyntaxError && typeof err.stack === 'string') {
    const at = /^(.+?):(\d+)\n/.exec(err.stack)
    const col = err.stack.split('\n')[2]?.indexOf('^')
    if (at) return `${at[1]}:${at[2]}${col !== undefined && col >= 0 ? `:${col + 1}` : ''}: ${e.message}`
  }
  return messageOf(e)
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, max)
    .join(' | ')
}
