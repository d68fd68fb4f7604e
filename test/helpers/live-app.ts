import type { MilvusClient } from '@zilliz/milvus2-sdk-node'

/**
 * A live application beside an alter, as DESIGN.md asks of every alter path: a writer that keeps
 * inserting, upserting and deleting by name (or alias), retrying each write until Milvus
 * acknowledges it, and logging what was acknowledged; a reader that keeps searching. Afterwards
 * the collection is checked by key (plain queries, not an iterator) against a replay of the log.
 */
export type Row = Record<string, unknown>

export interface WriterOptions {
  client: MilvusClient
  /** The name (or alias) the application writes to. */
  collection: string
  /** Keys present at the start (the writer upserts and deletes among them). */
  keys: string[]
  /** A row both the old and the new schema accept; `seq` makes every write's values unique. */
  row(key: string, seq: number): Row
  /** Writes a second (default 50). */
  rate?: number
  /** Share of each kind (default 70% upserts of existing keys, 15% inserts of new keys, 15% deletes). */
  mix?: { upsert: number; insert: number; delete: number }
  /** New keys are this plus a counter. */
  firstNewKey?: number
  seed?: number
}

export interface WriterLog {
  /** key -> the last acknowledged row, or null when the last acknowledged write deleted it. */
  expected: Map<string, Row | null>
  /** key -> when each acknowledged write to it was acknowledged (ms since the epoch), in order. */
  history: Map<string, { op: 'upsert' | 'insert' | 'delete'; at: number }[]>
  acknowledged: { upsert: number; insert: number; delete: number }
  /** Failed attempts (each retried until acknowledged) and the longest run of them, in ms. */
  failures: number
  longestRefusalMs: number
  /** Each run of refused attempts (e.g. the name missing during a rename), first and acknowledged. */
  refusals: { from: number; to: number }[]
  errors: string[]
}

