import type { FieldType } from '../schema/field-types'
import type { FieldSpec } from '../schema/spec'
import type { Row } from './builder'
import type { AlterPlan } from './types'
import type { Backfiller } from './backfill'
import { interrupted } from '../util/interrupt'

/**
 * What values become across an alter: the value a new field gets, and the transform of a whole row
 * as a plan says (the conversions that need no converter: src/schema/conversions.ts). Pure, unit-tested.
 */

/** The value a new field gets when neither a default nor a backfill is given. */
export function typeDefault(f: FieldSpec): { ok: true; value: unknown } | { ok: false } {
  if (f.defaultValue !== undefined) return { ok: true, value: f.defaultValue }
  if (f.nullable) return { ok: true, value: null }
  switch (f.type) {
    case 'VarChar':
      return { ok: true, value: '' }
    case 'Bool':
      return { ok: true, value: false }
    case 'Int8':
    case 'Int16':
    case 'Int32':
    case 'Float':
    case 'Double':
      return { ok: true, value: 0 }
    case 'Int64':
      return { ok: true, value: '0' }
    case 'JSON':
      return { ok: true, value: {} }
    case 'Array':
      return { ok: true, value: [] }
    default:
      return { ok: false }
  }
}

/**
 * Target fields that are not nullable but have a default: a null or missing value becomes the
 * default. Sent explicitly, rather than left for the server to fill, so the full verification
 * (which compares against this transform) sees the same value the server stored.
 */
const nonNullDefaults = new WeakMap<AlterPlan, Map<string, unknown>>()
function defaultsOf(plan: AlterPlan): Map<string, unknown> {
  let out = nonNullDefaults.get(plan)
  if (!out) {
    out = new Map(
      plan.target.fields
        .filter((f) => !f.nullable && f.defaultValue !== undefined)
        .map((f) => [f.name, f.defaultValue]),
    )
    nonNullDefaults.set(plan, out)
  }
  return out
}

const INT_RANGE: Partial<Record<FieldType, [bigint, bigint]>> = {
  Int8: [-128n, 127n],
  Int16: [-32768n, 32767n],
  Int32: [-2147483648n, 2147483647n],
  Int64: [-9223372036854775808n, 9223372036854775807n],
}

function asInteger(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim())
  return undefined
}

/**
 * The first value of a row its target field cannot hold as it is, and why; undefined when every
 * value can. Found by the randomized alters: Infinity in a Float (seed 833; the Node SDK clones
 * every row of a collection with a dynamic field through JSON, which turns Infinity and NaN into
 * null, so a non-nullable field fails the insert and a nullable one would store null), and an
 * Int64 beyond its range (seed 1004; the insert wraps it around to another number, silently).
 */
export function unstorableValue(plan: AlterPlan, row: Row): { field: string; value: unknown; why: string } | undefined {
  for (const f of plan.target.fields) {
    const v = row[f.name]
    if (v === null || v === undefined) continue
    if (f.type === 'Float' || f.type === 'Double') {
      if (typeof v === 'number' && !Number.isFinite(v))
        return { field: f.name, value: v, why: 'Infinity and NaN cannot be copied reliably' }
      continue
    }
    // The server refuses the whole insert for one such value, in words that name no row. Counted in
    // characters: at least as many bytes, so a server counting either refuses it (never a false refusal).
    if (f.type === 'VarChar' && typeof v === 'string' && f.maxLength !== undefined && [...v].length > f.maxLength)
      return { field: f.name, value: v, why: `${[...v].length} characters do not fit in maxLength ${f.maxLength}` }
    if (f.type === 'Array' && Array.isArray(v) && f.maxCapacity !== undefined && v.length > f.maxCapacity)
      return { field: f.name, value: v, why: `${v.length} elements do not fit in maxCapacity ${f.maxCapacity}` }
    const range = INT_RANGE[f.type]
    if (!range) continue
    const n = asInteger(v)
    if (n === undefined) return { field: f.name, value: v, why: `an ${f.type} field holds whole numbers only` }
    if (n < range[0] || n > range[1])
      return { field: f.name, value: v, why: `an ${f.type} field holds ${range[0]} to ${range[1]}` }
  }
  return undefined
}

