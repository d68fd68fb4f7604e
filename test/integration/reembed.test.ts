import * as fs from 'node:fs'
import type { MilvusClient } from '@zilliz/milvus2-sdk-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EmbeddingService, embedText, startEmbeddingService } from '../../bench/embedding-service.js'
import { fileDatabases, lacks } from '../helpers/milvus'
import { cli, tempProject, writeMigration } from '../helpers/project'

/**
 * Re-embedding a collection (issue 25): a new embedding model's vectors computed by a real HTTP
 * service on localhost (OpenAI-style /v1/embeddings, a set latency, 429s with Retry-After and reset
 * connections on a fixed schedule), called with fetch from migrations as a user's would: batched,
 * concurrent, retried, resumable after a failure or a SIGKILL, verified without calling it again.
 */
const clients: MilvusClient[] = []
const databases = fileDatabases()
let service: EmbeddingService
beforeAll(async () => {
  service = await startEmbeddingService({ latencyMs: 20 })
})
afterAll(async () => {
  for (const c of clients) await c.closeConnection()
  await databases.dropAll()
  await service?.close()
})

/** What a migration's embedding call looks like in a user's project. */
const EMBED = `
async function embed(texts: string[], model: string): Promise<number[][]> {
  const res = await fetch(process.env.EMBED_URL + '/v1/embeddings', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, input: texts }),
  })
  if (!res.ok) throw await httpError(res)
  const body = (await res.json()) as { data: { index: number; embedding: number[] }[] }
  return body.data.sort((a, b) => a.index - b.index).map((d) => d.embedding)
}
`

const CREATE = `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) {
  await ctx.createCollection({ name: 'docs', fields: [
    { name: 'id', type: 'Int64', primaryKey: true },
    { name: 'text', type: 'VarChar', maxLength: 200 },
    { name: 'vector', type: 'FloatVector', dim: 768 },
  ], indexes: [{ field: 'vector', type: 'FLAT', metric: 'COSINE' }] })
} })
`

/** The one-step form: the same field gets the new model's dim, its index replaced, plus a second batched field. */
const ONE_STEP = (opts: string) => `import { defineMigration, httpError } from 'mvmigrate'
${EMBED}
export default defineMigration({ async up(ctx) {
  await ctx.alter('docs', (t) => {
    t.alterField('vector', { dim: 1024 })
    t.backfill('vector', (rows) => embed(rows.map((r) => String(r.text)), 'embed-1024'), ${opts})
    t.addField({ name: 'words', type: 'Int32' })
    t.backfill('words', (rows) => rows.map((r) => String(r.text).split(' ').length), { batchSize: 32 })
    t.dropIndex('vector')
    t.addIndex({ field: 'vector', type: 'HNSW', metric: 'COSINE', params: { M: 8, efConstruction: 32 } })
  })
} })
`

const textOf = (i: number) => `document ${i} about ${['cats', 'the sea', 'milvus and vectors', 'bread'][i % 4]}`

async function seeded(rows: number) {
  const db = await databases.fresh('reembed')
  clients.push(db.client)
  const dir = tempProject()
  writeMigration(dir, '20260401000001_create.ts', CREATE)
  const args = (...a: string[]) => ['--uri', db.uri, '--database', db.database, ...a]
  const first = await cli(dir, args('up'))
  expect(first.code, first.stderr).toBe(0)
  for (let b = 0; b < rows; b += 500) {
    const data = Array.from({ length: Math.min(500, rows - b) }, (_, j) => {
      const i = b + j
      return { id: String(i + 1), text: textOf(i), vector: embedText(textOf(i), 768) }
    })
    const r = await db.client.insert({ collection_name: 'docs', data } as never)
    expect(r.status.error_code).toBe('Success')
  }
  await db.client.flush({ collection_names: ['docs'] } as never)
  const env = { EMBED_URL: service.url }
  return { ...db, dir, args, env }
}

