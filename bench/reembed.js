#!/usr/bin/env node
'use strict'
/**
 * npm run bench:reembed -- [--rows 20000] [--per-row-rows 1000] [--small-rows 5000] [--latency 50] [--uri URI [--token T]] [--json FILE]
 *
 * Re-embedding a collection (docs/reembed.md) against a local embedding service (an OpenAI-style
 * /v1/embeddings answering after --latency ms, bench/embedding-service.js), through the real CLI in
 * a throwaway project, as a user runs it: `up` of a migration that changes the vector's dim
 * 768 -> 1024 and computes it from the text with fetch. Each case on a collection of its own:
 *
 *   batched      batches of 64, 8 in flight, --rows rows: time, model calls, peak RSS
 *   per-row      the single-row form on --per-row-rows rows (at 50 ms a row, 20,000 rows would wait
 *                17 minutes): rows/s, and the time --rows rows would take at that rate
 *   429s         the batched form with 10% of requests answered 429 (Retry-After: 1): rows failed
 *   killed       the batched form SIGKILLed at half way, then `up` again: model calls / batches
 *   small        the batched form on --small-rows rows: peak RSS, against the batched case's
 *
 * Prints one line a case and a JSON summary (to --json FILE too).
 */
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { startEmbeddingService, embedText } = require('./embedding-service')

const root = path.resolve(__dirname, '..')
const lib = require(path.join(root, 'dist', 'index.js'))
const BIN = path.join(root, 'bin', 'mvmigrate.js')

const { arg } = require('./args')
const ROWS = Number(arg('rows', 20000))
const PER_ROW_ROWS = Number(arg('per-row-rows', 1000))
const SMALL_ROWS = Number(arg('small-rows', 5000))
const LATENCY = Number(arg('latency', 50))
const URI = arg('uri', undefined)
const TOKEN = arg('token', undefined)
const JSON_OUT = arg('json', undefined)

const textOf = (i) => `document ${i} about ${['cats', 'the sea', 'milvus and vectors', 'bread'][i % 4]}`

const EMBED = `
async function embed(texts) {
  const res = await fetch(process.env.EMBED_URL + '/v1/embeddings', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'embed-1024', input: texts }),
  })
  if (!res.ok) throw await httpError(res)
  const body = await res.json()
  return body.data.sort((a, b) => a.index - b.index).map((d) => d.embedding)
}
`
const MIGRATION = (backfill) => `const { defineMigration, httpError } = require('mvmigrate')
${EMBED}
module.exports = defineMigration({ async up(ctx) {
  await ctx.alter('docs', (t) => {
    t.alterField('vector', { dim: 1024 })
    ${backfill}
    t.dropIndex('vector')
    t.addIndex({ field: 'vector', type: 'FLAT', metric: 'COSINE' })
  }, { keepBackup: false })
} })
`
const BATCHED = `t.backfill('vector', (rows) => embed(rows.map((r) => String(r.text))), { batchSize: 64, concurrency: 8, retryDelayMs: 100 })`
const PER_ROW = `t.backfill('vector', async (row) => (await embed([String(row.text)]))[0])`

/** A throwaway project whose migrations import mvmigrate as a user's would, with a preload that reports peak RSS. */
function project(migration) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-reembed-'))
  fs.mkdirSync(path.join(dir, 'migrations'))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'mvmigrate'), 'dir')
  fs.writeFileSync(path.join(dir, 'mvmigrate.config.json'), '{}')
  fs.writeFileSync(path.join(dir, 'migrations', '20260501000001_reembed.js'), MIGRATION(migration))
  fs.writeFileSync(
    path.join(dir, 'rss.js'),
    "process.on('exit', () => process.stderr.write(`peak-rss-kb ${process.resourceUsage().maxRSS}\\n`))\n",
  )
  return dir
}

