import { MvmError } from '../errors'

/**
 * Stopping a run on request (Ctrl-C, SIGTERM, or a library caller's AbortController): the run
 * checks its signal only where stopping leaves a state the next run picks up, between pages of an
 * alter's copy (after a checkpoint), between catch-up pages, before a ctx call, before a
 * migration. Never during a swap.
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
