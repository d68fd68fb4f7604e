import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import * as fs from 'node:fs'
import { MvmError } from '../errors'

/**
 * TLS towards a self-hosted Milvus: the files a private CA and mutual TLS need, as paths. Any of
 * them turns TLS on whatever the uri's scheme; without them `https://` uses the public CAs.
 */
export interface TlsOptions {
  /** PEM file of the CA that signed the server's certificate (Milvus: the CA behind tls.serverPemPath). */
  ca?: string
  /** PEM client certificate, for servers that require one (Milvus tlsMode 2). Needs `key`. */
  cert?: string
  /** PEM private key of `cert` (unencrypted). */
  key?: string
  /** The name the server's certificate must carry, when it is not the host of the uri. */
  serverName?: string
}

/** What the SDK is handed: the files' contents, read and checked once (the bulk connection reuses them). */
export interface LoadedTls {
  rootCert?: Buffer
  certChain?: Buffer
  privateKey?: Buffer
  serverName?: string
  /** For messages: the client certificate's subject and issuer (never key material). */
  clientCert?: { file: string; subject: string; issuer: string; validTo: string }
}

/** True when TLS is asked for: an https:// uri or any TLS option. */
export function tlsRequested(uri: string, tls: TlsOptions | undefined): boolean {
  return /^https:/i.test(uri) || !!(tls && (tls.ca || tls.cert || tls.key || tls.serverName))
}

type Slot = 'ca' | 'cert' | 'key'
const WORDS: Record<Slot, { what: string; flag: string }> = {
  ca: { what: 'TLS CA file', flag: '{{tlsCa}}' },
  cert: { what: 'TLS client certificate', flag: '{{tlsCert}}' },
  key: { what: 'TLS client key', flag: '{{tlsKey}}' },
}

function fileError(slot: Slot, file: string, problem: string, hint: string): MvmError {
  return new MvmError('TLS_FILE_INVALID', `The ${WORDS[slot].what} ${file} (${WORDS[slot].flag}) ${problem}`, {
    hint,
  })
}

/** The labels of the PEM blocks in a text ("CERTIFICATE", "PRIVATE KEY", ...). */
function pemLabels(text: string): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1])
}

