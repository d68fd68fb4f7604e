import { redactSecrets, secretsOf, splitCredentials } from '../util/redact'

/** Secrets of this run (token, password, a uri's userinfo) from the command line and environment. */
export function secretsIn(argv: string[], env: NodeJS.ProcessEnv): string[] {
  const out = secretsOf({ token: env.MILVUS_TOKEN, password: env.MILVUS_PASSWORD })
  const uris = [env.MILVUS_URI]
  argv.forEach((a, i) => {
    const [flag, inline] = a.split(/=(.*)/s, 2)
    const value = inline ?? argv[i + 1]
    if (flag === '--token') out.push(...secretsOf({ token: value }))
    if (flag === '--uri') uris.push(value)
  })
  for (const u of uris) if (u) out.push(...secretsOf({ password: splitCredentials(u).password }))
  return out
}

/**
 * Runs fn with everything written to stdout and stderr passed through the redactor: a second line
 * of defence behind messages that never contain credentials (SDK errors, a user's own log lines).
 * `secrets` may grow while fn runs (the config file is read inside it).
 */
export async function redactingOutput<T>(secrets: Set<string>, fn: () => Promise<T>): Promise<T> {
  const streams = [process.stdout, process.stderr] as const
  const originals = streams.map((s) => s.write)
  streams.forEach((stream, i) => {
    const original = originals[i]
    stream.write = function (chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : chunk
      const safe = typeof text === 'string' ? redactSecrets(text, [...secrets]) : text
      return (original as (...a: unknown[]) => boolean).call(stream, safe, ...rest)
    } as typeof stream.write
  })
  try {
    return await fn()
  } finally {
    streams.forEach((stream, i) => (stream.write = originals[i]))
  }
}
