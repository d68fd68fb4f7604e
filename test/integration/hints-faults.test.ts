import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { type LiteServer, freePort, startLiteServer } from '../../src/lite/server'
import { connectMilvus } from '../../src/milvus/connect'
import { startWriter } from '../helpers/live-app'
import { freshDatabase, milvusToken, snapshot } from '../helpers/milvus'
import { type CliResult, cli, createCollectionMigration, tempProject, writeMigration } from '../helpers/project'

/**
 * The hints of the cases only live writers (or a dead server) reach, each asserted whole against
 * the case that raises it, as test/integration/hints.test.ts does for the rest: a hint written for
 * another case shows up here. Small collections (a few hundred rows, batchSize 100): seconds each.
 */
const clients: MilvusClient[] = []
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
})

const V1 = '20260601000001'
const V2 = '20260601000002'
const ALTER = `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => t.addField({ name: 'n', type: 'Int64', default: 1 }), { batchSize: 100 })
  },
})
`
const row = (id: string, seq = 0) => ({ id, vector: [seq % 7, 1, 2, 3], title: `t${id}-${seq}` })

/** A project whose `docs` (created by V1) holds `n` rows, with V2 (an alter of docs) written but not run. */
async function seeded(n: number, alter = ALTER) {
  const db = await freshDatabase('hintsf')
  clients.push(db.client)
  const dir = tempProject()
  const args = (...a: string[]) => ['--uri', db.uri, '--database', db.database, ...a]
  writeMigration(dir, `${V1}_docs.ts`, createCollectionMigration('docs'))
  const first = await cli(dir, args('up'))
  expect(first.code, first.stderr).toBe(0)
  const keys = Array.from({ length: n }, (_, i) => String(i + 1))
  await db.client.insert({ collection_name: 'docs', data: keys.map((k) => row(k)) })
  await db.client.flush({ collection_names: ['docs'] })
  writeMigration(dir, `${V2}_grow.ts`, alter)
  return { ...db, dir, args, keys }
}

/** The database as a snapshot, but for the lock: a killed runner's lock is taken over by the next command. */
async function dataOf(client: MilvusClient) {
  const { _migrations_lock: _lock, ...rest } = await snapshot(client)
  return rest
}

/** The lines of stderr that are the error: `error:` and `hint:` (progress lines left out). */
const errorLines = (r: CliResult) => r.stderr.split('\n').filter((l) => /^(error|hint): /.test(l))

