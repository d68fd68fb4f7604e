import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { MvmError } from '../errors'
import { countRows, flush } from '../milvus/collections'
import { type FieldSpec, primaryKeyOf } from '../schema/spec'
import type { ReadAfter } from '../milvus/rows'
import type { Row } from './builder'
import { KeyDigest } from './keys'
import { readKeyWindows, readPages, readRowsByKeys } from './pager'
import type { AlterPlan } from './types'
import { hasBackfills, transformRows } from './values'
import { changesPrimaryKey } from './plan'

/** Digest of every key in a collection (keys only: the key windows, no rows are read). */
export async function keyDigest(
  client: MilvusClient,
  collection: string,
  pk: FieldSpec,
  readAfter?: ReadAfter,
): Promise<KeyDigest> {
  const digest = new KeyDigest()
  for await (const keys of readKeyWindows({ client, collection, pk, readAfter })) for (const k of keys) digest.add(k)
  return digest
}

export interface CopyFacts {
  /** Rows in the source when the copy started. */
  sourceRowsBefore: number
  /** Rows the copy inserted. */
  rowsCopied: number
  /** Digest of the source keys as the copy read them. */
  sourceKeys: KeyDigest
  /** Digest of the keys the copy wrote, when the alter may change them (else they are the source's). */
  writtenKeys?: KeyDigest
}

/**
 * The checks between the copy and the swap: the target holds exactly the source's rows (count and
 * primary-key set), and the source did not change while it was copied. Any failure throws before
 * the swap; the caller drops the copy and the source is untouched. Returns the target's key digest.
 */
export async function verifyCopy(
  session: MilvusClient,
  data: MilvusClient,
  plan: AlterPlan,
  sourceName: string,
  targetName: string,
  facts: CopyFacts,
  newIds: boolean,
  /** Reads see every write made before this (a timestamp taken after the copy), or strong. */
  readAfter?: ReadAfter,
  /** Seal the target first (Milvus Lite reads sealed data ~3x faster; elsewhere it only costs time). */
  flushTarget = true,
): Promise<KeyDigest> {
  const before = facts.sourceRowsBefore
  if (flushTarget) await flush(session, targetName)
  const targetCount = await countRows(session, targetName, undefined, readAfter)
  const sourceAfter = await keyDigest(data, sourceName, primaryKeyOf(plan.source)!, readAfter)
  const sameKeys = sourceAfter.toString() === facts.sourceKeys.toString()
  if (
    sameKeys &&
    sourceAfter.count < before &&
    (await countRows(session, sourceName, undefined, readAfter)) === before
  ) {
    throw new MvmError(
      'MIGRATION_FAILED',
      `'${sourceName}' counts ${before} rows but its queries return only ${sourceAfter.count} of them (the same keys before and after the copy), so ${before - sourceAfter.count} row(s) cannot be copied; the swap was aborted, the copy dropped, and '${sourceName}' is untouched`,
      {
        hint: 'Milvus 2.3 never returns a row keyed 9223372036854775807 (the Int64 maximum) to any query. Re-insert such a row under another key (or upgrade Milvus), then run the migration again.',
      },
    )
  }
  if (!sameKeys || before !== sourceAfter.count) {
    throw new MvmError(
      'MIGRATION_FAILED',
      `Writers were active: '${sourceName}' was written to while this offline alter copied it (${before} rows before, ${sourceAfter.count} after the copy); the swap was aborted, the copy dropped, and '${sourceName}' is untouched`,
      {
        hint: 'The migration is fine. Run it again with writers stopped, or {{online}}, which catches up with the writes. An alter that changes the primary key or gives new ids is always offline.',
      },
    )
  }
  const targetKeys = await keyDigest(data, targetName, primaryKeyOf(plan.target)!, readAfter)
  const written = facts.writtenKeys
  if (!newIds && written && targetKeys.toString() !== written.toString()) {
    // Milvus keeps one row a key: keys the copy wrote twice are found once.
    const twice = written.count - targetKeys.count
    throw new MvmError(
      'MIGRATION_FAILED',
      twice > 0
        ? `Verification failed: the copy wrote ${written.count} rows to '${targetName}' but they have only ${targetKeys.count} distinct primary keys: the alter gives ${twice} row(s) a key another row has; the copy was dropped and the source is untouched`
        : `Verification failed: the primary keys of '${targetName}' differ from those the copy wrote; the copy was dropped and the source is untouched`,
      {
        hint:
          twice > 0
            ? 'A converter (or mapRows) of the primary key must give every row a key of its own. Change it so no two rows get the same key, then run the migration again.'
            : 'Run the migration again; report this if it repeats.',
      },
    )
  }
  if (targetCount !== facts.rowsCopied || targetCount !== before) {
    throw new MvmError(
      'MIGRATION_FAILED',
      `Verification failed: '${targetName}' holds ${targetCount} rows, the source ${before}; the copy was dropped and the source is untouched`,
      { hint: 'Run the migration again; report this if it repeats.' },
    )
  }
  if (!newIds && !written && targetKeys.toString() !== facts.sourceKeys.toString()) {
    throw new MvmError(
      'MIGRATION_FAILED',
      `Verification failed: the primary keys of '${targetName}' differ from the source's; the copy was dropped and the source is untouched`,
      { hint: 'Run the migration again; report this if it repeats.' },
    )
  }
  return targetKeys
}

