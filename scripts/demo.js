#!/usr/bin/env node
'use strict'
/**
 * npm run demo: mvmigrate end to end on a fresh embedded Milvus Lite (installed on first use).
 * 1. `mvmigrate up --to ...` creates `documents` and `feedback` (the first three examples).
 * 2. Sample rows go into `documents`, as an application would write them.
 * 3. `plan` shows the pending copy-and-swap alter; `up` runs it (1,000 rows copied, backup kept);
 *    `status` shows the backup; `down` swaps the backup back; `up` again; `prune --yes` drops the
 *    backups; `status --check` passes.
 * Data lives in .mvmigrate/demo-milvus and is recreated on every run.
 */
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const dataDir = path.join(root, '.mvmigrate', 'demo-milvus')
const bin = path.join(root, 'bin', 'mvmigrate.js')
const lib = require(path.join(root, 'dist', 'index.js'))

function mvmigrate(args, { expect = 0 } = {}) {
  console.log(`\n$ mvmigrate ${args.join(' ')}`)
  const r = spawnSync(process.execPath, [bin, '--data-dir', dataDir, ...args], { cwd: root, stdio: 'inherit' })
  if (r.status !== expect) {
    console.error(`demo: expected exit code ${expect}, got ${r.status}`)
    process.exit(1)
  }
}

async function seed(rows) {
  const config = await lib.loadConfig({ cwd: root, flags: { lite: { dataDir } } })
  const session = await lib.openSession(config)
  try {
    const data = Array.from({ length: rows }, (_, i) => ({
      file_id: `file-${i % 20}`,
      vector: Array.from({ length: 1024 }, (_, d) => Math.sin(i * 0.37 + d * 0.011)),
      text: `chunk ${i} of a sample document`,
      metadata: { page: (i % 12) + 1, source: 'demo' },
      name: `doc-${i % 20}.pdf`,
      legacy_tag: i % 3 === 0 ? 'v1' : null,
    }))
    for (let i = 0; i < data.length; i += 250) {
      const res = await session.client.insert({ collection_name: 'documents', data: data.slice(i, i + 250) })
      if (Number(res.insert_cnt) !== Math.min(250, data.length - i))
        throw new Error(`insert failed: ${res.status.reason}`)
    }
    const count = await session.client.query({
      collection_name: 'documents',
      output_fields: ['count(*)'],
      consistency_level: 'Strong',
    })
    console.log(`\nInserted ${count.data[0]['count(*)']} sample rows into documents.`)
  } finally {
    await session.close()
  }
}

async function main() {
  fs.rmSync(dataDir, { recursive: true, force: true })
  fs.rmSync(`${dataDir}.server.json`, { force: true })
  mvmigrate(['lite', 'install'])
  mvmigrate(['up', '--to', '20261126090200'])
  await seed(1000)
  mvmigrate(['status', '--check'], { expect: 3 })
  mvmigrate(['plan'])
  mvmigrate(['up'])
  mvmigrate(['status'])
  mvmigrate(['down'])
  mvmigrate(['up'])
  mvmigrate(['prune', '--yes'])
  mvmigrate(['status', '--check'])
  console.log(
    '\nDemo finished: migrations applied, an alter copied and swapped, rolled back and re-applied, backups pruned.',
  )
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
