import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { commandLine } from '../../src/cli/main'

/**
 * README and the reference in docs/ against the CLI itself: every `mvmigrate <command> --option`
 * they show exists, and docs/cli.md documents every command and option the CLI has. A flag renamed
 * in code, or a new one left undocumented, fails here.
 */
const ROOT = path.resolve(__dirname, '..', '..')
const REFERENCE = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
)
const cliSpec = commandLine()

/** Code in a markdown file: each line of a fenced block, and each inline `span`. */
function codeSpans(text: string): string[] {
  const spans: string[] = []
  const prose = text.replace(/```[^\n]*\n([\s\S]*?)```/g, (_, block: string) => {
    spans.push(...block.split('\n'))
    return ''
  })
  for (const m of prose.matchAll(/`([^`\n]+)`/g)) spans.push(m[1])
  return spans
}

interface Use {
  command: string
  flags: string[]
}

/** `mvmigrate [global options] <command> [sub] ... --flags` in a span; undefined when it names no command. */
function useIn(span: string): Use | undefined {
  const m = /(?:^|[\s(])mvmigrate\s+(.*)$/.exec(span.replace(/\s+#\s.*$/, ''))
  if (!m) return undefined
  const tokens = m[1].split(/\s+/).filter(Boolean)
  let i = 0
  while (i < tokens.length && tokens[i].startsWith('-')) i += cliSpec.takesValue.includes(tokens[i]) ? 2 : 1
  const word = tokens[i]
  if (!word || !/^[a-z]+$/.test(word)) return { command: '', flags: flagsIn(m[1]) }
  const command = word === 'lite' && tokens[i + 1] ? `lite ${tokens[i + 1]}` : word
  return { command, flags: flagsIn(m[1]) }
}

const flagsIn = (s: string) => [...s.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((f) => f[0])

describe('README and docs/ against the CLI', () => {
  it('every command and option they show after `mvmigrate` exists', () => {
    const wrong: string[] = []
    for (const file of REFERENCE) {
      for (const span of codeSpans(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
        const use = useIn(span)
        if (!use) continue
        if (use.command && !(use.command in cliSpec.commands)) {
          wrong.push(`${file}: \`${span.trim()}\`: no command '${use.command}'`)
          continue
        }
        const allowed = new Set([...cliSpec.global, ...(cliSpec.commands[use.command] ?? [])])
        for (const flag of use.flags)
          if (!allowed.has(flag))
            wrong.push(`${file}: \`${span.trim()}\`: no option ${flag}${use.command ? ` for ${use.command}` : ''}`)
      }
    }
    expect(wrong).toEqual([])
  })

  it('docs/cli.md documents every command with each of its options, and every global option', () => {
    const spans = codeSpans(fs.readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8'))
    const missing: string[] = []
    for (const [command, options] of Object.entries(cliSpec.commands)) {
      const uses = spans.map(useIn).filter((u): u is Use => u?.command === command)
      if (!uses.length) missing.push(`mvmigrate ${command}`)
      for (const o of options.filter((o) => o !== '--help'))
        if (!uses.some((u) => u.flags.includes(o))) missing.push(`mvmigrate ${command} ${o}`)
    }
    for (const o of cliSpec.global.filter((o) => o !== '--help' && o !== '--version'))
      if (!spans.some((s) => s.startsWith(o))) missing.push(`global ${o}`)
    expect(missing).toEqual([])
  })
})
