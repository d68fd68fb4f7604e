import { describe, expect, it } from 'vitest'
import { progressReporter } from '../../src/cli/progress'

describe('alter progress output', () => {
  const events = [
    { name: 'docs', phase: 'copy' as const, rows: 0, total: 1000, elapsedMs: 0 },
    { name: 'docs', phase: 'copy' as const, rows: 500, total: 1000, elapsedMs: 1000 },
    { name: 'docs', phase: 'verify' as const, rows: 1000, total: 1000, elapsedMs: 2000 },
    { name: 'docs', phase: 'done' as const, rows: 1000, total: 1000, elapsedMs: 2500 },
  ]
  it('--json: one object per event with rate and ETA', () => {
    const out: string[] = []
    const report = progressReporter('json', (s) => out.push(s))
    events.forEach(report)
    const parsed = out.map((l) => JSON.parse(l))
    expect(parsed).toHaveLength(4)
    expect(parsed[1]).toMatchObject({
      event: 'alter-progress',
      name: 'docs',
      phase: 'copy',
      rows: 500,
      total: 1000,
      rowsPerSecond: 500,
      etaSeconds: 1,
    })
  })
  it('not a terminal: plain lines, throttled during the copy', () => {
    const out: string[] = []
    const report = progressReporter('lines', (s) => out.push(s), 60_000)
    events.forEach(report)
    // A line when each phase starts and ends, with the rows and the rate: never a silent jump from 0% to verify.
    expect(out).toEqual([
      'docs: copy 0/1000 rows (0%)\n',
      'docs: copy done: 1000 rows in 2.0 s (500 rows/s)\n',
      'docs: verify 1000 rows\n',
      'docs: verify done in 0.5 s\n',
      'docs: done: 1000 rows copied, verified and swapped in 2.5 s\n',
    ])
  })
  it('a terminal: one redrawn bar with rows, rows/s and ETA', () => {
    const out: string[] = []
    const report = progressReporter('tty', (s) => out.push(s))
    events.forEach(report)
    expect(out[1]).toBe('\rdocs [############------------] 500/1000 rows 50% 500 rows/s, ETA 1s   ')
    expect(out[out.length - 1]).toBe('\n')
  })
  it('a copy that calls a model: its calls, retries and rows computed ride on the rate and ETA, not a line a page', () => {
    const detail = (calls: number) => `${calls} model call(s), 1 retries, ${calls * 64} rows computed`
    const copy = [0, 1, 2, 3].map((i) => ({
      name: 'docs',
      phase: 'copy' as const,
      rows: i * 250,
      total: 1000,
      elapsedMs: i * 1000,
      detail: detail(i * 4),
    }))
    const lines: string[] = []
    const everyPage = progressReporter('lines', (s) => lines.push(s), 0)
    copy.forEach(everyPage)
    expect(lines).toEqual([
      'docs: copy 0/1000 rows (0%)\n',
      'docs: copy 250/1000 rows (25%), 250 rows/s, ETA 3s, 4 model call(s), 1 retries, 256 rows computed\n',
      'docs: copy 500/1000 rows (50%), 250 rows/s, ETA 2s, 8 model call(s), 1 retries, 512 rows computed\n',
      'docs: copy 750/1000 rows (75%), 250 rows/s, ETA 1s, 12 model call(s), 1 retries, 768 rows computed\n',
    ])
    const bar: string[] = []
    copy.forEach(progressReporter('tty', (s) => bar.push(s)))
    expect(bar[2]).toBe(
      '\rdocs [############------------] 500/1000 rows 50% 250 rows/s, ETA 2s, 8 model call(s), 1 retries, 512 rows computed   ',
    )
  })
  it('a page computed by a slow backfill: before it is written, the line and the bar show the rows computed, not "0 rows/s, ETA 0s"', () => {
    const page = [0, 6000].map((ms, i) => ({
      name: 'docs',
      phase: 'copy' as const,
      rows: 0,
      total: 2000,
      elapsedMs: ms,
      detail: `${i * 12} model call(s), 0 retries, ${i * 1200} rows computed`,
      modelCalls: i * 12,
      retries: 0,
      rowsComputed: i * 1200,
    }))
    const lines: string[] = []
    page.forEach(progressReporter('lines', (s) => lines.push(s), 0))
    expect(lines).toEqual([
      'docs: copy 0/2000 rows (0%)\n',
      'docs: copy 0/2000 rows (0%), no page written yet, 12 model call(s), 0 retries, 1200 rows computed\n',
    ])
    const json: string[] = []
    page.forEach(progressReporter('json', (s) => json.push(s)))
    expect(JSON.parse(json[1])).toMatchObject({ rows: 0, modelCalls: 12, retries: 0, rowsComputed: 1200 })
  })
})
