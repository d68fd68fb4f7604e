#!/usr/bin/env node
'use strict'
/**
 * npm run bench:online -- [--rows 100000] [--dim 768] [--rate 50] [--uri URI [--token T]] [--json FILE] [--verbose]
 * npm run bench:online:standalone -- [the same]   (starts the Milvus 2.3 standalone itself)
 *
 * The online alter against the quiet one, in one run on one server: one collection of --rows rows
 * (pk Int64, a vector of --dim, a VarChar, an Int32), altered three times by three migrations (each
 * grows the VarChar): quiet, then with an application beside it (a writer at --rate writes a second:
 * 70% upserts of existing keys, 15% inserts, 15% deletes, each retried until acknowledged, by name;
 * and a reader searching every 100 ms), then quiet again. Prints each alter's time, the online one
 * against the mean of the quiet ones, and what the online alter did: catch-up passes, rows
 * re-copied, late writes swept, conflicts, how long the name was missing, the writer's longest
 * refusal and the searches that failed; then checks every acknowledged write by key.
 */
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { benchVector } = require('./vector')

const root = path.resolve(__dirname, '..')
const lib = require(path.join(root, 'dist', 'index.js'))
const { newMilvusClient } = require(path.join(root, 'dist', 'milvus', 'connect.js'))

const { arg } = require('./args')
const ROWS = Number(arg('rows', 100000))
const DIM = Number(arg('dim', 768))
const RATE = Number(arg('rate', 50))
const URI = arg('uri', undefined)
const TOKEN = arg('token', undefined)
const JSON_OUT = arg('json', undefined)
const VERBOSE = process.argv.includes('--verbose')
const NAME = 'bench_online'

const secs = (t0) => (Date.now() - t0) / 1000
const ok = (r, what) => {
  const s = r.status ?? r
  if (s.error_code !== 'Success') throw new Error(`${what}: ${s.reason || s.error_code}`)
  return r
}

function row(key, seq) {
  return { id: String(key), vector: benchVector(Number(key), DIM), title: `t${seq}`, n: seq }
}

async function seed(client) {
  await client.dropCollection({ collection_name: NAME })
  ok(
    await client.createCollection({
      collection_name: NAME,
      consistency_level: 'Strong',
      fields: [
        { name: 'id', data_type: 'Int64', is_primary_key: true, autoID: false },
        { name: 'vector', data_type: 'FloatVector', dim: DIM },
        { name: 'title', data_type: 'VarChar', max_length: 64 },
        { name: 'n', data_type: 'Int32' },
      ],
      index_params: [{ field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }],
    }),
    'create',
  )
  const batch = Math.max(50, Math.floor((8 << 20) / (DIM * 4 + 64)))
  for (let b = 0; b < ROWS; b += batch) {
    const data = []
    for (let i = b; i < Math.min(ROWS, b + batch); i++) data.push(row(i + 1, i))
    const r = await client.insert({ collection_name: NAME, data })
    if (Number(r.insert_cnt) !== data.length) throw new Error(`insert: ${r.status?.reason}`)
  }
  await client.flush({ collection_names: [NAME] })
  ok(await client.loadCollectionSync({ collection_name: NAME }), 'load')
}

