/**
 * Secrets never reach output or storage: a uri copied from another tool may carry
 * `user:password@`, and tokens and passwords may be echoed by errors from below.
 */

const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s@:]+)(:[^/\s@]*)?@/gi

/** A uri with its userinfo replaced: http://user:***@host:19530 -> http://***@host:19530. */
export function redactUri(text: string): string {
  return text.replace(USERINFO, '$1***@')
}

/** Splits `scheme://user:password@host:port` into the address without credentials, and the credentials. */
export function splitCredentials(uri: string): { uri: string; username?: string; password?: string } {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/\s@:]+)(?::([^/\s@]*))?@(.*)$/i.exec(uri)
  if (!m) return { uri }
  return {
    uri: m[1] + m[4],
    username: decodeURIComponent(m[2]),
    ...(m[3] !== undefined ? { password: decodeURIComponent(m[3]) } : {}),
  }
}

/**
 * Shorter secrets are not searched for in text: replacing every "Milvus" (the default root
 * password) would mangle every message. mvmigrate's own messages never contain a credential
 * (a uri is printed without its userinfo); this filter is the second line of defence.
 */
export const MIN_FILTERED_SECRET = 8

/** Replaces every known secret (and any uri's userinfo) in a text with ***. */
export function redactSecrets(text: string, secrets: (string | undefined)[]): string {
  let out = redactUri(text)
  const known = [...new Set(secrets.filter((s): s is string => !!s && s.length >= MIN_FILTERED_SECRET))].sort(
    (a, b) => b.length - a.length,
  )
  for (const s of known) out = out.split(s).join('***')
  return out
}

/** The secret parts of credentials: a token, its password half ("user:password"), a password. */
export function secretsOf(c: { token?: string; password?: string }): string[] {
  const out: string[] = []
  if (c.token) {
    out.push(c.token)
    const colon = c.token.indexOf(':')
    if (colon > 0) out.push(c.token.slice(colon + 1))
  }
  if (c.password) out.push(c.password)
  return out
}
