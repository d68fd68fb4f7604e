import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { MigrationLock } from '../../src/ledger/lock'
import { connectMilvus } from '../../src/milvus/connect'
import { cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'

/** The framework against the real Milvus engine (2.3 standalone, authentication on). */
const uri = () => inject('standaloneUri')
const token = () => inject('standaloneToken')
const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

async function freshDatabase() {
  const database = `s_${randomBytes(4).toString('hex')}`
  const admin = await connectMilvus({ uri: uri(), token: token() })
  await admin.createDatabase({ db_name: database })
  await admin.closeConnection()
  const client = await connectMilvus({ uri: uri(), token: token(), database })
  clients.push(client)
  return {
    client,
    database,
    args: (...a: string[]) => ['--uri', uri(), '--token', token(), '--database', database, ...a],
  }
}

describe('Milvus standalone 2.3 (real engine)', () => {
  it('a wrong or missing token exits 6 with a message that names the credentials problem', async () => {
    const dir = tempProject()
    const wrong = await cli(dir, ['--uri', uri(), '--token', 'root:wrong-password', 'status'])
    expect(wrong.code).toBe(6)
    expect(wrong.stderr).toContain('Milvus rejected the credentials')
    expect(wrong.stderr).toContain('hint: Check --token / MILVUS_TOKEN')
    const missing = await cli(dir, ['--uri', uri(), 'status'], { env: { MILVUS_TOKEN: '' } })
    expect(missing.code).toBe(6)
    expect(missing.stderr).toContain('Milvus rejected the credentials')
    const viaEnv = await cli(dir, ['status'], { env: { MILVUS_URI: uri(), MILVUS_TOKEN: token() } })
    expect(viaEnv.code, viaEnv.stderr).toBe(0)
  })

  it('credentials rejected while the config reads the token from an unset variable: the hint names the key, the variable and the file', async () => {
    const dir = tempProject()
    fs.rmSync(path.join(dir, 'mvmigrate.config.json'))
    fs.writeFileSync(
      path.join(dir, 'mvmigrate.config.ts'),
      `export default {\n  environments: {\n    prod: { uri: '${uri()}', token: process.env.PROD_TOKEN },\n  },\n}\n`,
    )
    const r = await cli(dir, ['--env', 'prod', 'status'], { env: { MILVUS_TOKEN: '', PROD_TOKEN: '' } })
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(/^error: .*Milvus rejected the credentials/)
    expect(r.stderr.split('\n').slice(1)).toEqual([
      "hint: mvmigrate.config.ts sets token from process.env.PROD_TOKEN in environment 'prod', and PROD_TOKEN is not set: set PROD_TOKEN, or pass the credentials with --token / MILVUS_TOKEN.",
      '',
    ])
    // Set, it works: the hint was about that variable.
    const ok = await cli(dir, ['--env', 'prod', 'status'], { env: { MILVUS_TOKEN: '', PROD_TOKEN: token() } })
    expect(ok.code, ok.stderr).toBe(0)
  })

  it('credentials rejected that the config file gave (read from a variable that is set): the hint names the key, the file and the variable, not --token', async () => {
    const dir = tempProject()
    fs.rmSync(path.join(dir, 'mvmigrate.config.json'))
    fs.writeFileSync(
      path.join(dir, 'mvmigrate.config.ts'),
      `export default { uri: '${uri()}', token: process.env.SA_TOKEN, environments: { ci: { token: 'root:also-wrong' } } }\n`,
    )
    const r = await cli(dir, ['status'], { env: { MILVUS_TOKEN: '', SA_TOKEN: 'root:wrong' } })
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(/^error: .*Milvus rejected the credentials/)
    expect(r.stderr.split('\n').slice(1)).toEqual([
      'hint: Check token in mvmigrate.config.ts, read from process.env.SA_TOKEN: an API key, or "user:password".',
      '',
    ])
    const ci = await cli(dir, ['--env', 'ci', 'status'], { env: { MILVUS_TOKEN: '', SA_TOKEN: 'root:wrong' } })
    expect(ci.code).toBe(6)
    expect(ci.stderr.split('\n').slice(1)).toEqual([
      'hint: Check token in mvmigrate.config.ts (environment ci): an API key, or "user:password".',
      '',
    ])
    // A token from --token: the flag is what the hint names.
    const flag = await cli(dir, ['--token', 'root:wrong', 'status'], { env: { MILVUS_TOKEN: '', SA_TOKEN: token() } })
    expect(flag.code).toBe(6)
    expect(flag.stderr.split('\n').slice(1)).toEqual([
      'hint: Check --token / MILVUS_TOKEN: an API key, or "user:password".',
      '',
    ])
    const ok = await cli(dir, ['status'], { env: { MILVUS_TOKEN: '', SA_TOKEN: token() } })
    expect(ok.code, ok.stderr).toBe(0)
  })

  it('up, status --check, down: the whole cycle with the ledger on the real engine', async () => {
    const db = await freshDatabase()
    const dir = tempProject()
    writeMigration(dir, '20260101000001_a.ts', createCollectionMigration('a'))
    writeMigration(dir, '20260101000002_b.ts', createCollectionMigration('b'))
    expect((await cli(dir, db.args('status', '--check'))).code).toBe(3)
    const up = await cli(dir, db.args('up'))
    expect(up.code, up.stderr).toBe(0)
    expect(up.stdout).toContain('Applied 2 migration(s) as batch 1')
    const st = JSON.parse((await cli(dir, db.args('status', '--json'))).stdout)
    expect(st.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'applied'])
    expect((await cli(dir, db.args('status', '--check'))).code).toBe(0)
    const d = await db.client.describeCollection({ collection_name: 'a' })
    expect(d.schema.fields.map((f) => f.name)).toEqual(['id', 'vector', 'title'])
    const down = await cli(dir, db.args('down'))
    expect(down.code, down.stderr).toBe(0)
    expect(((await db.client.listCollections()).data ?? []).map((c) => c.name).sort()).toEqual([
      '_migrations',
      '_migrations_snapshots',
    ])
  })

  it('the lock is atomic on the real engine: of 12 racing clients exactly one wins, five rounds', async () => {
    const db = await freshDatabase()
    const racers = await Promise.all(
      Array.from({ length: 12 }, () => connectMilvus({ uri: uri(), token: token(), database: db.database })),
    )
    clients.push(...racers)
    for (let round = 0; round < 5; round++) {
      const locks = racers.map((c) => new MigrationLock(c))
      const won = await Promise.all(locks.map((l, i) => l.tryAcquire(`racer ${i}`)))
      expect(won.filter(Boolean), `round ${round}`).toHaveLength(1)
      await locks[won.indexOf(true)].release()
    }
  })

  it('a repeated identical create does not hand the lock to a second runner', async () => {
    // Milvus answers "success" to a create that repeats an existing identical one. The lock must
    // not take that as ownership: the second runner's token is not in the collection.
    const db = await freshDatabase()
    const first = new MigrationLock(db.client)
    expect(await first.tryAcquire('first')).toBe(true)
    const second = new MigrationLock(db.client)
    expect(await second.tryAcquire('second')).toBe(false)
    expect((await second.holder())?.command).toBe('first')
    await first.release()
  })

  it('four `up` processes at once: every migration applied exactly once', async () => {
    const db = await freshDatabase()
    const dir = tempProject()
    writeMigration(dir, '20260101000001_a.ts', createCollectionMigration('a'))
    writeMigration(dir, '20260101000002_b.ts', createCollectionMigration('b'))
    const results = await Promise.all([1, 2, 3, 4].map(() => cli(dir, db.args('up', '--lock-timeout', '120'))))
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0])
    expect(results.filter((r) => r.stdout.includes('Applied 2 migration(s) as batch 1'))).toHaveLength(1)
    expect(results.filter((r) => r.stdout.includes('Already up to date.'))).toHaveLength(3)
  })

  it('plan refuses, as up does and with the same message, what 2.3 cannot keep (a nullable field): exit 1, nothing changed or recorded', async () => {
    const db = await freshDatabase()
    const dir = tempProject()
    writeMigration(dir, '20260101000001_docs.ts', createCollectionMigration('docs'))
    expect((await cli(dir, db.args('up'))).code).toBe(0)
    await db.client.insert({
      collection_name: 'docs',
      data: Array.from({ length: 30 }, (_, i) => ({ id: String(i + 1), vector: [i, 1, 2, 3], title: `t${i}` })),
    } as never)
    writeMigration(
      dir,
      '20260101000002_add_note.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) { await ctx.alter('docs', (t) => { t.addField({ name: 'note', type: 'VarChar', maxLength: 20, nullable: true }) }) },
})
`,
    )
    const names = async () => ((await db.client.listCollections()).data ?? []).map((c) => c.name).sort()
    const before = await names()
    const refusal =
      "error: migrations/20260101000002_add_note.ts: cannot alter 'docs' on this server: Milvus 2.3.5 does not keep nullable fields ('note'), which this step needs (it would answer OK and drop them)\n" +
      "hint: Nothing was created or changed. Nullable fields and functions need Milvus 2.5 or newer (or Milvus Lite 3): make the field non-nullable (its default or its type's zero fills it) or leave the function out, or use a newer server."
    for (const command of [['plan'], ['up', '--dry-run']]) {
      const plan = await cli(dir, db.args(...command))
      expect(plan.code, `${command.join(' ')}: ${plan.stderr}`).toBe(1)
      expect(plan.stdout).toBe('')
      expect(plan.stderr).toBe(
        `${refusal} \`mvmigrate up\` stops at this migration the same way, before it changes anything.\n`,
      )
    }
    const up = await cli(dir, db.args('up'))
    expect(up.code).toBe(1)
    expect(up.stderr).toContain(`${refusal} Nothing is recorded for this migration.\n`)
    expect(await names()).toEqual(before)
    const st = JSON.parse((await cli(dir, db.args('status', '--json'))).stdout)
    expect(st.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'pending'])

    // A collection created with a nullable field: refused by plan and up alike, before it exists.
    writeMigration(
      dir,
      '20260101000002_add_note.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({ name: 'notes', fields: [
      { name: 'id', type: 'Int64', primaryKey: true },
      { name: 'vector', type: 'FloatVector', dim: 4 },
      { name: 'note', type: 'VarChar', maxLength: 20, nullable: true },
    ] })
  },
})
`,
    )
    const createRefusal =
      "migrations/20260101000002_add_note.ts: cannot create collection 'notes' on this server: Milvus 2.3.5 does not keep nullable fields ('note'), which this step needs (it would answer OK and drop them)"
    const planCreate = await cli(dir, db.args('plan'))
    expect(planCreate.code).toBe(1)
    expect(planCreate.stderr.split('\n')[0]).toBe(`error: ${createRefusal}`)
    const upCreate = await cli(dir, db.args('up'))
    expect(upCreate.code).toBe(1)
    expect(upCreate.stderr).toContain(`error: ${createRefusal}\n`)
    expect(await names()).toEqual(before)
  })

  it('plan refuses, as up does, what 2.3 refuses outright (a second vector field, HNSW without params): exit 1, nothing changed or recorded', async () => {
    const db = await freshDatabase()
    const dir = tempProject()
    writeMigration(dir, '20260101000001_docs.ts', createCollectionMigration('docs'))
    expect((await cli(dir, db.args('up'))).code).toBe(0)
    await db.client.insert({
      collection_name: 'docs',
      data: Array.from({ length: 30 }, (_, i) => ({ id: String(i + 1), vector: [i, 1, 2, 3], title: `t${i}` })),
    } as never)
    const names = async () => ((await db.client.listCollections()).data ?? []).map((c) => c.name).sort()
    const before = await names()
    const file = '20260101000002_vector_v2.ts'
    const refusedAlike = async (message: string, hint: string) => {
      const refusal = `error: migrations/${file}: ${message}\nhint: Nothing was created or changed. ${hint}`
      for (const command of [['plan'], ['up', '--dry-run']]) {
        const plan = await cli(dir, db.args(...command))
        expect({ code: plan.code, stdout: plan.stdout, stderr: plan.stderr }).toEqual({
          code: 1,
          stdout: '',
          stderr: `${refusal} \`mvmigrate up\` stops at this migration the same way, before it changes anything.\n`,
        })
      }
      const up = await cli(dir, db.args('up'))
      expect({ code: up.code, stderr: up.stderr }).toEqual({
        code: 1,
        stderr: `-> ${file.replace('.ts', '')}\n${refusal} Nothing is recorded for this migration.\n`,
      })
      expect(await names()).toEqual(before)
      const st = JSON.parse((await cli(dir, db.args('status', '--json'))).stdout)
      expect(st.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'pending'])
    }
    const VECTORS =
      "One vector field per collection on this server: upgrade to Milvus 2.4 or newer, or keep one (new embeddings can replace a field's vectors in one alter: t.alterField(field, { dim }) with t.backfill(field, ...), docs/reembed.md; other vectors go in a collection of their own)."
    const HNSW =
      'HNSW on this server needs params: { M, efConstruction } (for example params: { M: 16, efConstruction: 200 }); or upgrade to Milvus 2.4 or newer.'

    // README's re-embed shape, with params: a second vector field.
    writeMigration(
      dir,
      file,
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => {
      t.addField({ name: 'vector_v2', type: 'FloatVector', dim: 4 })
      t.addIndex({ field: 'vector_v2', type: 'HNSW', metric: 'COSINE', params: { M: 16, efConstruction: 200 } })
      t.backfill('vector_v2', (rows) => rows.map(() => [1, 0, 0, 0]), { batchSize: 16 })
    })
  },
})
`,
    )
    await refusedAlike(
      "cannot alter 'docs' on this server: Milvus 2.3.5 allows one vector field per collection, and this one would have 2 ('vector', 'vector_v2')",
      VECTORS,
    )
    // Without params too: both said at once.
    writeMigration(
      dir,
      file,
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => {
      t.addField({ name: 'vector_v2', type: 'FloatVector', dim: 4 })
      t.addIndex({ field: 'vector_v2', type: 'HNSW', metric: 'COSINE' })
      t.backfill('vector_v2', (rows) => rows.map(() => [1, 0, 0, 0]), { batchSize: 16 })
    })
  },
})
`,
    )
    await refusedAlike(
      "cannot alter 'docs' on this server: Milvus 2.3.5 allows one vector field per collection, and this one would have 2 ('vector', 'vector_v2'); it also builds an HNSW index only with the params M and efConstruction, and the index on 'vector_v2' lacks them",
      `${VECTORS} ${HNSW}`,
    )
    // A collection created with HNSW without params.
    const create = (params: string) => `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({
      name: 'hw',
      fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 4 }],
      indexes: [{ field: 'v', type: 'HNSW', metric: 'COSINE'${params} }],
    })
  },
})
`
    writeMigration(dir, file, create(''))
    await refusedAlike(
      "cannot create collection 'hw' on this server: Milvus 2.3.5 builds an HNSW index only with the params M and efConstruction, and the index on 'v' lacks them",
      HNSW,
    )
    // With them, as the hint says: created.
    writeMigration(dir, file, create(', params: { M: 16, efConstruction: 200 }'))
    const up = await cli(dir, db.args('up'))
    expect(up.code, up.stderr).toBe(0)
    expect(await names()).toEqual([...before, 'hw'].sort())
  })

  it('plan and up warn that 2.3 crashes on an upsert leaving out a field an alter gives a default; the alter itself runs', async () => {
    const db = await freshDatabase()
    const dir = tempProject()
    writeMigration(dir, '20260101000001_docs.ts', createCollectionMigration('docs'))
    expect((await cli(dir, db.args('up'))).code).toBe(0)
    await db.client.insert({
      collection_name: 'docs',
      data: Array.from({ length: 30 }, (_, i) => ({ id: String(i + 1), vector: [i, 1, 2, 3], title: `t${i}` })),
    } as never)
    writeMigration(
      dir,
      '20260101000002_add_lang.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => {
      t.addField({ name: 'lang', type: 'VarChar', maxLength: 8, default: 'en' })
      t.addField({ name: 'rank', type: 'Int64' })
    })
  },
})
`,
    )
    const warning =
      "docs: 'lang' will have a default, and Milvus 2.3.5 crashes on an upsert that leaves out a field with a default (a panic in its proxy, \"undefined data type Int64\"), after which the server does not start again on its data: every upsert into 'docs' must send 'lang', or upgrade Milvus first (docs/milvus-differences.md)"
    const plan = await cli(dir, db.args('plan'))
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout.split('\n').filter((l) => l.startsWith('    ! '))).toEqual([`    ! ${warning}`])
    const up = await cli(dir, db.args('up'))
    expect(up.code, up.stderr).toBe(0)
    expect(up.stderr.split('\n').filter((l) => l.startsWith('warning: '))).toEqual([`warning: ${warning}`])
    // The copy sends every default itself: the rows are there, with it (no upsert here leaves it out).
    const rows = await db.client.query({
      collection_name: 'docs',
      filter: 'id in [1, 30]',
      output_fields: ['id', 'lang', 'rank'],
      consistency_level: 'Strong',
    } as never)
    expect(rows.data.map((r) => [String(r.id), r.lang, String(r.rank)]).sort()).toEqual([
      ['1', 'en', '0'],
      ['30', 'en', '0'],
    ])
  })
})
