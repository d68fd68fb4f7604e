import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveName } from '../../src/milvus/collections'
import { MigrationContext } from '../../src/context/context'
import { silentLogger } from '../../src/context/logger'
import { MvmError } from '../../src/errors'
import type { CollectionDefinition } from '../../src/schema/definition'
import { describeCollectionSpec } from '../../src/milvus/describe'
import { Migrator } from '../../src/migrator'
import { REPO_ROOT } from '../helpers/project'
import { freshDatabase, lacks } from '../helpers/milvus'

const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

async function db() {
  const d = await freshDatabase('ctx')
  clients.push(d.client)
  return d
}

describe('the shipped example migrations (migrations/)', () => {
  it('apply, describe as declared, and roll back to an empty database; on a server without nullable fields, refused with nothing kept', async () => {
    const { client } = await db()
    const migrator = new Migrator({ client, migrationsDir: path.join(REPO_ROOT, 'migrations') })
    if (lacks('nullable') || lacks('invertedIndex') || lacks('keepAutoIdKeys')) {
      // The examples are written for current Milvus. A server without nullable fields must refuse
      // them before anything is created (known by its release): the first one names the fields,
      // nothing runs and nothing is recorded.
      await expect(migrator.up()).rejects.toMatchObject({
        code: 'UNSUPPORTED_BY_SERVER',
        message: expect.stringMatching(
          /create_documents\.ts: cannot create collection 'documents' on this server: Milvus 2\.3\.\d+ does not keep nullable fields \('metadata', 'legacy_tag'\), which this step needs/,
        ),
      })
      const left = ((await client.listCollections()).data ?? []).map((c) => c.name).sort()
      expect(left).toEqual(['_migrations'])
      expect((await migrator.status()).migrations.map((m) => `${m.name}:${m.state}`)).toEqual([
        'create_documents:pending',
        'index_and_alias_documents:pending',
        'create_feedback:pending',
        'add_page_num:pending',
      ])
      return
    }
    const res = await migrator.up()
    expect(res.migrations.map((m) => m.name)).toEqual([
      'create_documents',
      'index_and_alias_documents',
      'create_feedback',
      'add_page_num',
    ])

    const docs = await describeCollectionSpec(client, 'documents')
    expect(docs.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'id:Int64',
      'file_id:VarChar',
      'vector:FloatVector',
      'text:VarChar',
      'metadata:JSON',
      'name:VarChar',
      'page_num:VarChar',
    ])
    expect(docs.fields[0]).toMatchObject({ primaryKey: true, autoId: true })
    expect(docs.fields[2].dim).toBe(1024)
    expect(docs.fields[3].maxLength).toBe(65535)
    expect(docs.fields[4].nullable).toBe(true)
    expect(docs.enableDynamicField).toBe(true)
    expect(docs.aliases).toEqual(['documents_live'])
    expect(docs.properties['collection.ttl.seconds']).toBe(String(30 * 24 * 3600))
    expect(docs.indexes.map((i) => `${i.name}:${i.field}:${i.type}`).sort()).toEqual([
      'file_id:file_id:INVERTED',
      'vector:vector:HNSW',
    ])
    expect(docs.indexes.find((i) => i.field === 'vector')).toMatchObject({
      metric: 'COSINE',
      params: { M: 16, efConstruction: 200 },
    })

    const feedback = await describeCollectionSpec(client, 'feedback')
    expect(feedback.fields.find((f) => f.name === 'tenant')?.partitionKey).toBe(true)
    expect(feedback.fields.find((f) => f.name === 'score')?.defaultValue).toBe(0)
    // Milvus Lite does not report max_length of VarChar array elements back, so it is not asserted.
    expect(feedback.fields.find((f) => f.name === 'labels')).toMatchObject({
      type: 'Array',
      elementType: 'VarChar',
      maxCapacity: 8,
    })

    expect((await migrator.status()).backups).toMatchObject([
      {
        collection: 'documents__mvm_bak_20261126090300',
        kind: 'backup',
        version: '20261126090300',
        of: 'documents',
        rows: 0,
      },
    ])

    await migrator.down({ all: true })
    const left = ((await client.listCollections()).data ?? []).map((c) => c.name).sort()
    // The alter's result is kept (never lose rows written after it) until pruned.
    expect(left).toEqual([
      '_migrations',
      '_migrations_journal',
      '_migrations_snapshots',
      'documents__mvm_undone_20261126090300',
    ])
    expect((await migrator.prune()).map((l) => l.collection)).toEqual(['documents__mvm_undone_20261126090300'])
    expect(((await client.listCollections()).data ?? []).map((c) => c.name).sort()).toEqual([
      '_migrations',
      '_migrations_journal',
      '_migrations_snapshots',
    ])
  })
})