function readFile(slot: Slot, file: string): Buffer {
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch {
    throw fileError(slot, file, 'does not exist', `Check the path given with ${WORDS[slot].flag}.`)
  }
  if (!stat.isFile())
    throw fileError(slot, file, 'is not a file', `Give the path of a PEM file with ${WORDS[slot].flag}.`)
  try {
    return fs.readFileSync(file)
  } catch (e) {
    throw fileError(
      slot,
      file,
      `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      'Check its permissions: mvmigrate must be able to read it.',
    )
  }
}

const TO_PEM: Record<Slot, string> = {
  ca: 'openssl x509 -inform der -in <file> -out ca.pem',
  cert: 'openssl x509 -inform der -in <file> -out client.pem',
  key: 'openssl pkey -inform der -in <file> -out client.key',
}

/** A file that must hold certificates: PEM, parseable; returns the first one. */
function readCertificate(slot: 'ca' | 'cert', file: string): { pem: Buffer; first: X509Certificate } {
  const pem = readFile(slot, file)
  const text = pem.toString('latin1')
  const labels = pemLabels(text)
  if (!labels.includes('CERTIFICATE')) {
    const holds = labels.some((l) => l.endsWith('PRIVATE KEY'))
      ? 'holds a private key, not a certificate'
      : labels.length
        ? `holds no certificate (it has: ${[...new Set(labels)].join(', ')})`
        : 'is not PEM (no "-----BEGIN CERTIFICATE-----" block)'
    throw fileError(
      slot,
      file,
      holds,
      labels.length
        ? `Give the ${slot === 'ca' ? "CA's certificate" : 'client certificate'} (a "-----BEGIN CERTIFICATE-----" file) with ${WORDS[slot].flag}.`
        : `Convert a DER file to PEM first (${TO_PEM[slot]}), and give that with ${WORDS[slot].flag}.`,
    )
  }
  try {
    return { pem, first: new X509Certificate(pem) }
  } catch {
    throw fileError(
      slot,
      file,
      'has a "-----BEGIN CERTIFICATE-----" block that is not a valid certificate',
      `Check the file (openssl x509 -in ${file} -noout -subject should print its subject).`,
    )
  }
}

function readKey(file: string): { pem: Buffer; key: KeyObject } {
  const pem = readFile('key', file)
  const text = pem.toString('latin1')
  const labels = pemLabels(text)
  if (labels.includes('ENCRYPTED PRIVATE KEY') || /Proc-Type: *4,ENCRYPTED/.test(text))
    throw fileError(
      'key',
      file,
      'is encrypted with a passphrase',
      `mvmigrate needs an unencrypted key: write one with openssl pkey -in ${file} -out client.key (keep it as private as the original).`,
    )
  if (!labels.some((l) => l.endsWith('PRIVATE KEY'))) {
    const holds = labels.includes('CERTIFICATE')
      ? 'holds a certificate, not a private key'
      : labels.length
        ? `holds no private key (it has: ${[...new Set(labels)].join(', ')})`
        : 'is not PEM (no "-----BEGIN PRIVATE KEY-----" block)'
    throw fileError(
      'key',
      file,
      holds,
      labels.length
        ? 'Give the private key of the client certificate with {{tlsKey}}.'
        : `Convert a DER key to PEM first (${TO_PEM.key}), and give that with {{tlsKey}}.`,
    )
  }
  try {
    return { pem, key: createPrivateKey(pem) }
  } catch {
    // Never the parser's own message: it could quote the file.
    throw fileError(
      'key',
      file,
      'has a PRIVATE KEY block that is not a valid key',
      'Check the file (openssl pkey -in <file> -noout should accept it).',
    )
  }
}

/** "CN=x, O=y" from a certificate's multi-line subject or issuer. */
export function distinguishedName(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ')
}

/**
 * Reads and checks the TLS files before anything connects: each exists, is PEM of the right kind
 * and parses; a client certificate comes with its key and the key is that certificate's. Messages
 * name the file and the option, never the contents.
 */
export function loadTlsFiles(tls: TlsOptions): LoadedTls {
  const out: LoadedTls = {}
  if (tls.serverName !== undefined && !/^[A-Za-z0-9.:*_-]+$/.test(tls.serverName))
    throw new MvmError(
      'TLS_FILE_INVALID',
      `The TLS server name ${JSON.stringify(tls.serverName)} ({{tlsServerName}}) is not a host name`,
      { hint: "Give the DNS name (or IP address) the server's certificate carries, e.g. milvus.internal.example." },
    )
  if (tls.serverName) out.serverName = tls.serverName
  if (tls.ca) out.rootCert = readCertificate('ca', tls.ca).pem
  if (!!tls.cert !== !!tls.key)
    throw new MvmError(
      'TLS_FILE_INVALID',
      tls.cert
        ? `A TLS client certificate (${tls.cert}) was given without its key`
        : `A TLS client key (${tls.key}) was given without its certificate`,
      { hint: 'Mutual TLS needs both: pass the certificate with {{tlsCert}} and its private key with {{tlsKey}}.' },
    )
  if (tls.cert && tls.key) {
    const cert = readCertificate('cert', tls.cert)
    const key = readKey(tls.key)
    if (!cert.first.checkPrivateKey(key.key))
      throw new MvmError(
        'TLS_FILE_INVALID',
        `The TLS client key ${tls.key} ({{tlsKey}}) is not the key of the certificate ${tls.cert} ({{tlsCert}}, ${distinguishedName(cert.first.subject)})`,
        {
          hint: 'Pass the private key that was made with that certificate (its request), or the certificate issued for this key.',
        },
      )
    out.certChain = cert.pem
    out.privateKey = key.pem
    out.clientCert = {
      file: tls.cert,
      subject: distinguishedName(cert.first.subject),
      issuer: distinguishedName(cert.first.issuer),
      validTo: cert.first.validTo,
    }
  }
  return out
}