describe('hints of writers and faults fit their case', () => {
  it('up --offline with a writer: the migration is fine, run it with writers stopped or online (exit 1)', async () => {
    const s = await seeded(300)
    const app = await connectMilvus({ uri: s.uri, database: s.database, token: milvusToken() })
    clients.push(app)
    const writer = startWriter({
      client: app,
      collection: 'docs',
      keys: s.keys,
      row,
      rate: 100,
      mix: { upsert: 0, insert: 1, delete: 0 },
    })
    // A copy slowed to ~100 ms a page (3 pages): the writer's inserts land while it runs.
    const r = await cli(s.dir, s.args('up', '--offline'), {
      env: { MVMIGRATE_FAILPOINTS: 'alter:after-page=sleep:100' },
    })
    const log = await writer.stop()
    expect(log.acknowledged.insert).toBeGreaterThan(0)
    expect(r.code, r.stderr).toBe(1)
    const lines = errorLines(r)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(
      new RegExp(
        `^error: Migration migrations/${V2}_grow\\.ts failed: Writers were active: 'docs' was written to while this offline alter copied it \\(\\d+ rows before, \\d+ after the copy\\); the swap was aborted, the copy dropped, and 'docs' is untouched$`,
      ),
    )
    expect(lines[1]).toBe(
      'hint: The migration is fine. Run it again with writers stopped, or online (the default: without --offline), which catches up with the writes. An alter that changes the primary key or gives new ids is always offline. It is recorded as failed until `mvmigrate up` runs it again.',
    )
    // Untouched, as it says: no n field, no copy left, every acknowledged write there.
    const spec = await s.client.describeCollection({ collection_name: 'docs' })
    expect(spec.schema.fields.map((f) => f.name).sort()).toEqual(['id', 'title', 'vector'])
    const names = (await s.client.listCollections()).data.map((c) => c.name)
    expect(names.filter((n) => n.startsWith('docs'))).toEqual(['docs'])
    const count = await s.client.query({
      collection_name: 'docs',
      filter: 'id > 0',
      output_fields: ['count(*)'],
      consistency_level: 'Strong',
    } as never)
    expect(Number(count.data[0]['count(*)'])).toBe(300 + log.acknowledged.insert)
  })

  it('down after rows were written since the alter: choose --carry-writes or --discard-writes (exit 4)', async () => {
    const s = await seeded(200)
    const up = await cli(s.dir, s.args('up'))
    expect(up.code, up.stderr).toBe(0)
    // The application writes from a connection of its own (the test's client cached the old schema).
    const app = await connectMilvus({ uri: s.uri, database: s.database, token: milvusToken() })
    clients.push(app)
    await app.insert({ collection_name: 'docs', data: [{ ...row('5001'), n: 9 }] })
    await app.delete({ collection_name: 'docs', filter: 'id in [7]' })
    const before = await snapshot(s.client)
    const r = await cli(s.dir, s.args('down'))
    expect({ code: r.code, lines: errorLines(r) }).toEqual({
      code: 4,
      lines: [
        `error: Cannot roll back migrations/${V2}_grow.ts: 2 row(s) of 'docs' written since the alter (1 inserted, 1 deleted, 0 changed; keys +5001 -7). Undoing the alter would swap the backup back in without them.`,
        'hint: Nothing was undone. Choose: --carry-writes copies those rows back into the restored collection (converted back) and deletes there what was deleted since; --discard-writes rolls back anyway and keeps them only in the leftover collection.',
      ],
    })
    expect(await snapshot(s.client)).toEqual(before)
  })

  it('down --carry-writes with a written row the old schema cannot hold: fix or delete it, or --discard-writes (exit 4)', async () => {
    const s = await seeded(
      200,
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) { await ctx.alter('docs', (t) => t.alterField('title', { maxLength: 400 }), { batchSize: 100 }) },
})
`,
    )
    const up = await cli(s.dir, s.args('up'))
    expect(up.code, up.stderr).toBe(0)
    const app = await connectMilvus({ uri: s.uri, database: s.database, token: milvusToken() })
    clients.push(app)
    await app.insert({ collection_name: 'docs', data: [{ ...row('5001'), title: 'x'.repeat(300) }] })
    const before = await snapshot(s.client)
    const r = await cli(s.dir, s.args('down', '--carry-writes'))
    expect({ code: r.code, lines: errorLines(r) }).toEqual({
      code: 4,
      lines: [
        "error: cannot carry the row with key 5001 back: field 'title': 300 bytes do not fit in maxLength 200",
        'hint: Nothing was changed. Fix or delete that row in the altered collection, or roll back with --discard-writes to keep such rows only in the leftover collection.',
      ],
    })
    expect(await snapshot(s.client)).toEqual(before)
  })

  it('down --carry-writes while a writer still writes: stop writers, then --carry-writes again (exit 1)', async () => {
    const s = await seeded(200)
    const up = await cli(s.dir, s.args('up'))
    expect(up.code, up.stderr).toBe(0)
    const app = await connectMilvus({ uri: s.uri, database: s.database, token: milvusToken() })
    clients.push(app)
    const writer = startWriter({
      client: app,
      collection: 'docs',
      keys: s.keys,
      row,
      rate: 300,
      mix: { upsert: 0, insert: 1, delete: 0 },
    })
    await new Promise((r) => setTimeout(r, 300))
    const r = await cli(s.dir, s.args('down', '--carry-writes'))
    const log = await writer.stop()
    expect(r.code, r.stderr).toBe(1)
    const lines = errorLines(r)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(
      new RegExp(
        `^error: Rolling back migrations/${V2}_grow\\.ts failed: after carrying writes back, 'docs__mvm_bak_${V2}' holds \\d+ rows and 'docs' \\d+, with different keys; nothing was swapped$`,
      ),
    )
    expect(lines[1]).toBe(
      'hint: It stays recorded as applied. Stop writers to the collection while rolling back, then roll back with --carry-writes again (it carries only what is still missing).',
    )
    // As it says: nothing swapped (docs is still the altered collection), and with the writer
    // stopped, --carry-writes again rolls back with every row.
    const spec = await s.client.describeCollection({ collection_name: 'docs' })
    expect(spec.schema.fields.map((f) => f.name)).toContain('n')
    const again = await cli(s.dir, s.args('down', '--carry-writes'))
    expect(again.code, again.stderr).toBe(0)
    const after = await s.client.query({
      collection_name: 'docs',
      filter: 'id > 0',
      output_fields: ['count(*)'],
      consistency_level: 'Strong',
    } as never)
    expect(Number(after.data[0]['count(*)'])).toBe(200 + log.acknowledged.insert)
  })

  it('down --carry-writes after an alter that retyped the primary key: rows cannot be matched, so --discard-writes or an alter back (exit 4)', async () => {
    const s = await seeded(
      200,
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => t.alterField('id', { type: 'VarChar', maxLength: 20, convert: (v) => String(v) }), {
      batchSize: 100,
      allowPrimaryKeyChange: true,
    })
  },
})
`,
    )
    const up = await cli(s.dir, s.args('up'))
    expect(up.code, up.stderr).toBe(0)
    const app = await connectMilvus({ uri: s.uri, database: s.database, token: milvusToken() })
    clients.push(app)
    // One insert and one delete (the row count stays 200) and one upsert of new values: writes all the same.
    await app.insert({ collection_name: 'docs', data: [{ ...row('0'), id: '5001' }] })
    await app.delete({ collection_name: 'docs', filter: 'id in ["7"]' })
    await app.upsert({ collection_name: 'docs', data: [{ ...row('9'), title: 'changed since the alter' }] })
    const before = await snapshot(s.client)
    const refused = await cli(s.dir, s.args('down'))
    expect({ code: refused.code, lines: errorLines(refused) }).toEqual({
      code: 4,
      lines: [
        `error: Cannot roll back migrations/${V2}_grow.ts: 'docs' was written since the alter (200 rows now, 200 at the alter, and its rows differ from what the alter left), and its keys cannot be matched with the backup's to name or carry the rows. Undoing the alter would swap the backup back in without them.`,
        'hint: Nothing was undone. Rows cannot be carried back across a changed primary key (or new ids): --discard-writes rolls back anyway and keeps them only in the leftover collection; or write a down() that alters back with ctx.alter (it copies every row, writes included).',
      ],
    })
    const r = await cli(s.dir, s.args('down', '--carry-writes'))
    expect({ code: r.code, lines: errorLines(r) }).toEqual({
      code: 4,
      lines: [
        "error: cannot carry writes of 'docs' back: the alter changed the primary key type, so its rows cannot be matched with the backup's",
        'hint: Nothing was changed. Roll back with --discard-writes (the rows stay in the leftover collection), or write a down() that alters back with ctx.alter.',
      ],
    })
    expect(await snapshot(s.client)).toEqual(before)
    // Discarded: every row of the set-aside collection counts as its own, so prune keeps it unless told.
    const discarded = await cli(s.dir, s.args('down', '--discard-writes'))
    expect(discarded.code, discarded.stderr).toBe(0)
    expect(discarded.stdout).toContain(
      'WARNING: rows written to docs since the alter (which, its changed keys cannot tell) were NOT carried back',
    )
    const status = JSON.parse((await cli(s.dir, s.args('status', '--json'))).stdout)
    expect(status.backups).toMatchObject([{ collection: `docs__mvm_undone_${V2}`, kind: 'undone', uniqueRows: 200 }])
    expect((await cli(s.dir, s.args('prune', '--yes'))).code).toBe(4)
  })

  it('an online alter outrun by writers: run it when writes are slower (exit 1)', async () => {
    const s = await seeded(200)
    const app = await connectMilvus({ uri: s.uri, database: s.database, token: milvusToken() })
    clients.push(app)
    const writer = startWriter({
      client: app,
      collection: 'docs',
      keys: s.keys,
      row,
      rate: 300,
      mix: { upsert: 1, insert: 0, delete: 0 },
    })
    // A slow copy and slow catch-up passes (~0.5 s a page): the writer rewrites most rows during each.
    const r = await cli(s.dir, s.args('up'), {
      env: { MVMIGRATE_FAILPOINTS: 'alter:after-page=sleep:500,alter:catch-up-page=sleep:500' },
    })
    const log = await writer.stop()
    expect(r.code, r.stderr).toBe(1)
    const lines = errorLines(r)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(
      new RegExp(
        `^error: Migration migrations/${V2}_grow\\.ts failed: 'docs' changes faster than the alter can catch up: catch-up pass \\d+ had to write \\d+ of the 200 rows it read again \\(about \\d+ rows written a second, while a pass reads \\d+ rows a second\\); the copy was dropped and 'docs' is untouched$`,
      ),
    )
    expect(lines[1]).toBe(
      'hint: Run the migration when writes are slower, or pause the busiest writer while it runs. It is recorded as failed until `mvmigrate up` runs it again.',
    )
    // Untouched, as it says: no n field, no copy left, every acknowledged write there.
    const spec = await s.client.describeCollection({ collection_name: 'docs' })
    expect(spec.schema.fields.map((f) => f.name).sort()).toEqual(['id', 'title', 'vector'])
    const names = (await s.client.listCollections()).data.map((c) => c.name)
    expect(names.filter((n) => n.startsWith('docs'))).toEqual(['docs'])
    const now = await s.client.query({
      collection_name: 'docs',
      filter: 'id > 0',
      output_fields: ['title'],
      limit: 1000,
      consistency_level: 'Strong',
    } as never)
    const titles = new Map(now.data.map((x) => [String(x.id), x.title]))
    expect(titles.size).toBe(200)
    for (const [key, expected] of log.expected) expect(titles.get(key)).toBe((expected as { title: string }).title)
  })

  it('an online alter meets a value written during it that the new schema cannot hold: handle such values (exit 1)', async () => {
    const dir0 = tempProject()
    const ready = `${dir0}/ready`
    const go = `${dir0}/go`
    // The copy's last row waits until the test has written its row, keyed below every copied key:
    // the copy (which pages on by key) does not meet it, the catch-up does.
    const s = await seeded(
      200,
      `import * as fs from 'node:fs'
import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => t.alterField('title', { maxLength: 8 }).mapRows(async (r) => {
      if (String(r.id) === '200' && !fs.existsSync(${JSON.stringify(go)})) {
        fs.writeFileSync(${JSON.stringify(ready)}, '')
        while (!fs.existsSync(${JSON.stringify(go)})) await new Promise((res) => setTimeout(res, 20))
      }
      return r
    }), { batchSize: 100 })
  },
})
`,
    )
    const app = await connectMilvus({ uri: s.uri, database: s.database, token: milvusToken() })
    clients.push(app)
    const running = cli(s.dir, s.args('up'))
    const t0 = Date.now()
    while (!fs.existsSync(ready) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20))
    await app.insert({ collection_name: 'docs', data: [{ ...row('-7'), title: 'too long for eight' }] })
    fs.writeFileSync(go, '')
    const r = await running
    expect({ code: r.code, lines: errorLines(r) }).toEqual({
      code: 1,
      lines: [
        `error: Migration migrations/${V2}_grow.ts failed: The row with key -7 of 'docs' (written during the alter) would store "too long for eight" in field 'title': 18 characters do not fit in maxLength 8`,
        'hint: Make the converter or backfill handle such values (or fix that row in the source), then run the migration again. The source is untouched. It is recorded as failed until `mvmigrate up` runs it again.',
      ],
    })
    // Untouched, as it says: the old maxLength, and the row as written.
    const spec = await s.client.describeCollection({ collection_name: 'docs' })
    const title = spec.schema.fields.find((f) => f.name === 'title')
    expect(title?.type_params.find((p) => p.key === 'max_length')?.value).toBe('200')
    const written = await s.client.query({
      collection_name: 'docs',
      filter: 'id == -7',
      output_fields: ['title'],
      consistency_level: 'Strong',
    } as never)
    expect(written.data.map((x) => x.title)).toEqual(['too long for eight'])
  })
})

