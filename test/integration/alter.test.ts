import { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { afterAll, describe, expect, it } from 'vitest'
import { MigrationContext } from '../../src/context/context'
import { silentLogger } from '../../src/context/logger'
import { MvmError } from '../../src/errors'
import { freshDatabase, snapshot } from '../helpers/milvus'

const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

async function setup() {
  const db = await freshDatabase('alter')
  clients.push(db.client)
  const ctx = new MigrationContext(db.client, { version: '20260201000000', name: 'alter_docs', file: 'migrations/20260201000000_alter_docs.ts' }, silentLogger)
  return { ...db, ctx }
}

async function allRows(client: MilvusClient, collection: string, pk = 'id') {
  const rows: Record<string, unknown>[] = []
  const res = await client.query({ collection_name: collection, filter: '', output_fields: ['*'], limit: 16384, consistency_level: 'Strong' as never })
  rows.push(...(res.data as Record<string, unknown>[]))
  return new Map(rows.map((r) => [String(r[pk]), r]))
}

async function documents(ctx: MigrationContext, client: MilvusClient, n: number) {
  await ctx.createCollection({
    name: 'documents',
    fields: [
      { name: 'id', type: 'Int64', primaryKey: true, autoId: true },
      { name: 'file_id', type: 'VarChar', maxLength: 500 },
      { name: 'vector', type: 'FloatVector', dim: 16 },
      { name: 'text', type: 'VarChar', maxLength: 65535 },
      { name: 'metadata', type: 'JSON', nullable: true },
      { name: 'name', type: 'VarChar', maxLength: 500 },
      { name: 'legacy_tag', type: 'VarChar', maxLength: 64, nullable: true },
    ],
    indexes: [{ field: 'vector', type: 'HNSW', metric: 'COSINE', params: { M: 16, efConstruction: 64 } }],
    enableDynamicField: true,
  })
  for (let b = 0; b < n; b += 500) {
    const rows = Array.from({ length: Math.min(500, n - b) }, (_, j) => {
      const i = b + j
      return {
        file_id: `f${i % 37}`,
        vector: Array.from({ length: 16 }, (_, d) => Math.fround(Math.sin(i + d))),
        text: `text ${i}`,
        metadata: i % 5 === 0 ? null : { page: i % 9, src: 'x' },
        name: `n${i}`,
        legacy_tag: i % 3 ? 'old' : null,
        ...(i % 4 === 0 ? { extra_key: i } : {}),
      }
    })
    await ctx.insert('documents', rows)
  }
}

describe('ctx.alter: copy-and-swap', () => {
  it('the worked example: add page_num, drop legacy_tag, backfill from metadata; keys and every other value kept', async () => {
    const { client, ctx } = await setup()
    await documents(ctx, client, 3000)
    const before = await allRows(client, 'documents')
    const summary = await ctx.alter('documents', (t) => {
      t.addField({ name: 'page_num', type: 'VarChar', maxLength: 500, default: '' })
      t.dropField('legacy_tag')
      t.backfill('page_num', (row) => String((row.metadata as { page?: number } | null)?.page ?? ''))
    })
    expect(summary.rowsCopied).toBe(3000)
    expect(summary.backup).toBe('documents__mvm_bak_20260201000000')
    const after = await allRows(client, 'documents')
    expect(after.size).toBe(3000)
    for (const [id, old] of before) {
      const now = after.get(id)!
      expect(now, id).toBeDefined()
      expect(now.legacy_tag).toBeUndefined()
      expect(now.page_num).toBe(String((old.metadata as { page?: number } | null)?.page ?? ''))
      for (const k of ['file_id', 'vector', 'text', 'metadata', 'name', '$meta']) expect(now[k], `${id}.${k}`).toEqual(old[k])
    }
    const spec = await ctx.describeCollection('documents')
    expect(spec.fields.map((f) => f.name)).toEqual(['id', 'file_id', 'vector', 'text', 'metadata', 'name', 'page_num'])
    expect(spec.fields[0]).toMatchObject({ primaryKey: true, autoId: true })
    expect(spec.fields.find((f) => f.name === 'page_num')).toMatchObject({ type: 'VarChar', maxLength: 500, defaultValue: '' })
    expect(spec.indexes.map((i) => i.field)).toEqual(['vector'])
    expect(spec.loaded).toBe(true)
    expect(spec.properties.allow_insert_auto_id).toBeUndefined()
    // The backup still holds the original rows.
    await ctx.loadCollection(summary.backup)
    expect((await allRows(client, summary.backup)).size).toBe(3000)
  })
})
