#!/usr/bin/env node
'use strict'
/**
 * node bench/profile-alter.js --uri URI [--token T] [--rows 20000] [--dim 768] [--batch N] [--inflight N]
 *                             [--memory]
 *
 * Where an alter's time goes: creates `src` (the bench's data shape), then runs the bench's alter
 * with every SDK call on every connection timed by its kind (query by filter shape, insert,
 * upsert, flush, count, ...). Prints, per kind, the calls, the total time waited, and the share of
 * the alter; plus the phases (copy, verify) from the progress events. Run with node --cpu-prof for
 * the client's CPU profile. --memory samples this process's memory every 250 ms during the alter
 * and prints the peak of each kind per phase (rss, V8 heap used and reserved, external buffers):
 * what grows with the collection, and whether it is live data or a heap V8 has not given back.
 */
const { benchVector } = require('./vector')
const path = require('node:path')
const { MilvusClient } = require('@zilliz/milvus2-sdk-node')
const root = path.resolve(__dirname, '..')
const lib = require(path.join(root, 'dist', 'index.js'))

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? fallback : process.argv[i + 1]
}
const URI = arg('uri')
const TOKEN = arg('token')
const ROWS = Number(arg('rows', 20000))
const DIM = Number(arg('dim', 768))

// Every call of every MilvusClient, timed by kind.
const timing = new Map()
function kindOf(method, req) {
  if (method !== 'query') return method
  const f = String(req?.filter ?? req?.expr ?? '')
  const out = (req?.output_fields ?? []).join(',')
  if (out === 'count(*)') return 'query count(*)'
  if (/ in \[/.test(f)) return `query pk in [...] (${out === '*' ? 'rows' : 'keys'})`
  if (req?.params?.iterator) return 'query iterator window (keys)'
  if (/[<>]/.test(f)) return `query range (${out === '*' ? 'rows' : 'keys'})`
  return `query other (${out})`
}
for (const method of [
  'query',
  'insert',
  'upsert',
  'delete',
  'flushSync',
  'createCollection',
  'createIndex',
  'loadCollection',
  'describeCollection',
  'getLoadState',
  'listCollections',
  'renameCollection',
  'dropCollection',
  'describeIndex',
  'listPartitions',
  'alterCollectionProperties',
  'dropCollectionProperties',
  'listAliases',
  'getVersion',
]) {
  const original = MilvusClient.prototype[method]
  if (typeof original !== 'function') continue
  MilvusClient.prototype[method] = async function (req, ...rest) {
    if (process.env.TRACE_CALL === method)
      console.error('TRACE', method, req?.collection_name, new Error().stack.split('\n').slice(2, 7).join(' <- '))
    const t = process.hrtime.bigint()
    try {
      return await original.call(this, req, ...rest)
    } finally {
      const k = kindOf(method, req)
      const e = timing.get(k) ?? { calls: 0, ms: 0 }
      e.calls++
      e.ms += Number(process.hrtime.bigint() - t) / 1e6
      timing.set(k, e)
    }
  }
}

function row(i) {
  const vector = benchVector(i, DIM)
  return {
    id: String(i * 7 + 1),
    vector,
    title: `document ${i} title`,
    meta: { page: i % 50 },
    views: String(i * 13),
    note: `note ${i}`,
  }
}

async function main() {
  const database = `prof_${Date.now()}`
  const admin = await lib.connectMilvus({ uri: URI, token: TOKEN })
  await admin.createDatabase({ db_name: database })
  await admin.closeConnection()
  const client = await lib.connectMilvus({ uri: URI, token: TOKEN, database })
  await client.createCollection({
    collection_name: 'src',
    consistency_level: 'Strong',
    fields: [
      { name: 'id', data_type: 5, is_primary_key: true },
      { name: 'vector', data_type: 101, dim: DIM },
      { name: 'title', data_type: 21, max_length: 256 },
      { name: 'meta', data_type: 23 },
      { name: 'views', data_type: 5 },
      { name: 'note', data_type: 21, max_length: 64 },
    ],
  })
  await client.createIndex({ collection_name: 'src', field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' })
  await client.loadCollection({ collection_name: 'src' })
  const batch = Math.floor((8 << 20) / (DIM * 4 + 200))
  let t = Date.now()
  for (let b = 0; b < ROWS; b += batch) {
    const data = []
    for (let i = b; i < Math.min(ROWS, b + batch); i++) data.push(row(i))
    await client.insert({ collection_name: 'src', data })
  }
  await client.flushSync({ collection_names: ['src'] })
  console.error(`inserted ${ROWS} rows in ${((Date.now() - t) / 1000).toFixed(1)} s`)
  timing.clear()
  const phases = {}
  let phaseAt = Date.now()
  let phase = 'prepare'
  const log = {
    info() {},
    warn() {},
    debug() {},
    progress(e) {
      if (e.phase !== phase) {
        phases[phase] = (phases[phase] ?? 0) + (Date.now() - phaseAt)
        phase = e.phase
        phaseAt = Date.now()
      }
    },
  }
  const memory = {}
  const sampler = process.argv.includes('--memory')
    ? setInterval(() => {
        const m = process.memoryUsage()
        const peak = (memory[phase] ??= {})
        for (const k of ['rss', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers'])
          peak[k] = Math.max(peak[k] ?? 0, Math.round(m[k] / 1048576))
      }, 250)
    : undefined
  const ctx = new lib.MigrationContext(client, { version: '20260101000000', name: 'prof', file: 'prof' }, log)
  t = Date.now()
  await ctx.alter(
    'src',
    (a) => {
      a.addField({ name: 'extra', type: 'Int64', default: 0 })
      a.dropField('note')
    },
    {
      keepBackup: false,
      ...(arg('batch') ? { batchSize: Number(arg('batch')) } : {}),
      ...(arg('inflight') ? { pagesInFlight: Number(arg('inflight')) } : {}),
    },
  )
  const total = Date.now() - t
  if (sampler) clearInterval(sampler)
  phases[phase] = (phases[phase] ?? 0) + (Date.now() - phaseAt)
  console.log(
    `alter of ${ROWS} rows x ${DIM}: ${(total / 1000).toFixed(1)} s; phases: ${Object.entries(phases)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(', ')}`,
  )
  console.log('call kind                                   calls   waited s   share')
  for (const [k, v] of [...timing].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(
      `${k.padEnd(42)} ${String(v.calls).padStart(6)} ${(v.ms / 1000).toFixed(2).padStart(10)} ${((v.ms / total) * 100).toFixed(0).padStart(6)}%`,
    )
  }
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`)
  for (const [p, m] of Object.entries(memory))
    console.log(
      `memory peak during ${p.padEnd(8)} ${Object.entries(m)
        .map(([k, v]) => `${k} ${v} MB`)
        .join(', ')}`,
    )
  await client.dropDatabase?.({ db_name: database }).catch(() => undefined)
  await client.closeConnection()
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
