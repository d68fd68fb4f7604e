import * as path from 'node:path'

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
      compilerOptions: { module: 'commonjs', moduleResolution: 'node', esModuleInterop: true, target: 'ES2022', sourceMap: true },
    })
    registered = true
  }
  // Fresh load every time: the file may have changed since (status after edit, tests).
  delete require.cache[require.resolve(abs)]
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(abs)
}
