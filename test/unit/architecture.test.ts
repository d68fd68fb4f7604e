import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The layout README describes, checked: src/milvus/ is the only code that uses the Node SDK's
 * values (types are fine), and no module imports itself back through others (no cycles, type
 * imports included: a cycle of types is still two modules that cannot be understood apart).
 */
const SRC = path.resolve(__dirname, '..', '..', 'src')

function sources(dir = SRC): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    )
}

interface Import {
  from: string
  typeOnly: boolean
}

/** Static imports and re-exports of a file (comments removed first). */
function importsOf(file: string): Import[] {
  const text = fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
  const out: Import[] = []
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+['"]([^'"]+)['"]/gm)) {
    const names = m[3]
    const specifiers = /^\{([^}]*)\}$/
      .exec(names.trim())?.[1]
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean)
    const typeOnly = !!m[2] || (!!specifiers && specifiers.every((n) => n.startsWith('type ')))
    out.push({ from: m[4], typeOnly })
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push({ from: m[1], typeOnly: false })
  return out
}

function resolveLocal(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined
  const base = path.resolve(path.dirname(file), spec)
  return [`${base}.ts`, path.join(base, 'index.ts')].find((p) => fs.existsSync(p))
}

describe('architecture', () => {
  it('only src/milvus/ imports values from the Milvus SDK', () => {
    const offenders = sources()
      .filter((f) => !f.startsWith(path.join(SRC, 'milvus') + path.sep))
      .filter((f) => importsOf(f).some((i) => i.from === '@zilliz/milvus2-sdk-node' && !i.typeOnly))
      .map((f) => path.relative(SRC, f))
    expect(offenders).toEqual([])
  })

  it('has no import cycles', () => {
    const graph = new Map(
      sources().map((f) => [
        f,
        importsOf(f)
          .map((i) => resolveLocal(f, i.from))
          .filter((x): x is string => !!x),
      ]),
    )
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const stack: string[] = []
    const visit = (f: string) => {
      state.set(f, 'open')
      stack.push(f)
      for (const next of graph.get(f) ?? []) {
        if (state.get(next) === 'open')
          cycles.push([...stack.slice(stack.indexOf(next)), next].map((x) => path.relative(SRC, x)).join(' -> '))
        else if (!state.has(next)) visit(next)
      }
      stack.pop()
      state.set(f, 'done')
    }
    for (const f of graph.keys()) if (!state.has(f)) visit(f)
    expect(cycles).toEqual([])
  })

  it('the checks themselves see imports (a guard against a parser that finds nothing)', () => {
    const engine = importsOf(path.join(SRC, 'alter', 'engine.ts'))
    expect(engine.some((i) => i.from === '../milvus/collections' && !i.typeOnly)).toBe(true)
    expect(
      importsOf(path.join(SRC, 'milvus', 'connect.ts')).some(
        (i) => i.from === '@zilliz/milvus2-sdk-node' && !i.typeOnly,
      ),
    ).toBe(true)
  })
})

describe('hints speak the words of whoever called', () => {
  it('a library error says what to do in API words, and in CLI words when the CLI renders it', async () => {
    const { MvmError } = await import('../../src/errors')
    const e = new MvmError('LOCKED', 'held', { hint: 'Wait, {{lockTimeout}} to wait, or {{unlock}}.' })
    expect(e.hint).toBe('Wait, set the lockTimeoutMs option to wait, or call migrator.unlock().')
    expect(e.render('cli').hint).toBe('Wait, pass --lock-timeout <seconds> to wait, or run `mvmigrate unlock`.')
  })

  it('no library code outside src/cli/ writes a CLI command or flag into a hint', () => {
    const offenders: string[] = []
    for (const f of sources().filter(
      (f) => !f.startsWith(path.join(SRC, 'cli') + path.sep) && !f.endsWith('hints.ts'),
    )) {
      fs.readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/hint:/.test(line) && /`mvmigrate [a-z]|\s--[a-z][a-z-]+/.test(line))
            offenders.push(`${path.relative(SRC, f)}:${i + 1}`)
        })
    }
    expect(offenders).toEqual([])
  })
})