describe('MigrationContext helpers', () => {
  it('partitions, rename, aliases, properties, load state and insert do what they say', async () => {
    const { client } = await db()
    const ctx = new MigrationContext(
      client,
      { version: '20260101000000', name: 't', file: 'migrations/20260101000000_t.ts' },
      silentLogger,
    )
    await ctx.createCollection({
      name: 'items',
      fields: [
        { name: 'pk', type: 'Int64', primaryKey: true },
        { name: 'v', type: 'FloatVector', dim: 2 },
      ],
      indexes: [{ field: 'v', type: 'FLAT', metric: 'L2' }],
    })
    await ctx.createPartition('items', 'p1')
    expect(await ctx.insert('items', [{ pk: '9007199254740993', v: [1, 2] }], { partition: 'p1' })).toBe(1)
    expect((await ctx.describeCollection('items')).loaded).toBe(true)
    await ctx.renameCollection('items', 'things')
    // Milvus keeps the load state across a rename; Milvus Lite releases the collection. Load explicitly.
    await ctx.loadCollection('things')
    await ctx.createAlias('things', 'current')
    await ctx.createCollection({
      name: 'other',
      fields: [
        { name: 'pk', type: 'Int64', primaryKey: true },
        { name: 'v', type: 'FloatVector', dim: 2 },
      ],
    })
    await ctx.alterAlias('other', 'current')
    expect(await resolveName(client, 'current')).toEqual({ collection: 'other', alias: true })
    await ctx.dropAlias('current')
    await ctx.setProperties('things', { 'mmap.enabled': true })
    const spec = await ctx.describeCollection('things')
    expect(spec.partitions).toEqual(['p1'])
    expect(spec.properties['mmap.enabled']).toBe('true')
    expect(spec.aliases).toEqual([])
    expect(spec.loaded).toBe(true)
    const rows = await client.query({
      collection_name: 'things',
      filter: 'pk > 0',
      output_fields: ['pk'],
      partition_names: ['p1'],
      consistency_level: 'Strong' as never,
    })
    expect(rows.data.map((r) => r.pk)).toEqual(['9007199254740993'])
    // A loaded partition: Milvus 2.3 refuses to drop it until it is released; dropPartition does that.
    await ctx.dropPartition('things', 'p1')
    expect((await ctx.describeCollection('things')).partitions).toEqual([])
    const left = await client.query({
      collection_name: 'things',
      filter: '',
      output_fields: ['count(*)'],
      consistency_level: 'Strong' as never,
    })
    expect(Number(left.data[0]['count(*)'])).toBe(0) // the partition's row went with it
    await ctx.releaseCollection('things')
    expect((await ctx.describeCollection('things')).loaded).toBe(false)
  })

  it('createCollection with a BM25 function: the output field is filled by the server and described back; on a server without functions, refused with nothing kept', async () => {
    const { client } = await db()
    const ctx = new MigrationContext(
      client,
      { version: '20260101000000', name: 't', file: 'migrations/20260101000000_t.ts' },
      silentLogger,
    )
    const articles: CollectionDefinition = {
      name: 'articles',
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true, autoId: true },
        { name: 'body', type: 'VarChar', maxLength: 2000, enableAnalyzer: true },
        { name: 'sparse', type: 'SparseFloatVector' },
        { name: 'dense', type: 'FloatVector', dim: 4 },
      ],
      functions: [{ name: 'body_bm25', type: 'BM25', inputFields: ['body'], outputFields: ['sparse'] }],
      indexes: [
        { field: 'sparse', type: 'SPARSE_INVERTED_INDEX', metric: 'BM25' },
        { field: 'dense', type: 'FLAT', metric: 'L2' },
      ],
    }
    if (lacks('functions') || lacks('sparse')) {
      const create = ctx.createCollection(articles)
      // BM25 needs functions and sparse vectors (Milvus 2.3 has neither): refused, nothing created.
      await expect(create).rejects.toMatchObject({
        code: 'UNSUPPORTED_BY_SERVER',
        message: expect.stringMatching(
          /cannot create collection 'articles' on this server: Milvus 2\.3\.\d+ does not keep functions \('body_bm25'\)/,
        ),
      })
      expect((await client.listCollections()).data ?? []).toEqual([])
      return
    }
    await ctx.createCollection(articles)
    const spec = await ctx.describeCollection('articles')
    expect(spec.functions).toMatchObject([
      { name: 'body_bm25', type: 'BM25', inputFields: ['body'], outputFields: ['sparse'] },
    ])
    expect(spec.fields.find((f) => f.name === 'sparse')).toMatchObject({
      type: 'SparseFloatVector',
      functionOutput: true,
    })
    await ctx.insert('articles', [
      { body: 'vector databases store embeddings', dense: [1, 0, 0, 0] },
      { body: 'cooking pasta at home', dense: [0, 1, 0, 0] },
    ])
    const hits = await client.search({
      collection_name: 'articles',
      anns_field: 'sparse',
      data: ['embeddings'],
      limit: 1,
      metric_type: 'BM25',
      output_fields: ['body'],
      consistency_level: 'Strong',
    } as never)
    expect(hits.results[0]?.body).toBe('vector databases store embeddings')
  })

  it('failures come back as thrown errors that name the collection, not as status objects', async () => {
    const { client } = await db()
    const ctx = new MigrationContext(
      client,
      { version: '20260101000000', name: 't', file: 'migrations/20260101000000_t.ts' },
      silentLogger,
    )
    const err = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e) => e as MvmError,
      )
    const e1 = await err(ctx.dropCollection('ghost'))
    expect(e1?.message).toContain("cannot drop collection 'ghost': it does not exist")
    await expect(ctx.dropCollection('ghost', { ifExists: true })).resolves.toBeUndefined()
    const e2 = await err(ctx.renameCollection('ghost', 'spirit'))
    expect(e2).toBeInstanceOf(MvmError)
    expect(e2?.message).toContain("rename collection 'ghost' to 'spirit'")
    const e3 = await err(ctx.createIndex('ghost', { field: 'v', type: 'FLAT', metric: 'L2' }))
    expect(e3?.message).toContain("create index on 'ghost.v'")
    await ctx.createCollection({
      name: 'dup',
      fields: [
        { name: 'pk', type: 'Int64', primaryKey: true },
        { name: 'v', type: 'FloatVector', dim: 2 },
      ],
    })
    const e4 = await err(
      ctx.createCollection({
        name: 'dup',
        fields: [
          { name: 'pk', type: 'Int64', primaryKey: true },
          { name: 'v', type: 'FloatVector', dim: 2 },
        ],
      }),
    )
    expect(e4?.message).toContain("collection 'dup' already exists")
    expect(e4?.message).toContain('migrations/20260101000000_t.ts')
  })

  it('dropIndex drops that index only (Milvus Lite drops every index of a request that names no field); replaceIndex rebuilds one in place', async () => {
    const { client } = await db()
    const ctx = new MigrationContext(
      client,
      { version: '20260101000000', name: 't', file: 'migrations/20260101000000_t.ts' },
      silentLogger,
    )
    await ctx.createCollection({
      name: 'two_indexes',
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true },
        { name: 'v', type: 'FloatVector', dim: 2 },
        { name: 'title', type: 'VarChar', maxLength: 20 },
      ],
      indexes: [
        { field: 'v', type: 'FLAT', metric: 'L2' },
        { field: 'title', type: lacks('invertedIndex') ? 'Trie' : 'INVERTED' },
      ],
    })
    await ctx.dropIndex('two_indexes', 'title')
    expect((await ctx.describeCollection('two_indexes')).indexes.map((i) => i.field)).toEqual(['v'])
    await ctx.replaceIndex('two_indexes', 'v', {
      field: 'v',
      type: 'HNSW',
      metric: 'L2',
      params: { M: 8, efConstruction: 32 },
    })
    const spec = await ctx.describeCollection('two_indexes')
    expect(spec.indexes).toMatchObject([{ field: 'v', type: 'HNSW', params: { M: 8 } }])
    expect(spec.loaded).toBe(true)
  })
})
