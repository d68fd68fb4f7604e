import * as fs from 'node:fs'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'
import { messageOf } from '../errors'
import { withSelfResolution } from './self-resolve'

/**
 * Loads a user's migration or config file, in whatever module system the user's project speaks:
 * TypeScript or JavaScript, ESM or CommonJS, with no build step and no type check. tsx (esbuild)
 * transpiles; the format follows Node's own rules: .mts/.mjs are ESM, .cts/.cjs CommonJS, and
 * .ts/.js whatever the nearest package.json says ("type": "module" or not). ESM files may use
 * top-level await; both may import the project's own modules (relative, with or without
 * extensions as TypeScript allows) and use the path aliases of the nearest tsconfig.json.
 * Both loaders are scoped to the files they load: nothing is registered for the rest of the process.
 * 'mvmigrate' resolves to the running package while a file loads (self-resolve.ts), so a file
 * written by `make` loads from an app with no copy of its own (npx from elsewhere, a global install).
 */
export type ModuleFormat = 'esm' | 'cjs'

/** The nearest package.json's "type", from the file's directory up. */
function packageType(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const p = path.join(d, 'package.json')
    if (fs.existsSync(p)) {
      try {
        return (JSON.parse(fs.readFileSync(p, 'utf8')) as { type?: string }).type
      } catch {
        return undefined
      }
    }
    if (path.dirname(d) === d) return undefined
  }
}

export function moduleFormat(file: string): ModuleFormat {
  if (/\.(mts|mjs)$/.test(file)) return 'esm'
  if (/\.(cts|cjs)$/.test(file)) return 'cjs'
  return packageType(path.dirname(path.resolve(file))) === 'module' ? 'esm' : 'cjs'
}

/** The tsconfig.json nearest to the file (its paths and compiler options shape the transpile). */
export function nearestTsconfig(file: string): string | undefined {
  for (let d = path.dirname(path.resolve(file)); ; d = path.dirname(d)) {
    const p = path.join(d, 'tsconfig.json')
    if (fs.existsSync(p)) return p
    if (path.dirname(d) === d) return undefined
  }
}

/**
 * The module's exports as one object: an ESM namespace (default and named exports), or a
 * CommonJS module's exports. A fresh load every time: the file may have changed since.
 */
export function importUserModule(file: string): Promise<Record<string, unknown>> {
  return withSelfResolution(() => importFile(file))
}

async function importFile(file: string): Promise<Record<string, unknown>> {
  const abs = path.resolve(file)
  const tsconfig = nearestTsconfig(abs)
  if (moduleFormat(abs) === 'esm') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { tsImport } = require('tsx/esm/api') as typeof import('tsx/esm/api')
    // No tsconfig near the file: none at all (not the one of whatever directory the process runs in).
    return (await tsImport(pathToFileURL(abs).href, {
      parentURL: pathToFileURL(abs).href,
      tsconfig: tsconfig ?? false,
    })) as Record<string, unknown>
  }
  // tsx's CommonJS loader reads the tsconfig named here when it is first loaded.
  if (tsconfig && !process.env.TSX_TSCONFIG_PATH) process.env.TSX_TSCONFIG_PATH = tsconfig
  for (const key of Object.keys(require.cache)) if (key === abs || key.startsWith(`${abs}?`)) delete require.cache[key]
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { require: tsxRequire } = require('tsx/cjs/api') as typeof import('tsx/cjs/api')
  const exported = tsxRequire(abs, abs) as unknown
  return (exported && typeof exported === 'object' ? exported : { default: exported }) as Record<string, unknown>
}

/**
 * What a module meant as its default export: an ESM default, a CommonJS `module.exports`, or
 * TypeScript's `export default` compiled to CommonJS (`exports.default` with __esModule).
 */
export function defaultExport(mod: Record<string, unknown>): unknown {
  let value: unknown = 'default' in mod ? mod.default : mod
  // `export default` compiled to CommonJS, seen through an ESM import: { default: { __esModule, default } }
  if (
    value &&
    typeof value === 'object' &&
    (value as Record<string, unknown>).__esModule &&
    'default' in (value as object)
  ) {
    value = (value as Record<string, unknown>).default
  }
  return value
}

/**
 * Where a syntax error is, for a file Node rejected without saying (an ES module's syntax error
 * carries no location): the file is parsed again by esbuild, which names line and column.
 */
function locateSyntaxError(file: string): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require('esbuild') as typeof import('esbuild')
    const loader = /\.[mc]?ts$/.test(file) ? 'ts' : 'js'
    esbuild.transformSync(fs.readFileSync(file, 'utf8'), { loader, sourcefile: file, format: moduleFormat(file) })
  } catch (e) {
    const first = (e as { errors?: { text: string; location?: { line: number; column: number } }[] }).errors?.[0]
    if (first?.location) return `${file}:${first.location.line}:${first.location.column + 1}: ${first.text}`
  }
  return undefined
}

/**
 * Why a file could not be loaded, as file:line:col and the compiler's own words. esbuild's
 * errors ("Transform failed with 1 error:\nf.ts:3:4: ERROR: Unexpected ','", columns from 0),
 * TypeScript-style diagnostics and Node's syntax errors (whose location is only in the stack) all
 * come out as "f.ts:3:5: Unexpected ','" (columns from 1).
 */
export function loadErrorText(e: unknown, max = 3, file?: string): string {
  const err = e as {
    diagnosticText?: string
    stack?: string
    errors?: { text: string; location?: { file: string; line: number; column: number } }[]
  }
  if (Array.isArray(err?.errors) && err.errors.length && err.errors[0]?.text) {
    return err.errors
      .slice(0, max)
      .map((x) => (x.location ? `${x.location.file}:${x.location.line}:${x.location.column + 1}: ${x.text}` : x.text))
      .join(' | ')
  }
  const text = messageOf(e)
  // esbuild's text counts columns from 0; editors (and the rest of this message) from 1.
  const esbuild = [...text.matchAll(/^(.+?):(\d+):(\d+): ERROR: (.*)$/gm)].map(
    (m) => `${m[1]}:${m[2]}:${Number(m[3]) + 1}: ${m[4]}`,
  )
  if (esbuild.length) return esbuild.slice(0, max).join(' | ')
  if (typeof err?.diagnosticText === 'string' && err.diagnosticText.trim()) {
    return err.diagnosticText
      .split('\n')
      .filter((l) => l.trim())
      .slice(0, max)
      .map((l) => l.replace(/^(.*?)\((\d+),(\d+)\): error (TS\d+): (.*)$/, '$1:$2:$3: $5 ($4)'))
      .join(' | ')
  }
  if (e instanceof SyntaxError && typeof err.stack === 'string') {
    const at = /^(?:file:\/\/)?(.+?):(\d+)\n/.exec(err.stack)
    const col = err.stack.split('\n')[2]?.indexOf('^')
    if (at) return `${at[1]}:${at[2]}${col !== undefined && col >= 0 ? `:${col + 1}` : ''}: ${e.message}`
    const located = file && locateSyntaxError(file)
    if (located) return located
  }
  return text
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, max)
    .join(' | ')
}
