import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { gunzipSync, gzipSync } from 'node:zlib'
import { collectionExists, ensureLoaded } from '../milvus/collections'
import { deleteRows, queryRows, upsertRows } from '../milvus/rows'
import type { CollectionSpec } from '../schema/spec'
import { HIDDEN_VECTOR, HIDDEN_VECTOR_VALUE, ensureMetaCollection } from './meta-collection'

export const SNAPSHOT_COLLECTION = '_migrations_snapshots'
/** Characters of one chunk: under the 65,535-byte VarChar limit (base64 is ASCII). */
const CHUNK = 60_000

/** The user collections as the last migration run left them: what drift is measured against. */
export interface Snapshot {
  seq: number
  takenAt: string
  collections: CollectionSpec[]
}

/**
 * Snapshots of the schema, kept beside the ledger. A snapshot is the JSON of every user collection
 * (a normalised CollectionSpec: no rows, no load state), gzipped, base64, split into chunks of one
 * VarChar each, so its size never limits how many collections or fields a database has. A new
 * snapshot is written completely before the older ones are deleted; a reader takes the newest one
 * whose chunks are all there, so a crash while writing leaves the previous one in force.
 */
export class Snapshots {
  constructor(
    private readonly client: MilvusClient,
    readonly collection: string = SNAPSHOT_COLLECTION,
  ) {}

  private async ensure(): Promise<boolean> {
    return ensureMetaCollection(this.client, this.collection, 'mvmigrate: schema snapshots (drift detection)', [
      { name: 'id', type: 'VarChar', primaryKey: true, maxLength: 64 },
      { name: 'seq', type: 'Int64' },
      { name: 'chunk', type: 'Int64' },
      { name: 'chunks', type: 'Int64' },
      { name: 'taken_at', type: 'VarChar', maxLength: 40 },
      { name: 'data', type: 'VarChar', maxLength: 65535 },
    ])
  }

  async latest(): Promise<Snapshot | undefined> {
    if (!(await collectionExists(this.client, this.collection))) return undefined
    await ensureLoaded(this.client, this.collection)
    const heads = await queryRows(this.client, this.collection, {
      filter: 'chunk == 0',
      outputFields: ['seq', 'chunks', 'taken_at'],
      limit: 16384,
    })
    for (const head of heads.sort((a, b) => Number(b.seq) - Number(a.seq))) {
      const seq = Number(head.seq)
      const rows = await queryRows(this.client, this.collection, {
        filter: `seq == ${seq}`,
        outputFields: ['chunk', 'data'],
        limit: 16384,
      })
      if (rows.length !== Number(head.chunks)) continue // a write interrupted: the one before is in force
      const text = rows
        .sort((a, b) => Number(a.chunk) - Number(b.chunk))
        .map((r) => String(r.data))
        .join('')
      const collections = JSON.parse(gunzipSync(Buffer.from(text, 'base64')).toString('utf8')) as CollectionSpec[]
      return { seq, takenAt: String(head.taken_at), collections }
    }
    return undefined
  }

  async write(collections: CollectionSpec[]): Promise<Snapshot> {
    // Just created, it holds no snapshot: no need to wait for its load to read that.
    const created = await this.ensure()
    if (!created) await ensureLoaded(this.client, this.collection)
    const previous = created
      ? []
      : await queryRows(this.client, this.collection, {
          filter: 'chunk == 0',
          outputFields: ['seq'],
          limit: 16384,
        })
    const seq = previous.reduce((max, r) => Math.max(max, Number(r.seq)), 0) + 1
    const takenAt = new Date().toISOString()
    const text = gzipSync(Buffer.from(JSON.stringify(collections))).toString('base64')
    const chunks = Math.max(1, Math.ceil(text.length / CHUNK))
    const rows = Array.from({ length: chunks }, (_, i) => ({
      id: `${seq}/${i}`,
      seq: String(seq),
      chunk: String(i),
      chunks: String(chunks),
      taken_at: takenAt,
      data: text.slice(i * CHUNK, (i + 1) * CHUNK),
      [HIDDEN_VECTOR]: HIDDEN_VECTOR_VALUE,
    }))
    // Few rows per request: each chunk is up to 60 KB.
    for (let i = 0; i < rows.length; i += 16) await upsertRows(this.client, this.collection, rows.slice(i, i + 16))
    if (previous.length) await deleteRows(this.client, this.collection, `seq < ${seq}`)
    return { seq, takenAt, collections }
  }
}
