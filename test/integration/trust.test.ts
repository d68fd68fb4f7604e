import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MvmError } from '../../src/errors'
import { Migrator } from '../../src/migrator'
import { connectMilvus } from '../../src/milvus/connect'
import { freshDatabase, lacks, milvusToken, snapshot } from '../helpers/milvus'
import { cli, tempProject, writeMigration } from '../helpers/project'
import { record } from '../helpers/reliability'

/**
 * The paths a real team walks around an alter, where a row could be lost or a half-done step be
 * reported as done: rows written after an alter and then `down`, repeated up/down cycles, `down`
 * after `prune`, a missing `await`, and the messages a newcomer meets.
 */
const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

const V1 = '20260501000001'
const V2 = '20260501000002'
const nulls = () => !lacks('nullable')
const autoIds = () => !lacks('keepAutoIdKeys')

const CREATE = () => `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({ name: 'docs', enableDynamicField: true, fields: [
      { name: 'id', type: 'Int64', primaryKey: true, autoId: ${autoIds()} },
      { name: 'vector', type: 'FloatVector', dim: 4 },
      { name: 'text', type: 'VarChar', maxLength: 200 },
      { name: 'year', type: 'VarChar', maxLength: 4 },
      { name: 'legacy_tag', type: 'VarChar', maxLength: 16, nullable: ${nulls()} },
    ], indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }] })
  },
  async down(ctx) { await ctx.dropCollection('docs') },
})
`
/** Adds a field, drops one, renames one and retypes one: every way back has to be converted. */
const ALTER = `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => {
      t.addField({ name: 'page_num', type: 'Int64', default: 0 })
      t.dropField('legacy_tag')
      t.renameField('text', 'body')
      t.alterField('year', { type: 'Int64', convert: (v) => Number(v) })
    })
  },
})
`

function rows(n: number, offset = 0) {
  return Array.from({ length: n }, (_, j) => {
    const i = offset + j
    return {
      ...(autoIds() ? {} : { id: String(i * 7 + 3) }),
      vector: [Math.fround(Math.sin(i)), Math.fround(Math.cos(i)), i % 3, 1],
      text: `text ${i}`,
      year: String(1990 + (i % 30)),
      legacy_tag: i % 2 ? 'old' : nulls() ? null : '',
      ...(i % 5 ? {} : { dyn: i }),
    }
  })
}

async function readAll(client: MilvusClient, collection: string) {
  const res = await client.query({
    collection_name: collection,
    filter: '',
    output_fields: ['*'],
    limit: 16384,
    consistency_level: 'Strong',
  } as never)
  return new Map((res.data as Record<string, unknown>[]).map((r) => [String(r.id), r]))
}

/** A fresh database and a project pointed at it. */
async function project(prefix: string) {
  const db = await freshDatabase(prefix)
  clients.push(db.client)
  const dir = tempProject()
  const args = (...a: string[]) => ['--uri', db.uri, '--database', db.database, ...a]
  return { ...db, dir, args }
}

/** A project whose docs collection was created by V1 and holds `n` rows. */
async function seeded(prefix: string, n: number) {
  const p = await project(prefix)
  writeMigration(p.dir, `${V1}_create.ts`, CREATE())
  expect((await cli(p.dir, p.args('up'))).code).toBe(0)
  for (let b = 0; b < n; b += 1000)
    await p.client.insert({ collection_name: 'docs', data: rows(Math.min(1000, n - b), b) })
  return p
}

/** A project whose docs collection has 2,000 rows and has been altered by V2. */
async function altered(n = 2000) {
  const { dir, args, ...db } = await seeded('trust', n)
  const before = await readAll(db.client, 'docs')
  writeMigration(dir, `${V2}_alter_docs.ts`, ALTER)
  const up = await cli(dir, args('up'))
  expect(up.code, up.stderr).toBe(0)
  // The application's writes after the alter come from a connection of its own (the test's client
  // holds the SDK's cached schema of the collection as it was before the alter).
  const app = await connectMilvus({ uri: db.uri, database: db.database, token: milvusToken() })
  clients.push(app)
  return { ...db, dir, args, before, app }
}

