import type { Row } from './builder'
import { ContentDigest, type RowHash, type RowHasher } from './content'
import type { Key } from './keys'

/**
 * What the copy knows about each key window it wrote: the windows are the copy's pages, each the
 * key range (previous window's upper, upper] of one partition (the last window of a partition is
 * open above). For each: the digest of the source rows as they were read (by value), and the hash
 * of every row as it was written to the target. A catch-up pass re-reads the source and re-copies
 * only the windows whose digest changed; the sweep after the swap uses the written hashes to tell a
 * write that landed in the old collection late (apply it) from one the application has made to
 * the new collection since (keep it). Memory: about 60 bytes a row (a key and 8 bytes of hash).
 */
export interface KeyWindow {
  /** Index into the partitions the copy walks. */
  partition: number
  /** Inclusive upper key; undefined: open above (the partition's last window). */
  upper?: Key
  /** Digest of the source rows when last read; undefined when not known (copied by an interrupted run). */
  source?: string
  /** The keys written to the target for this window, in key order, and each row's hash as written. */
  keys?: Key[]
  hashes?: Uint32Array
  /** Backfilled alters: each written row's source hash as read, aligned with keys (a changed row is computed again, an unchanged one never). */
  sourceHashes?: Uint32Array
}

export class WindowTable {
  readonly windows: KeyWindow[] = []

  /** Appends the window a copy page wrote. */
  add(window: KeyWindow): void {
    this.windows.push(window)
  }

  /** Marks the last window of partition p open above (done when the copy finishes that partition). */
  closePartition(p: number): void {
    const last = [...this.windows].reverse().find((w) => w.partition === p)
    if (last) delete last.upper
    else
      this.windows.push({ partition: p, source: new ContentDigest().toString(), keys: [], hashes: new Uint32Array() })
  }

  /** The windows of one partition, in key order. */
  of(partition: number): KeyWindow[] {
    return this.windows.filter((w) => w.partition === partition)
  }

  /** Replaces `window` by `parts` (a cold window split into page-sized ones as it is read). */
  split(window: KeyWindow, parts: KeyWindow[]): void {
    const i = this.windows.indexOf(window)
    this.windows.splice(i, 1, ...parts)
  }

  get size(): number {
    return this.windows.length
  }
}

/** The written hashes of a window as a lookup by key. */
export function writtenByKey(w: KeyWindow): Map<Key, RowHash> | undefined {
  if (!w.keys || !w.hashes) return undefined
  const out = new Map<Key, RowHash>()
  w.keys.forEach((k, i) => out.set(k, [w.hashes![2 * i], w.hashes![2 * i + 1]]))
  return out
}

/** The source hashes of a window's rows as a lookup by key (backfilled alters). */
export function sourceByKey(w: KeyWindow): Map<Key, RowHash> | undefined {
  if (!w.keys || !w.sourceHashes) return undefined
  const out = new Map<Key, RowHash>()
  w.keys.forEach((k, i) => out.set(k, [w.sourceHashes![2 * i], w.sourceHashes![2 * i + 1]]))
  return out
}

function packed(keys: Key[], by: Map<Key, RowHash>): Uint32Array {
  const hashes = new Uint32Array(keys.length * 2)
  keys.forEach((k, i) => {
    const [h, l] = by.get(k) ?? [0, 0]
    hashes[2 * i] = h
    hashes[2 * i + 1] = l
  })
  return hashes
}

/** Records rows (in key order) as a window's written content, and (backfilled alters) each row's source hash. */
export function setWritten(
  w: KeyWindow,
  written: Map<Key, RowHash>,
  cmp: (a: Key, b: Key) => number,
  sources?: Map<Key, RowHash>,
): void {
  const keys = [...written.keys()].sort(cmp)
  w.keys = keys
  w.hashes = packed(keys, written)
  if (sources) w.sourceHashes = packed(keys, sources)
  else delete w.sourceHashes
}

/** Digest of rows by value. */
export function digestOf(rows: Row[], hasher: RowHasher): string {
  const d = new ContentDigest()
  for (const r of rows) d.add(hasher.hash(r))
  return d.toString()
}
