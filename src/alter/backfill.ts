import { MvmError, messageOf } from '../errors'
import { interrupted, sleepUnlessAborted } from '../util/interrupt'
import type { BackfillOptions, Row } from './builder'

export type { BackfillOptions } from './builder'

/**
 * Backfills that call a model: batches of rows go to the migration's function, several at once,
 * each retried when the failure is a passing one (a rate limit, a reset connection), spaced to a
 * quota. Used by the copy and by the catch-up passes (src/alter/values.ts transformRows); counts
 * every call so the result can say what a run cost.
 */

/** A field's backfill as the plan keeps it: the function and its settings, defaults applied. */
export interface BackfillSpec {
  field: string
  /** Batched: (rows) => values; single-row: (row) => value. */
  fn: (input: never) => unknown
  batchSize?: number
  concurrency: number
  maxRetries: number
  rateLimit?: { requestsPerSecond?: number; rowsPerSecond?: number }
  retryDelayMs: number
  maxRetryDelayMs: number
}

/** What the backfills of one alter cost. */
export interface BackfillFigures {
  /** Calls made to the backfill functions (each batch once, plus retries). */
  calls: number
  retries: number
  /** Rows whose value was computed. */
  rows: number
  /** Milliseconds spent with at least one call in flight. */
  busyMs: number
}

/** Settings checked at planning: every problem, with the field named. */
export function backfillSpec(
  field: string,
  fn: unknown,
  options: BackfillOptions | undefined,
  problems: string[],
  at: string,
): BackfillSpec {
  const o = options ?? {}
  const label = `${at}backfill of '${field}'`
  const positiveInt = (name: string, v: unknown, max: number) => {
    if (
      v !== undefined &&
      (!Number.isInteger(v) || (v as number) < (name === 'maxRetries' ? 0 : 1) || (v as number) > max)
    )
      problems.push(
        `${label}: ${name} must be a whole number from ${name === 'maxRetries' ? 0 : 1} to ${max}, got ${JSON.stringify(v)}`,
      )
  }
  if (options !== undefined && (typeof options !== 'object' || options === null))
    problems.push(`${label}: its options must be an object ({ batchSize, concurrency, maxRetries, rateLimit })`)
  positiveInt('batchSize', o.batchSize, 16384)
  if (o.concurrency !== undefined && o.batchSize === undefined)
    problems.push(
      `${label}: concurrency applies to the batched form; give batchSize too (the function then takes an array of rows)`,
    )
  positiveInt('concurrency', o.concurrency, 256)
  positiveInt('maxRetries', o.maxRetries, 100)
  const rl = o.rateLimit
  if (rl !== undefined) {
    const ok = (v: unknown) => v === undefined || (typeof v === 'number' && v > 0 && Number.isFinite(v))
    if (typeof rl !== 'object' || rl === null || !ok(rl.requestsPerSecond) || !ok(rl.rowsPerSecond))
      problems.push(
        `${label}: rateLimit must be { requestsPerSecond?: number, rowsPerSecond?: number } with numbers above 0, got ${JSON.stringify(rl)}`,
      )
  }
  for (const k of Object.keys(o))
    if (!['batchSize', 'concurrency', 'maxRetries', 'rateLimit', 'retryDelayMs', 'maxRetryDelayMs'].includes(k))
      problems.push(
        `${label}: unknown option '${k}' (options: batchSize, concurrency, maxRetries, rateLimit, retryDelayMs, maxRetryDelayMs)`,
      )
  const given = options !== undefined
  return {
    field,
    fn: fn as BackfillSpec['fn'],
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    concurrency: o.concurrency ?? (o.batchSize !== undefined ? 4 : 1),
    maxRetries: o.maxRetries ?? (given ? 5 : 0),
    ...(rl ? { rateLimit: rl } : {}),
    retryDelayMs: Math.max(0, o.retryDelayMs ?? 500),
    maxRetryDelayMs: Math.max(0, o.maxRetryDelayMs ?? 30_000),
  }
}