export function startWriter(opts: WriterOptions): { stop(): Promise<WriterLog> } {
  const { client, collection } = opts
  const mix = opts.mix ?? { upsert: 0.7, insert: 0.15, delete: 0.15 }
  const interval = 1000 / (opts.rate ?? 50)
  let rnd = opts.seed ?? 1
  const random = () => {
    rnd = (rnd * 1103515245 + 12345) & 0x7fffffff
    return rnd / 0x7fffffff
  }
  const live = [...opts.keys]
  const log: WriterLog = {
    expected: new Map(),
    history: new Map(),
    acknowledged: { upsert: 0, insert: 0, delete: 0 },
    failures: 0,
    longestRefusalMs: 0,
    refusals: [],
    errors: [],
  }
  let stopped = false
  let next = opts.firstNewKey ?? 10_000_000
  const note = (key: string, op: 'upsert' | 'insert' | 'delete') => {
    const h = log.history.get(key) ?? []
    h.push({ op, at: Date.now() })
    log.history.set(key, h)
  }

  async function untilAcknowledged(
    what: () => Promise<{ error_code?: string | number; reason?: string; code?: number }>,
  ) {
    let firstFailure: number | undefined
    for (;;) {
      let problem: string | undefined
      try {
        const s = await what()
        if (s.error_code !== 'Success' || (s.code && s.code !== 0)) problem = s.reason || String(s.error_code)
      } catch (e) {
        problem = (e as Error).message
      }
      if (!problem) {
        if (firstFailure !== undefined) {
          log.longestRefusalMs = Math.max(log.longestRefusalMs, Date.now() - firstFailure)
          log.refusals.push({ from: firstFailure, to: Date.now() })
        }
        return
      }
      log.failures++
      if (log.errors.length < 20 && !log.errors.includes(problem)) log.errors.push(problem)
      firstFailure ??= Date.now()
      if (Date.now() - firstFailure > 60_000) throw new Error(`writer: a write was refused for 60 s: ${problem}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  const run = (async () => {
    for (let seq = 1; !stopped; seq++) {
      const started = Date.now()
      const dice = random()
      if (dice < mix.upsert && live.length) {
        const key = live[Math.floor(random() * live.length)]
        const row = opts.row(key, seq)
        await untilAcknowledged(
          async () => (await client.upsert({ collection_name: collection, data: [row] } as never)).status,
        )
        log.expected.set(key, row)
        note(key, 'upsert')
        log.acknowledged.upsert++
      } else if (dice < mix.upsert + mix.insert || !live.length) {
        const key = String(next++)
        const row = opts.row(key, seq)
        await untilAcknowledged(
          async () => (await client.insert({ collection_name: collection, data: [row] } as never)).status,
        )
        live.push(key)
        log.expected.set(key, row)
        note(key, 'insert')
        log.acknowledged.insert++
      } else {
        const i = Math.floor(random() * live.length)
        const key = live[i]
        await untilAcknowledged(
          async () => (await client.delete({ collection_name: collection, filter: `id in [${key}]` })).status,
        )
        live.splice(i, 1)
        log.expected.set(key, null)
        note(key, 'delete')
        log.acknowledged.delete++
      }
      const wait = interval - (Date.now() - started)
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    }
  })()
  return {
    async stop() {
      stopped = true
      await run
      return log
    },
  }
}

export interface ReaderLog {
  searches: number
  failed: number
  errors: string[]
}

/** Searches by name (or alias) every `everyMs`, counting the ones that fail. */
export function startReader(opts: { client: MilvusClient; collection: string; vector: number[]; everyMs?: number }): {
  stop(): Promise<ReaderLog>
} {
  const log: ReaderLog = { searches: 0, failed: 0, errors: [] }
  let stopped = false
  const run = (async () => {
    while (!stopped) {
      log.searches++
      try {
        const r = await opts.client.search({ collection_name: opts.collection, data: [opts.vector], limit: 3 } as never)
        if (r.status.error_code !== 'Success') throw new Error(r.status.reason || String(r.status.error_code))
      } catch (e) {
        log.failed++
        const m = (e as Error).message
        if (log.errors.length < 10 && !log.errors.includes(m)) log.errors.push(m)
      }
      await new Promise((r) => setTimeout(r, opts.everyMs ?? 100))
    }
  })()
  return {
    async stop() {
      stopped = true
      await run
      return log
    },
  }
}

export interface ReplayCheck {
  /** Acknowledged rows not found, found with other values, and deleted keys still there. */
  missing: string[]
  stale: { key: string; field: string; expected: unknown; found: unknown }[]
  extra: string[]
  checked: number
}

/**
 * The one write an online alter cannot see (README, "Live applications"): a row inserted into the
 * old collection after the last catch-up pass and deleted through the new collection after the
 * swap, before the sweep brought it over (a delete of a row the new collection does not hold yet
 * leaves nothing to read). Of `extra` keys, those whose history is exactly that.
 */
export function deletedBeforeTheSweep(
  log: WriterLog,
  extra: string[],
  window: { swapStartedAt: number; sweptAt: number },
): string[] {
  return extra.filter((k) => {
    const h = log.history.get(k) ?? []
    const last = h[h.length - 1]
    const insert = [...h].reverse().find((x) => x.op !== 'delete')
    return (
      last?.op === 'delete' &&
      last.at >= window.swapStartedAt &&
      last.at <= window.sweptAt &&
      insert !== undefined &&
      insert.at <= window.sweptAt
    )
  })
}

/** Reads every key the writer touched (by key, strong) and compares the fields it wrote. */
export async function checkReplay(
  client: MilvusClient,
  collection: string,
  log: WriterLog,
  fields: string[],
): Promise<ReplayCheck> {
  const out: ReplayCheck = { missing: [], stale: [], extra: [], checked: 0 }
  const keys = [...log.expected.keys()]
  for (let i = 0; i < keys.length; i += 500) {
    const page = keys.slice(i, i + 500)
    const res = await client.query({
      collection_name: collection,
      filter: `id in [${page.join(', ')}]`,
      output_fields: ['id', ...fields],
      limit: page.length,
      consistency_level: 'Strong' as never,
    })
    if (res.status.error_code !== 'Success') throw new Error(`checkReplay: ${res.status.reason}`)
    const found = new Map((res.data as Row[]).map((r) => [String(r.id), r]))
    for (const key of page) {
      out.checked++
      const want = log.expected.get(key)!
      const got = found.get(key)
      if (want === null) {
        if (got) out.extra.push(key)
        continue
      }
      if (!got) {
        out.missing.push(key)
        continue
      }
      for (const f of fields) {
        if (String(got[f]) !== String(want[f])) {
          out.stale.push({ key, field: f, expected: want[f], found: got[f] })
          break
        }
      }
    }
  }
  return out
}
