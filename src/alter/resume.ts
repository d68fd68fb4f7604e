import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { flush } from '../milvus/collections'
import { deleteRows } from '../milvus/rows'
import type { FieldSpec } from '../schema/spec'
import { type Key, KeyDigest, keyComparator, keyLiteral } from './keys'
import { readKeyWindows } from './pager'

/**
 * A copy that resumes. While copying, the journal records a checkpoint after every few pages:
 * which partition, the last key written (pages are written in key order), the rows written and
 * the digest of the source keys read so far. A rerun after a crash proves the checkpoint still
 * holds before it continues after it: the source's keys up to the checkpoint digest as recorded
 * (nobody wrote there meanwhile), and the target, once the rows written after the last checkpoint
 * are deleted again, holds exactly those keys. Anything else starts the copy over, saying why.
 * The final verification still covers every row.
 */
export interface CopyCheckpoint {
  /** Index into the partitions copied one by one ('_default' first), 0 when they are not. */
  partition: number
  /** The last key written in that partition. */
  lastKey: Key
  /** Rows written up to here, over all partitions. */
  rows: number
  /** Digest of the source keys read up to here (KeyDigest.toString()). */
  keys: string
}

/** Partitions the copy walks, in order: named partitions one by one, or the whole collection. */
export type CopyPartitions = (string | undefined)[]

/** Digest of the keys a checkpoint covers: every key of the partitions before it, and the keys up to lastKey in its own. */
export async function digestUpTo(
  client: MilvusClient,
  collection: string,
  pk: FieldSpec,
  partitions: CopyPartitions,
  cp: CopyCheckpoint,
): Promise<KeyDigest> {
  const digest = new KeyDigest()
  const cmp = keyComparator(pk)
  for (let i = 0; i <= cp.partition && i < partitions.length; i++) {
    for await (const keys of readKeyWindows({ client, collection, pk, partition: partitions[i] })) {
      let past = false
      for (const k of keys) {
        if (i === cp.partition && cmp(k, cp.lastKey) > 0) {
          past = true
          break
        }
        digest.add(k)
      }
      if (past) break
    }
  }
  return digest
}

/** Deletes from the target what was written after the checkpoint: keys past lastKey in its partition, everything in later ones. */
export async function trimAfter(
  client: MilvusClient,
  target: string,
  pk: FieldSpec,
  partitions: CopyPartitions,
  cp: CopyCheckpoint,
): Promise<number> {
  let removed = 0
  for (let i = cp.partition; i < partitions.length; i++) {
    const after = i === cp.partition ? cp.lastKey : undefined
    const stale: Key[] = []
    for await (const keys of readKeyWindows({ client, collection: target, pk, partition: partitions[i], after }))
      stale.push(...keys)
    for (let b = 0; b < stale.length; b += 1000) {
      const page = stale.slice(b, b + 1000)
      await deleteRows(
        client,
        target,
        `${pk.name} in [${page.map((k) => keyLiteral(pk, k)).join(', ')}]`,
        partitions[i],
      )
    }
    removed += stale.length
  }
  if (removed) await flush(client, target)
  return removed
}

/** Why a checkpoint cannot be resumed from, or undefined when it can. */
export async function checkpointProblem(
  client: MilvusClient,
  source: { name: string; pk: FieldSpec },
  target: { name: string; pk: FieldSpec },
  partitions: CopyPartitions,
  cp: CopyCheckpoint,
  /** An online alter catches up with writes after the copy, comparing the rows copied before row by row: a changed source (or target) is no reason to start over. */
  sourceMayChange = false,
): Promise<string | undefined> {
  if (!sourceMayChange) {
    const sourceNow = await digestUpTo(client, source.name, source.pk, partitions, cp)
    if (sourceNow.toString() !== cp.keys) {
      return `the source changed where it was already copied (${KeyDigest.countOf(cp.keys)} rows then, ${sourceNow.count} now)`
    }
  }
  await trimAfter(client, target.name, target.pk, partitions, cp)
  // Online, the first catch-up pass compares every row the dead run copied with the source (its
  // own passes may have changed the partial copy since the checkpoint): nothing more to prove here.
  if (sourceMayChange) return undefined
  const targetNow = new KeyDigest()
  for (const p of partitions)
    for await (const keys of readKeyWindows({ client, collection: target.name, pk: target.pk, partition: p }))
      for (const k of keys) targetNow.add(k)
  if (targetNow.toString() !== cp.keys)
    return `the partial copy does not hold what the checkpoint says (${targetNow.count} rows, ${KeyDigest.countOf(cp.keys)} expected)`
  return undefined
}