function up(dir, uri, database, env = {}) {
  return new Promise((resolve) => {
    const args = [
      '-r',
      path.join(dir, 'rss.js'),
      BIN,
      '--uri',
      uri,
      '--database',
      database,
      ...(TOKEN ? ['--token', TOKEN] : []),
      'up',
    ]
    const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, NO_COLOR: '1', ...env } })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.on('data', () => undefined)
    child.on('close', (code, signal) => {
      const rss = /peak-rss-kb (\d+)/.exec(stderr)
      const alter = /alter docs: (\d+) rows copied.* in (\d+) ms/.exec(stderr)
      const backfill = /backfill: (\d+) call\(s\) \((\d+) retries\) computed (\d+) rows/.exec(stderr)
      resolve({
        code: signal ? -1 : code,
        stderr,
        peakRssMb: rss ? Number(rss[1]) / 1024 : undefined,
        alterS: alter ? Number(alter[2]) / 1000 : undefined,
        calls: backfill ? Number(backfill[1]) : undefined,
        retries: backfill ? Number(backfill[2]) : undefined,
      })
    })
  })
}

async function seed(uri, rows) {
  const database = `reembed_${Math.random().toString(16).slice(2, 10)}`
  const admin = await lib.connectMilvus({ uri, ...(TOKEN ? { token: TOKEN } : {}) })
  await admin.createDatabase({ db_name: database })
  await admin.closeConnection()
  const client = await lib.connectMilvus({ uri, database, ...(TOKEN ? { token: TOKEN } : {}) })
  const ok = (r, what) => {
    const s = r.status ?? r
    if (s.error_code !== 'Success') throw new Error(`${what}: ${s.reason || s.error_code}`)
  }
  ok(
    await client.createCollection({
      collection_name: 'docs',
      fields: [
        { name: 'id', data_type: 5, is_primary_key: true },
        { name: 'text', data_type: 21, max_length: 200 },
        { name: 'vector', data_type: 101, dim: 768 },
      ],
      index_params: [{ field_name: 'vector', index_type: 'FLAT', metric_type: 'COSINE' }],
      consistency_level: 'Strong',
    }),
    'create',
  )
  for (let b = 0; b < rows; b += 2000) {
    const data = Array.from({ length: Math.min(2000, rows - b) }, (_, j) => ({
      id: String(b + j + 1),
      text: textOf(b + j),
      vector: embedText(textOf(b + j), 768),
    }))
    ok(await client.insert({ collection_name: 'docs', data }), 'insert')
  }
  await client.flush({ collection_names: ['docs'] })
  return { client, database }
}

/** Rows whose vector is not their text's embedding (or that are missing). */
async function rowsFailed(client, rows) {
  let wrong = 0
  for (let lower = 0; lower < rows; lower += 2000) {
    const res = await client.query({
      collection_name: 'docs',
      filter: `id > ${lower} and id <= ${lower + 2000}`,
      output_fields: ['id', 'text', 'vector'],
      limit: 2000,
      consistency_level: 'Strong',
    })
    const got = new Map(res.data.map((r) => [Number(r.id), r]))
    for (let i = lower; i < Math.min(rows, lower + 2000); i++) {
      const r = got.get(i + 1)
      const want = embedText(textOf(i), 1024)
      if (
        !r ||
        r.text !== textOf(i) ||
        r.vector.length !== 1024 ||
        r.vector.some((x, d) => Math.abs(x - want[d]) > 1e-6)
      )
        wrong++
    }
  }
  return wrong
}

