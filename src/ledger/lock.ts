import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { randomUUID } from 'node:crypto'
import * as os from 'node:os'
import { MvmError, messageOf } from '../errors'
import { collectionExists, describeRaw, dropCollection } from '../milvus/collections'
import { tryCreateCollection } from '../milvus/create'
import { stopIfAborted } from '../util/interrupt'

export const LOCK_COLLECTION = '_migrations_lock'
const HOLDER_PROPERTY = 'mvmigrate.lock.holder'

export interface LockHolder {
  token: string
  host: string
  pid: number
  /** ISO 8601 time the lock was taken. */
  since: string
  command: string
}

/**
 * One runner per database, made with Milvus itself so it works across machines. Taking the lock is
 * creating the collection `_migrations_lock`: Milvus creates a name at most once. Because some
 * servers answer "success" to a create that repeats an existing identical one, each attempt puts a
 * fresh random token in the collection (property and description) and then reads it back: only
 * the runner whose token is there holds the lock. Releasing is dropping the collection.
 */
export class MigrationLock {
  private held?: LockHolder

  constructor(
    private readonly client: MilvusClient,
    readonly collection: string = LOCK_COLLECTION,
  ) {}

  /** Who holds the lock now, or undefined. */
  async holder(): Promise<LockHolder | undefined> {
    if (!(await collectionExists(this.client, this.collection))) return undefined
    let d
    try {
      d = await describeRaw(this.client, this.collection)
    } catch (e) {
      if (/not exist|not found/i.test(messageOf(e))) return undefined // released meanwhile
      throw e
    }
    // The holder is stored twice: as a collection property (Milvus Lite keeps those but drops
    // descriptions) and as the description (older servers without properties on create).
    const fromProperty = (d.properties as unknown as { key: string; value: string }[] | undefined)?.find(
      (p) => p.key === HOLDER_PROPERTY,
    )?.value
    const raw = fromProperty || String((d.schema as { description?: string } | undefined)?.description ?? '')
    try {
      return JSON.parse(raw) as LockHolder
    } catch {
      return {
        token: '',
        host: 'unknown',
        pid: 0,
        since: 'unknown',
        command: `unreadable lock (${JSON.stringify(raw)})`,
      }
    }
  }

  /** One attempt: true when this runner now holds the lock. */
  async tryAcquire(command: string): Promise<boolean> {
    const me: LockHolder = {
      token: randomUUID(),
      host: os.hostname(),
      pid: process.pid,
      since: new Date().toISOString(),
      command,
    }
    const created = await tryCreateCollection(this.client, {
      name: this.collection,
      description: JSON.stringify(me),
      properties: { [HOLDER_PROPERTY]: JSON.stringify(me) },
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true },
        { name: 'placeholder_vector', type: 'FloatVector', dim: 2 },
      ],
      enableDynamicField: false,
      functions: [],
      indexes: [],
      partitions: [],
      aliases: [],
      loaded: false,
    })
    if (created === 'exists') return false
    const now = await this.holder()
    if (now?.token !== me.token) return false
    this.held = me
    return true
  }

  /** Takes the lock, waiting up to timeoutMs for the holder to release it (or until `signal` is aborted). */
  async acquire(command: string, timeoutMs = 0, signal?: AbortSignal): Promise<LockHolder> {
    await this.waitUntil(() => this.tryAcquire(command), true, timeoutMs, signal)
    return this.held!
  }

  /**
   * What acquire would answer, without taking the lock (a dry run's answer): returns when the lock
   * is free (or held by a dead process of this machine, which acquire takes over), waiting up to
   * timeoutMs; otherwise throws acquire's refusal, word for word.
   */
  async check(timeoutMs = 0, signal?: AbortSignal): Promise<void> {
    await this.waitUntil(
      async () => {
        const h = await this.holder()
        return !h || isStale(h)
      },
      false,
      timeoutMs,
      signal,
    )
  }

  private async waitUntil(
    free: () => Promise<boolean>,
    takeOverStale: boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      stopIfAborted(signal, () => 'stopped waiting for the migration lock; nothing was run')
      if (await free()) return
      // A holder on this machine whose process is gone was killed: its lock is stale, take it over.
      const h = await this.holder()
      if (takeOverStale && h && isStale(h)) {
        await this.forceRelease(h.token)
        continue
      }
      if (Date.now() >= deadline) {
        const h = await this.holder()
        if (!h) continue // released between our attempt and the read: try again
        throw new MvmError('LOCKED', `Another mvmigrate holds the migration lock: ${describeHolder(h)}`, {
          hint: timeoutMs
            ? `Still held after waiting ${Math.round(timeoutMs / 1000)} s. If that runner is dead, {{unlock}}.`
            : 'Wait for it to finish, {{lockTimeout}} to wait, or if that runner is dead, {{unlock}}.',
          details: { holder: h },
        })
      }
      await new Promise((r) => setTimeout(r, 250 + Math.random() * 250))
    }
  }

  /** Releases the lock if this runner still holds it (an `unlock` may have taken it away). */
  async release(): Promise<void> {
    if (!this.held) return
    const now = await this.holder()
    if (now?.token === this.held.token) {
      await dropCollection(this.client, this.collection)
    }
    this.held = undefined
  }

  /** `mvmigrate unlock`: releases whoever holds it (or only the holder with that token). Returns the holder it removed. */
  async forceRelease(onlyToken?: string): Promise<LockHolder | undefined> {
    const h = await this.holder()
    if (!h || (onlyToken !== undefined && h.token !== onlyToken)) return undefined
    await dropCollection(this.client, this.collection)
    return h
  }
}

/** A holder on this machine (not this process) whose process is gone: killed, its lock left behind. */
function isStale(h: LockHolder): boolean {
  return h.host === os.hostname() && h.pid !== process.pid && !processAlive(h.pid)
}

/** Whether a process of this machine is alive (EPERM: alive, not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function describeHolder(h: LockHolder): string {
  return `${h.command} on ${h.host} (pid ${h.pid}) since ${h.since}`
}
