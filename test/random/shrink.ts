import type { CaseSpec, Step } from './case'

/**
 * Smaller versions of a failing case, simplest first: fewer steps (cut after the failing one, no
 * invalid migrations, no down/up detours), fewer ops in the last migration, fewer rows. The
 * runner keeps a candidate when it still fails, and tries again from it.
 */
export function* shrinkCandidates(c: CaseSpec, failingStep: number): Generator<CaseSpec> {
  const withSteps = (steps: Step[]): CaseSpec => {
    let applied = 0
    let most = 0
    for (const st of steps) {
      if (st.kind === 'up') most = Math.max(most, ++applied)
      if (st.kind === 'down') applied--
    }
    return { ...c, steps, migrations: c.migrations.slice(0, most) }
  }
  if (failingStep > 0 && failingStep < c.steps.length) yield withSteps(c.steps.slice(0, failingStep))
  for (let i = 0; i < c.steps.length; i++) {
    const st = c.steps[i]
    if (st.kind === 'invalid' && i + 1 !== failingStep) yield withSteps(c.steps.filter((_, k) => k !== i))
    if (st.kind === 'down' && c.steps[i + 1]?.kind === 'up')
      yield withSteps(c.steps.filter((_, k) => k !== i && k !== i + 1))
  }
  const last = c.migrations.length - 1
  if (last >= 0 && c.migrations[last].ops.length > 1)
    for (let o = 0; o < c.migrations[last].ops.length; o++) {
      const migrations = c.migrations.map((m, i) => (i === last ? { ...m, ops: m.ops.filter((_, k) => k !== o) } : m))
      yield { ...c, migrations }
    }
  if (c.rowCount > 10) yield { ...c, rowCount: Math.max(10, Math.floor(c.rowCount / 4)) }
  if (c.rowCount > 10) yield { ...c, rowCount: Math.max(10, Math.floor(c.rowCount / 2)) }
  if (c.batches > 1) yield { ...c, batches: 1, flushed: [] }
  if (c.deleteShare) yield { ...c, deleteShare: 0 }
}
