#!/usr/bin/env node
'use strict'
/**
 * node bench/command-costs.js [--uri URI [--token T]] [--standalone] [--rows 2000] [--compare DIR]
 *
 * Where the seconds of a command go outside the migration: runs the CLI (bin/mvmigrate.js, as a
 * user would) with MVMIGRATE_TIMINGS=1 in a fresh project, for
 *   1. `up` with nothing to apply on a fresh database (mvmigrate's own collections made)
 *   2. `up` with nothing to apply again
 *   3. `status`
 *   4. `up` of a migration that creates a collection and inserts --rows rows
 *   5. `up` of a migration that alters it (adds a field, drops one)
 *   6. `status` after it
 * and prints each command's phases (milliseconds, Milvus calls by RPC). Without --uri it uses the
 * embedded Milvus Lite (started by each command, as for a user); --standalone starts the Milvus 2.3
 * standalone (scripts/standalone-server.js) for the run. One run, figures for docs/performance.md.
 * --compare DIR: DIR holds another build (bin/, dist/, templates/, package.json, e.g. a copy made
 * before a change); each step then runs with it in a project of its own and with this one in
 * another, one right after the other (the machine's load changes by the minute), and the phases
 * are printed side by side.
 */
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const lib = require(path.join(root, 'dist', 'index.js'))
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? fallback : process.argv[i + 1]
}
const ROWS = Number(arg('rows', 2000))
const DIM = 128

const CREATE = `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({
      name: 'docs',
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true },
        { name: 'vector', type: 'FloatVector', dim: ${DIM} },
        { name: 'title', type: 'VarChar', maxLength: 256 },
        { name: 'note', type: 'VarChar', maxLength: 64 },
      ],
      indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }],
    })
    for (let b = 0; b < ${ROWS}; b += 1000) {
      const rows = []
      for (let i = b; i < Math.min(${ROWS}, b + 1000); i++)
        rows.push({ id: i + 1, vector: Array.from({ length: ${DIM} }, (_, k) => ((i * 31 + k) % 97) / 97), title: 'doc ' + i, note: 'n' + i })
      await ctx.insert('docs', rows)
    }
  },
  async down(ctx) {
    await ctx.dropCollection('docs')
  },
})
`
const ALTER = `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.alter('docs', (t) => {
      t.addField({ name: 'page', type: 'Int64', default: 0 })
      t.dropField('note')
    })
  },
})
`

/** One command, timed by phase (MVMIGRATE_TIMINGS): { exit, wall, phases: Map(phase -> line) }. */
function run(bin, dir, env, args) {
  const started = Date.now()
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: dir,
    env: { ...process.env, ...env, MVMIGRATE_TIMINGS: '1', NO_COLOR: '1' },
    encoding: 'utf8',
  })
  const phases = new Map()
  for (const l of r.stderr.split('\n').filter((l) => l.startsWith('timing '))) {
    const m = /^timing (.+?)\s+(\d+) ms(.*)$/.exec(l)
    if (m) phases.set(m[1], { ms: Number(m[2]), calls: m[3].trim() })
  }
  if (r.status !== 0)
    console.log(
      r.stderr
        .split('\n')
        .filter((l) => !l.startsWith('timing '))
        .join('\n'),
    )
  return { exit: r.status, wall: Date.now() - started, phases }
}

function project(env) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-costs-'))
  fs.mkdirSync(path.join(dir, 'migrations'))
  fs.mkdirSync(path.join(dir, '.mvmigrate'))
  fs.symlinkSync(path.join(root, '.mvmigrate', 'venv'), path.join(dir, '.mvmigrate', 'venv'))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'mvmigrate'))
  return { dir, env }
}

async function main() {
  let server
  const env = {}
  if (process.argv.includes('--standalone')) {
    const { startStandalone } = require(path.join(root, 'scripts', 'standalone-server.js'))
    server = await startStandalone({ log: (m) => console.error(m) })
    env.MILVUS_URI = server.uri
    env.MILVUS_TOKEN = server.token
  } else if (arg('uri')) {
    env.MILVUS_URI = arg('uri')
    if (arg('token')) env.MILVUS_TOKEN = arg('token')
  }
  const compare = arg('compare')
  const runs = [
    ...(compare ? [{ name: 'before', bin: path.join(path.resolve(compare), 'bin', 'mvmigrate.js') }] : []),
    { name: compare ? 'after' : 'ms', bin: path.join(root, 'bin', 'mvmigrate.js') },
  ]
  // Against a server, each build gets a database of its own (the embedded server: a project of its own).
  const projects = []
  for (const r of runs) {
    const e = { ...env }
    if (e.MILVUS_URI) {
      e.MILVUS_DATABASE = `costs_${r.name}_${Date.now()}`
      const admin = await lib.connectMilvus({ uri: e.MILVUS_URI, token: e.MILVUS_TOKEN })
      await admin.createDatabase({ db_name: e.MILVUS_DATABASE })
      await admin.closeConnection()
    }
    projects.push(project(e))
  }
  const step = (label, args, before) => {
    for (const p of projects) before?.(p.dir)
    const results = runs.map((r, i) => run(r.bin, projects[i].dir, projects[i].env, args))
    console.log(
      `\n## ${label}: mvmigrate ${args.join(' ')} (exit ${results.map((x) => x.exit).join(' / ')}; wall ${results.map((x) => `${x.wall} ms`).join(' / ')})`,
    )
    const names = [...new Set(results.flatMap((x) => [...x.phases.keys()]))]
    console.log(
      `  ${'phase'.padEnd(24)} ${runs.map((r) => r.name.padStart(7)).join(' ')}   Milvus calls (${runs[runs.length - 1].name})`,
    )
    for (const n of names)
      console.log(
        `  ${n.padEnd(24)} ${results.map((x) => String(x.phases.get(n)?.ms ?? '-').padStart(7)).join(' ')}   ${results[results.length - 1].phases.get(n)?.calls ?? ''}`,
      )
  }
  try {
    console.log(`server: ${env.MILVUS_URI ? env.MILVUS_URI : 'embedded Milvus Lite'}; ${ROWS} rows x ${DIM}`)
    step('1. first up, nothing to apply', ['up'])
    step('2. up, nothing to apply', ['up'])
    step('3. status', ['status'])
    step(`4. up: create docs, insert ${ROWS} rows`, ['up'], (dir) =>
      fs.writeFileSync(path.join(dir, 'migrations', '20260101000000_create_docs.ts'), CREATE),
    )
    step('5. up: alter docs (add a field, drop one)', ['up'], (dir) =>
      fs.writeFileSync(path.join(dir, 'migrations', '20260101000001_alter_docs.ts'), ALTER),
    )
    step('6. status', ['status'])
  } finally {
    for (const p of projects) fs.rmSync(p.dir, { recursive: true, force: true })
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
