import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { translateSdkError } from '../../src/milvus/call'
import { classifyTlsFailure, tlsReason } from '../../src/milvus/tls-failures'
import { loadTlsFiles, tlsRequested } from '../../src/milvus/tls-files'
import { hostPort } from '../../src/milvus/tls-probe'
import { type TestPki, makeTestPki } from '../helpers/certs'

/**
 * What gRPC (@grpc/grpc-js through the Node SDK) reported for each TLS failure against the Milvus
 * 2.3 standalone with tlsMode 1 and 2, copied from real runs (test/standalone/tls.test.ts asserts
 * the messages built from them end to end).
 */
const SEEN = {
  clientCertRefused:
    '14 UNAVAILABLE: No connection established. Last error: 80CC8C12FB7F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n (2026-12-06T09:01:01.625Z). Resolution note:  (retried 3 times, 203ms)',
  untrusted:
    '14 UNAVAILABLE: No connection established. Last error: Error: unable to verify the first certificate. Resolution note:  (retried 3 times, 188ms)',
  nameMismatch:
    "14 UNAVAILABLE: No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: milvus.example. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1. Resolution note:  (retried 3 times, 149ms)",
  plainToTls:
    '14 UNAVAILABLE: No connection established. Last error: Failed to connect (2026-12-06T09:01:03.225Z). Resolution note:  (retried 3 times, 150ms)',
  refused:
    '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note:  (retried 3 times, 173ms)',
}

describe('TLS failures told apart', () => {
  it('classifies what gRPC reported, and keeps only the words that say what happened', () => {
    expect(classifyTlsFailure(SEEN.clientCertRefused)).toBe('clientCertRefused')
    expect(tlsReason(SEEN.clientCertRefused)).toBe('sslv3 alert bad certificate (SSL alert number 42)')
    expect(classifyTlsFailure(SEEN.untrusted)).toBe('untrusted')
    expect(tlsReason(SEEN.untrusted)).toBe('unable to verify the first certificate')
    expect(classifyTlsFailure(SEEN.nameMismatch)).toBe('nameMismatch')
    expect(tlsReason(SEEN.nameMismatch)).toBe(
      "Hostname/IP does not match certificate's altnames: Host: milvus.example. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1",
    )
    // Not TLS failures by their text: a plain connection to a TLS server is found by a probe.
    expect(classifyTlsFailure(SEEN.plainToTls)).toBeUndefined()
    expect(classifyTlsFailure(SEEN.refused)).toBeUndefined()
    expect(
      classifyTlsFailure(
        '14 UNAVAILABLE: No connection established. Last error: 80E8:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:354:',
      ),
    ).toBe('notTls')
    expect(classifyTlsFailure('Error: self-signed certificate in certificate chain')).toBe('untrusted')
    expect(classifyTlsFailure('certificate has expired')).toBe('serverCertInvalid')
    expect(classifyTlsFailure('SSL routines::tlsv13 alert certificate required:...:SSL alert number 116')).toBe(
      'clientCertRefused',
    )
  })

  it('any SDK error that is a TLS failure becomes TLS_FAILED (exit 6) with a hint, not "the server did not answer"', () => {
    const e = translateSdkError('connect to https://db:19530', { code: 14, message: SEEN.untrusted })
    expect(e.code).toBe('TLS_FAILED')
    expect(e.exitCode).toBe(6)
    expect(e.render('cli')).toEqual({
      message:
        'connect to https://db:19530: TLS: the certificate of the server is not signed by a public CA (unable to verify the first certificate)',
      hint: "The server's certificate comes from a private CA: pass that CA's certificate (PEM) with --tls-ca / MILVUS_TLS_CA / tls.ca.",
    })
    expect(translateSdkError('connect', { code: 14, message: SEEN.refused }).code).toBe('UNREACHABLE')
  })

  it('TLS is on for https:// or any TLS option, whatever the scheme', () => {
    expect(tlsRequested('https://x:443', undefined)).toBe(true)
    expect(tlsRequested('http://x:19530', undefined)).toBe(false)
    expect(tlsRequested('x:19530', {})).toBe(false)
    expect(tlsRequested('http://x:19530', { ca: 'ca.pem' })).toBe(true)
    expect(tlsRequested('x:19530', { serverName: 'milvus.example' })).toBe(true)
  })

  it('host and port of an address (gRPC defaults to 443)', () => {
    expect(hostPort('https://127.0.0.1:19530')).toEqual({ host: '127.0.0.1', port: 19530 })
    expect(hostPort('milvus.example:443/x')).toEqual({ host: 'milvus.example', port: 443 })
    expect(hostPort('https://in01.zillizcloud.com')).toEqual({ host: 'in01.zillizcloud.com', port: 443 })
    expect(hostPort('http://[::1]:19530')).toEqual({ host: '::1', port: 19530 })
  })
})

