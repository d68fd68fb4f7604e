import * as net from 'node:net'
import * as tls from 'node:tls'

/**
 * One TLS handshake with a server, only to explain a failed connection: gRPC reports "No connection
 * established" or a bare OpenSSL line, while a user needs to know whether the server speaks TLS at
 * all, whose certificate it shows and for which names. Nothing is sent after the handshake.
 */
export interface TlsProbe {
  /** true: the handshake completed; false: the server answered, but not with TLS; undefined: no answer. */
  speaksTls?: boolean
  /** The server's certificate, when the handshake completed. */
  subject?: string
  issuer?: string
  /** "DNS:localhost, IP Address:127.0.0.1" (the certificate's subjectAltName), or its CN when it has none. */
  names?: string
  /** Node's verdict on the chain with the CA given (or the public ones): e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE. */
  authorizationError?: string
  /** Why the certificate does not match the expected name, when it does not. */
  nameMismatch?: string
  /** The handshake's error, when it failed. */
  error?: string
}

/** host and port of a Milvus address (scheme and path removed; gRPC's default port 443 when none). */
export function hostPort(address: string): { host: string; port: number } {
  const rest = address.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '')
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:]+)(?::(\d+))?$/.exec(rest)
  if (!m) return { host: rest, port: 443 }
  return { host: m[1], port: m[2] ? Number(m[2]) : 443 }
}

function dn(o: Record<string, string | string[]> | undefined): string | undefined {
  if (!o) return undefined
  const parts = Object.entries(o).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
  return parts.length ? parts.join(', ') : undefined
}

export function probeTls(
  address: string,
  opts: { ca?: Buffer; cert?: Buffer; key?: Buffer; expectedName?: string },
  timeoutMs = 3000,
): Promise<TlsProbe> {
  const { host, port } = hostPort(address)
  const expected = opts.expectedName ?? host
  return new Promise((resolve) => {
    let done = false
    const finish = (p: TlsProbe) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(p)
    }
    const socket = tls.connect({
      host,
      port,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      // SNI takes host names only (Node warns about an IP address).
      servername: net.isIP(expected) ? undefined : expected,
      ALPNProtocols: ['h2'],
      // To see the certificate whatever it is; the verdict is read below.
      rejectUnauthorized: false,
    })
    const timer = setTimeout(() => finish({}), timeoutMs)
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate()
      const mismatch = cert && Object.keys(cert).length ? tls.checkServerIdentity(expected, cert) : undefined
      finish({
        speaksTls: true,
        subject: dn(cert?.subject as never),
        issuer: dn(cert?.issuer as never),
        names: cert?.subjectaltname || (cert?.subject?.CN ? `CN=${cert.subject.CN}` : undefined),
        authorizationError: socket.authorized ? undefined : String(socket.authorizationError ?? 'unauthorized'),
        nameMismatch: mismatch?.message,
      })
    })
    socket.once('error', (e: NodeJS.ErrnoException) => {
      const noAnswer = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT']
      if (noAnswer.includes(e.code ?? '')) return finish({ error: e.message })
      // A TLS alert (e.g. a client certificate refused during a TLS 1.2 handshake) is TLS too.
      finish({ speaksTls: /alert/i.test(e.message), error: e.message })
    })
  })
}