async function readAll(client: MilvusClient, fields = ['*']) {
  const out = new Map<string, Record<string, unknown>>()
  for (let lower = 0; ;) {
    const res = await client.query({
      collection_name: 'docs',
      filter: `id > ${lower}`,
      output_fields: fields,
      limit: 16384,
      consistency_level: 'Strong',
    } as never)
    const page = res.data as Record<string, unknown>[]
    for (const r of page) out.set(String(r.id), r)
    if (page.length < 16384) return out
    lower = Math.max(...page.map((r) => Number(r.id)))
  }
}

/** Every row holds its text's 1024-dim embedding (to float32, within the noisy model's last bits) and its word count. */
function checkReembedded(rows: Map<string, Record<string, unknown>>, n: number, field = 'vector') {
  let wrong = 0
  for (let i = 0; i < n; i++) {
    const r = rows.get(String(i + 1))
    const want = embedText(textOf(i), 1024)
    const got = r?.[field] as number[] | undefined
    if (
      !r ||
      r.text !== textOf(i) ||
      !got ||
      got.length !== 1024 ||
      got.some((x, d) => Math.abs(x - want[d]) > 1e-6) ||
      (field === 'vector' && r.words !== textOf(i).split(' ').length)
    )
      wrong++
  }
  return wrong
}

const summary = (stderr: string) => {
  // (A rate when calls took a second or more, else the time in calls.)
  const m =
    /backfill: (\d+) call\(s\) \((\d+) retries\) computed (\d+) rows, (?:(\d+) rows\/s while calls were in flight|(\d+) ms in calls)/.exec(
      stderr,
    )
  expect(m, stderr).not.toBeNull()
  return { calls: Number(m![1]), retries: Number(m![2]), rows: Number(m![3]), rowsPerSecond: Number(m![4] ?? 0) }
}