describe('TLS files, checked before connecting', () => {
  let pki: TestPki
  beforeAll(() => {
    pki = makeTestPki()
  })
  afterAll(() => pki.rm())
  const api = (f: () => unknown) => {
    try {
      f()
    } catch (e) {
      const err = e as { code: string; exitCode: number; render(a: 'cli'): { message: string; hint?: string } }
      return { code: err.code, exitCode: err.exitCode, ...err.render('cli') }
    }
    throw new Error('expected an error')
  }

  it('a CA, a client pair and a server name load; the contents go to the SDK', () => {
    const t = loadTlsFiles({ ca: pki.ca, cert: pki.client.cert, key: pki.client.key, serverName: 'milvus.example' })
    expect(t.rootCert?.toString()).toBe(fs.readFileSync(pki.ca, 'utf8'))
    expect(t.certChain?.toString()).toBe(fs.readFileSync(pki.client.cert, 'utf8'))
    expect(t.privateKey?.toString()).toBe(fs.readFileSync(pki.client.key, 'utf8'))
    expect(t.serverName).toBe('milvus.example')
    expect(t.clientCert).toMatchObject({
      file: pki.client.cert,
      subject: 'CN=mvmigrate-client',
      issuer: 'CN=mvmigrate test CA',
    })
    expect(loadTlsFiles({})).toEqual({})
  })

  it('each bad file is named with its option and what is wrong; no contents are printed', () => {
    const dir = pki.dir
    const der = path.join(dir, 'ca.der')
    execFileSync('openssl', ['x509', '-in', pki.ca, '-outform', 'der', '-out', der])
    const encrypted = path.join(dir, 'encrypted.key')
    execFileSync('openssl', [
      'pkey',
      '-in',
      pki.client.key,
      '-aes256',
      '-passout',
      'pass:secret-pass',
      '-out',
      encrypted,
    ])
    const broken = path.join(dir, 'broken.pem')
    fs.writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n')
    const csr = path.join(dir, 'client.csr')
    const CA = '--tls-ca / MILVUS_TLS_CA / tls.ca'
    const CERT = '--tls-cert / MILVUS_TLS_CERT / tls.cert'
    const KEY = '--tls-key / MILVUS_TLS_KEY / tls.key'
    const cases: [Parameters<typeof loadTlsFiles>[0], string, string][] = [
      [
        { ca: path.join(dir, 'nope.pem') },
        `The TLS CA file ${dir}/nope.pem (${CA}) does not exist`,
        `Check the path given with ${CA}.`,
      ],
      [{ ca: dir }, `The TLS CA file ${dir} (${CA}) is not a file`, `Give the path of a PEM file with ${CA}.`],
      [
        { ca: der },
        `The TLS CA file ${der} (${CA}) is not PEM (no "-----BEGIN CERTIFICATE-----" block)`,
        `Convert a DER file to PEM first (openssl x509 -inform der -in <file> -out ca.pem), and give that with ${CA}.`,
      ],
      [
        { ca: csr },
        `The TLS CA file ${csr} (${CA}) holds no certificate (it has: CERTIFICATE REQUEST)`,
        `Give the CA's certificate (a "-----BEGIN CERTIFICATE-----" file) with ${CA}.`,
      ],
      [
        { ca: broken },
        `The TLS CA file ${broken} (${CA}) has a "-----BEGIN CERTIFICATE-----" block that is not a valid certificate`,
        `Check the file (openssl x509 -in ${broken} -noout -subject should print its subject).`,
      ],
      [
        { cert: pki.client.key, key: pki.client.key },
        `The TLS client certificate ${pki.client.key} (${CERT}) holds a private key, not a certificate`,
        `Give the client certificate (a "-----BEGIN CERTIFICATE-----" file) with ${CERT}.`,
      ],
      [
        { cert: pki.client.cert, key: pki.client.cert },
        `The TLS client key ${pki.client.cert} (${KEY}) holds a certificate, not a private key`,
        `Give the private key of the client certificate with ${KEY}.`,
      ],
      [
        { cert: pki.client.cert, key: encrypted },
        `The TLS client key ${encrypted} (${KEY}) is encrypted with a passphrase`,
        `mvmigrate needs an unencrypted key: write one with openssl pkey -in ${encrypted} -out client.key (keep it as private as the original).`,
      ],
      [
        { key: pki.client.key },
        `A TLS client key (${pki.client.key}) was given without its certificate`,
        `Mutual TLS needs both: pass the certificate with ${CERT} and its private key with ${KEY}.`,
      ],
      [
        { cert: pki.client.cert, key: pki.stranger.key },
        `The TLS client key ${pki.stranger.key} (${KEY}) is not the key of the certificate ${pki.client.cert} (${CERT}, CN=mvmigrate-client)`,
        'Pass the private key that was made with that certificate (its request), or the certificate issued for this key.',
      ],
      [
        { serverName: 'https://milvus.example' },
        'The TLS server name "https://milvus.example" (--tls-server-name / MILVUS_TLS_SERVER_NAME / tls.serverName) is not a host name',
        "Give the DNS name (or IP address) the server's certificate carries, e.g. milvus.internal.example.",
      ],
    ]
    const keyLines = [pki.client.key, pki.stranger.key, encrypted].map((f) => fs.readFileSync(f, 'utf8').split('\n')[1])
    for (const [options, message, hint] of cases) {
      const e = api(() => loadTlsFiles(options))
      expect(e, JSON.stringify(options)).toEqual({ code: 'TLS_FILE_INVALID', exitCode: 6, message, hint })
      for (const line of keyLines) expect(message + hint).not.toContain(line)
    }
  })
})
