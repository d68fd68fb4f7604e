import { MvmError } from '../errors'
import type { LoadedTls } from './tls-files'
import type { TlsProbe } from './tls-probe'

/**
 * TLS failures told apart, each with what to do. gRPC wraps them all in "14 UNAVAILABLE: No
 * connection established. Last error: ...": without this they read as "the server did not answer",
 * and the user checks whether Milvus runs when the certificate is the problem. The texts matched
 * are Node's and OpenSSL's, as seen against Milvus 2.3 with tlsMode 1 and 2
 * (test/standalone/tls.test.ts and test/unit/tls.test.ts hold them).
 */
export type TlsFailureKind =
  /** The server's certificate does not chain to the CA given (or to a public CA). */
  | 'untrusted'
  /** The certificate is valid but for other names than the one expected. */
  | 'nameMismatch'
  /** The server's certificate itself is unusable (expired, not yet valid, wrong purpose). */
  | 'serverCertInvalid'
  /** The server refused the client's certificate, or wanted one and got none (mutual TLS). */
  | 'clientCertRefused'
  /** TLS was asked of a server that speaks plain gRPC. */
  | 'notTls'
  /** Plain gRPC was asked of a server that speaks TLS (found by a probe: gRPC only says "Failed to connect"). */
  | 'plainToTls'

