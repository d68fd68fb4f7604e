import { describe, expect, it } from 'vitest'
import {
  BackfillFailed,
  Backfiller,
  backfillSpec,
  classifyError,
  describeBackfill,
  httpError,
  parseRetryAfter,
} from '../../src/alter/backfill'
import { planAlter } from '../../src/alter/plan'
import type { CollectionSpec } from '../../src/schema/spec'

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: String(i + 1), text: `t${i + 1}` }))
const spec = (o: Parameters<typeof backfillSpec>[2], fn: (x: never) => unknown) => {
  const problems: string[] = []
  const s = backfillSpec('v', fn, o, problems, '')
  expect(problems).toEqual([])
  return s
}

describe('backfill retries and batches', () => {
  it('classifies errors: 429/408/5xx, resets, timeouts and retryable: true are retried; other statuses and bugs are not', () => {
    expect(classifyError(Object.assign(new Error('x'), { status: 429, retryAfter: '2' }))).toEqual({
      retryable: true,
      retryAfterMs: 2000,
    })
    expect(classifyError({ response: { status: 503, headers: { 'retry-after': '0.5' } } })).toEqual({
      retryable: true,
      retryAfterMs: 500,
    })
    expect(classifyError({ statusCode: 400 }).retryable).toBe(false)
    expect(classifyError({ status: 401 }).retryable).toBe(false)
    expect(classifyError({ status: 408 }).retryable).toBe(true)
    expect(
      classifyError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } })).retryable,
    ).toBe(true)
    expect(classifyError(new TypeError('terminated')).retryable).toBe(true)
    expect(classifyError(Object.assign(new Error('t'), { name: 'TimeoutError' })).retryable).toBe(true)
    expect(classifyError(Object.assign(new Error('custom'), { retryable: true })).retryable).toBe(true)
    expect(classifyError(Object.assign(new Error('x'), { status: 503, retryable: false })).retryable).toBe(false)
    expect(classifyError(new TypeError("Cannot read properties of undefined (reading 'map')")).retryable).toBe(false)
    expect(parseRetryAfter(new Date(Date.now() + 3000).toUTCString())).toBeGreaterThan(1000)
    expect(parseRetryAfter('soon')).toBeUndefined()
  })

  it('httpError carries the status, Retry-After and the start of the body', async () => {
    const e = await httpError(
      new Response('{"error":"slow down"}', {
        status: 429,
        statusText: 'Too Many Requests',
        headers: { 'Retry-After': '3' },
      }),
    )
    expect(e.message).toBe('HTTP 429 Too Many Requests: {"error":"slow down"}')
    expect(classifyError(e)).toEqual({ retryable: true, retryAfterMs: 3000 })
  })

  it('batches go out in order with at most `concurrency` in flight; retryable failures are retried and counted', async () => {
    let inFlight = 0
    let most = 0
    let n = 0
    const fn = async (batch: { text: string }[]) => {
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise((r) => setTimeout(r, 5))
      inFlight--
      if (n++ % 4 === 1) throw Object.assign(new Error('rate limited'), { status: 429, retryAfter: '0' })
      return batch.map((r) => r.text.toUpperCase())
    }
    const s = spec({ batchSize: 10, concurrency: 3, retryDelayMs: 1 }, fn as never)
    const b = new Backfiller([s], 'id')
    const out = await b.compute(s, rows(95))
    expect(out).toEqual(rows(95).map((r) => r.text.toUpperCase()))
    expect(most).toBe(3)
    expect(b.figures.rows).toBe(95)
    expect(b.figures.calls).toBe(10 + b.figures.retries)
    expect(b.figures.retries).toBeGreaterThanOrEqual(2)
  })

  it('a failure not worth a retry, or retries exhausted, names the field, the batch first keys and the error; no call starts after it', async () => {
    let calls = 0
    const s = spec({ batchSize: 4, concurrency: 1, maxRetries: 2, retryDelayMs: 1 }, (async (
      batch: { id: string }[],
    ) => {
      calls++
      if (batch[0].id === '9') throw Object.assign(new Error('HTTP 503: down'), { status: 503 })
      return batch.map(() => 1)
    }) as never)
    const b = new Backfiller([s], 'id')
    const e = (await b.compute(s, rows(20)).catch((x) => x)) as BackfillFailed
    expect(e).toBeInstanceOf(BackfillFailed)
    expect(e.message).toBe(
      "the backfill of 'v' failed for the batch of 4 row(s) with key(s) 9, 10, 11, ... (still failing after 2 retries): HTTP 503: down",
    )
    expect(e.keys).toEqual(['9', '10', '11', '12'])
    expect(calls).toBe(2 + 3) // two batches, then three tries of the third; the last two batches never start

    const bad = spec({ batchSize: 4 }, (async () => [1, 2]) as never)
    const e2 = (await new Backfiller([bad], 'id').compute(bad, rows(4)).catch((x) => x)) as BackfillFailed
    expect(e2.message).toContain(
      'key(s) 1, 2, 3, ... (not retryable): it returned 2 value(s) for 4 row(s); a batched backfill (batchSize 4) takes an array of rows and returns an array of values, one per row, in order',
    )
  })

  it("the single-row form: without options it fails with the function's own error; with options it is retried", async () => {
    const boom = new Error('no page number')
    const plain = spec(undefined, (() => {
      throw boom
    }) as never)
    const b = new Backfiller([plain], 'id')
    await expect(b.one(plain, rows(1)[0])).rejects.toBe(boom)
    expect(b.figures.calls).toBe(1)
    let n = 0
    const retried = spec({ maxRetries: 2, retryDelayMs: 1 }, ((r: { text: string }) => {
      if (n++ === 0) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' })
      return r.text
    }) as never)
    const b2 = new Backfiller([retried], 'id')
    expect(await b2.one(retried, rows(1)[0])).toBe('t1')
    expect(b2.figures).toMatchObject({ calls: 2, retries: 1, rows: 1 })
  })

  it('rateLimit spaces calls: 5 requests a second', async () => {
    const s = spec({ batchSize: 1, concurrency: 8, rateLimit: { requestsPerSecond: 5 } }, (async (b: unknown[]) =>
      b.map(() => 0)) as never)
    const t0 = Date.now()
    await new Backfiller([s], 'id').compute(s, rows(6))
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950)
  })

  it('planning: settings are checked, plan says how fields are computed, and a new dim with a backfill needs no converter', () => {
    const problems: string[] = []
    backfillSpec(
      'v',
      () => 0,
      { batchSize: 0, concurrency: 2.5, rateLimit: { rowsPerSecond: -1 }, nope: 1 } as never,
      problems,
      '',
    )
    expect(problems).toEqual([
      "backfill of 'v': batchSize must be a whole number from 1 to 16384, got 0",
      "backfill of 'v': concurrency must be a whole number from 1 to 256, got 2.5",
      'backfill of \'v\': rateLimit must be { requestsPerSecond?: number, rowsPerSecond?: number } with numbers above 0, got {"rowsPerSecond":-1}',
      "backfill of 'v': unknown option 'nope' (options: batchSize, concurrency, maxRetries, rateLimit, retryDelayMs, maxRetryDelayMs)",
    ])
    expect(describeBackfill(spec({ batchSize: 64, concurrency: 8, rateLimit: { rowsPerSecond: 3000 } }, () => 0))).toBe(
      'in batches of 64, 8 in flight, up to 5 retries, at most 3000 rows/s',
    )
    const source: CollectionSpec = {
      name: 'docs',
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true },
        { name: 'text', type: 'VarChar', maxLength: 100 },
        { name: 'vector', type: 'FloatVector', dim: 4 },
      ],
      enableDynamicField: false,
      functions: [],
      indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2', name: 'vector' }],
      partitions: [],
      properties: {},
      aliases: [],
      loaded: true,
    } as unknown as CollectionSpec
    const p = planAlter(source, [
      { kind: 'alterField', name: 'vector', changes: { dim: 8 } },
      { kind: 'backfill', field: 'vector', fn: () => [], options: { batchSize: 64, concurrency: 8 } },
    ])
    expect(p.problems).toEqual([])
    expect(p.changes).toEqual([
      'alter field vector: FloatVector(dim=4) -> FloatVector(dim=8)',
      'backfill vector (computed in batches of 64, 8 in flight, up to 5 retries)',
    ])
    expect(planAlter(source, [{ kind: 'alterField', name: 'vector', changes: { dim: 8 } }]).problems[0]).toContain(
      "changing dim 4 -> 8 needs convert or a backfill (the vectors computed again: t.backfill('vector', fn, { batchSize }) for a model)",
    )
  })
})
