import { MvmError } from '../errors'

/**
 * Stopping a run on request (Ctrl-C, SIGTERM, or a library caller's AbortController): the run
 * checks its signal only where stopping leaves a state the next run picks up: in an alter's copy
 * (at the last page written, with a checkpoint; a page still being computed by a backfill is
 * abandoned, between rows or batches), between catch-up pages, before the swap, before a ctx
 * call, before a migration. Never during a swap (StopPoint says so and finishes it).
 */

/** The signal's name when the CLI aborted for one ('SIGINT', 'SIGTERM'), else 'interrupt'. */
export function interruptName(signal: AbortSignal): string {
  return typeof signal.reason === 'string' && /^SIG[A-Z]+$/.test(signal.reason) ? signal.reason : 'interrupt'
}

/** Throws INTERRUPTED, saying what stopped, when the signal was aborted. */
export function stopIfAborted(
  signal: AbortSignal | undefined,
  what: () => string,
  details?: Record<string, unknown>,
): void {
  if (!signal?.aborted) return
  throw new MvmError('INTERRUPTED', `Interrupted (${interruptName(signal)}): ${what()}`, { details })
}

export function isInterrupted(e: unknown): e is MvmError {
  return e instanceof MvmError && e.code === 'INTERRUPTED'
}

/** The INTERRUPTED error a stopped step throws (what it stopped, in words). */
export function interrupted(signal: AbortSignal, what: string, details?: Record<string, unknown>): MvmError {
  return new MvmError('INTERRUPTED', `Interrupted (${interruptName(signal)}): ${what}`, { details })
}

/** Waits ms, or less when the signal is aborted meanwhile (then resolves at once). */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * The promise's outcome, or a rejection with `onAbort()` as soon as the signal is aborted: a step
 * that waits on user code (a model call) stops at once, the code left to end on its own (its
 * outcome is then ignored).
 */
export function unlessAborted<T>(p: Promise<T>, signal: AbortSignal | undefined, onAbort: () => unknown): Promise<T> {
  if (!signal) return p
  if (signal.aborted) {
    p.catch(() => undefined)
    return Promise.reject(onAbort())
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      p.catch(() => undefined)
      reject(onAbort())
    }
    signal.addEventListener('abort', abort, { once: true })
    p.then(
      (v) => (signal.removeEventListener('abort', abort), resolve(v)),
      (e) => (signal.removeEventListener('abort', abort), reject(e)),
    )
  })
}

/**
 * Where a run is when a signal comes: the step it cannot stop half-way (a swap), else the
 * migration it runs. A step entered with `unstoppable` finishes, saying so when a signal comes
 * during it; the run then reports what the signal came during (`during`).
 */
export class StopPoint {
  /** The migration running now (its file). */
  migration?: string
  /** What the signal came during, once it came. */
  during?: string
  private step?: string

  constructor(
    readonly signal?: AbortSignal,
    private readonly say: (line: string) => void = () => undefined,
  ) {
    signal?.addEventListener(
      'abort',
      () => {
        this.during = this.step ? `${this.step}${this.migration ? ` (${this.migration})` : ''}` : this.migration
        if (this.step)
          this.say(
            `${interruptName(signal)} came during ${this.step}, which cannot stop half-way: finishing it, then stopping`,
          )
      },
      { once: true },
    )
  }

  async unstoppable<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const outer = this.step
    this.step ??= what
    try {
      return await fn()
    } finally {
      this.step = outer
    }
  }
}
