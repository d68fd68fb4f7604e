import { describe, expect, it } from 'vitest'
import type { MvmError } from '../../src/errors'
import type { LedgerRow } from '../../src/ledger/ledger'
import type { MigrationFile } from '../../src/migrations/files'
import { computeStatus, planDown, planUp } from '../../src/migrations/plan'

const file = (version: string, checksum = `sum-${version}`): MigrationFile => ({
  version,
  name: `m${version.slice(-2)}`,
  path: `/p/${version}_m.ts`,
  checksum,
})
const row = (version: string, batch: number, over: Partial<LedgerRow> = {}): LedgerRow => ({
  version,
  name: `m${version.slice(-2)}`,
  checksum: `sum-${version}`,
  batch,
  state: 'applied',
  appliedAt: '2026-01-01T00:00:00Z',
  durationMs: 1,
  toolVersion: '0.1.0',
  ...over,
})
const V = (n: number) => `202601010000${String(n).padStart(2, '0')}`

function thrown(fn: () => unknown): MvmError {
  try {
    fn()
  } catch (e) {
    return e as MvmError
  }
  throw new Error('expected an error')
}

describe('computeStatus', () => {
  it('classifies applied, pending, failed, missing and changed, in version order', () => {
    const files = [file(V(3)), file(V(1)), file(V(2), 'edited'), file(V(5))]
    const rows = [row(V(1), 1), row(V(2), 1), row(V(4), 2), row(V(5), 2, { state: 'failed', error: 'boom' })]
    const s = computeStatus(files, rows)
    expect(s.map((e) => [e.version, e.state])).toEqual([
      [V(1), 'applied'],
      [V(2), 'changed'],
      [V(3), 'pending'],
      [V(4), 'missing'],
      [V(5), 'failed'],
    ])
  })
})

describe('planUp', () => {
  it('runs pending and failed migrations in version order', () => {
    const s = computeStatus([file(V(1)), file(V(2)), file(V(3))], [row(V(1), 1), row(V(2), 2, { state: 'failed' })])
    expect(planUp(s).map((e) => e.version)).toEqual([V(2), V(3)])
  })
  it('honours --to and --step', () => {
    const s = computeStatus([file(V(1)), file(V(2)), file(V(3))], [])
    expect(planUp(s, { to: V(2) }).map((e) => e.version)).toEqual([V(1), V(2)])
    expect(planUp(s, { step: 1 }).map((e) => e.version)).toEqual([V(1)])
  })
  it('rejects an unknown --to version', () => {
    const e = thrown(() => planUp(computeStatus([file(V(1))], []), { to: V(9) }))
    expect(e.code).toBe('UNKNOWN_VERSION')
    expect(e.message).toContain(V(9))
  })
  it('refuses a missing file, a changed file and an out-of-order pending migration, all in one message', () => {
    const s = computeStatus([file(V(1)), file(V(2), 'edited'), file(V(3))], [row(V(2), 1), row(V(4), 1), row(V(5), 1)])
    const e = thrown(() => planUp(s))
    expect(e.code).toBe('MISSING_FILE')
    expect(e.message).toContain(`${V(4)}_m04 has no file`)
    expect(e.message).toContain('was changed after it was applied')
    expect(e.message).toContain(`older than the newest applied one (${V(5)})`)
  })
  it('allows changed and out-of-order with the flags', () => {
    const s = computeStatus([file(V(1)), file(V(2), 'edited'), file(V(3))], [row(V(2), 1), row(V(3), 1)])
    expect(thrown(() => planUp(s)).code).toBe('CHANGED_FILE')
    expect(thrown(() => planUp(s, { allowChanged: true })).code).toBe('OUT_OF_ORDER')
    expect(planUp(s, { allowChanged: true, allowOutOfOrder: true }).map((e) => e.version)).toEqual([V(1)])
  })
})

describe('planDown', () => {
  const s = computeStatus([file(V(1)), file(V(2)), file(V(3)), file(V(4))], [row(V(1), 1), row(V(2), 2), row(V(3), 2)])
  it('undoes the last batch, newest first', () => {
    expect(planDown(s).map((e) => e.version)).toEqual([V(3), V(2)])
  })
  it('--step, --to and --all', () => {
    expect(planDown(s, { step: 1 }).map((e) => e.version)).toEqual([V(3)])
    expect(planDown(s, { to: V(1) }).map((e) => e.version)).toEqual([V(3), V(2)])
    expect(planDown(s, { all: true }).map((e) => e.version)).toEqual([V(3), V(2), V(1)])
  })
  it('says when there is nothing to undo', () => {
    expect(thrown(() => planDown(computeStatus([file(V(1))], []))).code).toBe('NOTHING_TO_UNDO')
    expect(thrown(() => planDown(s, { to: V(3) })).code).toBe('NOTHING_TO_UNDO')
  })
  it('refuses to undo a migration whose file is missing', () => {
    const m = computeStatus([file(V(1))], [row(V(1), 1), row(V(2), 1)])
    const e = thrown(() => planDown(m))
    expect(e.code).toBe('MISSING_FILE')
    expect(e.message).toContain(`${V(2)}_m02`)
  })
  it('rejects two selectors at once', () => {
    expect(thrown(() => planDown(s, { step: 1, all: true })).code).toBe('USAGE')
  })
})
