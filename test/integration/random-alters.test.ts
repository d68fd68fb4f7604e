import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/context/logger'
import { isMvmError } from '../../src/errors'
import { Migrator } from '../../src/migrator'
import { type Feature, freshDatabase, lacks, milvusToken, milvusUri } from '../helpers/milvus'
import { tempProject, writeMigration } from '../helpers/project'
import { record } from '../helpers/reliability'
import type { CaseSpec, ServerCaps } from '../random/case'
import { coveringSeeds, featuresOf } from '../random/coverage'
import { probeExtremeInt64Keys } from '../random/database'
import { generateCase } from '../random/generate'
import { type CaseOutcome, runCase, writableDuring } from '../random/run-case'

/**
 * The randomized alters (test/random/) with fixed seeds: the fewest seeds whose cases together
 * cover every op, type, key kind, partition mode and invalid kind the generator makes for this
 * server, plus every bug the generator found, replayed from its shrunk case. `npm run
 * test:random` runs fresh seeds; .ci/run adds a few each run.
 */
const ROOT = path.resolve(__dirname, '..', '..')
const MAX_ROWS = 600
const REGRESSIONS = path.join(ROOT, 'test', 'random', 'regressions')

let extremeInt64Keys = true
beforeAll(async () => {
  const { connectMilvus } = await import('../../src/milvus/connect')
  const admin = await connectMilvus({ uri: milvusUri(), token: milvusToken() })
  extremeInt64Keys = await probeExtremeInt64Keys(admin, milvusUri(), milvusToken())
  await admin.closeConnection()
})

function caps(): ServerCaps {
  const has = (f: Feature) => !lacks(f)
  return {
    extremeInt64Keys,
    nullable: has('nullable'),
    sparse: has('sparse'),
    multipleVectors: has('multipleVectors'),
    invertedIndex: has('invertedIndex'),
    keepAutoIdKeys: has('keepAutoIdKeys'),
  }
}

function server() {
  const python = path.join(ROOT, '.mvmigrate', 'venv', 'bin', 'python')
  return {
    uri: milvusUri(),
    token: milvusToken(),
    name: 'test server',
    caps: caps(),
    python: fs.existsSync(python) ? python : undefined,
  }
}

function explain(o: CaseOutcome): string {
  if (o.ok) return ''
  return `seed ${o.seed} [${o.shape}] ${o.ops}\nstep ${o.failure!.step}: ${o.failure!.what}\n${o.failure!.problems.join('\n')}\nreplay: npm run test:random -- --seed ${o.seed} --max-rows ${MAX_ROWS}`
}

async function runAndRecord(spec: CaseSpec): Promise<CaseOutcome> {
  const o = await runCase(spec, server())
  record({ randomAlters: 1, invariantViolations: o.failure?.problems.length ?? 0 })
  return o
}

const covering = coveringSeeds(caps(), 2000, { maxRows: MAX_ROWS })
console.log(`randomized alters: covering seeds ${covering.seeds.join(', ')} (${covering.features.length} features)`)

describe('randomized alters, fixed seeds', () => {
  it('the seeds cover every feature the generator makes for this server', () => {
    const covered = new Set(
      covering.seeds.flatMap((s) => [...featuresOf(generateCase(s, caps(), { maxRows: MAX_ROWS }))]),
    )
    expect([...covered].sort()).toEqual(covering.features)
    for (const f of ['op:add+backfill', 'op:drop', 'op:rename', 'op:grow', 'op:addIndex', 'op:dropIndex', 'step:down'])
      expect(covering.features).toContain(f)
    if (!lacks('nullable')) expect(covering.features).toContain('op:nullable:false')
  })

  for (const seed of covering.seeds) {
    it(`seed ${seed}: every invariant holds after every step`, async () => {
      const o = await runAndRecord(generateCase(seed, caps(), { maxRows: MAX_ROWS }))
      expect(o.ok, explain(o)).toBe(true)
      expect(o.stepsRun).toBeGreaterThan(0)
      expect(o.rowsChecked).toBeGreaterThan(0)
      // A writer ran beside the `up`s no later step rolls back past (test/random/writer.ts): each of its writes was checked too.
      const spec = generateCase(seed, caps(), { maxRows: MAX_ROWS })
      if (spec.steps.some((st, i) => st.kind === 'up' && writableDuring(spec, i + 1)))
        expect(o.writes).toBeGreaterThan(0)
    })
  }

  const regressions = fs.readdirSync(REGRESSIONS).filter((f) => f.endsWith('.json'))
  for (const file of regressions) {
    it(`regression ${file.replace(/\.json$/, '')}`, async (t) => {
      const spec = JSON.parse(fs.readFileSync(path.join(REGRESSIONS, file), 'utf8')) as CaseSpec
      const needs =
        JSON.stringify(spec.schema).includes('"nullable":true') || JSON.stringify(spec).includes('"op":"nullable"')
      if (needs && lacks('nullable')) {
        t.skip('the server lacks nullable fields')
        return
      }
      const o = await runAndRecord(spec)
      expect(o.ok, explain(o)).toBe(true)
    })
  }
})

describe('values a copy cannot carry', () => {
  let client: Awaited<ReturnType<typeof freshDatabase>>['client']
  let dir: string
  beforeAll(async () => {
    ;({ client } = await freshDatabase('inf'))
    dir = tempProject()
  })
  afterAll(async () => {
    await client.closeConnection()
  })

  it('a converter that yields Infinity stops the alter before anything is swapped, naming the row and field (random seed 833)', async () => {
    await client.createCollection({
      collection_name: 'scores',
      fields: [
        { name: 'id', data_type: 5, is_primary_key: true },
        { name: 'v', data_type: 101, dim: 2 },
        { name: 'score', data_type: 11 },
      ],
      enable_dynamic_field: true,
    } as never)
    await client.createIndex({
      collection_name: 'scores',
      field_name: 'v',
      index_type: 'FLAT',
      metric_type: 'L2',
    } as never)
    await client.loadCollection({ collection_name: 'scores' })
    await client.insert({
      collection_name: 'scores',
      data: [
        { id: 1, v: [0, 1], score: 1.5 },
        { id: 2, v: [1, 0], score: -1.7976931348623157e308, extra: 'x' },
      ],
    } as never)
    writeMigration(
      dir,
      '20260101000000_narrow.ts',
      `export default { async up(ctx: any) { await ctx.alter('scores', (t: any) => t.alterField('score', { type: 'Float', convert: (v: unknown) => Math.fround(Number(v)) })) } }\n`,
    )
    const migrator = new Migrator({
      client,
      migrationsDir: path.join(dir, 'migrations'),
      cwd: dir,
      logger: silentLogger,
    })
    const err = await migrator.up().catch((e: unknown) => e)
    expect(isMvmError(err) && err.code).toBe('MIGRATION_FAILED')
    expect(String((err as Error).message)).toContain(
      "The row with key 2 of 'scores' would store -Infinity in field 'score': Infinity and NaN cannot be copied reliably",
    )
    const names = ((await client.listCollections()).data ?? []).map((c) => c.name)
    expect(names.filter((n) => n.includes('__mvm_'))).toEqual([])
    const d = await client.describeCollection({ collection_name: 'scores' })
    expect(d.schema.fields.find((f) => f.name === 'score')?.data_type).toBe('Double')
    const rows = await client.query({
      collection_name: 'scores',
      filter: 'id > 0',
      output_fields: ['score'],
      consistency_level: 'Strong' as never,
    })
    expect(rows.data.map((r) => Number(r.score)).sort()).toEqual([-1.7976931348623157e308, 1.5])
  })
})
