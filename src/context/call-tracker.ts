import { AsyncLocalStorage } from 'node:async_hooks'
import { MvmError } from '../errors'
import { interruptName } from '../util/interrupt'

/** Calls that change nothing on the server (SDK methods and ctx helpers alike): describe, has, list, query, ... */
export const READ_ONLY_CALL =
  /^(describe|has|list|get|query|count|search|show|check|connect|closeConnection|invalidateCollectionInfo)/

/** The tracked call running now (through its awaits): whether it has sent Milvus a write. */
const currentCall = new AsyncLocalStorage<{ wrote: boolean }>()

/**
 * Whatever sends Milvus a write calls this: the tracked call it runs in is then a change. A call
 * that only read (createCollection(def, { ifNotExists }) meeting its collection, setProperties to
 * the values already set) changed nothing, and a failed migration does not list it as a change.
 */
export function noteWrite(): void {
  const call = currentCall.getStore()
  if (call) call.wrote = true
}

/**
 * Catches a missing `await` in a migration. Every ctx helper call (and every raw ctx.client call)
 * is tracked while it runs. When up()/down() returns with one still running, the runner waits for
 * it to settle (a copy is not left half-done) and fails the migration naming the call; a call that
 * starts after up()/down() returned is refused. Without this, `ctx.alter(...)` without `await`
 * would be recorded as applied in milliseconds while the alter went on (or never ran).
 */
export class CallTracker {
  private readonly running = new Map<number, { label: string; done: Promise<unknown> }>()
  private next = 0
  private closed = false
  private readonly late: string[] = []
  /** Calls that were still running when the migration function returned. */
  private readonly unawaited: string[] = []

  constructor(
    private readonly file: string,
    private readonly fn: 'up' | 'down',
    /** Aborted (Ctrl-C): calls not started yet are refused, so the migration stops at its next ctx call. */
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * The calls that changed something and returned, in the order they returned (a failed migration
   * names them): calls that may change something and sent Milvus a write (noteWrite).
   */
  readonly changes: string[] = []

  track<T>(label: string, start: () => Promise<T>, change = false): Promise<T> {
    if (this.closed) {
      this.late.push(label)
      return Promise.reject(
        this.error(`${label} was called after ${this.fn}() of ${this.file} had returned`, label, true),
      )
    }
    if (this.signal?.aborted) {
      return Promise.reject(
        new MvmError(
          'INTERRUPTED',
          `Interrupted (${interruptName(this.signal)}): ${this.fn}() of ${this.file} stopped before ${label}`,
        ),
      )
    }
    const id = this.next++
    const call = { wrote: false }
    const p = Promise.resolve().then(() => currentCall.run(call, start))
    const done = p.then(
      () => {
        if (change && call.wrote) this.changes.push(label)
        this.running.delete(id)
      },
      () => this.running.delete(id),
    )
    this.running.set(id, { label, done })
    return p
  }

  /** Call once up()/down() returned: waits for what is still running, then says what was not awaited. */
  async finish(): Promise<MvmError | undefined> {
    this.unawaited.push(...[...this.running.values()].map((r) => r.label))
    this.closed = true
    while (this.running.size) await Promise.all([...this.running.values()].map((r) => r.done))
    // A call chained on an unawaited one (`.then(() => ctx.alter(...))`) starts now, and is refused.
    await new Promise((resolve) => setImmediate(resolve))
    if (this.unawaited.length)
      return this.error(
        `${this.fn}() of ${this.file} returned while ${this.unawaited.join(', ')} was still running`,
        this.unawaited[0],
        false,
      )
    if (this.late.length)
      return this.error(
        `${this.late.join(', ')} was called after ${this.fn}() of ${this.file} had returned`,
        this.late[0],
        true,
      )
    return undefined
  }

  private error(what: string, call: string, late: boolean): MvmError {
    return new MvmError('MIGRATION_FAILED', `${what}: did you forget \`await\` before ${call}?`, {
      hint: `Add \`await\` before every ctx call in ${this.fn}(). ${late ? 'That call was refused.' : 'The call was allowed to finish before this error.'} The migration is not recorded as applied.`,
      details: { lateCall: late, call },
    })
  }
}

/** A short label for a call: ctx.alter('docs', …). */
export function callLabel(owner: string, method: string, args: unknown[]): string {
  const o = args[0] && typeof args[0] === 'object' ? (args[0] as Record<string, unknown>) : undefined
  const key = o && (['name', 'collection_name'] as const).find((k) => typeof o[k] === 'string')
  const first =
    typeof args[0] === 'string' ? `'${args[0]}'` : o && key ? `{ ${key}: '${o[key]}', … }` : o ? '{ … }' : ''
  return `${owner}.${method}(${first}${args.length > 1 ? ', …' : ''})`
}

/**
 * Wraps an object so every method call returning a promise is tracked; `reads` names the methods
 * that change nothing (the others are listed as changes once they return).
 */
export function tracked<T extends object>(
  target: T,
  owner: string,
  tracker: CallTracker,
  only?: (method: string) => boolean,
  reads: RegExp = READ_ONLY_CALL,
): T {
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj)
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor' || (only && !only(prop)))
        return value
      return (...args: unknown[]) =>
        tracker.track(
          callLabel(owner, prop, args),
          async () => (value as (...a: unknown[]) => unknown).apply(obj, args),
          !reads.test(prop),
        )
    },
  })
}