/** Inserts rows as the application would, and returns their keys (checking the server stored them). */
async function write(client: MilvusClient, data: Record<string, unknown>[]): Promise<string[]> {
  const res = await client.insert({ collection_name: 'docs', data } as never)
  expect(res.status.error_code, res.status.reason).toBe('Success')
  expect(Number(res.insert_cnt)).toBe(data.length)
  return (res.IDs as { int_id: { data: unknown[] } }).int_id.data.map(String)
}

const newRow = (id: string, body: string, year: string) => ({
  ...(autoIds() ? {} : { id }),
  vector: [0.5, 0.25, 2, 1],
  body,
  year,
  page_num: '7',
  dyn2: 'x',
})

describe('rows written after an alter, then down (item 1)', () => {
  it('down refuses, naming the rows and the choices; --carry-writes copies them back converted and deletes what was deleted since', async () => {
    const s = await altered()
    const [newId] = await write(s.app, [newRow('900001', 'written after', '2031')])
    const gone = [...s.before.keys()][17]
    await s.app.delete({ collection_name: 'docs', filter: `id in [${gone}]` })

    // status lists the backup with its rows
    const st = await cli(s.dir, s.args('status'))
    expect(st.stdout).toMatch(new RegExp(`docs__mvm_bak_${V2}  backup of docs, migration ${V2}: ~?2000 rows`))

    const snap = await snapshot(s.client)
    const refused = await cli(s.dir, s.args('down'))
    expect(refused.code, refused.stderr).toBe(4)
    expect(refused.stderr).toContain("2 row(s) of 'docs' written since the alter (1 inserted, 1 deleted")
    expect(refused.stderr).toContain('--carry-writes')
    expect(refused.stderr).toContain('--discard-writes')
    expect(refused.stderr).toContain('Nothing was undone')
    expect(await snapshot(s.client)).toEqual(snap)

    const carried = await cli(s.dir, s.args('down', '--carry-writes'))
    expect(carried.code, carried.stderr).toBe(0)
    expect(carried.stdout).toContain('(1 inserted, 1 deleted, 0 changed) were carried back')
    const now = await readAll(s.client, 'docs')
    expect(now.size).toBe(2000)
    expect(now.has(gone)).toBe(false)
    const back = now.get(newId)!
    expect(back).toBeDefined()
    // renamed back, retyped back, added field left out, dropped field restored empty, dynamic key kept
    expect(back.text).toBe('written after')
    expect(back.year).toBe('2031')
    expect(back.body).toBeUndefined()
    expect(back.page_num).toBeUndefined()
    expect(back.legacy_tag).toBe(nulls() ? null : '')
    expect((back.$meta as Record<string, unknown> | undefined)?.dyn2 ?? back.dyn2).toBe('x')
    for (const [id, old] of s.before) {
      if (id === gone) continue
      for (const k of ['text', 'year', 'legacy_tag', 'vector', '$meta'])
        expect(now.get(id)?.[k], `${id}.${k}`).toEqual(old[k])
    }
    // the set-aside collection holds nothing that exists nowhere else, so prune takes it without being
    // told; also after the application deletes rows of the restored collection (the set-aside rows
    // are then old rows, not writes that exist nowhere else)
    await s.app.delete({ collection_name: 'docs', filter: `id in [${[...now.keys()].slice(0, 3).join(', ')}]` })
    const status = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(status.backups).toMatchObject([
      { collection: `docs__mvm_undone_${V2}`, kind: 'undone', rows: 2000, uniqueRows: 0 },
    ])
    const pruned = await cli(s.dir, s.args('prune', '--yes'))
    expect(pruned.code, pruned.stderr).toBe(0)
    record({ faultsInjected: 1, recovered: 1, rowsChecked: 2000, rowsLost: 2000 - now.size })
  })

  it('--discard-writes rolls back loudly; status and prune count the rows that exist nowhere else, and prune keeps them unless told', async () => {
    const s = await altered(600)
    await write(s.app, [newRow('900002', 'only in the leftover', '2030'), newRow('900003', 'me too', '2029')])
    const down = await cli(s.dir, s.args('down', '--discard-writes'))
    expect(down.code, down.stderr).toBe(0)
    expect(down.stdout).toContain('WARNING: 2 row(s) written to docs since the alter were NOT carried back')
    expect(down.stderr).toContain('rolled back WITHOUT them (discarding writes)')
    expect((await readAll(s.client, 'docs')).size).toBe(600)

    const st = await cli(s.dir, s.args('status'))
    expect(st.stdout).toContain(
      `docs__mvm_undone_${V2}  undone of docs, migration ${V2}: 602 rows, 2 exist nowhere else`,
    )
    // The dry run answers as the real run does: the same refusal, the same exit code, nothing changed
    // (a leftover it loaded to count is released again).
    const loadStates = async () =>
      Object.fromEntries(
        await Promise.all(
          ['docs', `docs__mvm_undone_${V2}`].map(
            async (c) => [c, (await s.client.getLoadState({ collection_name: c })).state] as const,
          ),
        ),
      )
    await s.client.releaseCollection({ collection_name: `docs__mvm_undone_${V2}` })
    const loaded = await loadStates()
    const snap = await snapshot(s.client)
    const refusal = [
      `error: prune would delete rows that exist nowhere else: 'docs__mvm_undone_${V2}' (2 of its 602 rows exist nowhere else)`,
      'hint: Nothing was dropped. Copy the rows you need out of it first, or prune --discard-writes to drop them anyway.',
    ]
    const dry = await cli(s.dir, s.args('prune', '--dry-run'))
    expect(dry.code, dry.stdout + dry.stderr).toBe(4)
    expect(dry.stdout).toBe('')
    expect(dry.stderr.trim().split('\n')).toEqual(refusal)
    expect(await snapshot(s.client)).toEqual(snap)
    expect(await loadStates()).toEqual(loaded)
    const refused = await cli(s.dir, s.args('prune', '--yes'))
    expect(refused.code, refused.stderr).toBe(4)
    expect(refused.stderr.trim().split('\n')).toEqual(refusal)
    expect(await snapshot(s.client)).toEqual(snap)
    // With --discard-writes the dry run lists what the real run then drops.
    const dryForced = await cli(s.dir, s.args('prune', '--dry-run', '--discard-writes'))
    expect(dryForced.code, dryForced.stderr).toBe(0)
    expect(dryForced.stdout).toContain(
      `Would drop 1 collection(s):\n  docs__mvm_undone_${V2}  undone of docs, migration ${V2}: 602 rows, 2 exist nowhere else`,
    )
    expect(await snapshot(s.client)).toEqual(snap)
    const forced = await cli(s.dir, s.args('prune', '--yes', '--discard-writes'))
    expect(forced.code, forced.stderr).toBe(0)
    expect(
      ((await s.client.listCollections()).data ?? []).map((c) => c.name).filter((n) => n.includes('__mvm_')),
    ).toEqual([])
    record({ badInputs: 2 })
  })

  it('a row that cannot be converted back stops --carry-writes before anything changes, naming the row and the field', async () => {
    const s = await altered(300)
    const [id] = await write(s.app, [newRow('900004', 'too long a year', '123456')])
    const snap = await snapshot(s.client)
    const r = await cli(s.dir, s.args('down', '--carry-writes'))
    expect(r.code, r.stderr).toBe(4)
    expect(r.stderr).toContain(
      `cannot carry the row with key ${id} back: field 'year': 6 bytes do not fit in maxLength 4`,
    )
    expect(await snapshot(s.client)).toEqual(snap)
    record({ badInputs: 1 })
  })

  /** Upserts one existing row of the altered collection with a new body, as the application would. */
  async function upsertBody(s: Awaited<ReturnType<typeof altered>>, key: string, body: string) {
    const row = (
      await s.app.query({
        collection_name: 'docs',
        filter: `id == ${key}`,
        output_fields: ['*'],
        consistency_level: 'Strong',
      } as never)
    ).data[0]
    const up = await s.app.upsert({ collection_name: 'docs', data: [{ ...row, body }] } as never)
    expect(up.status.error_code, up.status.reason).toBe('Success')
    // an upsert keeps the key (Milvus Lite does so even for auto_id collections)
    expect((await readAll(s.app, 'docs')).get(key)?.body).toBe(body)
  }

  it('values changed since the alter (an upsert of an existing key) are found by default, and carried back', async () => {
    const s = await altered(400)
    const key = [...s.before.keys()][5]
    await upsertBody(s, key, 'changed after the alter')
    const m = new Migrator({ client: s.client, migrationsDir: path.join(s.dir, 'migrations') })
    // same keys, same count: only the values tell
    const snap = await snapshot(s.client)
    const e = await m.down().catch((x) => x as MvmError)
    expect(e).toBeInstanceOf(MvmError)
    expect((e as MvmError).code).toBe('WRITES_SINCE_ALTER')
    expect((e as MvmError).message).toContain('(0 inserted, 0 deleted, 1 changed')
    expect((e as MvmError).message).toContain(`~${key}`)
    expect(await snapshot(s.client)).toEqual(snap)
    await m.down({ writes: 'carry' })
    const now = await readAll(s.client, 'docs')
    expect(now.get(key)?.text).toBe('changed after the alter')
    for (const [id, old] of s.before) if (id !== key) expect(now.get(id)?.text, id).toEqual(old.text)
    record({ faultsInjected: 1, recovered: 1 })
  })

  it('an upsert since the alter, rolled back with --discard-writes: status and prune see the row that exists nowhere else', async () => {
    const s = await altered(300)
    const key = [...s.before.keys()][9]
    await upsertBody(s, key, 'only in the leftover')
    const down = await cli(s.dir, s.args('down', '--discard-writes'))
    expect(down.code, down.stderr).toBe(0)
    expect(down.stdout).toContain('WARNING: 1 row(s) written to docs since the alter were NOT carried back')
    const st = await cli(s.dir, s.args('status'))
    expect(st.stdout).toContain(
      `docs__mvm_undone_${V2}  undone of docs, migration ${V2}: 300 rows, 1 exist nowhere else`,
    )
    const refused = await cli(s.dir, s.args('prune', '--yes'))
    expect(refused.code, refused.stderr).toBe(4)
    expect(refused.stderr).toContain(`(1 of its 300 rows exist nowhere else)`)
    record({ badInputs: 1 })
  })
})

