import { describe, expect, it } from 'vitest'
import { readBefore } from '../../src/alter/engine'

/**
 * What the second sweep reads again (engine.ts sweepOld): per partition, up to the last window of
 * keys the first sweep learned before the grace period ended; nothing where its first window came
 * later; everything where the window reaching the end came before (then no bound at all).
 */
describe('readBefore', () => {
  const horizon = 1000
  it('up to the last key of the last window learned before the horizon', () => {
    expect(
      readBefore(
        [
          [
            { requestedAt: 0, lastKey: '1024' },
            { requestedAt: 999, lastKey: '2048' },
            { requestedAt: 1000, lastKey: '3072' },
            { requestedAt: 1500 },
          ],
        ],
        horizon,
      ),
    ).toEqual([{ key: '2048' }])
  })
  it('a partition whose first window came after the horizon is not read; one whose end came before is read whole', () => {
    expect(
      readBefore(
        [
          [{ requestedAt: 10, lastKey: 'a' }, { requestedAt: 20 }],
          [{ requestedAt: 900, lastKey: 'k' }, { requestedAt: 1100 }],
          [{ requestedAt: 1200 }],
        ],
        horizon,
      ),
    ).toEqual(['all', { key: 'k' }, 'none'])
  })
  it('no bound when every partition was read to its end before the horizon; a partition never listed is read whole', () => {
    expect(readBefore([[{ requestedAt: 5 }], [{ requestedAt: 6 }]], horizon)).toBeUndefined()
    const sparse: { requestedAt: number; lastKey?: string }[][] = []
    sparse[1] = [{ requestedAt: 2000 }]
    expect(readBefore(sparse, horizon)).toEqual(['all', 'none'])
  })
})
