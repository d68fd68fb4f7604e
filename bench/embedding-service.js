'use strict'
/**
 * A local stand-in for an embedding API, for the re-embed tests and bench:reembed: an OpenAI-style
 * `POST /v1/embeddings` ({ model, input: string | string[], dimensions? } -> { data: [{ index,
 * embedding }] }) answering deterministic vectors after a set latency. It misbehaves as real ones
 * do, on a fixed schedule (so runs repeat): a share of requests answered 429 with Retry-After, a
 * share whose connection is reset, and on demand every request failing with a given status.
 * Everything it did is counted in `stats`.
 *
 * The model's dim comes from `dimensions`, else from the model name's last number ('embed-1024').
 */
const http = require('node:http')

/** The deterministic embedding of a text: a unit vector drawn from a generator seeded by the text. */
function embedText(text, dim) {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0
  h = (h ^ Math.imul(dim, 2654435761)) >>> 0
  const next = () => {
    // mulberry32
    h = (h + 0x6d2b79f5) >>> 0
    let t = h
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5
  }
  const v = new Array(dim)
  let norm = 0
  for (let d = 0; d < dim; d++) {
    v[d] = next()
    norm += v[d] * v[d]
  }
  norm = Math.sqrt(norm) || 1
  for (let d = 0; d < dim; d++) v[d] = Math.fround(v[d] / norm)
  return v
}

/** True for about `share` of the calls numbered 0, 1, 2, ... (spread evenly; `phase` shifts them). */
function scheduled(n, share, phase = 0) {
  if (!share) return false
  const m = n + phase
  return Math.floor((m + 1) * share) > Math.floor(m * share)
}

/**
 * @param {{ latencyMs?: number, rateLimitShare?: number, retryAfter?: string, resetShare?: number, noisy?: boolean }} opts
 */
function startEmbeddingService(opts = {}) {
  const settings = {
    latencyMs: opts.latencyMs ?? 50,
    rateLimitShare: opts.rateLimitShare ?? 0,
    retryAfter: opts.retryAfter ?? '1',
    resetShare: opts.resetShare ?? 0,
    // A model whose floats differ in the last bit between calls (as some GPU servers' do).
    noisy: opts.noisy ?? false,
    // Every request answered with this status (e.g. 503: the service is down; 400: it rejects them),
    // from the moment `failAfter` requests were answered 200 (0: at once).
    failStatus: 0,
    failAfter: 0,
  }
  const stats = { requests: 0, ok: 0, rateLimited: 0, resets: 0, failed: 0, inputs: 0, maxInFlight: 0, inFlight: 0 }
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }))
      return
    }
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      const n = stats.requests++
      stats.inFlight++
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
      setTimeout(() => {
        stats.inFlight--
        if (settings.failStatus && stats.ok >= settings.failAfter) {
          stats.failed++
          res.writeHead(settings.failStatus, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: { message: `the service answers ${settings.failStatus}` } }))
          return
        }
        if (scheduled(n, settings.resetShare, 7)) {
          stats.resets++
          req.socket.destroy()
          return
        }
        if (scheduled(n, settings.rateLimitShare, 3)) {
          stats.rateLimited++
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': settings.retryAfter })
          res.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests' } }))
          return
        }
        let parsed
        try {
          parsed = JSON.parse(body)
        } catch {
          stats.failed++
          res.writeHead(400, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: { message: 'the body is not JSON' } }))
          return
        }
        const input = Array.isArray(parsed.input) ? parsed.input : [parsed.input]
        const dim = Number(parsed.dimensions ?? /(\d+)$/.exec(String(parsed.model ?? ''))?.[1] ?? 768)
        const data = input.map((text, index) => {
          const embedding = embedText(String(text), dim)
          if (settings.noisy) embedding[index % dim] = Math.fround(embedding[index % dim] * (1 + 2 ** -22))
          return { object: 'embedding', index, embedding }
        })
        stats.ok++
        stats.inputs += input.length
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({ object: 'list', data, model: parsed.model, usage: { prompt_tokens: 0, total_tokens: 0 } }),
        )
      }, settings.latencyMs)
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      resolve({
        url: `http://127.0.0.1:${port}`,
        stats,
        settings,
        resetStats() {
          for (const k of Object.keys(stats)) if (k !== 'inFlight') stats[k] = 0
        },
        close() {
          server.closeAllConnections?.()
          return new Promise((r) => server.close(() => r()))
        },
      })
    })
  })
}

module.exports = { startEmbeddingService, embedText }
