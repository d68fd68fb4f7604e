'use strict'
// Runs one alter of `src` (add a field with a default, drop a field) in a process of its own, so
// its peak RSS is the alter's. Prints one JSON line: rowsCopied, alterS, copyS, peakRssMb.
const path = require('node:path')
const lib = require(path.join(__dirname, '..', 'dist', 'index.js'))

async function main() {
  const [uri, database, token] = process.argv.slice(2)
  const client = await lib.connectMilvus({ uri, database, ...(token ? { token } : {}) })
  let copyStart = 0
  let copyEnd = 0
  const log = {
    info() {},
    warn() {},
    debug() {},
    progress(e) {
      if (e.phase === 'copy' && e.rows === 0) copyStart = Date.now()
      if (e.phase === 'verify') copyEnd = Date.now()
    },
  }
  const ctx = new lib.MigrationContext(
    client,
    { version: String(Date.now()).padEnd(14, '0').slice(0, 14), name: 'bench', file: 'bench' },
    log,
  )
  const t0 = Date.now()
  const summary = await ctx.alter(
    'src',
    (t) => {
      t.addField({ name: 'extra', type: 'Int64', default: 0 })
      t.dropField('note')
    },
    {
      keepBackup: false,
      ...(process.env.MVM_BENCH_BATCH ? { batchSize: Number(process.env.MVM_BENCH_BATCH) } : {}),
      ...(process.env.MVM_BENCH_INFLIGHT ? { pagesInFlight: Number(process.env.MVM_BENCH_INFLIGHT) } : {}),
    },
  )
  const alterS = (Date.now() - t0) / 1000
  const peakRssMb = process.resourceUsage().maxRSS / 1024
  console.log(
    JSON.stringify({ rowsCopied: summary.rowsCopied, alterS, copyS: (copyEnd - copyStart) / 1000, peakRssMb }),
  )
  await client.closeConnection()
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