/** A source row with its dynamic keys at top level (as backfills and converters see it). */
function flatten(sourceRow: Row): Row {
  const meta = sourceRow.$meta as Row | undefined
  const source: Row = meta && typeof meta === 'object' ? { ...meta, ...sourceRow } : { ...sourceRow }
  delete source.$meta
  return source
}

export interface TransformInput {
  /** Values of batched backfills already computed for this row (before any converter declared after them). */
  computed?: Map<string, unknown>
  /** A row of the target as written before: every backfilled field takes its value from it (no backfill runs). */
  reused?: Row
  /** Runs single-row backfills declared with options (retries, quota), and counts their calls. */
  backfiller?: Backfiller
  /** Stopping (Ctrl-C): the backfiller starts no new call. */
  signal?: AbortSignal
}

/** Builds a target row from a source row, as the plan says. */
export async function transformRow(plan: AlterPlan, sourceRow: Row, input: TransformInput = {}): Promise<Row> {
  const defaults = defaultsOf(plan)
  const row: Row = {}
  const meta = sourceRow.$meta as Row | undefined
  const source = flatten(sourceRow)
  for (const [name, src] of plan.fields) {
    let v: unknown
    if (src.backfill && input.reused) {
      // What was written before, as stored: no converter runs on it again.
      row[name] = input.reused[name]
      continue
    }
    if (src.backfill && input.computed?.has(name)) v = input.computed.get(name)
    else if (src.backfill && input.backfiller && src.backfillSpec)
      v = await input.backfiller.one(src.backfillSpec, source, input.signal)
    else if (src.backfill) v = await src.backfill(source)
    else if (src.from !== undefined) v = source[src.from]
    else v = src.fill
    if (src.convert) v = await src.convert(v, source)
    if ((v === null || v === undefined) && defaults.has(name)) v = defaults.get(name)
    row[name] = v
  }
  if (plan.target.enableDynamicField && meta && typeof meta === 'object') {
    for (const [k, v] of Object.entries(meta)) if (!(k in row) && !plan.fields.has(k)) row[k] = v
  }
  let out = row
  for (const fn of plan.mapRows) out = await fn(out, source)
  return out
}

/** Whether the plan computes any field with a backfill. */
export function hasBackfills(plan: AlterPlan): boolean {
  return [...plan.fields.values()].some((s) => s.backfill)
}

/**
 * Whether a row's backfilled values may be taken from what was written for it, when every other
 * value of the row comes out the same: only when the backfills can see nothing the target does not
 * keep (no source field is dropped), so an unchanged target row means an unchanged source row.
 */
export function canReuseBackfills(plan: AlterPlan): boolean {
  if (!hasBackfills(plan)) return false
  const carried = new Set([...plan.fields.values()].map((s) => s.from).filter((f) => f !== undefined))
  return plan.source.fields.every((f) => f.functionOutput || carried.has(f.name))
}

/**
 * Builds target rows from source rows: the batched backfills computed first, a batch at a time
 * (with the Backfiller's concurrency, retries and quota), then each row as transformRow does.
 * `reuse[i]`, when given, is the target row written before for rows[i]: its backfilled values are
 * taken as they are (no call to the model). Once `signal` is aborted it stops between rows (and
 * starts no model call) with INTERRUPTED: a page not yet written is abandoned, not finished.
 */
export async function transformRows(
  plan: AlterPlan,
  rows: Row[],
  opts: { backfiller?: Backfiller; reuse?: (Row | undefined)[]; signal?: AbortSignal } = {},
): Promise<Row[]> {
  const { backfiller, reuse, signal } = opts
  const computed: Map<string, unknown>[] = rows.map(() => new Map())
  const batched = backfiller?.batched.filter((s) => plan.fields.get(s.field)?.backfillSpec === s) ?? []
  if (batched.length) {
    const todo = rows.map((_, i) => i).filter((i) => !reuse?.[i])
    const sources = todo.map((i) => flatten(rows[i]))
    const values = await Promise.all(batched.map((s) => backfiller!.compute(s, sources, signal)))
    batched.forEach((s, f) => todo.forEach((i, j) => computed[i].set(s.field, values[f][j])))
  }
  const out: Row[] = []
  for (let i = 0; i < rows.length; i++) {
    if (signal?.aborted) throw interrupted(signal, `a page was abandoned after ${i} of its ${rows.length} rows`)
    out.push(await transformRow(plan, rows[i], { computed: computed[i], reused: reuse?.[i], backfiller, signal }))
  }
  return out
}