const INTEGER_TYPES = new Set(['Int8', 'Int16', 'Int32', 'Int64'])

/**
 * A value as the server stores it, so a transformed row compares equal to the row read back:
 * the SDK returns Int64 as a string (a transform may give a number), Float as float32.
 */
function stored(type: string | undefined, v: unknown, element?: string): unknown {
  if (v === null || v === undefined) return v
  if (type && INTEGER_TYPES.has(type) && (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string'))
    return String(v)
  if (type === 'Float' && (typeof v === 'number' || typeof v === 'string')) return Math.fround(Number(v))
  if (type === 'FloatVector' && Array.isArray(v)) return v.map((x) => Math.fround(Number(x)))
  if (type === 'Array' && Array.isArray(v)) return v.map((x) => stored(element, x))
  return v
}

/**
 * A row as field -> value text: dynamic keys flattened, declared fields as stored, function outputs
 * (server-computed) left out, and no value the same as null.
 */
function comparable(row: Row, fields: Map<string, FieldSpec>, skip: Set<string>): Map<string, string> {
  const flat: Row = { ...((row.$meta as Row | undefined) ?? {}), ...row }
  delete flat.$meta
  const out = new Map<string, string>()
  for (const [k, v] of Object.entries(flat)) {
    const field = fields.get(k)
    const value = stored(field?.type, v, field?.elementType)
    if (!skip.has(k) && value !== undefined && value !== null) out.set(k, JSON.stringify(value))
  }
  return out
}

/** Compares rows of one collection spec: the first field whose value differs, with both values (shortened), or undefined when equal. */
export function rowComparer(fieldsOf: FieldSpec[]): (expected: Row, actual: Row) => string | undefined {
  const skip = new Set(fieldsOf.filter((f) => f.functionOutput).map((f) => f.name))
  const fields = new Map(fieldsOf.map((f) => [f.name, f]))
  return (expected, actual) => {
    const [a, b] = [comparable(expected, fields, skip), comparable(actual, fields, skip)]
    const short = (v: string | undefined) => (v === undefined ? 'no value' : v.length > 80 ? `${v.slice(0, 77)}...` : v)
    for (const field of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      if (a.get(field) !== b.get(field))
        return `field '${field}': expected ${short(a.get(field))}, found ${short(b.get(field))}`
    }
    return undefined
  }
}

/**
 * `verify: 'full'`: reads the source again, transforms each row as the copy did, and compares it
 * with the target's row of the same key, value by value. Backfilled fields are not computed again
 * (a model costs calls and may answer other floats): each row takes them from the target, and the
 * caller compares them with what the copy wrote (catch-up.ts verifyWritten, by the window hashes).
 */
export async function verifyValues(
  client: MilvusClient,
  plan: AlterPlan,
  sourceName: string,
  targetName: string,
  batchSize: number,
): Promise<void> {
  const pk = primaryKeyOf(plan.source)!
  const targetPk = primaryKeyOf(plan.target)!
  const differs = rowComparer(plan.target.fields)
  const backfilled = hasBackfills(plan)
  // Keys the alter may change are found under the transformed row's key. With backfills the target
  // row is read by the source's key first (its computed values are reused, the model never called).
  const keysChange = (changesPrimaryKey(plan) || plan.mapRows.length > 0) && !backfilled
  const read = (keys: string[]) =>
    readRowsByKeys({ client, collection: targetName, pk: targetPk, outputFields: ['*'] }, keys)
  for await (const page of readPages({ client, collection: sourceName, pk, outputFields: ['*'], batchSize })) {
    const keys = page.rows.map((r) => String(r[pk.name]))
    let outs: Row[]
    let targetKeys = keys
    let targetRows: Row[]
    if (keysChange) {
      outs = await transformRows(plan, page.rows)
      targetKeys = outs.map((o) => String(o[targetPk.name]))
      targetRows = await read(targetKeys)
    } else {
      targetRows = await read(keys)
      const found = new Map(targetRows.map((r) => [String(r[targetPk.name]), r]))
      outs = await transformRows(plan, page.rows, {
        reuse: backfilled ? keys.map((k) => found.get(k) ?? {}) : undefined,
      })
    }
    const byKey = new Map(targetRows.map((r) => [String(r[targetPk.name]), r]))
    for (const [i, r] of page.rows.entries()) {
      const key = String(r[pk.name])
      const expected = outs[i]
      const actual = byKey.get(targetKeys[i])
      const difference = actual ? differs(expected, actual) : 'the row is missing'
      if (difference) {
        const where = targetKeys[i] === key ? `key ${key}` : `key ${key} (${targetKeys[i]} in the copy)`
        throw new MvmError(
          'MIGRATION_FAILED',
          `Verification (full) failed: the row with ${where} in '${targetName}' differs from the transformed source row (${difference}); the copy was dropped and the source is untouched`,
          {
            hint: 'A transform that is not deterministic (random values, the clock) cannot be verified in full; use the default verification, or make it deterministic.',
          },
        )
      }
    }
  }
}
