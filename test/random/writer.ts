import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import type { CaseSpec } from './case'
import { fitBytes } from './functions'
import { type ModelRow, type ModelState, primaryKey } from './model'
import { Rng } from './rng'
import { generateRows } from './rows'

/**
 * An application writing beside an `up` step, as live apps do: upserts of existing rows with new
 * values, inserts of new keys and deletes, each retried until Milvus acknowledges it, applied to
 * the model only once acknowledged. It writes rows the collection's schema before the step
 * accepts, and stops issuing writes when the alter reaches verification (after its catch-up
 * passes, before the swap), so every write it made must be in the altered collection: caught up
 * by a pass, or swept from the old collection after the swap. Writes through the new name after
 * the swap (which may race with the sweep, by design) are test/integration/online.test.ts's job.
 */
export interface CaseWriter {
  /** Stop issuing writes (the one in flight still finishes). */
  stop(): void
  /** Stops, waits for the write in flight, and returns the model with every acknowledged write. */
  finish(): Promise<{ state: ModelState; writes: number }>
}

// Never the Int64 minimum: Milvus 2.3 cannot parse that literal in a filter.
const UNDELETABLE = '-9223372036854775808'
const DYNAMIC_KEYS = { dyn_a: 0, dyn_b: 0, dyn_é: 0, dyn_c: 0 }

export function startCaseWriter(client: MilvusClient, spec: CaseSpec, before: ModelState, step: number): CaseWriter {
  const state: ModelState = { schema: before.schema, rows: structuredClone(before.rows) }
  const schema = state.schema
  const pk = primaryKey(schema)
  const rng = new Rng((spec.seed * 31 + step * 7919) >>> 0)
  // Fresh values in the schema as it is before the step, from the case's own row generator.
  const pool = generateRows({ ...spec, schema, seed: (spec.seed ^ (step * 0x9e37)) >>> 0, rowCount: 200, batches: 1 })
  let stopped = false
  let writes = 0
  let fresh = 0

  /** A complete row: every field given (2.3.5 panics on an upsert that leaves out a defaulted field), null only where there is no default. */
  const complete = (key: string | undefined, i: number): ModelRow => {
    const g = pool[i % pool.length]
    const values: Record<string, unknown> = {}
    if (key !== undefined) values[pk.name] = key
    for (const f of schema.fields) {
      if (f.primaryKey) continue
      const v = g.values[f.name]
      values[f.name] = v === undefined || (v === null && f.default !== undefined) ? (f.default ?? null) : v
    }
    // Every dynamic key the generator uses, always: an upsert that gives no dynamic keys keeps the
    // row's old ones on Milvus Lite (and replaces them on 2.3), so the model could not say which.
    const dynamic = schema.dynamic ? { ...DYNAMIC_KEYS, ...g.dynamic } : {}
    return { partition: g.partition, values, dynamic }
  }
  const newKey = (): string => {
    for (;;) {
      const k =
        pk.type === 'Int64'
          ? String(BigInt(rng.int(1, 2 ** 30)) * 4_000_000_000n + BigInt(rng.int(0, 2 ** 30)))
          : fitBytes(`w${step}-${fresh++}-${rng.int(0, 1e6)}`, pk.maxLength ?? 64)
      if (!state.rows.has(k)) return k
    }
  }
  const sdkRow = (r: ModelRow) => ({ ...r.values, ...r.dynamic })
  const partitionOf = (r: ModelRow) => (r.partition ? { partition_name: r.partition } : {})
  const acknowledged = (res: unknown) => {
    const s = ((res as { status?: unknown })?.status ?? res) as { error_code?: string; code?: number; reason?: string }
    if ((s.error_code && s.error_code !== 'Success') || s.code) throw new Error(s.reason || String(s.error_code))
  }
  const retried = async (what: string, call: () => Promise<unknown>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        acknowledged(await call())
        return
      } catch (e) {
        if (attempt >= 20)
          throw new Error(`the case's writer could not ${what} after 20 attempts: ${String(e)}`, { cause: e })
        await new Promise((r) => setTimeout(r, 50 * attempt))
      }
    }
  }

  const one = async (i: number) => {
    if (pk.autoId && i % 5) return // (deletes only, and fewer: they are all it does)
    const keys = [...state.rows.keys()].filter((k) => k !== UNDELETABLE)
    const roll = rng.next()
    if (keys.length && roll < 0.2) {
      const key = rng.pick(keys)
      const filter = `${pk.name} in [${pk.type === 'Int64' ? key : JSON.stringify(key)}]`
      await retried('delete', () => client.delete({ collection_name: spec.collection, filter }))
      state.rows.delete(key)
    } else if (pk.autoId) {
      // Deletes only: an auto_id key cannot be upserted, and Milvus Lite numbers auto_id keys per
      // collection from 1, so after an alter that kept the keys, an insert may be given a key an
      // existing row holds (docs/milvus-differences.md): the model could not say which row is which.
      if (!keys.length) return
      const key = rng.pick(keys)
      const filter = `${pk.name} in [${key}]`
      await retried('delete', () => client.delete({ collection_name: spec.collection, filter }))
      state.rows.delete(key)
    } else {
      const existing = keys.length && roll < 0.8 ? rng.pick(keys) : undefined
      const key = existing ?? newKey()
      const row = complete(key, i)
      // A partition-key collection routes by value; a row with named partitions stays in its own.
      if (existing !== undefined && !spec.schema.numPartitions) row.partition = state.rows.get(existing)!.partition
      if (spec.schema.numPartitions) row.partition = ''
      await retried('upsert', () =>
        client.upsert({ collection_name: spec.collection, ...partitionOf(row), data: [sdkRow(row)] as never }),
      )
      state.rows.set(key, row)
    }
    writes++
  }

  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      await one(i)
      // About 20 writes a second: a live app's pace. Much faster on a case's few hundred rows
      // and the alter rightly refuses a source that changes faster than it can be caught up.
      await new Promise((r) => setTimeout(r, 50))
    }
  })()
  return {
    stop: () => {
      stopped = true
    },
    finish: async () => {
      stopped = true
      await loop
      return { state, writes }
    },
  }
}