describe('hints of a server gone mid-run fit their case', () => {
  it('the server stops while a migration runs: nothing recorded, up runs it again when the server is back (exit 6)', async () => {
    const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-hintsf-')), 'milvus')
    const port = await freePort()
    let server: LiteServer = await startLiteServer({ binary: inject('liteBinary'), dataDir, port })
    try {
      const dir = tempProject()
      const ready = path.join(dir, 'ready')
      const go = path.join(dir, 'go')
      // up() waits (as for an embedding service) until the server is gone, then makes its first call.
      writeMigration(
        dir,
        `${V1}_tags.ts`,
        `import * as fs from 'node:fs'
import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) {
  fs.writeFileSync(${JSON.stringify(ready)}, '')
  while (!fs.existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 20))
  await ctx.createCollection({ name: 'tags', fields: [
    { name: 'id', type: 'Int64', primaryKey: true },
    { name: 'vector', type: 'FloatVector', dim: 4 },
  ], indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }] })
} })
`,
      )
      const running = cli(dir, ['--uri', server.uri, 'up'])
      const t0 = Date.now()
      while (!fs.existsSync(ready) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20))
      process.kill(server.pid, 'SIGKILL')
      fs.writeFileSync(go, '')
      const r = await running
      const lines = errorLines(r)
      expect(r.code, r.stderr).toBe(6)
      expect(lines).toHaveLength(2)
      // The SDK's own words (its retry timings) follow "did not answer"; the rest is ours, whole.
      expect(lines[0]).toMatch(
        new RegExp(
          `^error: Migration migrations/${V1}_tags\\.ts stopped: list collections: the Milvus server did not answer \\(.+\\)$`,
        ),
      )
      expect(lines[1]).toBe(
        'hint: Nothing is recorded as applied for it. When the server is back, `mvmigrate up` runs it again from the start; an alter it interrupted continues from its checkpoint (run `mvmigrate status` to see it).',
      )
      // As it says: back on the same data, nothing is recorded and up runs it.
      server = await startLiteServer({ binary: inject('liteBinary'), dataDir, port })
      const st = await cli(dir, ['--uri', server.uri, 'status'])
      expect(st.stdout).toMatch(new RegExp(`^${V1} +tags +pending$`, 'm'))
      // The lock the stopped run could not release is taken over by the next up on this machine.
      const again = await cli(dir, ['--uri', server.uri, 'up'])
      expect(again.code, again.stderr).toBe(0)
      const c = await connectMilvus({ uri: server.uri })
      expect((await c.hasCollection({ collection_name: 'tags' })).value).toBe(true)
      await c.closeConnection()
    } finally {
      await server.stop()
    }
  })
  it('the server stops while down runs: it stays applied, down again when the server is back (exit 6)', async () => {
    const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-hintsf-')), 'milvus')
    const port = await freePort()
    let server: LiteServer = await startLiteServer({ binary: inject('liteBinary'), dataDir, port })
    try {
      const dir = tempProject()
      const ready = path.join(dir, 'ready')
      const go = path.join(dir, 'go')
      // down() waits until the server is gone, then makes its first call.
      writeMigration(
        dir,
        `${V1}_tags.ts`,
        `import * as fs from 'node:fs'
import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({ name: 'tags', fields: [
      { name: 'id', type: 'Int64', primaryKey: true },
      { name: 'vector', type: 'FloatVector', dim: 4 },
    ], indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }] })
  },
  async down(ctx) {
    fs.writeFileSync(${JSON.stringify(ready)}, '')
    while (!fs.existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 20))
    await ctx.dropCollection('tags')
  },
})
`,
      )
      const up = await cli(dir, ['--uri', server.uri, 'up'])
      expect(up.code, up.stderr).toBe(0)
      const running = cli(dir, ['--uri', server.uri, 'down'])
      const t0 = Date.now()
      while (!fs.existsSync(ready) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20))
      process.kill(server.pid, 'SIGKILL')
      fs.writeFileSync(go, '')
      const r = await running
      const lines = errorLines(r)
      expect(r.code, r.stderr).toBe(6)
      expect(lines).toHaveLength(2)
      expect(lines[0]).toMatch(
        new RegExp(
          `^error: Rolling back migrations/${V1}_tags\\.ts stopped: .+: the Milvus server did not answer \\(.+\\)$`,
        ),
      )
      expect(lines[1]).toBe(
        'hint: It stays recorded as applied. When the server is back, run `mvmigrate down` again: an alter back that was copying continues from its checkpoint.',
      )
      // As it says: back on the same data, it is applied, tags is there, and down undoes it.
      server = await startLiteServer({ binary: inject('liteBinary'), dataDir, port })
      const st = await cli(dir, ['--uri', server.uri, 'status'])
      expect(st.stdout).toMatch(new RegExp(`^${V1} +tags +applied`, 'm'))
      const again = await cli(dir, ['--uri', server.uri, 'down'])
      expect(again.code, again.stderr).toBe(0)
      const c = await connectMilvus({ uri: server.uri })
      expect((await c.hasCollection({ collection_name: 'tags' })).value).toBe(false)
      await c.closeConnection()
    } finally {
      await server.stop()
    }
  })
})