/** How a backfill's settings read in `plan` ('' for the plain single-row form, which reads as before). */
export function describeBackfill(s: BackfillSpec): string {
  if (s.batchSize === undefined && s.maxRetries === 0 && !s.rateLimit && s.concurrency === 1) return ''
  const parts = [
    s.batchSize !== undefined ? `in batches of ${s.batchSize}, ${s.concurrency} in flight` : 'row by row',
    `up to ${s.maxRetries} retries`,
  ]
  if (s.rateLimit?.requestsPerSecond) parts.push(`at most ${s.rateLimit.requestsPerSecond} requests/s`)
  if (s.rateLimit?.rowsPerSecond) parts.push(`at most ${s.rateLimit.rowsPerSecond} rows/s`)
  return parts.join(', ')
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
])

type Loose = Record<string, unknown> | undefined

function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>
  const v = typeof h.get === 'function' ? h.get(name) : (h[name] ?? h[name.toLowerCase()])
  return v === null || v === undefined ? undefined : String(v)
}

/** Retry-After as milliseconds: seconds, or an HTTP date. */
export function parseRetryAfter(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined
  const s = String(v).trim()
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000
  const at = Date.parse(s)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

/**
 * Whether a thrown error is worth a retry, and how long the service asked to wait: HTTP 429, 408
 * and 5xx (from `status`, `statusCode` or `response.status`), connection resets and timeouts (Node
 * and fetch's error codes, AbortError/TimeoutError), or `retryable: true` on the error. Other HTTP
 * statuses and everything else (a bug in the function, a bad response) are not retried.
 */
export function classifyError(e: unknown): { retryable: boolean; retryAfterMs?: number } {
  const err = (e && typeof e === 'object' ? e : undefined) as Loose
  if (!err) return { retryable: false }
  const cause = (err.cause && typeof err.cause === 'object' ? err.cause : undefined) as Loose
  const response = (err.response && typeof err.response === 'object' ? err.response : undefined) as Loose
  const retryAfterMs =
    parseRetryAfter(err.retryAfter) ??
    parseRetryAfter(headerOf(err.headers, 'retry-after')) ??
    parseRetryAfter(headerOf(response?.headers, 'retry-after'))
  if (err.retryable === true) return { retryable: true, retryAfterMs }
  if (err.retryable === false) return { retryable: false }
  const status = Number(err.status ?? err.statusCode ?? response?.status ?? cause?.status)
  if (Number.isInteger(status) && status > 0)
    return { retryable: status === 429 || status === 408 || (status >= 500 && status < 600), retryAfterMs }
  for (const c of [err, cause]) {
    if (!c) continue
    if (typeof c.code === 'string' && RETRYABLE_CODES.has(c.code)) return { retryable: true, retryAfterMs }
    if (c.name === 'AbortError' || c.name === 'TimeoutError') return { retryable: true, retryAfterMs }
  }
  // fetch (undici): "fetch failed" when the connection failed, "terminated" when it closed mid-body.
  if (err.name === 'TypeError' && (err.message === 'fetch failed' || err.message === 'terminated'))
    return { retryable: true, retryAfterMs }
  return { retryable: false }
}

/** An HTTP error response as an error the retries understand (status, Retry-After, the body's start). */
export class HttpError extends Error {
  readonly status: number
  readonly retryAfter?: string
  constructor(status: number, message: string, retryAfter?: string) {
    super(message)
    this.name = 'HttpError'
    this.status = status
    if (retryAfter !== undefined) this.retryAfter = retryAfter
  }
}

/** `if (!res.ok) throw await httpError(res)`: a fetch Response that failed, as an error a backfill retries when it should. */
export async function httpError(res: {
  status: number
  statusText?: string
  headers?: unknown
  text?: () => Promise<string>
}): Promise<HttpError> {
  const body = res.text ? await res.text().catch(() => '') : ''
  const retryAfter = headerOf(res.headers, 'retry-after')
  return new HttpError(
    res.status,
    `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${body ? `: ${body.slice(0, 200)}` : ''}`,
    retryAfter,
  )
}

/** A backfill call failed for good: names the field, the batch's first keys and the error. */
export class BackfillFailed extends Error {
  constructor(
    readonly field: string,
    readonly keys: string[],
    readonly rows: number,
    readonly attempts: number,
    readonly retryable: boolean,
    readonly error: unknown,
  ) {
    const first = keys.slice(0, 3).join(', ') + (keys.length > 3 ? ', ...' : '')
    const why = retryable
      ? `still failing after ${attempts - 1} retries`
      : attempts > 1
        ? `not retryable, after ${attempts - 1} retries`
        : 'not retryable'
    super(
      `the backfill of '${field}' failed for the batch of ${rows} row(s) with key(s) ${first} (${why}): ${messageOf(error)}`,
    )
    this.name = 'BackfillFailed'
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** At most n at once; the rest wait in order. */
class Slots {
  private busy = 0
  private readonly waiting: (() => void)[] = []
  constructor(private readonly n: number) {}
  async take(): Promise<void> {
    if (this.busy < this.n) {
      this.busy++
      return
    }
    await new Promise<void>((r) => this.waiting.push(r))
  }
  give(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.busy--
  }
}

/** Calls spaced evenly to a quota (no bursts: a quota counted per second is never exceeded). */
class Spacing {
  private next = 0
  constructor(private readonly limit?: BackfillSpec['rateLimit']) {}
  async take(rows: number, signal?: AbortSignal): Promise<void> {
    if (!this.limit) return
    const now = Date.now()
    const start = Math.max(now, this.next)
    let cost = 0
    if (this.limit.requestsPerSecond) cost = Math.max(cost, 1000 / this.limit.requestsPerSecond)
    if (this.limit.rowsPerSecond) cost = Math.max(cost, (rows * 1000) / this.limit.rowsPerSecond)
    this.next = start + cost
    if (start > now) await sleepUnlessAborted(start - now, signal)
  }
}

/**
 * The backfills of one alter at run time: each field's calls share its slots and quota across
 * every page being transformed (the copy transforms a few pages ahead of its writes), so at most
 * `concurrency` calls of a field are in flight however many pages wait. Once one batch failed
 * for good, no new call starts (the alter is stopping).
 */
export class Backfiller {
  readonly figures: BackfillFigures = { calls: 0, retries: 0, rows: 0, busyMs: 0 }
  private readonly slots = new Map<string, Slots>()
  private readonly spacing = new Map<string, Spacing>()
  private failed: BackfillFailed | undefined
  private inFlight = 0
  private busySince = 0

  constructor(
    readonly specs: BackfillSpec[],
    /** The source's primary key field, to name a failed batch's rows. */
    private readonly keyField: string,
  ) {
    for (const s of specs) {
      this.slots.set(s.field, new Slots(s.concurrency))
      this.spacing.set(s.field, new Spacing(s.rateLimit))
    }
  }

  /** The batched ones: their values are computed a batch at a time before rows are built. */
  get batched(): BackfillSpec[] {
    return this.specs.filter((s) => s.batchSize !== undefined)
  }

  /** The largest batch size (the copy's pages are made a multiple of it), 0 without batches. */
  get largestBatch(): number {
    return Math.max(0, ...this.batched.map((s) => s.batchSize!))
  }

  /** Rows needed in flight to keep every batched field's calls busy. */
  get rowsInFlight(): number {
    return Math.max(0, ...this.batched.map((s) => s.batchSize! * s.concurrency))
  }

  /** Called after every call that ended (and every retry): progress within a page (rate-limited by the caller). */
  onProgress?: () => void

  /** Model calls running now. */
  get callsInFlight(): number {
    return this.inFlight
  }

  /** Resolves once no call is in flight, or after at most `ms` (a stopping copy does not wait longer). */
  async idle(ms: number): Promise<void> {
    const until = Date.now() + ms
    while (this.inFlight > 0 && Date.now() < until) await sleep(Math.min(20, until - Date.now()))
  }

  /**
   * Values of one batched field for these (flattened) source rows, in order. Once `signal` is
   * aborted no new call starts (waiting batches reject with INTERRUPTED).
   */
  async compute(spec: BackfillSpec, rows: Row[], signal?: AbortSignal): Promise<unknown[]> {
    const size = spec.batchSize!
    const batches: Promise<unknown[]>[] = []
    for (let i = 0; i < rows.length; i += size) batches.push(this.call(spec, rows.slice(i, i + size), true, signal))
    // Every batch settles before this returns (none keeps calling after a failure is reported).
    const settled = await Promise.allSettled(batches)
    const bad = settled.find((s) => s.status === 'rejected')
    if (bad) throw (bad as PromiseRejectedResult).reason
    return settled.flatMap((s) => (s as PromiseFulfilledResult<unknown[]>).value)
  }

  /** One single-row backfill call, with the field's retries and quota. */
  async one(spec: BackfillSpec, row: Row, signal?: AbortSignal): Promise<unknown> {
    return (await this.call(spec, [row], false, signal))[0]
  }

  private async call(spec: BackfillSpec, rows: Row[], batched: boolean, signal?: AbortSignal): Promise<unknown[]> {
    const slots = this.slots.get(spec.field)!
    // Stopping (Ctrl-C): no new call starts; what waited for a slot, a quota or a retry gives up.
    const stopIfAsked = () => {
      if (signal?.aborted) throw interrupted(signal, `the backfill of '${spec.field}' stopped before its next call`)
    }
    await slots.take()
    try {
      for (let attempt = 1; ; attempt++) {
        if (this.failed) throw this.failed
        stopIfAsked()
        await this.spacing.get(spec.field)!.take(rows.length, signal)
        stopIfAsked()
        this.figures.calls++
        this.start()
        try {
          const out = batched
            ? await (spec.fn as (rows: Row[]) => unknown)(rows)
            : [await (spec.fn as (row: Row) => unknown)(rows[0])]
          if (batched) checkShape(spec, rows, out)
          this.figures.rows += rows.length
          this.onProgress?.()
          return out as unknown[]
        } catch (e) {
          if (e instanceof BackfillFailed) throw e
          // The plain single-row form (no options) fails as it always did: with the function's own error.
          if (!batched && plain(spec)) throw e
          const { retryable, retryAfterMs } = classifyError(e)
          if (!retryable || attempt > spec.maxRetries) {
            const keys = rows.map((r) => String(r[this.keyField]))
            this.failed ??= new BackfillFailed(spec.field, keys, rows.length, attempt, retryable, e)
            throw this.failed
          }
          this.figures.retries++
          this.onProgress?.()
          // Exponential backoff with full jitter (half to all of it), or what the service asked for.
          const backoff = Math.min(spec.maxRetryDelayMs, spec.retryDelayMs * 2 ** (attempt - 1))
          const wait =
            retryAfterMs !== undefined
              ? Math.min(retryAfterMs, 60_000) + Math.random() * 100
              : backoff * (0.5 + Math.random() / 2)
          await sleepUnlessAborted(wait, signal)
        } finally {
          this.stop()
        }
      }
    } finally {
      slots.give()
    }
  }

  private start(): void {
    if (this.inFlight++ === 0) this.busySince = Date.now()
  }
  private stop(): void {
    if (--this.inFlight === 0) this.figures.busyMs += Date.now() - this.busySince
  }
}

/** A single-row backfill declared without options: no retries, no quota. */
function plain(spec: BackfillSpec): boolean {
  return spec.batchSize === undefined && spec.maxRetries === 0 && !spec.rateLimit
}

/** A batched backfill must answer one value per row, in order. */
function checkShape(spec: BackfillSpec, rows: Row[], out: unknown): void {
  if (Array.isArray(out) && out.length === rows.length) return
  throw Object.assign(
    new Error(
      `it returned ${Array.isArray(out) ? `${out.length} value(s)` : `a ${out === null ? 'null' : typeof out}`} for ${rows.length} row(s); a batched backfill (batchSize ${spec.batchSize}) takes an array of rows and returns an array of values, one per row, in order`,
    ),
    { retryable: false },
  )
}

/** The error an alter stops with when a backfill failed for good; the copy so far is kept to continue from. */
export function backfillError(
  e: BackfillFailed,
  where: { source: string; target: string; rowsKept: number },
): MvmError {
  const kept = where.rowsKept
    ? `; the ${where.rowsKept} row(s) copied before it are kept in '${where.target}' and running the migration again continues after them without sending them to the model again`
    : ''
  return new MvmError(
    'MIGRATION_FAILED',
    `The alter of '${where.source}' stopped: ${e.message}. Nothing was swapped: '${where.source}' is untouched${kept}`,
    {
      hint: `${e.retryable ? 'The service kept failing: check its status and quota (raise maxRetries or lower concurrency, or set rateLimit), then' : 'Fix the backfill function or the rows it failed on, then'} {{up}} again.`,
      cause: e.error,
      details: { field: e.field, keys: e.keys.slice(0, 10), rowsKept: where.rowsKept, retryable: e.retryable },
    },
  )
}
