import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

/**
 * A throwaway PKI made with `openssl` at test time (nothing of it is committed): the CA a team
 * would run, a second CA nobody trusts, server certificates and client pairs.
 */
export interface TestPki {
  dir: string
  /** The CA that signs everything below except `stranger`. */
  ca: string
  /** Another CA: the server's certificate is not signed by it. */
  otherCa: string
  /** Server certificate for DNS:localhost and IP:127.0.0.1. */
  server: { cert: string; key: string }
  /** Server certificate for DNS:milvus.internal.example only: a name mismatch when reached by 127.0.0.1. */
  namedServer: { cert: string; key: string }
  /** A client pair signed by `ca`. */
  client: { cert: string; key: string }
  /** A client pair signed by `otherCa`: refused by a server that trusts `ca`. */
  stranger: { cert: string; key: string }
  rm(): void
}

export const NAMED_SERVER = 'milvus.internal.example'

function openssl(cwd: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer }
    if (err.code === 'ENOENT')
      throw new Error('openssl is not installed: the TLS tests make their certificates with it', { cause: e })
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr?.toString() ?? err.message}`, { cause: e })
  }
}

function key(dir: string, name: string): string {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', `${name}.key`])
  return path.join(dir, `${name}.key`)
}

function ca(dir: string, name: string, cn: string): string {
  key(dir, name)
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ])
  return path.join(dir, `${name}.pem`)
}

function leaf(
  dir: string,
  name: string,
  signer: string,
  cn: string,
  extensions: string[],
): { cert: string; key: string } {
  key(dir, name)
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`])
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions.join('\n') + '\n')
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${signer}.pem`,
    '-CAkey',
    `${signer}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ])
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) }
}

export function makeTestPki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-pki-'))
  const pki: TestPki = {
    dir,
    ca: ca(dir, 'ca', 'mvmigrate test CA'),
    otherCa: ca(dir, 'other-ca', 'another CA'),
    server: leaf(dir, 'server', 'ca', 'localhost', [
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      'extendedKeyUsage=serverAuth',
    ]),
    namedServer: leaf(dir, 'named-server', 'ca', NAMED_SERVER, [
      `subjectAltName=DNS:${NAMED_SERVER}`,
      'extendedKeyUsage=serverAuth',
    ]),
    client: leaf(dir, 'client', 'ca', 'mvmigrate-client', ['extendedKeyUsage=clientAuth']),
    stranger: leaf(dir, 'stranger', 'other-ca', 'stranger', ['extendedKeyUsage=clientAuth']),
    rm: () => fs.rmSync(dir, { recursive: true, force: true }),
  }
  return pki
}
