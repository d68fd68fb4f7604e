#!/usr/bin/env node
'use strict'
/**
 * npm run bench -- [--rows 100000] [--dim 768] [--reps 3] [--uri URI [--token T] [--database D]]
 *                  [--json FILE] [--scale [--scale-reps 1]] [--no-script] [--no-naive]
 * npm run bench:standalone -- [the same]   (starts the Milvus 2.3 standalone itself)
 *
 * Measures, in one run on one server, with deterministic data (pk Int64, vector, a VarChar, a JSON,
 * an Int64 and a note: nullable where the server has nullable fields, probed):
 *   insert_only_s  inserting the rows into a fresh collection with a minimal loop (the write floor)
 *   scan_only_s    reading every row once with the fastest plain way the server offers (the read
 *                  floor): key-list pages on Milvus Lite (it scans the collection for any range
 *                  query), `pk > last` pages of 1000 elsewhere
 *   script_s       the copy a team would write by hand: pymilvus' query_iterator (batch 1000) and an
 *                  insert of each batch into the new collection, keys kept (bench/script_copy.py,
 *                  run with the project's venv python)
 *   naive_s        the same loop in Node: read a page, wait, insert it, wait; the SDK as it comes
 *   alter_s        mvmigrate's alter (add a field with a default, drop a field), in a child process
 *   copy_s         the copy phase of that alter alone
 *   peak_rss_mb    peak RSS of the process doing the alter
 * Each figure is the median of --reps repetitions. --scale then measures again at 4x the rows
 * (insert, scan, alter, copy and peak RSS; not naive, the slowest and already compared at 1x),
 * --scale-reps times (default 1: one repetition at 400k rows takes ~15 minutes here).
 * Prints a table; --json FILE also writes the figures.
 */
const { benchVector } = require('./vector')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const lib = require(path.join(root, 'dist', 'index.js'))
// Internals the bench measures directly (not part of the public API).
const { readPages } = require(path.join(root, 'dist', 'alter', 'pager.js'))
const { openDataClient } = require(path.join(root, 'dist', 'milvus', 'data-client.js'))
const { newMilvusClient } = require(path.join(root, 'dist', 'milvus', 'connect.js'))

const { arg } = require('./args')
const ROWS = Number(arg('rows', 100000))
const DIM = Number(arg('dim', 768))
const REPS = Number(arg('reps', 3))
const URI = arg('uri', undefined)
const TOKEN = arg('token', undefined)
const DATABASE_ARG = arg('database', undefined)
const SCRIPT = !process.argv.includes('--no-script')
const NAIVE = !process.argv.includes('--no-naive')
const JSON_OUT = arg('json', undefined)
const SCALE = !!arg('scale', false)
const SCALE_REPS = Number(arg('scale-reps', 1))
const INSERT_BATCH = Math.max(50, Math.floor((8 << 20) / (DIM * 4 + 200)))

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const secs = (t0) => (Date.now() - t0) / 1000

function row(i) {
  const vector = benchVector(i, DIM)
  return {
    id: String(i * 7 + 1),
    vector,
    title: `document ${i} title`,
    meta: { page: i % 50, source: `s${i % 7}` },
    views: String(i * 13),
    note: i % 3 === 0 && NULLABLE ? null : `note ${i}`,
  }
}

