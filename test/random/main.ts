/**
 * `npm run test:random -- [--seed S] [--cases N] [--standalone | --uri U [--token T]] [--keep]
 * [--no-shrink] [--case FILE]`: randomized alters against a real server. One line per case (seed, shape, ops,
 * result); a failing case is shrunk, written to .tmp/random-failures/<seed>.json and printed with
 * the command that replays it. Exits 1 when any case failed.
 */
import { randomInt } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { ensureLiteInstalled } from '../../src/lite/install'
import { startLiteServer } from '../../src/lite/server'
import { connectMilvus } from '../../src/milvus/connect'
import { probeServerLacks } from '../helpers/probe'
import { probeExtremeInt64Keys } from './database'
import { record } from '../helpers/reliability'
import type { CaseSpec, ServerCaps } from './case'
import { describeCase, generateCase } from './generate'
import { type CaseOutcome, type ServerTarget, runCase } from './run-case'
import { shrinkCandidates } from './shrink'

const ROOT = path.resolve(__dirname, '..', '..')
const VENV = path.join(ROOT, '.mvmigrate', 'venv')

export function capsFrom(lacks: string[], extremeInt64Keys: boolean): ServerCaps {
  return {
    extremeInt64Keys,
    nullable: !lacks.includes('nullable'),
    sparse: !lacks.includes('sparse'),
    multipleVectors: !lacks.includes('multipleVectors'),
    invertedIndex: !lacks.includes('invertedIndex'),
    keepAutoIdKeys: !lacks.includes('keepAutoIdKeys'),
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? undefined : process.argv[i + 1]
}

export function caseLine(o: CaseOutcome): string {
  const result = o.ok ? 'ok' : `FAILED at step ${o.failure!.step}`
  return `seed ${o.seed}  ${(o.ms / 1000).toFixed(1)}s  ${result}  ${o.writes} writes  [${o.shape}]  ${o.ops}`
}

/** Shrinks a failing case as far as simple edits keep it failing. */
export async function shrink(c: CaseSpec, first: CaseOutcome, server: ServerTarget, log: (l: string) => void) {
  let best = { spec: c, outcome: first }
  for (let round = 0, improved = true; improved && round < 30; round++) {
    improved = false
    for (const candidate of shrinkCandidates(best.spec, best.outcome.failure!.step)) {
      const o = await runCase(candidate, server)
      if (!o.ok) {
        log(`  shrunk: ${describeCase(candidate).ops} (${candidate.rowCount} rows) still fails`)
        best = { spec: candidate, outcome: o }
        improved = true
        break
      }
    }
  }
  return best
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(
      'usage: npm run test:random -- [--seed S] [--cases N] [--standalone | --uri U [--token T]] [--max-rows N] [--keep] [--no-shrink] [--case FILE]',
    )
    return
  }
  const cases = Number(arg('cases') ?? 1)
  const seed = arg('seed') !== undefined ? Number(arg('seed')) : randomInt(1, 2 ** 31 - cases)
  let stop = async () => undefined as void
  let uri = arg('uri')
  let token = arg('token')
  let name = 'Milvus at ' + uri
  if (!uri && process.argv.includes('--standalone')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startStandalone } = require('../../scripts/standalone-server.js')
    const s = await startStandalone({ log: (l: string) => console.log(l) })
    ;({ uri, token } = s)
    stop = s.stop
    name = 'Milvus standalone 2.3'
  } else if (!uri) {
    const binary = await ensureLiteInstalled({ venvDir: VENV, log: (l) => console.log(l) })
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-random-lite-'))
    const lite = await startLiteServer({ binary, dataDir: path.join(dataRoot, 'milvus') })
    uri = lite.uri
    stop = async () => {
      await lite.stop()
      fs.rmSync(dataRoot, { recursive: true, force: true })
    }
    name = 'Milvus Lite'
  }
  let failed = 0
  let violations = 0
  let ran = 0
  try {
    const lacks = await probeServerLacks(uri!, token)
    const admin = await connectMilvus({ uri: uri!, token })
    const extremeKeys = await probeExtremeInt64Keys(admin, uri!, token)
    await admin.closeConnection()
    const python = path.join(VENV, 'bin', 'python')
    const server: ServerTarget = {
      uri: uri!,
      token,
      name,
      caps: capsFrom(lacks, extremeKeys),
      python: fs.existsSync(python) ? python : undefined,
    }
    console.log(
      `random alters on ${name} (lacks: ${[...lacks, ...(extremeKeys ? [] : ['extremeInt64Keys'])].join(', ') || 'nothing'}); seeds ${seed}..${seed + cases - 1}`,
    )
    const maxRows = arg('max-rows') ? Number(arg('max-rows')) : undefined
    const specs: CaseSpec[] = arg('case')
      ? [JSON.parse(fs.readFileSync(arg('case')!, 'utf8')) as CaseSpec]
      : Array.from({ length: cases }, (_, i) => generateCase(seed + i, server.caps, { maxRows }))
    for (const spec of specs) {
      const o = await runCase(spec, server, { keep: process.argv.includes('--keep') })
      ran++
      console.log(caseLine(o))
      if (o.ok) continue
      failed++
      violations += o.failure!.problems.length
      console.log(`  step ${o.failure!.step}: ${o.failure!.what}`)
      for (const p of o.failure!.problems) console.log(`    ${p}`)
      console.log(
        `  replay: npm run test:random -- --seed ${spec.seed}${arg('max-rows') ? ` --max-rows ${arg('max-rows')}` : ''}${process.argv.includes('--standalone') ? ' --standalone' : ''}`,
      )
      if (process.argv.includes('--no-shrink')) continue
      const best = await shrink(spec, o, server, (l) => console.log(l))
      const out = path.join(ROOT, '.tmp', 'random-failures', `${spec.seed}.json`)
      fs.mkdirSync(path.dirname(out), { recursive: true })
      fs.writeFileSync(out, JSON.stringify(best.spec, null, 2))
      console.log(
        `  minimal: ${describeCase(best.spec).ops} with ${best.spec.rowCount} rows, at step ${best.outcome.failure!.step}: ${best.outcome.failure!.problems[0]}`,
      )
      console.log(`  replay the minimal case: npm run test:random -- --case ${path.relative(process.cwd(), out)}`)
    }
  } finally {
    await stop()
  }
  record({ randomAlters: ran, invariantViolations: violations })
  console.log(`random alters: ${ran}, failed: ${failed}, invariant violations: ${violations}`)
  if (failed) process.exitCode = 1
}

if (require.main === module)
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
