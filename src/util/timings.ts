/**
 * Where a command's seconds go, outside the migrations themselves: with MVMIGRATE_TIMINGS=1 the CLI
 * prints, on stderr after the command, each phase (process start and module loading, config,
 * the embedded server, connect, the lock, the ledger, loading migration files, the run, the
 * snapshot, closing) with its milliseconds and the Milvus calls made in it, by RPC.
 *
 * Off by default, and then nothing is recorded. Phases are sequential in a command (one runner,
 * one step at a time), so "the current phase" is simply the innermost one open.
 */
interface Phase {
  name: string
  ms: number
  calls: Map<string, { n: number; ms: number }>
}

const phases: Phase[] = []
const open: Phase[] = []
let enabled = false

export function enableTimings(on = true): void {
  enabled = on
  phases.length = 0
  open.length = 0
}

export function timingsEnabled(): boolean {
  return enabled
}

function phaseNamed(name: string): Phase {
  let p = phases.find((x) => x.name === name)
  if (!p) {
    p = { name, ms: 0, calls: new Map() }
    phases.push(p)
  }
  return p
}

/** Runs fn as (part of) the named phase; a phase entered twice adds up. Nested phases count apart from their parent. */
export async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!enabled) return fn()
  const p = phaseNamed(name)
  const parent = open[open.length - 1]
  open.push(p)
  const t0 = performance.now()
  try {
    return await fn()
  } finally {
    const ms = performance.now() - t0
    p.ms += ms
    if (parent) parent.ms -= ms
    open.splice(open.lastIndexOf(p), 1)
  }
}

/** A phase measured elsewhere (e.g. process start up to the CLI's first line). */
export function recordPhase(name: string, ms: number): void {
  if (enabled) phaseNamed(name).ms += ms
}

/** One Milvus call, counted in the current phase. */
export function recordCall(rpc: string, ms: number): void {
  if (!enabled) return
  const p = open[open.length - 1] ?? phaseNamed('other')
  const c = p.calls.get(rpc) ?? { n: 0, ms: 0 }
  c.n++
  c.ms += ms
  p.calls.set(rpc, c)
}

export interface PhaseTiming {
  phase: string
  ms: number
  calls: { rpc: string; n: number; ms: number }[]
}

export function timingReport(): PhaseTiming[] {
  return phases.map((p) => ({
    phase: p.name,
    ms: Math.round(p.ms),
    calls: [...p.calls].map(([rpc, c]) => ({ rpc, n: c.n, ms: Math.round(c.ms) })),
  }))
}

/** The report as lines: `timing <phase> <ms> ms  [RPC xN ms, ...]`, then the total. */
export function formatTimings(report: PhaseTiming[], totalMs: number): string {
  const width = Math.max(...report.map((p) => p.phase.length), 5)
  const lines = report.map((p) => {
    const calls = p.calls.map((c) => `${c.rpc} x${c.n} ${c.ms} ms`).join(', ')
    return `timing ${p.phase.padEnd(width)} ${String(p.ms).padStart(6)} ms${calls ? `  (${calls})` : ''}`
  })
  lines.push(`timing ${'total'.padEnd(width)} ${String(Math.round(totalMs)).padStart(6)} ms`)
  return lines.join('\n')
}