describe('two alters of one collection rolled back in one down', () => {
  const V3 = '20260501000003'
  const RENAME_AGAIN = `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await ctx.alter('docs', (t) => t.renameField('body', 'content')) } })
`
  it("the older alter is checked against what the newer one's undo puts back: nothing written is nothing reported; a row written after both is carried back through both", async () => {
    const s = await altered(300)
    writeMigration(s.dir, `${V3}_rename_again.ts`, RENAME_AGAIN)
    expect((await cli(s.dir, s.args('up'))).code).toBe(0)
    // Nothing written since: the rollback of both needs no flag (it used to count every row of the
    // older alter as changed, comparing it with the newer alter's renamed field).
    const dry = await cli(s.dir, s.args('down', '--to', V1, '--dry-run'))
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout + dry.stderr).not.toContain('written since')
    const app = await connectMilvus({ uri: s.uri, database: s.database, token: milvusToken() })
    clients.push(app)
    const res = await app.insert({
      collection_name: 'docs',
      data: [
        {
          ...(autoIds() ? {} : { id: '900001' }),
          vector: [0.5, 0.25, 2, 1],
          content: 'after both',
          year: '2001',
          page_num: '7',
        },
      ],
    } as never)
    expect(res.status.error_code, res.status.reason).toBe('Success')
    const key = String((res.IDs as { int_id: { data: unknown[] } }).int_id.data[0])
    const refused = await cli(s.dir, s.args('down', '--to', V1))
    expect(refused.code).toBe(4)
    expect(refused.stderr).toContain('1 inserted')
    const down = await cli(s.dir, s.args('down', '--to', V1, '--carry-writes'))
    expect(down.code, down.stderr).toBe(0)
    const now = await readAll(s.client, 'docs')
    expect(now.size).toBe(301)
    expect(now.get(key)).toMatchObject({ text: 'after both', year: '2001' })
    for (const [id, old] of s.before) expect(now.get(id)?.text, id).toEqual(old.text)
  })
})