const PATTERNS: [TlsFailureKind, RegExp][] = [
  ['nameMismatch', /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames|is not cert's CN/i],
  [
    'clientCertRefused',
    /alert (bad certificate|certificate required|unknown ca|certificate unknown|certificate expired|certificate revoked|unsupported certificate|access denied)|SSL alert number (42|43|44|45|46|48|49|116)\b/i,
  ],
  [
    'untrusted',
    /unable to verify the first certificate|unable to get (local )?issuer certificate|self[- ]signed certificate|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT|certificate signature failure/i,
  ],
  [
    'serverCertInvalid',
    /certificate has expired|CERT_HAS_EXPIRED|certificate is not yet valid|CERT_NOT_YET_VALID|unsupported certificate purpose|invalid CA certificate/i,
  ],
  [
    'notTls',
    /wrong version number|packet length too long|unknown protocol|disconnected before secure TLS connection|record layer failure|ssl3_get_record/i,
  ],
]

/** Which TLS failure a gRPC/Node error message reports, if any. */
export function classifyTlsFailure(message: string): TlsFailureKind | undefined {
  return PATTERNS.find(([, re]) => re.test(message))?.[0]
}

/**
 * The part of a gRPC error that says what happened, without gRPC's wrapping, timestamps and
 * OpenSSL's source locations: "unable to verify the first certificate", "sslv3 alert bad
 * certificate (SSL alert number 42)".
 */
export function tlsReason(message: string): string {
  let s = message.replace(/\s+/g, ' ')
  const last = /Last error: (.*?)(?: Resolution note:.*)?$/.exec(s)
  if (last) s = last[1]
  s = s
    .replace(/\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '')
    .replace(/^(\d+ [A-Z_]+: )?/, '')
    .replace(/^Error(?: \[[A-Z_]+\])?: /, '')
    .replace(/[\s.]+$/, '')
  const ssl = /SSL routines:[^:]*:([^:]+):.*?(SSL alert number \d+)?\s*$/.exec(s)
  if (ssl) s = ssl[1] + (ssl[2] ? ` (${ssl[2]})` : '')
  return s.trim().replace(/\.$/, '')
}

/** What is known when a failure is explained: the more, the more precise the message. */
export interface TlsFacts {
  /** The server's address as printed (no credentials). */
  address: string
  /** tlsReason() of the error. */
  reason: string
  /** The CA file given, if any. */
  ca?: string
  /** The name the certificate was checked against (--tls-server-name, else the uri's host). */
  expectedName?: string
  tls?: LoadedTls
  probe?: TlsProbe
  /** The error explained (shown with --verbose). */
  cause?: unknown
}

/** The names a certificate carries, from a probe or from Node's mismatch message. */
function certificateNames(f: TlsFacts): string | undefined {
  if (f.probe?.names) return f.probe.names
  return /cert's altnames: (.*)$/.exec(f.reason)?.[1] ?? /is not cert's CN: (.*)$/.exec(f.reason)?.[1]
}

function certificateOf(f: TlsFacts): string {
  return f.probe?.subject ? ` (${f.probe.subject}${f.probe.issuer ? `, issued by ${f.probe.issuer}` : ''})` : ''
}

/** The error for a TLS failure; `what` prefixes it when it happened after connecting (e.g. the bulk connection). */
export function tlsFailure(kind: TlsFailureKind, f: TlsFacts, what?: string): MvmError {
  const at = what ? `${what}: ` : ''
  const details = { tls: kind, address: f.address, reason: f.reason }
  const err = (message: string, hint: string) =>
    new MvmError('TLS_FAILED', at + message, { hint, details, cause: f.cause })
  switch (kind) {
    case 'untrusted':
      return err(
        `TLS: the certificate of ${f.address}${certificateOf(f)} is not signed by ${f.ca ? `the CA in ${f.ca}` : 'a public CA'} (${f.reason})`,
        f.ca
          ? "Pass the certificate of the CA that issued the server's certificate with {{tlsCa}} (for Milvus: the CA that signed the file its tls.serverPemPath names)."
          : "The server's certificate comes from a private CA: pass that CA's certificate (PEM) with {{tlsCa}}.",
      )
    case 'nameMismatch': {
      const names = certificateNames(f)
      const first = names
        ?.split(/,\s*/)
        .map((n) => n.replace(/^(DNS|IP Address|CN)[:=]/, ''))
        .find(Boolean)
      return err(
        `TLS: the certificate of ${f.address} is for ${names ?? 'other names'}, not for '${f.expectedName ?? '?'}'`,
        `{{tlsServerName}} sets the name mvmigrate expects: pass one the certificate carries${first ? ` (${first})` : ''}, or connect by that name in {{uri}}.`,
      )
    }
    case 'serverCertInvalid':
      return err(
        `TLS: the certificate of ${f.address}${certificateOf(f)} is not valid (${f.reason})`,
        "The server's certificate must be replaced (or this machine's clock is wrong).",
      )
    case 'clientCertRefused': {
      const c = f.tls?.clientCert
      if (!c)
        return err(
          `TLS: ${f.address} requires a client certificate (mutual TLS), and none was given (the server answered: ${f.reason})`,
          'Pass a client certificate signed by the CA the server trusts (Milvus: tls.caPemPath) with {{tlsCert}}, and its key with {{tlsKey}}.',
        )
      return err(
        `TLS: ${f.address} refused the client certificate ${c.file} (${c.subject}, issued by ${c.issuer}; the server answered: ${f.reason})`,
        `The server takes client certificates signed by the CA it trusts (Milvus: tls.caPemPath) and still valid (this one is until ${c.validTo}): pass such a certificate and its key with {{tlsCert}} and {{tlsKey}}.`,
      )
    }
    case 'notTls':
      return err(
        `TLS: ${f.address} does not speak TLS (${f.reason})`,
        'This Milvus serves plain gRPC (tlsMode 0): connect with an http:// uri and without {{tlsOptions}}, or turn TLS on in the server (common.security.tlsMode 1 or 2).',
      )
    case 'plainToTls':
      return err(
        `TLS: ${f.address} speaks TLS, but the connection was made without it${f.probe?.subject ? ` (its certificate: ${certificateOf(f).slice(2, -1)})` : ''}`,
        f.probe?.speaksTls && !f.probe.authorizationError
          ? 'Its certificate is from a public CA: use https:// in {{uri}}.'
          : 'Turn TLS on: pass the CA that issued its certificate with {{tlsCa}} (and, if the server requires one, a client certificate with {{tlsCert}} and {{tlsKey}}).',
      )
  }
}