/** The source, or (altered) the shape the alter produces: 'extra' added, 'note' dropped. */
async function createCollection(client, name, altered = false) {
  await client.dropCollection({ collection_name: name })
  const r = await client.createCollection({
    collection_name: name,
    consistency_level: 'Strong',
    fields: [
      { name: 'id', data_type: 5, is_primary_key: true },
      { name: 'vector', data_type: 101, dim: DIM },
      { name: 'title', data_type: 21, max_length: 256 },
      { name: 'meta', data_type: 23 },
      { name: 'views', data_type: 5 },
      altered
        ? { name: 'extra', data_type: 5 }
        : { name: 'note', data_type: 21, max_length: 64, ...(NULLABLE ? { nullable: true } : {}) },
    ],
  })
  if (r.error_code !== 'Success') throw new Error(`create ${name}: ${r.reason}`)
  await client.createIndex({ collection_name: name, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' })
  await client.loadCollection({ collection_name: name })
}

async function insertAll(client, name, rows) {
  for (let b = 0; b < rows; b += INSERT_BATCH) {
    const data = []
    for (let i = b; i < Math.min(rows, b + INSERT_BATCH); i++) data.push(row(i))
    const r = await client.insert({ collection_name: name, data })
    if (Number(r.insert_cnt) !== data.length) throw new Error(`insert: ${r.status.reason}`)
  }
}

// Servers differ in the order they return rows, so even the minimal loops read by exact key
// windows (the pager the copy uses); "pk > last LIMIT n" alone can skip rows.
const PK = { name: 'id', type: 'Int64' }

/**
 * The read floor: every row once, nothing else, one page at a time, the fastest plain way the
 * server offers. Milvus Lite answers any range query by scanning the whole collection, so there
 * the key-list pages are the floor; a Milvus server answers `pk > last LIMIT n` pages directly
 * (in key order: checked, and the count must come out whole).
 */
async function scanAll(client, name) {
  let n = 0
  if (LITE) {
    for await (const page of readPages({ client, collection: name, pk: PK, outputFields: ['*'], batchSize: 1000 }))
      n += page.rows.length
    return n
  }
  for (let last; ;) {
    const r = await client.query({
      collection_name: name,
      filter: last === undefined ? '' : `id > ${last}`,
      output_fields: ['*'],
      limit: 1000,
      consistency_level: 'Bounded',
    })
    const keys = r.data.map((x) => BigInt(x.id))
    for (let i = 1; i < keys.length; i++)
      if (keys[i] <= keys[i - 1]) throw new Error('the server returned a page out of key order')
    n += keys.length
    if (keys.length < 1000) return n
    last = keys[keys.length - 1]
  }
}

/**
 * The hand-written pymilvus copy (bench/script_copy.py) into `to`; its own timing. Run without
 * blocking: a spawnSync froze this process for the whole script (a minute at 100,000 rows), and
 * whatever its idle connections were sent meanwhile (a GOAWAY) was only read at their next call,
 * which then failed instead of reconnecting.
 */
async function scriptCopy(uri, database, from, to) {
  const python = path.join(root, '.mvmigrate', 'venv', 'bin', 'python')
  const child = spawn(python, [path.join(__dirname, 'script_copy.py'), uri, TOKEN ?? '', database, from, to], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)))
  const code = await new Promise((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`script copy failed: ${stderr}`)
  return JSON.parse(stdout.trim().split('\n').pop())
}

/** The one-off script: read a page, wait, insert it, wait; batch 1000; the SDK client as it comes. */
async function naiveCopy(client, from, to) {
  let n = 0
  for await (const page of readPages({ client, collection: from, pk: PK, outputFields: ['*'], batchSize: 1000 })) {
    const rows = page.rows.map((r) => ({ ...r, extra: 0 }))
    for (const r of rows) delete r.note
    await client.insert({ collection_name: to, data: rows })
    n += rows.length
  }
  return n
}

async function alterInChild(uri, database, rows) {
  const script = path.join(__dirname, 'alter-child.js')
  const child = spawn(process.execPath, [script, uri, database, TOKEN ?? ''], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const code = await new Promise((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`alter child failed: ${stderr}`)
  const out = JSON.parse(stdout.trim().split('\n').pop())
  if (out.rowsCopied !== rows) throw new Error(`alter copied ${out.rowsCopied} of ${rows}`)
  return out
}

/** Connections of the SDK's own kind (as a one-off script makes them) and the lean bulk one. */
async function connect(uri, database) {
  // Pings as mvmigrate's own connections send them (src/milvus/connect.ts): Milvus Lite answers frequent ones with GOAWAY.
  const client = newMilvusClient({ address: uri, database, ...(TOKEN ? { token: TOKEN } : {}) })
  const data = await openDataClient(client)
  return {
    client,
    data,
    close: async () => {
      await data.close()
      await client.closeConnection()
    },
  }
}

/**
 * The figures of `reps` repetitions. A step that fails is recorded in `failures` (step, repetition,
 * message) and the repetition goes on with a fresh connection where it can, so the figures measured
 * are still printed: a failed step never takes the others with it.
 */
async function measure(uri, rows, { reps, naive, script }, failures) {
  const database = DATABASE_ARG ?? `bench_${Date.now()}`
  if (!DATABASE_ARG) {
    const admin = await connect(uri)
    await admin.client.createDatabase({ db_name: database })
    await admin.close()
  }
  const fig = {
    insert_only_s: [],
    scan_only_s: [],
    script_s: [],
    naive_s: [],
    alter_s: [],
    copy_s: [],
    peak_rss_mb: [],
  }
  for (let rep = 0; rep < reps; rep++) {
    // The floors use the same lean connection as the copy (no per-call JSON logging in the SDK), so
    // the copy has to beat the server's own cost, not the SDK's overhead; naive uses the SDK as is.
    let conn = await connect(uri, database)
    const step = async (name, fn) => {
      process.stderr.write(`${name === 'insert' ? '' : ', '}${name}`)
      try {
        // MVM_BENCH_FAIL=<step> makes that step fail (the test of this very handling).
        if (process.env.MVM_BENCH_FAIL === name) throw new Error(`${name} failed on purpose (MVM_BENCH_FAIL)`)
        await fn(conn)
        return true
      } catch (e) {
        const message = String(e?.message ?? e).split('\n')[0]
        failures.push({ step: name, rows, repetition: rep + 1, message })
        process.stderr.write(` FAILED (${message})`)
        await conn.close().catch(() => undefined)
        conn = await connect(uri, database)
        return false
      }
    }
    process.stderr.write(`  rows ${rows}, repetition ${rep + 1}/${reps}: `)
    const inserted = await step('insert', async ({ client, data }) => {
      await createCollection(client, 'src')
      const t = Date.now()
      await insertAll(data.client, 'src', rows)
      fig.insert_only_s.push(secs(t))
      // A collection in production has long been sealed; reading a server's write buffer is slower.
      await data.client.flushSync({ collection_names: ['src'] })
    })
    // Every other step reads 'src': without it there is nothing more to measure in this repetition.
    if (inserted) {
      await step('scan', async ({ data }) => {
        const t = Date.now()
        const scanned = await scanAll(data.client, 'src')
        if (scanned !== rows) throw new Error(`scan read ${scanned} of ${rows}`)
        fig.scan_only_s.push(secs(t))
      })
      if (script)
        await step('script', async ({ client }) => {
          await createCollection(client, 'scripted', true)
          const s = await scriptCopy(uri, database, 'src', 'scripted')
          if (s.rows !== rows) throw new Error(`the script copied ${s.rows} of ${rows}`)
          fig.script_s.push(s.seconds)
          await client.dropCollection({ collection_name: 'scripted' })
        })
      if (naive)
        await step('naive', async ({ client }) => {
          await createCollection(client, 'naive', true)
          const t = Date.now()
          await naiveCopy(client, 'src', 'naive')
          fig.naive_s.push(secs(t))
          await client.dropCollection({ collection_name: 'naive' })
        })
      await step('alter', async () => {
        const a = await alterInChild(uri, database, rows)
        fig.alter_s.push(a.alterS)
        fig.copy_s.push(a.copyS)
        fig.peak_rss_mb.push(a.peakRssMb)
      })
    }
    process.stderr.write('\n')
    try {
      for (const c of (await conn.client.listCollections()).data)
        await conn.client.dropCollection({ collection_name: c.name })
    } finally {
      await conn.close()
    }
  }
  return Object.fromEntries(
    Object.entries(fig)
      .filter(([, v]) => v.length)
      .map(([k, v]) => [k, median(v)]),
  )
}

/** Whether the server keeps nullable fields (Milvus 2.3 answers Success and drops the flag). */
async function probeNullable(uri) {
  const { client, close } = await connect(uri, DATABASE_ARG)
  const name = `bench_probe_${Date.now()}`
  try {
    await client.createCollection({
      collection_name: name,
      fields: [
        { name: 'id', data_type: 5, is_primary_key: true },
        { name: 'v', data_type: 101, dim: 2 },
        { name: 'n', data_type: 21, max_length: 8, nullable: true },
      ],
    })
    const d = await client.describeCollection({ collection_name: name })
    return d.schema?.fields?.find((f) => f.name === 'n')?.nullable === true
  } catch {
    return false
  } finally {
    await client.dropCollection({ collection_name: name }).catch(() => undefined)
    await close()
  }
}

let NULLABLE = true
let LITE = true

async function main() {
  const failures = []
  let server
  let uri = URI
  if (!uri) {
    const binary = await lib.ensureLiteInstalled({ venvDir: path.join(root, '.mvmigrate', 'venv') })
    server = await lib.startLiteServer({
      binary,
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-bench-')) + '/milvus',
    })
    uri = server.uri
  }
  try {
    const started = Date.now()
    const probe = await connect(uri, DATABASE_ARG)
    const version = String((await probe.client.getVersion()).version ?? '')
    await probe.close()
    LITE = /^milvus_lite/.test(version)
    NULLABLE = await probeNullable(uri)
    console.error(
      `bench: ${ROWS} rows, dim ${DIM}, ${REPS} repetitions on ${URI ? `${uri} (${version || 'version unknown'})` : 'embedded Milvus Lite'}${NULLABLE ? '' : '; no nullable fields there: the note is never null'}`,
    )
    const f = await measure(uri, ROWS, { reps: REPS, naive: NAIVE, script: SCRIPT }, failures)
    const defaultPartS = secs(started)
    const result = {
      rows: ROWS,
      dim: DIM,
      server: URI ? uri : 'milvus-lite (embedded)',
      ...f,
      server_version: version,
      ratio_copy_vs_floor: f.copy_s / (f.insert_only_s + f.scan_only_s),
      ratio_alter_vs_copy: f.alter_s / f.copy_s,
      ...(f.script_s !== undefined ? { ratio_script_vs_copy: f.script_s / f.copy_s } : {}),
      ...(f.naive_s !== undefined ? { ratio_naive_vs_copy: f.naive_s / f.copy_s } : {}),
    }
    if (SCALE) {
      const scaleStarted = Date.now()
      const big = await measure(uri, ROWS * 4, { reps: SCALE_REPS, naive: false, script: false }, failures)
      result.scale = { rows: ROWS * 4, ...big, run_s: secs(scaleStarted) }
      result.ratio_rss_4x = big.peak_rss_mb / f.peak_rss_mb
    }
    const big = result.scale
    console.log(
      `rows ${ROWS}, dim ${DIM}, server ${result.server}, median of ${REPS}${big ? `; at ${big.rows} rows, median of ${SCALE_REPS}` : ''}`,
    )
    console.log(`phase        seconds   rows/s${big ? `   seconds@${big.rows}   rows/s` : ''}`)
    for (const k of ['insert_only', 'scan_only', 'script', 'naive', 'alter', 'copy']) {
      const cell = (fig, rows) =>
        fig[`${k}_s`] === undefined
          ? '       -        -'
          : `${fig[`${k}_s`].toFixed(2).padStart(8)} ${String(Math.round(rows / fig[`${k}_s`])).padStart(8)}`
      console.log(`${k.padEnd(12)} ${cell(f, ROWS)}${big ? `   ${cell(big, big.rows)}` : ''}`)
    }
    const mb = (x) => (x === undefined ? '-' : x.toFixed(0))
    console.log(
      `peak RSS of the alter process: ${mb(f.peak_rss_mb)} MB${SCALE ? `; at ${ROWS * 4} rows: ${mb(result.scale.peak_rss_mb)} MB (ratio ${Number.isFinite(result.ratio_rss_4x) ? result.ratio_rss_4x.toFixed(2) : '-'})` : ''}`,
    )
    result.run_s = defaultPartS
    const ratios = ['ratio_copy_vs_floor', 'ratio_script_vs_copy', 'ratio_alter_vs_copy', 'ratio_naive_vs_copy']
      .filter((k) => Number.isFinite(result[k]))
      .map((k) => `${k} ${result[k].toFixed(2)}`)
    console.log(ratios.join(', '))
    console.log(
      `time: ${defaultPartS.toFixed(0)} s at ${ROWS} rows${big ? `, ${big.run_s.toFixed(0)} s at ${big.rows} rows` : ''}; ${secs(started).toFixed(0)} s in all`,
    )
    if (failures.length) {
      result.failures = failures
      for (const x of failures)
        console.log(`FAILED: ${x.step} (${x.rows} rows, repetition ${x.repetition}): ${x.message}`)
      process.exitCode = 1
    }
    if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(result, null, 2) + '\n')
  } finally {
    await server?.stop()
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