describe('up and down, again and again (item 2)', () => {
  it('any number of up/down cycles works; each revert keeps its own leftover', async () => {
    const s = await altered(200)
    for (let i = 0; i < 3; i++) {
      const down = await cli(s.dir, s.args('down'))
      expect(down.code, down.stderr).toBe(0)
      const up = await cli(s.dir, s.args('up'))
      expect(up.code, up.stderr).toBe(0)
    }
    const names = ((await s.client.listCollections()).data ?? [])
      .map((c) => c.name)
      .filter((n) => n.includes('undone'))
      .sort()
    expect(names).toEqual([`docs__mvm_undone_${V2}`, `docs__mvm_undone_${V2}_2`, `docs__mvm_undone_${V2}_3`])
    expect((await readAll(s.client, 'docs')).size).toBe(200)
    const pruned = await cli(s.dir, s.args('prune', '--yes'))
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(pruned.stdout).toContain('Dropped 4 collection(s)')
    record({ faultsInjected: 3, recovered: 3 })
  })
})

/** An alter whose down() alters back with ctx.alter, as the hint for a pruned backup advises. */
const ALTER_AND_BACK = `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => {
      t.addField({ name: 'page_num', type: 'Int64', default: 5 })
      t.renameField('text', 'body')
    })
  },
  async down(ctx) {
    await ctx.alter('docs', (t) => {
      t.dropField('page_num')
      t.renameField('body', 'text')
    })
  },
})
`

