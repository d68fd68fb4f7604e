import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { MvmError } from '../errors'

/** lite/requirements.txt: the one place where the Milvus Lite versions are pinned. */
export const REQUIREMENTS_FILE = path.resolve(__dirname, '..', '..', 'lite', 'requirements.txt')
const STAMP = '.mvmigrate-requirements.sha256'

export interface LiteInstallOptions {
  /** Virtual environment to install into (default .mvmigrate/venv in the working directory). */
  venvDir: string
  /** Pinned requirements to install (default lite/requirements.txt). */
  requirementsFile?: string
  /** Console script that proves the install (default milvus-lite). */
  binary?: string
  /** Python interpreter to create the venv with (default: MVMIGRATE_PYTHON, python3, python). */
  python?: string
  log?: (line: string) => void
}

export function liteBinary(venvDir: string, binary = 'milvus-lite'): string {
  return path.join(venvDir, 'bin', binary)
}

function requirementsDigest(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

export function isLiteInstalled(
  venvDir: string,
  requirementsFile = REQUIREMENTS_FILE,
  binary = 'milvus-lite',
): boolean {
  try {
    return (
      fs.existsSync(liteBinary(venvDir, binary)) &&
      fs.readFileSync(path.join(venvDir, STAMP), 'utf8').trim() === requirementsDigest(requirementsFile)
    )
  } catch {
    return false
  }
}

function findPython(explicit?: string): string {
  const candidates = explicit
    ? [explicit]
    : [process.env.MVMIGRATE_PYTHON, 'python3', 'python'].filter((x): x is string => !!x)
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' })
    if (r.status !== 0) continue
    const [major, minor] = r.stdout.trim().split('.').map(Number)
    if (major === 3 && minor >= 10) return py
  }
  throw new MvmError(
    'PYTHON_MISSING',
    `Milvus Lite needs Python 3.10 or newer with venv and pip; none found (tried ${candidates.join(', ')})`,
    {
      hint: 'Install Python 3.10+ (e.g. apt-get install python3 python3-venv python3-pip), or set MVMIGRATE_PYTHON, or {{useServer}}.',
    },
  )
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`
      .trim()
      .split('\n')
      .slice(-15)
      .join('\n')
    throw new MvmError('LITE_INSTALL_FAILED', `${what} failed (exit ${r.status}):\n${output}`, {
      hint: 'Check that PyPI is reachable and python3-venv is installed, then {{liteInstall}} again; or {{useServer}}.',
    })
  }
}

/**
 * Installs the pinned Milvus Lite (or, for the standalone test suite, another pinned Python
 * package) into a project-local virtual environment, once. A stamp holding
 * the digest of requirements.txt tells whether the venv is current; a lock directory keeps two
 * processes from installing into the same venv at once.
 */
export async function ensureLiteInstalled(opts: LiteInstallOptions): Promise<string> {
  const venvDir = path.resolve(opts.venvDir)
  const requirements = opts.requirementsFile ?? REQUIREMENTS_FILE
  const binary = opts.binary ?? 'milvus-lite'
  const installed = () => isLiteInstalled(venvDir, requirements, binary)
  if (installed()) return liteBinary(venvDir, binary)
  fs.mkdirSync(path.dirname(venvDir), { recursive: true })
  const lockDir = `${venvDir}.installing`
  const deadline = Date.now() + 15 * 60_000
  for (;;) {
    try {
      fs.mkdirSync(lockDir)
      break
    } catch {
      if (installed()) return liteBinary(venvDir, binary)
      const age = Date.now() - (fs.statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
      if (age > 15 * 60_000) fs.rmSync(lockDir, { recursive: true, force: true }) // a killed installer's leftover
      if (Date.now() > deadline)
        throw new MvmError(
          'LITE_INSTALL_FAILED',
          `Timed out waiting for another process installing Milvus Lite into ${venvDir}`,
          { hint: `If no install is running, remove ${lockDir} and run the command again.` },
        )
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  try {
    if (installed()) return liteBinary(venvDir, binary)
    const python = findPython(opts.python)
    opts.log?.(
      `Installing ${requirements === REQUIREMENTS_FILE ? 'Milvus Lite' : binary} into ${path.relative(process.cwd(), venvDir) || venvDir} (first run only)...`,
    )
    if (!fs.existsSync(path.join(venvDir, 'bin', 'pip')))
      run(python, ['-m', 'venv', venvDir], `${python} -m venv ${venvDir}`)
    const pip = path.join(venvDir, 'bin', 'pip')
    run(
      pip,
      ['install', '--disable-pip-version-check', '--quiet', '-r', requirements],
      `pip install -r ${requirements}`,
    )
    if (!fs.existsSync(liteBinary(venvDir, binary))) {
      throw new MvmError('LITE_INSTALL_FAILED', `pip finished but ${liteBinary(venvDir, binary)} is missing`, {
        hint: `Remove ${venvDir} and {{liteInstall}} again.`,
      })
    }
    fs.writeFileSync(path.join(venvDir, STAMP), requirementsDigest(requirements) + '\n')
    opts.log?.('Installed.')
    return liteBinary(venvDir, binary)
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true })
  }
}