/** A writer and a reader as an application would run them (the shape of test/helpers/live-app.ts). */
function startApp(client, keys) {
  const live = [...keys]
  const expected = new Map()
  const history = new Map()
  const note = (key, op, title) => history.set(key, [...(history.get(key) ?? []), { op, at: Date.now(), title }])
  const stats = { upsert: 0, insert: 0, delete: 0, failures: 0, longestRefusalMs: 0, searches: 0, searchesFailed: 0 }
  let stopped = false
  let next = 1_000_000_000
  let rnd = 7
  const random = () => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff), rnd / 0x7fffffff)
  async function untilAcknowledged(call) {
    let first
    for (;;) {
      let failed
      try {
        const r = await call()
        failed = (r.status ?? r).error_code !== 'Success'
      } catch {
        failed = true
      }
      if (!failed) {
        if (first !== undefined) stats.longestRefusalMs = Math.max(stats.longestRefusalMs, Date.now() - first)
        return
      }
      stats.failures++
      first ??= Date.now()
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const writer = (async () => {
    for (let seq = 1; !stopped; seq++) {
      const t0 = Date.now()
      const dice = random()
      if (dice < 0.7) {
        const key = live[Math.floor(random() * live.length)]
        const r = row(key, seq)
        await untilAcknowledged(() => client.upsert({ collection_name: NAME, data: [r] }))
        expected.set(key, r)
        note(key, 'upsert', r.title)
        stats.upsert++
      } else if (dice < 0.85) {
        const key = String(next++)
        const r = row(key, seq)
        await untilAcknowledged(() => client.insert({ collection_name: NAME, data: [r] }))
        live.push(key)
        expected.set(key, r)
        note(key, 'insert', r.title)
        stats.insert++
      } else {
        const i = Math.floor(random() * live.length)
        const key = live[i]
        await untilAcknowledged(() => client.delete({ collection_name: NAME, filter: `id in [${key}]` }))
        live.splice(i, 1)
        expected.set(key, null)
        note(key, 'delete')
        stats.delete++
      }
      const wait = 1000 / RATE - (Date.now() - t0)
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    }
  })()
  const reader = (async () => {
    while (!stopped) {
      stats.searches++
      try {
        const r = await client.search({ collection_name: NAME, data: [benchVector(3, DIM)], limit: 3 })
        if (r.status.error_code !== 'Success') stats.searchesFailed++
      } catch {
        stats.searchesFailed++
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  return {
    async stop() {
      stopped = true
      await writer
      await reader
      return { stats, expected, history }
    },
  }
}

/** Every key the writer touched, read by key, against its last acknowledged write. */
async function lost(client, expected) {
  const bad = []
  const keys = [...expected.keys()]
  for (let i = 0; i < keys.length; i += 500) {
    const page = keys.slice(i, i + 500)
    const r = ok(
      await client.query({
        collection_name: NAME,
        filter: `id in [${page.join(',')}]`,
        output_fields: ['id', 'title'],
        limit: page.length,
        consistency_level: 'Strong',
      }),
      'check',
    )
    const found = new Map(r.data.map((x) => [String(x.id), x]))
    for (const k of page) {
      const want = expected.get(k)
      const got = found.get(k)
      if (want === null ? got : !got || got.title !== want.title)
        bad.push({ key: k, kind: want === null ? 'extra' : got ? 'stale' : 'missing', found: got?.title })
    }
  }
  return bad
}

async function main() {
  let server
  let uri = URI
  if (!uri) {
    const binary = await lib.ensureLiteInstalled({ venvDir: path.join(root, '.mvmigrate', 'venv') })
    server = await lib.startLiteServer({
      binary,
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-bench-online-')) + '/milvus',
    })
    uri = server.uri
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-bench-online-project-'))
  fs.mkdirSync(path.join(dir, 'migrations'))
  // Without the SDK's 10 s pings (src/milvus/connect.ts): a connection idle for a minute is cut by Milvus Lite.
  const runner = newMilvusClient({ address: uri, token: TOKEN })
  const app = newMilvusClient({ address: uri, token: TOKEN })
  try {
    await runner.connectPromise
    await app.connectPromise
    const t0 = Date.now()
    await seed(runner)
    console.error(
      `bench:online: ${ROWS} rows x ${DIM} inserted in ${secs(t0).toFixed(0)} s on ${URI ?? 'embedded Milvus Lite'}`,
    )
    const runs = []
    for (const [i, kind] of ['quiet', 'online', 'quiet'].entries()) {
      const version = `2026060100000${i}`
      fs.writeFileSync(
        path.join(dir, 'migrations', `${version}_grow_${i}.js`),
        `module.exports = { async up(ctx) { await ctx.alter('${NAME}', (t) => t.alterField('title', { maxLength: ${128 << i} })) } }\n`,
      )
      const log = (l) => process.stderr.write(`  ${l}\n`)
      const times = { swap: 0, swept: 0 }
      const m = new lib.Migrator({
        client: runner,
        migrationsDir: path.join(dir, 'migrations'),
        logger: {
          info: VERBOSE ? log : () => {},
          warn: log,
          debug() {},
          progress(e) {
            if (e.phase === 'swap') times.swap ||= Date.now()
            if (e.phase === 'sweep' && e.detail?.startsWith('sweep 1')) times.swept ||= Date.now()
            if (VERBOSE && e.detail) log(`${e.phase}: ${e.detail} (${(e.elapsedMs / 1000).toFixed(1)} s)`)
          },
        },
      })
      const keys = Array.from({ length: 2000 }, (_, k) => String(1 + Math.floor((k * ROWS) / 2000)))
      const application = kind === 'online' ? startApp(app, keys) : undefined
      if (application) await new Promise((r) => setTimeout(r, 1000))
      const started = Date.now()
      const result = await m.up()
      const alterS = secs(started)
      const summary = result.alters?.[0]
      let appFigures
      if (application) {
        await new Promise((r) => setTimeout(r, 1000))
        const { stats, expected, history } = await application.stop()
        const wrong = await lost(app, expected)
        const backup = `${NAME}__mvm_bak_${version}`
        for (const w of wrong) {
          const r = await app.query({
            collection_name: backup,
            filter: `id in [${w.key}]`,
            output_fields: ['title'],
            consistency_level: 'Strong',
          })
          w.inBackup = r.data?.[0]?.title ?? 'nothing'
        }
        // Each wrong key with its history relative to the swap (ms), for reading what happened.
        for (const w of wrong)
          process.stderr.write(
            `  ${w.kind} ${w.key} (found ${w.found ?? 'nothing'}, the backup has ${w.inBackup}): ${(history.get(w.key) ?? []).map((h) => `${h.op}${h.title ? ` ${h.title}` : ''} @${h.at - times.swap}`).join(', ')}; sweep 1 done @${times.swept - times.swap}\n`,
          )
        appFigures = { ...stats, wrong_after: wrong.length }
      }
      runs.push({ kind, alter_s: alterS, online: summary?.online, app: appFigures })
      console.error(`${kind} alter: ${alterS.toFixed(1)} s`)
      await m.prune({ discardWrites: true })
    }
    const quiet = (runs[0].alter_s + runs[2].alter_s) / 2
    const online = runs[1]
    const o = online.online
    const a = online.app
    const result = {
      rows: ROWS,
      dim: DIM,
      rate: RATE,
      server: URI ?? 'milvus-lite (embedded)',
      quiet_alter_s: [runs[0].alter_s, runs[2].alter_s],
      online_alter_s: online.alter_s,
      ratio_online_vs_quiet: online.alter_s / quiet,
      ...o,
      writes_acknowledged: a.upsert + a.insert + a.delete,
      writer_failures: a.failures,
      longest_write_refusal_ms: a.longestRefusalMs,
      searches: a.searches,
      searches_failed: a.searchesFailed,
      writes_missing_or_stale_after: a.wrong_after,
    }
    console.log(
      `rows ${ROWS}, dim ${DIM}, writer ${RATE}/s, server ${result.server}\n` +
        `quiet alter ${runs[0].alter_s.toFixed(1)} s and ${runs[2].alter_s.toFixed(1)} s; online alter ${online.alter_s.toFixed(1)} s: ratio ${result.ratio_online_vs_quiet.toFixed(2)}\n` +
        `online: ${o.passes} catch-up passes, ${o.rowsRecopied} rows re-copied (${o.windowsRecopied} windows), ${o.rowsDeleted} deleted, ${o.sweptRows} late writes swept, ${o.conflicts} conflicts, name missing ${o.nameGapMs} ms\n` +
        `application: ${result.writes_acknowledged} writes acknowledged, ${a.failures} failed attempts (longest refusal ${a.longestRefusalMs} ms), ${a.searches} searches, ${a.searchesFailed} failed; ${a.wrong_after} acknowledged writes missing or stale afterwards`,
    )
    if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(result, null, 2) + '\n')
  } finally {
    await runner.closeConnection().catch(() => undefined)
    await app.closeConnection().catch(() => undefined)
    await server?.stop()
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
