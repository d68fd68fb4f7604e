import type { AlterProgress } from '../context/logger'

/**
 * How alter progress reaches a person or a machine: a redrawn bar (rows, rows/s, ETA) on a
 * terminal, a plain line every few seconds otherwise, one JSON object per line with --json. All on
 * stderr, so stdout stays the command's result.
 */
export function progressReporter(mode: 'tty' | 'lines' | 'json', write: (s: string) => void = (s) => void process.stderr.write(s), everyMs = 5000): (e: AlterProgress) => void {
  let lastLine = 0
  return (e) => {
    const rate = e.elapsedMs > 0 ? Math.round((e.rows / e.elapsedMs) * 1000) : 0
    const etaS = rate > 0 && e.total > e.rows ? Math.ceil((e.total - e.rows) / rate) : 0
    if (mode === 'json') {
      write(JSON.stringify({ event: 'alter-progress', ...e, rowsPerSecond: rate, etaSeconds: etaS }) + '\n')
      return
    }
    const pct = e.total ? Math.min(100, Math.floor((e.rows / e.total) * 100)) : 100
    if (mode === 'tty') {
      const width = 24
      const filled = Math.round((pct / 100) * width)
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled)
      const tail = e.phase === 'copy' ? `${rate} rows/s, ETA ${etaS}s` : e.phase
      write(`\r${e.name} [${bar}] ${e.rows}/${e.total} rows ${pct}% ${tail}   `)
      if (e.phase === 'done') write('\n')
      return
    }
    const now = Date.now()
    if (e.phase !== 'copy' || e.rows === 0 || now - lastLine >= everyMs) {
      lastLine = now
      write(`${e.name}: ${e.phase} ${e.rows}/${e.total} rows (${pct}%)${e.phase === 'copy' ? `, ${rate} rows/s, ETA ${etaS}s` : ''}\n`)
    }
  }
}
