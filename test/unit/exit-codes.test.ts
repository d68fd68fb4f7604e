import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { EXIT_CODES, EXIT_CODE_CASES, type ErrorCode, OTHER_EXIT_CODES } from '../../src/errors'

/**
 * README's exit-code table against the code: every code the CLI can exit with has a row, every row
 * is a code the CLI uses, and each error's case stands in the row of its own code. The table is
 * looked for under an "Exit codes" heading in README.md and docs/*.md (wherever it lives).
 */
const ROOT = path.resolve(__dirname, '..', '..')

function exitCodeTables(): { file: string; rows: Map<number, string> }[] {
  const files = [
    path.join(ROOT, 'README.md'),
    ...fs
      .readdirSync(path.join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => path.join(ROOT, 'docs', f)),
  ]
  const out: { file: string; rows: Map<number, string> }[] = []
  for (const file of files) {
    const lines = fs.readFileSync(file, 'utf8').split('\n')
    const at = lines.findIndex((l) => /^#+ Exit codes\s*$/.test(l))
    if (at < 0) continue
    const rows = new Map<number, string>()
    for (const line of lines.slice(at + 1)) {
      if (/^#/.test(line)) break
      const m = /^\| (\d+) \| (.*) \|$/.exec(line)
      if (m) rows.set(Number(m[1]), m[2])
    }
    out.push({ file: path.relative(ROOT, file), rows })
  }
  return out
}

describe('exit codes', () => {
  it("README's table and src/errors.ts agree: the same codes, and each error's case in its code's row", () => {
    const tables = exitCodeTables()
    expect(tables.map((t) => t.file)).toHaveLength(1)
    const { rows } = tables[0]
    const used = new Set([...Object.values(EXIT_CODES), ...Object.keys(OTHER_EXIT_CODES).map(Number)])
    expect([...rows.keys()].sort((a, b) => a - b)).toEqual([...used].sort((a, b) => a - b))
    const misplaced = (Object.keys(EXIT_CODES) as ErrorCode[])
      .filter((code) => !rows.get(EXIT_CODES[code])?.includes(EXIT_CODE_CASES[code]))
      .map((code) => `${code} (exit ${EXIT_CODES[code]}): "${EXIT_CODE_CASES[code]}" is not in that row`)
    for (const [code, words] of Object.entries(OTHER_EXIT_CODES))
      if (!rows.get(Number(code))?.includes(words)) misplaced.push(`exit ${code}: "${words}" is not in that row`)
    expect(misplaced).toEqual([])
  })
})