async function main() {
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
  const service = await startEmbeddingService({ latencyMs: LATENCY })
  const env = { EMBED_URL: service.url }
  const out = { rows: ROWS, latency_ms: LATENCY, server: URI ? uri : 'milvus-lite (embedded)' }
  const batches = (n) => Math.ceil(n / 64)
  const run = async (label, rows, migration, opts = {}) => {
    const { client, database } = await seed(uri, rows)
    const dir = project(migration)
    service.resetStats()
    Object.assign(service.settings, { rateLimitShare: opts.rateLimitShare ?? 0 })
    const t0 = Date.now()
    let r
    let killedAt
    if (opts.killAtPage) {
      const killed = await up(dir, uri, database, {
        ...env,
        MVMIGRATE_FAILPOINTS: `alter:after-page=${opts.killAtPage}`,
      })
      if (killed.code !== -1)
        throw new Error(`${label}: the run was not killed (exit ${killed.code})\n${killed.stderr}`)
      while (service.stats.inFlight > 0) await new Promise((res) => setTimeout(res, 20))
      r = await up(dir, uri, database, env)
      killedAt = Number(/continuing the interrupted copy of docs after (\d+)/.exec(r.stderr)?.[1] ?? NaN)
    } else r = await up(dir, uri, database, env)
    if (r.code !== 0) throw new Error(`${label}: up failed (exit ${r.code})\n${r.stderr}`)
    const wallS = (Date.now() - t0) / 1000
    const failed = opts.check ? await rowsFailed(client, rows) : undefined
    await client.closeConnection()
    const stats = { ...service.stats }
    return {
      rows,
      wallS,
      alterS: r.alterS,
      peakRssMb: r.peakRssMb,
      calls: r.calls,
      retries: r.retries,
      stats,
      failed,
      killedAt,
    }
  }

  try {
    console.error(`bench:reembed: ${ROWS} rows, 768 -> 1024, service latency ${LATENCY} ms, on ${out.server}`)
    const batched = await run('batched', ROWS, BATCHED, { check: true })
    console.error(
      `batched (64 x 8): ${ROWS} rows in ${batched.alterS} s (alter), ${batched.stats.ok} model calls for ${batches(ROWS)} batches, ${batched.failed} rows wrong, peak RSS ${batched.peakRssMb?.toFixed(0)} MB`,
    )
    const perRow = await run('per-row', PER_ROW_ROWS, PER_ROW)
    const perRowRate = PER_ROW_ROWS / perRow.alterS
    const batchedRate = ROWS / batched.alterS
    console.error(
      `per-row: ${PER_ROW_ROWS} rows in ${perRow.alterS} s (${perRowRate.toFixed(1)} rows/s; ${ROWS} rows would take ${(ROWS / perRowRate / 60).toFixed(1)} min); batched is ${(batchedRate / perRowRate).toFixed(1)}x faster`,
    )
    const limited = await run('429s', ROWS, BATCHED, { rateLimitShare: 0.1, check: true })
    console.error(
      `10% 429s: ${limited.stats.rateLimited} of ${limited.stats.requests} requests answered 429, ${limited.retries} retries, ${limited.failed} rows failed, ${ROWS} rows in ${limited.alterS} s`,
    )
    // Pages of 320 rows (1 MB of 768-dim rows, a whole number of batches): half way is page ROWS/640.
    const killed = await run('killed', ROWS, BATCHED, { killAtPage: Math.round(ROWS / 640), check: true })
    console.error(
      `killed at ${killed.killedAt}/${ROWS} rows and resumed: ${killed.stats.ok} model calls for ${batches(ROWS)} batches (${(killed.stats.ok / batches(ROWS)).toFixed(3)}x), ${killed.failed} rows wrong`,
    )
    const small = await run('small', SMALL_ROWS, BATCHED)
    console.error(
      `peak RSS: ${small.peakRssMb?.toFixed(0)} MB at ${SMALL_ROWS} rows, ${batched.peakRssMb?.toFixed(0)} MB at ${ROWS} rows`,
    )
    Object.assign(out, {
      batched: {
        alter_s: batched.alterS,
        model_calls: batched.stats.ok,
        batches: batches(ROWS),
        rows_wrong: batched.failed,
        peak_rss_mb: batched.peakRssMb,
        max_in_flight: batched.stats.maxInFlight,
      },
      per_row: {
        rows: PER_ROW_ROWS,
        alter_s: perRow.alterS,
        rows_per_s: perRowRate,
        extrapolated_s_at_rows: ROWS / perRowRate,
      },
      speedup_batched_vs_per_row: batchedRate / perRowRate,
      rate_limited: {
        share: 0.1,
        answered_429: limited.stats.rateLimited,
        requests: limited.stats.requests,
        retries: limited.retries,
        rows_failed: limited.failed,
        alter_s: limited.alterS,
      },
      killed: {
        killed_after_rows: killed.killedAt,
        model_calls: killed.stats.ok,
        batches: batches(ROWS),
        ratio: killed.stats.ok / batches(ROWS),
        rows_wrong: killed.failed,
      },
      peak_rss_mb: { [SMALL_ROWS]: small.peakRssMb, [ROWS]: batched.peakRssMb },
    })
    console.log(JSON.stringify(out, null, 2))
    if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(out, null, 2) + '\n')
  } finally {
    await service.close()
    await server?.stop?.()
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