describe('re-embedding a collection with a model behind HTTP', () => {
  it('one step, 768 -> 1024 in batches of 64 x 8 through 429s and resets; plan shows it; verify full calls the model for nothing', async () => {
    const N = 2000
    const s = await seeded(N)
    writeMigration(s.dir, '20260401000002_reembed.ts', ONE_STEP('{ batchSize: 64, concurrency: 8, retryDelayMs: 50 }'))
    const plan = await cli(s.dir, s.args('plan'), { env: s.env })
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toContain('backfill vector (computed in batches of 64, 8 in flight, up to 5 retries)')
    expect(plan.stdout).toContain('backfill words (computed in batches of 32, 4 in flight, up to 5 retries)')
    expect(service.stats.requests).toBe(0) // planning calls nothing

    Object.assign(service.settings, { rateLimitShare: 0.1, resetShare: 0.04, retryAfter: '1', noisy: true })
    service.resetStats()
    try {
      const up = await cli(s.dir, s.args('up', '--verify', 'full'), { env: s.env, timeoutMs: 300_000 })
      expect(up.code, up.stderr).toBe(0)
      const st = { ...service.stats }
      // Every row embedded exactly once: none twice, none by the verification (a noisy model passes it).
      expect(st.inputs).toBe(N)
      expect(st.ok).toBeLessThanOrEqual(Math.ceil(N / 64) + 1)
      expect(st.rateLimited).toBeGreaterThan(0)
      expect(st.resets).toBeGreaterThan(0)
      expect(st.maxInFlight).toBeLessThanOrEqual(8)
      expect(st.maxInFlight).toBeGreaterThan(1)
      const s2 = summary(up.stderr)
      expect(s2.retries).toBe(st.rateLimited + st.resets)
      expect(s2.calls).toBe(st.requests + Math.ceil(N / 32))
      expect(s2.rows).toBe(2 * N)
    } finally {
      Object.assign(service.settings, { rateLimitShare: 0, resetShare: 0, noisy: false })
    }
    const d = await s.client.describeCollection({ collection_name: 'docs' })
    expect(d.schema.fields.find((f) => f.name === 'vector')?.type_params).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: 'dim', value: '1024' })]),
    )
    const idx = await s.client.describeIndex({ collection_name: 'docs', field_name: 'vector' } as never)
    expect(JSON.stringify(idx.index_descriptions)).toContain('HNSW')
    const rows = await readAll(s.client)
    expect(rows.size).toBe(N)
    expect(checkReembedded(rows, N)).toBe(0)
    // A search with the new model's query vector finds the row of the same text.
    const hit = await s.client.search({
      collection_name: 'docs',
      data: [embedText(textOf(7), 1024)],
      limit: 1,
      output_fields: ['text'],
    } as never)
    expect((hit.results[0] as Record<string, unknown>).text).toBe(textOf(7))

    // down (checking values) swaps the old model's vectors back without calling the new model.
    service.resetStats()
    const down = await cli(s.dir, s.args('down', '--verify', 'full'), { env: s.env, timeoutMs: 300_000 })
    expect(down.code, down.stderr).toBe(0)
    expect(service.stats.requests).toBe(0)
    const back = await readAll(s.client)
    expect(back.size).toBe(N)
    expect(back.get('8')?.vector).toEqual(embedText(textOf(7), 768))
  })

  it('the model fails for good: the alter stops naming the batch and its keys, nothing is swapped, and up continues without re-sending finished rows', async () => {
    const N = 1500
    const s = await seeded(N)
    writeMigration(
      s.dir,
      '20260401000002_reembed.ts',
      ONE_STEP('{ batchSize: 64, concurrency: 2, maxRetries: 2, retryDelayMs: 20 }'),
    )
    service.resetStats()
    let okBefore: number
    try {
      Object.assign(service.settings, { failStatus: 503, failAfter: 12 })
      const down = await cli(s.dir, s.args('up'), { env: s.env, timeoutMs: 300_000 })
      expect(down.code, down.stdout).toBe(1)
      expect(down.stderr).toMatch(
        /The alter of 'docs' stopped: the backfill of 'vector' failed for the batch of 64 row\(s\) with key\(s\) (\d+), (\d+), (\d+), \.\.\. \(still failing after 2 retries\): HTTP 503 Service Unavailable: \{"error":\{"message":"the service answers 503"\}\}\. Nothing was swapped: 'docs' is untouched; the (\d+) row\(s\) copied before it are kept in 'docs__mvm_tmp_20260401000002' and running the migration again continues after them without sending them to the model again\nhint: The service kept failing: check its status and quota \(raise maxRetries or lower concurrency, or set rateLimit\), then run `mvmigrate up` again\. It is recorded as failed until `mvmigrate up` runs it again\./,
      )
      const d = await s.client.describeCollection({ collection_name: 'docs' })
      expect(JSON.stringify(d.schema.fields.find((f) => f.name === 'vector')?.type_params)).toContain('768')
      expect(d.schema.fields.map((f) => f.name)).toEqual(['id', 'text', 'vector'])
      const st = await cli(s.dir, s.args('status'), { env: s.env })
      expect(st.stdout).toMatch(
        /Interrupted alter of docs \(migration 20260401000002, copying\): copy [\d,]+\/1,500 rows done; up will continue/,
      )

      // A 400 is not worth a retry: it stops at once.
      while (service.stats.inFlight > 0) await new Promise((r) => setTimeout(r, 20))
      okBefore = service.stats.ok
      Object.assign(service.settings, { failStatus: 400, failAfter: 0 })
      const requests = service.stats.requests
      const bad = await cli(s.dir, s.args('up'), { env: s.env, timeoutMs: 300_000 })
      expect(bad.code).toBe(1)
      expect(bad.stderr).toMatch(/\(not retryable\): HTTP 400 Bad Request/)
      expect(bad.stderr).toContain('Fix the backfill function or the rows it failed on')
      expect(service.stats.requests - requests).toBeLessThanOrEqual(2) // one per slot, no retries
    } finally {
      Object.assign(service.settings, { failStatus: 0, failAfter: 0 })
    }
    const again = await cli(s.dir, s.args('up'), { env: s.env, timeoutMs: 300_000 })
    expect(again.code, again.stderr).toBe(0)
    const resumed = /continuing the interrupted copy of docs after (\d+) of 1500 rows/.exec(again.stderr)
    expect(resumed, again.stderr).not.toBeNull()
    const kept = Number(resumed![1])
    expect(kept).toBeGreaterThan(0)
    // The rerun sent the model only the rows after the checkpoint (rounded up to whole batches per page).
    const rerun = service.stats.ok - okBefore
    expect(rerun).toBeLessThanOrEqual(Math.ceil((N - kept) / 64) + 1)
    const rows = await readAll(s.client)
    expect(rows.size).toBe(N)
    expect(checkReembedded(rows, N)).toBe(0)
  })

  it('killed at half way (SIGKILL) and up again: the copy continues and finished windows never go to the model again', async () => {
    const N = 3000
    const s = await seeded(N)
    writeMigration(s.dir, '20260401000002_reembed.ts', ONE_STEP('{ batchSize: 64, concurrency: 4, retryDelayMs: 20 }'))
    service.resetStats()
    const killed = await cli(s.dir, s.args('up'), {
      env: { ...s.env, MVMIGRATE_FAILPOINTS: 'alter:after-page=4' },
      timeoutMs: 300_000,
    })
    expect(killed.code, killed.stderr).toBe(-1)
    // Requests the killed run had in flight are still answered (and counted) by the service: let them land.
    while (service.stats.inFlight > 0) await new Promise((r) => setTimeout(r, 20))
    const first = { ...service.stats }
    const st = await cli(s.dir, s.args('status'))
    const done =
      /Interrupted alter of docs \(migration 20260401000002, copying\): copy ([\d,]+)\/3,000 rows done; up will continue/.exec(
        st.stdout,
      )
    expect(done, st.stdout).not.toBeNull()
    const kept = Number(done![1].replace(/,/g, ''))
    expect(kept).toBeGreaterThanOrEqual(1000)
    expect(kept).toBeLessThanOrEqual(2000)

    const again = await cli(s.dir, s.args('up'), { env: s.env, timeoutMs: 300_000 })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain(`continuing the interrupted copy of docs after ${kept} of 3000 rows`)
    const second = service.stats.ok - first.ok
    // The rerun: only the rows after the checkpoint, in whole batches; the online catch-up took the
    // rows of the killed run from the copy (no model call), as the verification did.
    expect(second).toBeLessThanOrEqual(Math.ceil((N - kept) / 64) + 1)
    expect(service.stats.inputs - first.inputs).toBe(N - kept)
    const batches = Math.ceil(N / 64)
    // Both runs: the batches, plus what the killed run had in flight (pages transformed ahead of the writes).
    console.log(
      `killed at ${kept}/${N} rows: model calls ${service.stats.ok} for ${batches} batches (${(service.stats.ok / batches).toFixed(2)}x)`,
    )
    expect(service.stats.ok).toBeLessThanOrEqual(batches + 2 * Math.ceil(512 / 64) + 1)
    const rows = await readAll(s.client)
    expect(rows.size).toBe(N)
    expect(checkReembedded(rows, N)).toBe(0)
  })

  it('writers keep writing during the copy: the catch-up computes only the changed rows, in batches, and every vector matches its text', async () => {
    const N = 2000
    const s = await seeded(N)
    writeMigration(s.dir, '20260401000002_reembed.ts', ONE_STEP('{ batchSize: 64, concurrency: 4, retryDelayMs: 20 }'))
    service.resetStats()
    const running = cli(s.dir, s.args('up'), {
      env: { ...s.env, MVMIGRATE_FAILPOINTS: 'alter:after-page=sleep:500' },
      timeoutMs: 300_000,
    })
    // Once the copy has started: edit 120 texts (upserts, spread over the collection), delete 10 rows, add 10.
    while (service.stats.ok === 0) await new Promise((r) => setTimeout(r, 20))
    const texts = new Map<number, string>()
    for (let i = 0; i < N; i++) texts.set(i, textOf(i))
    const edited = Array.from({ length: 120 }, (_, j) => (j * 16 + 3) % N)
    for (const i of edited) texts.set(i, `${textOf(i)} edited`)
    const upsert = await s.client.upsert({
      collection_name: 'docs',
      data: edited.map((i) => ({ id: String(i + 1), text: texts.get(i), vector: embedText(textOf(i), 768) })),
    } as never)
    expect(upsert.status.error_code).toBe('Success')
    const gone = Array.from({ length: 10 }, (_, j) => j * 101 + 50)
    for (const i of gone) texts.delete(i)
    await s.client.delete({ collection_name: 'docs', filter: `id in [${gone.map((i) => i + 1).join(', ')}]` } as never)
    for (let i = N; i < N + 10; i++) texts.set(i, textOf(i))
    await s.client.insert({
      collection_name: 'docs',
      data: Array.from({ length: 10 }, (_, j) => ({
        id: String(N + j + 1),
        text: textOf(N + j),
        vector: embedText(textOf(N + j), 768),
      })),
    } as never)
    const up = await running
    expect(up.code, up.stderr).toBe(0)
    const recopied = /online: (\d+) catch-up pass\(es\) re-copied (\d+) rows/.exec(up.stderr)
    expect(recopied, up.stderr).not.toBeNull()
    // The first page was written before the edits: its edited rows were re-copied by the catch-up.
    expect(Number(recopied![2])).toBeGreaterThan(0)
    console.log(`catch-up: ${recopied![0]}; model: ${service.stats.ok} calls for ${service.stats.inputs} rows`)
    const rows = await readAll(s.client, ['id', 'text', 'vector'])
    expect(rows.size).toBe(N)
    let wrong = 0
    for (const [i, text] of texts) {
      const r = rows.get(String(i + 1))
      const want = embedText(text, 1024)
      if (!r || r.text !== text || (r.vector as number[]).some((x, d) => Math.abs(x - want[d]) > 1e-6)) wrong++
    }
    expect(wrong).toBe(0)
    // Each changed row computed again at most once more, and in batches (not a call a row).
    const extra = service.stats.inputs - N
    expect(extra).toBeGreaterThanOrEqual(0)
    expect(extra).toBeLessThanOrEqual(120 + 10)
    expect(service.stats.ok).toBeLessThanOrEqual(Math.ceil(service.stats.inputs / 64) + 2 * Number(recopied![1]) + 8)
  })

  it('the reembed template: add vector_v2 beside the old vector, dense and sparse computed in one alter; then drop the old and rename', async () => {
    const N = 1200
    const s = await seeded(N)
    const made = await cli(s.dir, s.args('make', 'switch_embeddings', '--template', 'reembed'))
    expect(made.code, made.stderr).toBe(0)
    const file = made.stdout.trim()
    expect(file).toMatch(/migrations\/\d{14}_switch_embeddings\.ts$/)
    const body = fs.readFileSync(file, 'utf8')
    expect(body).toContain("t.addField({ name: 'vector_v2', type: 'FloatVector', dim: DIM })")
    expect(body).toContain('batchSize: 64')
    const unknown = await cli(s.dir, s.args('make', 'x', '--template', 'nope'))
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('Unknown template "nope"')
    // The template, pointed at the test service and this collection (as a user edits it), plus a sparse field.
    const sparse = !lacks('sparse')
    fs.writeFileSync(
      file,
      body
        .replace("const COLLECTION = 'documents'", "const COLLECTION = 'docs'")
        .replace("const MODEL = 'text-embedding-3-large'", "const MODEL = 'embed-1024'")
        .replace("process.env.EMBEDDINGS_URL ?? 'https://api.openai.com'", 'process.env.EMBED_URL')
        .replace('        maxRetries: 6,', '        maxRetries: 6,\n        retryDelayMs: 50,')
        .replace(
          '    })\n    // The one-step form',
          sparse
            ? `      t.addField({ name: 'terms', type: 'SparseFloatVector' })
      t.addIndex({ field: 'terms', type: 'SPARSE_INVERTED_INDEX', metric: 'IP' })
      t.backfill('terms', (rows) => rows.map((r) => Object.fromEntries(String(r.text).split(' ').map((w) => [w.length * 7 + w.charCodeAt(0), 1]))), { batchSize: 128 })
    })
    // The one-step form`
            : '    })\n    // The one-step form',
        ),
    )
    if (lacks('multipleVectors')) {
      // One vector field a collection (Milvus 2.3): plan and up refuse the two-step form before
      // anything changes, naming the one-step form; the model is never called.
      service.resetStats()
      for (const command of ['plan', 'up']) {
        const r = await cli(s.dir, s.args(command), { env: s.env })
        expect(r.code, r.stderr).toBe(1)
        expect(r.stderr).toContain(
          "cannot alter 'docs' on this server: Milvus 2.3.5 allows one vector field per collection, and this one would have 2 ('vector', 'vector_v2')\nhint: Nothing was created or changed. One vector field per collection on this server: upgrade to Milvus 2.4 or newer, or keep one",
        )
      }
      expect(service.stats.inputs).toBe(0)
      const names = ((await s.client.listCollections()).data ?? []).map((c) => c.name)
      expect(names.filter((n) => n.startsWith('docs'))).toEqual(['docs'])
      expect((await readAll(s.client)).size).toBe(N)
      return console.log('the two-step form is left out: the server holds one vector field a collection')
    }
    const plan = await cli(s.dir, s.args('plan'), { env: s.env })
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toContain('backfill vector_v2 (computed in batches of 64, 8 in flight, up to 6 retries)')
    service.resetStats()
    const up = await cli(s.dir, s.args('up'), { env: s.env, timeoutMs: 300_000 })
    expect(up.code, up.stderr).toBe(0)
    expect(service.stats.inputs).toBe(N)
    const rows = await readAll(s.client)
    expect(rows.size).toBe(N)
    expect(checkReembedded(rows, N, 'vector_v2')).toBe(0)
    for (const [id, r] of rows) {
      const i = Number(id) - 1
      expect(r.vector).toEqual(embedText(textOf(i), 768)) // the old vector is kept
      if (sparse) expect(Object.keys(r.terms as object).length).toBeGreaterThan(0)
    }
    // Step 2: readers moved to vector_v2; the old field goes and vector_v2 takes its name.
    writeMigration(
      s.dir,
      '20990101000000_drop_old_vector.ts',
      `import { defineMigration } from 'mvmigrate'
export default defineMigration({ async up(ctx) {
  await ctx.alter('docs', (t) => { t.dropField('vector'); t.renameField('vector_v2', 'vector') })
} })
`,
    )
    service.resetStats()
    const step2 = await cli(s.dir, s.args('up'), { env: s.env, timeoutMs: 300_000 })
    expect(step2.code, step2.stderr).toBe(0)
    expect(service.stats.requests).toBe(0)
    const after = await readAll(s.client, ['id', 'text', 'vector'])
    expect(after.size).toBe(N)
    let wrong = 0
    for (let i = 0; i < N; i++) {
      const v = after.get(String(i + 1))?.vector as number[]
      const want = embedText(textOf(i), 1024)
      if (!v || v.length !== 1024 || v.some((x, d) => Math.abs(x - want[d]) > 1e-6)) wrong++
    }
    expect(wrong).toBe(0)
  })
})
