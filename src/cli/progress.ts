import type { AlterProgress } from '../context/logger'

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/**
 * How alter progress reaches a person or a machine: a redrawn bar (rows, rows/s, ETA) on a
 * terminal, plain lines otherwise (one when each phase starts and ends, and every few seconds
 * during the copy), one JSON object per line with --json. All on stderr, so stdout stays the
 * command's result. Every event's elapsedMs counts from the start of the alter.
 */
export function progressReporter(
  mode: 'tty' | 'lines' | 'json',
  write: (s: string) => void = (s) => void process.stderr.write(s),
  everyMs = 5000,
): (e: AlterProgress) => void {
  let lastLine = 0
  let phase: { name: string; phase: AlterProgress['phase']; startedMs: number } | undefined
  let copyStartedMs = 0
  let lastDetail: string | undefined
  return (e) => {
    const previous = phase
    const changed = previous?.phase !== e.phase || previous.name !== e.name
    if (changed) {
      phase = { name: e.name, phase: e.phase, startedMs: e.elapsedMs }
      if (e.phase === 'copy') copyStartedMs = e.elapsedMs
    }
    const copyMs = e.elapsedMs - copyStartedMs
    const rate = e.phase === 'copy' && copyMs > 0 ? Math.round((e.rows / copyMs) * 1000) : 0
    const etaS = rate > 0 && e.total > e.rows ? Math.ceil((e.total - e.rows) / rate) : 0
    // A page with a slow backfill: nothing written yet, the model's figures (the detail) tell the progress.
    const speed = rate > 0 || !e.rowsComputed ? `${rate} rows/s, ETA ${etaS}s` : 'no page written yet'
    if (mode === 'json') {
      write(JSON.stringify({ event: 'alter-progress', ...e, rowsPerSecond: rate, etaSeconds: etaS }) + '\n')
      return
    }
    const pct = e.total ? Math.min(100, Math.floor((e.rows / e.total) * 100)) : 100
    if (mode === 'tty') {
      const width = 24
      const filled = Math.round((pct / 100) * width)
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled)
      const tail =
        e.phase === 'copy'
          ? `${speed}${e.detail ? `, ${e.detail}` : ''}`
          : `${e.phase}${e.detail ? ` (${e.detail})` : ''}`
      write(`\r${e.name} [${bar}] ${e.rows}/${e.total} rows ${pct}% ${tail}   `)
      if (e.phase === 'done') write('\n')
      return
    }
    // Plain lines: a line when a phase ends (rows, time, rate) and when the next starts.
    if (previous && changed) {
      const took = e.elapsedMs - previous.startedMs
      if (previous.phase === 'copy') {
        const copied = e.rows
        write(
          `${previous.name}: copy done: ${copied} rows in ${seconds(took)} (${took > 0 ? Math.round((copied / took) * 1000) : copied} rows/s)\n`,
        )
      } else if (previous.phase !== 'done') write(`${previous.name}: ${previous.phase} done in ${seconds(took)}\n`)
    }
    const now = Date.now()
    const newDetail = e.detail !== lastDetail
    lastDetail = e.detail
    if (e.phase === 'done')
      write(`${e.name}: done: ${e.rows} rows copied, verified and swapped in ${seconds(e.elapsedMs)}\n`)
    else if (changed) {
      lastLine = now
      write(
        e.phase === 'copy'
          ? `${e.name}: copy ${e.rows}/${e.total} rows (${pct}%)\n`
          : e.phase === 'verify'
            ? `${e.name}: verify ${e.rows} rows\n`
            : `${e.name}: ${e.phase}${e.detail ? `: ${e.detail}` : ''}\n`,
      )
    } else if (e.detail && newDetail && e.phase !== 'copy') {
      write(`${e.name}: ${e.phase}: ${e.detail}\n`)
    } else if (e.phase === 'copy' && now - lastLine >= everyMs) {
      lastLine = now
      write(`${e.name}: copy ${e.rows}/${e.total} rows (${pct}%), ${speed}${e.detail ? `, ${e.detail}` : ''}\n`)
    }
  }
}
