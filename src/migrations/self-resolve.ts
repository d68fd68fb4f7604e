import * as fs from 'node:fs'
import Module, { createRequire } from 'node:module'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * While mvmigrate loads a user's migration, config or schema file, the bare specifier
 * 'mvmigrate' (and its subpaths) resolves to the running package, whatever node_modules the file
 * sits above or not: `npx mvmigrate` from elsewhere or a global install has no copy in the app,
 * and the files `make` and `init` write import from 'mvmigrate'. It also keeps one copy of every
 * class between the runner and the migrations it runs.
 *
 * Node's hooks cannot be removed once added (an ESM hook never; tsx patches the CommonJS resolver
 * over ours), so each is added once and acts only while a load is under way: a counter in shared
 * memory, read synchronously by the CommonJS hook here and by the ESM hook in its own thread.
 */

const SPECIFIER = /^mvmigrate(\/.*)?$/

interface Targets {
  /** The package's own directory (holding its package.json). */
  root: string
  require: NodeJS.Require
  /** The ESM entry: exports['.'].import. */
  esmEntry: string
}

let targets: Targets | undefined | null
const active = new Int32Array(new SharedArrayBuffer(4))
let cjsHooked = false
let esmHooked = false

/** The running package: the nearest package.json named mvmigrate above this module. */
function runningPackage(): Targets | undefined {
  if (targets !== undefined) return targets ?? undefined
  targets = null
  for (let d = __dirname; ; d = path.dirname(d)) {
    const p = path.join(d, 'package.json')
    if (fs.existsSync(p)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as {
          name?: string
          exports?: { '.'?: { import?: { default?: string } } }
        }
        if (pkg.name === 'mvmigrate') {
          const esm = pkg.exports?.['.']?.import?.default ?? './dist/index.mjs'
          targets = { root: d, require: createRequire(p), esmEntry: path.resolve(d, esm) }
          break
        }
      } catch {
        // not ours: keep looking up
      }
    }
    if (path.dirname(d) === d) break
  }
  return targets ?? undefined
}

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string

function hookCommonJs(pkg: Targets): void {
  if (cjsHooked) return
  cjsHooked = true
  const M = Module as unknown as { _resolveFilename: ResolveFilename }
  const next = M._resolveFilename
  let inside = false
  M._resolveFilename = function (request, parent, isMain, options) {
    // The package's own name, resolved from its own package.json (a self-reference through "exports");
    // that resolution comes through here again, and goes on to Node's.
    if (!inside && Atomics.load(active, 0) > 0 && SPECIFIER.test(request)) {
      inside = true
      try {
        return pkg.require.resolve(request)
      } finally {
        inside = false
      }
    }
    return next.call(this, request, parent, isMain, options)
  }
}

/** The ESM resolve hook, run in Node's hooks thread: 'mvmigrate' -> the running package's ESM entry. */
const ESM_HOOK = `
let active, entry, root
export function initialize(data) { active = new Int32Array(data.active); entry = data.entry; root = data.root }
export async function resolve(specifier, context, next) {
  if (Atomics.load(active, 0) > 0 && /^mvmigrate(\\/.*)?$/.test(specifier)) {
    if (specifier === 'mvmigrate') return { url: entry, format: 'module', shortCircuit: true }
    return next(specifier, { ...context, parentURL: root })
  }
  return next(specifier, context)
}
`

function hookEsm(pkg: Targets): void {
  if (esmHooked) return
  const register = (Module as unknown as { register?: (url: string, opts: unknown) => void }).register
  if (typeof register !== 'function') return // Node < 20.6: the app's own copy, as before
  esmHooked = true
  register(`data:text/javascript,${encodeURIComponent(ESM_HOOK)}`, {
    data: {
      active: active.buffer,
      entry: pathToFileURL(pkg.esmEntry).href,
      // A subpath is resolved as the package resolves its own name: from inside it.
      root: pathToFileURL(path.join(pkg.root, 'package.json')).href,
    },
  })
}

/** Runs `load` with 'mvmigrate' resolving to the running package, in both module systems. */
export async function withSelfResolution<T>(load: () => Promise<T>): Promise<T> {
  const pkg = runningPackage()
  if (!pkg) return load()
  hookCommonJs(pkg)
  hookEsm(pkg)
  Atomics.add(active, 0, 1)
  try {
    return await load()
  } finally {
    Atomics.sub(active, 0, 1)
  }
}