const fieldNames = async (client: MilvusClient, collection: string) =>
  (await client.describeCollection({ collection_name: collection })).schema.fields.map((f) => f.name).sort()

const collectionNames = async (client: MilvusClient) =>
  ((await client.listCollections()).data ?? []).map((c) => c.name).sort()

describe('a down() that alters back with ctx.alter, and up again', () => {
  it('down really alters back, up really alters again, every time; the backups of each stay listed', async () => {
    const { dir, args, ...db } = await seeded('back', 1500)
    const before = await readAll(db.client, 'docs')
    writeMigration(dir, `${V2}_alter.ts`, ALTER_AND_BACK)
    const original = await fieldNames(db.client, 'docs')
    const alteredFields = [...original.filter((f) => f !== 'text'), 'body', 'page_num'].sort()

    const expectAltered = async () => {
      expect(await fieldNames(db.client, 'docs')).toEqual(alteredFields)
      const now = await readAll(db.client, 'docs')
      expect(now.size).toBe(1500)
      for (const [id, r] of before) {
        const { text, ...rest } = r
        expect(now.get(id)).toEqual({ ...rest, body: text, page_num: '5' })
      }
    }
    const expectOriginal = async () => {
      expect(await fieldNames(db.client, 'docs')).toEqual(original)
      expect(await readAll(db.client, 'docs')).toEqual(before)
    }

    for (let round = 1; round <= 2; round++) {
      const up = await cli(dir, args('up'))
      expect(up.code, up.stderr).toBe(0)
      expect(up.stderr).not.toContain('already done')
      expect(up.stderr).toContain('1500 rows copied')
      await expectAltered()
      const down = await cli(dir, args('down'))
      expect(down.code, down.stderr).toBe(0)
      expect(down.stderr).not.toContain('already done')
      expect(down.stderr).toContain('1500 rows copied')
      await expectOriginal()
    }
    // Each alter, up's and down()'s, kept its backup under a name of its own; status lists them all.
    const backups = [`docs__mvm_bak_${V2}`, `docs__mvm_bak_${V2}_2`, `docs__mvm_bak_${V2}_3`, `docs__mvm_bak_${V2}_4`]
    expect((await collectionNames(db.client)).filter((n) => n.includes('__mvm_'))).toEqual(backups)
    const st = await cli(dir, args('status'))
    for (const b of backups) expect(st.stdout).toMatch(new RegExp(`${b}  backup of docs, migration ${V2}: ~?1500 rows`))
    expect(st.stdout).toContain('1 pending')
    const pruned = await cli(dir, args('prune', '--yes'))
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(pruned.stdout).toContain('Dropped 4 collection(s)')
    await expectOriginal()
  })

  it('a migration that creates and alters a collection runs its alter again after down dropped the collection', async () => {
    const { dir, args, ...db } = await project('again')
    writeMigration(
      dir,
      `${V1}_create_and_alter.ts`,
      CREATE().replace(
        "indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }] })",
        `indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }] })
    await ctx.insert('docs', ${JSON.stringify(rows(300))})
    await ctx.alter('docs', (t) => t.addField({ name: 'page_num', type: 'Int64', default: 9 }))`,
      ),
    )
    for (let round = 1; round <= 2; round++) {
      const up = await cli(dir, args('up'))
      expect(up.code, up.stderr).toBe(0)
      expect(up.stderr).not.toContain('already done')
      expect(await fieldNames(db.client, 'docs')).toContain('page_num')
      const all = await readAll(db.client, 'docs')
      expect(all.size).toBe(300)
      expect([...all.values()].every((r) => r.page_num === '9')).toBe(true)
      const down = await cli(dir, args('down'))
      expect(down.code, down.stderr).toBe(0)
      expect(await collectionNames(db.client)).not.toContain('docs')
    }
    // The alters' backups (the collection before each alter) stay listed until pruned.
    const st = await cli(dir, args('status'))
    expect(st.stdout).toMatch(new RegExp(`docs__mvm_bak_${V1}  backup of docs, migration ${V1}: ~?300 rows`))
    expect(st.stdout).toMatch(new RegExp(`docs__mvm_bak_${V1}_2  backup of docs, migration ${V1}: ~?300 rows`))
  })

  it('two alters of one collection in one up() stop at the second, saying to make it a new migration', async () => {
    const { dir, args, ...db } = await seeded('twice', 200)
    writeMigration(
      dir,
      `${V2}_twice.ts`,
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => t.addField({ name: 'a', type: 'Int64', default: 1 }))
    await ctx.alter('docs', (t) => t.addField({ name: 'b', type: 'Int64', default: 2 }))
  },
})
`,
    )
    // plan finds it without changing anything
    const snap = await snapshot(db.client)
    const plan = await cli(dir, args('plan'))
    expect(plan.code).not.toBe(0)
    expect(plan.stderr).toContain(`alters 'docs' twice`)
    expect(await snapshot(db.client)).toEqual(snap)

    const up = await cli(dir, args('up'))
    expect(up.code).toBe(1)
    expect(up.stderr).toContain(`migrations/${V2}_twice.ts: alters 'docs' twice`)
    expect(up.stderr).toContain('new migration')
    expect(up.stderr).toContain("Its alter of 'docs' finished and is kept: a retry does not run it again")
    // The first alter is done, with every row; the second changed nothing.
    const fields = await fieldNames(db.client, 'docs')
    expect(fields).toContain('a')
    expect(fields).not.toContain('b')
    expect((await readAll(db.client, 'docs')).size).toBe(200)
    record({ badInputs: 1 })
  })
})

describe('down after prune (item 3)', () => {
  it('says the backup was pruned and what to do instead', async () => {
    const s = await altered(100)
    expect((await cli(s.dir, s.args('prune', '--yes'))).code).toBe(0)
    const snap = await snapshot(s.client)
    const r = await cli(s.dir, s.args('down'))
    expect(r.code, r.stderr).toBe(4)
    expect(r.stderr).toContain(`cannot undo the alter of 'docs': its backup 'docs__mvm_bak_${V2}' was pruned`)
    expect(r.stderr).toContain('ctx.alter')
    expect(r.stderr).not.toContain('has no down()')
    expect(await snapshot(s.client)).toEqual(snap)
    record({ badInputs: 1 })
  })
})

describe('a missing await (item 5)', () => {
  it('fails the migration naming the call, lets the alter finish, records nothing as applied', async () => {
    const db = await freshDatabase('trust')
    clients.push(db.client)
    const dir = tempProject()
    writeMigration(dir, `${V1}_create.ts`, CREATE())
    const args = (...a: string[]) => ['--uri', db.uri, '--database', db.database, ...a]
    expect((await cli(dir, args('up'))).code).toBe(0)
    await db.client.insert({ collection_name: 'docs', data: rows(500) })
    writeMigration(
      dir,
      `${V2}_forgot.ts`,
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    ctx.alter('docs', (t) => { t.dropField('legacy_tag') })
  },
})
`,
    )
    const r = await cli(dir, args('up'))
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toContain(
      `${V2}_forgot.ts returned while ctx.alter('docs', …) was still running: did you forget \`await\` before ctx.alter('docs', …)?`,
    )
    const st = JSON.parse((await cli(dir, args('status', '--json'))).stdout)
    expect(st.migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'failed'])
    // the alter was not left half-done: it finished (no partial copy), every row is there
    expect(st.interrupted).toEqual([])
    const names = ((await db.client.listCollections()).data ?? []).map((c) => c.name)
    expect(names.filter((n) => n.includes('__mvm_tmp_'))).toEqual([])
    expect((await readAll(db.client, 'docs')).size).toBe(500)
    record({ badInputs: 1 })
  })

  it('a call chained on an unawaited one is refused, and the migration fails', async () => {
    const db = await freshDatabase('trust')
    clients.push(db.client)
    const dir = tempProject()
    writeMigration(
      dir,
      `${V1}_chain.ts`,
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    ctx.createCollection({ name: 'a', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }], indexes: [{ field: 'v', type: 'FLAT', metric: 'L2' }] })
      .then(() => ctx.createCollection({ name: 'b', fields: [{ name: 'id', type: 'Int64', primaryKey: true }, { name: 'v', type: 'FloatVector', dim: 2 }] }))
  },
})
`,
    )
    const r = await cli(dir, ['--uri', db.uri, '--database', db.database, 'up'])
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toContain("did you forget `await` before ctx.createCollection({ name: 'a'")
    expect(r.stderr).not.toMatch(/UnhandledPromiseRejection|node:internal/)
    const names = ((await db.client.listCollections()).data ?? []).map((c) => c.name)
    expect(names).toContain('a')
    expect(names).not.toContain('b')
    record({ badInputs: 1 })
  })
})

describe('messages a newcomer meets (item 6)', () => {
  it('a config with several bad keys lists them all; a .ts config syntax error gives file:line:col', async () => {
    const dir = tempProject()
    fs.rmSync(path.join(dir, 'mvmigrate.config.json'))
    fs.writeFileSync(
      path.join(dir, 'mvmigrate.config.json'),
      JSON.stringify({ urii: 'http://x', lockTimeout: 'soon', lite: { dataDirr: 'd' } }),
    )
    const r = await cli(dir, ['status'])
    expect(r.code).toBe(7)
    expect(r.stderr).toContain('has 3 problems')
    expect(r.stderr).toContain("unknown key 'urii' (did you mean 'uri'?)")
    expect(r.stderr).toContain("'lockTimeout' must be a number")
    expect(r.stderr).toContain("unknown key 'lite.dataDirr' (did you mean 'dataDir'?)")
    fs.rmSync(path.join(dir, 'mvmigrate.config.json'))
    fs.writeFileSync(
      path.join(dir, 'mvmigrate.config.ts'),
      "export default {\n  uri: 'http://localhost:19530',\n  token: ,\n}\n",
    )
    const ts = await cli(dir, ['status'])
    expect(ts.code).toBe(7)
    expect(ts.stderr).toMatch(/mvmigrate\.config\.ts:3:10: Unexpected ","/)
    record({ badInputs: 2 })
  })

  it('a misspelt field gets "did you mean"; status --json always has the lock; init keeps .mvmigrate/ out of git once', async () => {
    const s = await altered(50)
    writeMigration(
      s.dir,
      '20260501000003_typo.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) { await ctx.alter('docs', (t) => { t.dropField('bdy') }) } })
`,
    )
    const r = await cli(s.dir, s.args('up'))
    expect(r.code).toBe(8)
    expect(r.stderr).toContain("cannot drop field 'bdy': no such field (did you mean 'body'?)")
    const st = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(st).toHaveProperty('lock', null)

    const dir = tempProject()
    fs.writeFileSync(path.join(dir, '.gitignore'), 'node_modules/')
    expect((await cli(dir, ['init'])).stdout).toContain('added   .mvmigrate/ to')
    expect((await cli(dir, ['init'])).stdout).not.toContain('added')
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe(
      'node_modules/\n# mvmigrate: the embedded Milvus Lite (virtual environment and data)\n.mvmigrate/\n',
    )
    const fresh = tempProject()
    await cli(fresh, ['init'])
    expect(fs.readFileSync(path.join(fresh, '.gitignore'), 'utf8')).toContain('.mvmigrate/\n')
    record({ badInputs: 1 })
  })

  it('without a terminal, each phase of an alter ends with a line giving rows and rate', async () => {
    const db = await freshDatabase('trust')
    clients.push(db.client)
    const dir = tempProject()
    writeMigration(dir, `${V1}_create.ts`, CREATE())
    const args = (...a: string[]) => ['--uri', db.uri, '--database', db.database, ...a]
    expect((await cli(dir, args('up'))).code).toBe(0)
    await db.client.insert({ collection_name: 'docs', data: rows(700) })
    writeMigration(dir, `${V2}_alter_docs.ts`, ALTER)
    const r = await cli(dir, args('up'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('docs: copy 0/700 rows (0%)')
    expect(r.stderr).toMatch(/docs: copy done: 700 rows in \d+\.\d s \(\d+ rows\/s\)/)
    expect(r.stderr).toMatch(/docs: verify done in \d+\.\d s/)
    expect(r.stderr).toMatch(/docs: done: 700 rows copied, verified and swapped in \d+\.\d s/)
  })
})