describe('hints after a killed runner (SIGKILL failpoints) fit their case', () => {
  it('resolve after a run killed half-way through the swap: up finishes the swap (exit 4)', async () => {
    const s = await seeded(200)
    const killed = await cli(s.dir, s.args('up'), { env: { MVMIGRATE_FAILPOINTS: 'alter:between-renames' } })
    expect(killed.code, killed.stderr).toBe(-1)
    const before = await dataOf(s.client)
    for (const as of ['--rolled-back', '--applied']) {
      const r = await cli(s.dir, s.args('resolve', V2, as))
      expect({ as, code: r.code, lines: errorLines(r) }).toEqual({
        as,
        code: 4,
        lines: [
          `error: Cannot resolve ${V2}_grow: its alter of 'docs' stopped half-way through the swap`,
          'hint: Nothing was changed. To finish the swap (no copy), run `mvmigrate up`; then, if you want it undone, run `mvmigrate down`.',
        ],
      })
    }
    expect(await dataOf(s.client)).toEqual(before)
    // As it says: up finishes the swap.
    const up = await cli(s.dir, s.args('up'))
    expect(up.code, up.stderr).toBe(0)
    const spec = await s.client.describeCollection({ collection_name: 'docs' })
    expect(spec.schema.fields.map((f) => f.name)).toContain('n')
  })

  it('resolve --applied after a run killed mid-copy: up continues the copy, or resolve it as rolled back (exit 4)', async () => {
    const s = await seeded(300)
    const killed = await cli(s.dir, s.args('up'), { env: { MVMIGRATE_FAILPOINTS: 'alter:after-page=2' } })
    expect(killed.code, killed.stderr).toBe(-1)
    const before = await dataOf(s.client)
    const r = await cli(s.dir, s.args('resolve', V2, '--applied'))
    expect({ code: r.code, lines: errorLines(r) }).toEqual({
      code: 4,
      lines: [
        `error: Cannot mark ${V2}_grow as applied: its alter of 'docs' never swapped (the collection is not altered)`,
        'hint: Nothing was changed. `mvmigrate up` continues that alter from its checkpoint; or resolve it as rolled back (--rolled-back), which drops the partial copy.',
      ],
    })
    expect(await dataOf(s.client)).toEqual(before)
  })
})
