import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { inject } from 'vitest'

export const REPO_ROOT = path.resolve(__dirname, '..', '..')
export const BIN = path.join(REPO_ROOT, 'bin', 'mvmigrate.js')
export const TEST_VENV = path.join(REPO_ROOT, '.mvmigrate', 'venv')

/**
 * A throwaway user project: a temp directory with migrations/, node_modules/mvmigrate linked to
 * this repo (so migration files `import ... from 'mvmigrate'` as a user's would), and a config file
 * that reuses the test run's Milvus Lite install instead of installing a second one.
 */
export function tempProject(config: Record<string, unknown> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-project-'))
  fs.mkdirSync(path.join(dir, 'migrations'))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(REPO_ROOT, path.join(dir, 'node_modules', 'mvmigrate'), 'dir')
  fs.writeFileSync(
    path.join(dir, 'mvmigrate.config.json'),
    JSON.stringify({ lite: { venvDir: TEST_VENV }, ...config }, null, 2),
  )
  return dir
}

export function writeMigration(dir: string, fileName: string, body: string): string {
  const file = path.join(dir, 'migrations', fileName)
  fs.writeFileSync(file, body)
  return file
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the real CLI (bin/mvmigrate.js) as a separate process. */
export function cli(
  cwd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env }
    for (const k of [
      'MILVUS_URI',
      'MILVUS_TOKEN',
      'MILVUS_DATABASE',
      'MILVUS_TLS_CA',
      'MILVUS_TLS_CERT',
      'MILVUS_TLS_KEY',
      'MILVUS_TLS_SERVER_NAME',
    ])
      if (!opts.env || !(k in opts.env)) delete env[k]
    // Against a server with authentication, every command gets the test token unless the test says otherwise.
    const token = inject('milvusToken')
    if (token && !(opts.env && 'MILVUS_TOKEN' in opts.env)) env.MILVUS_TOKEN = token
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`mvmigrate ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, opts.timeoutMs ?? 90_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
  })
}

/** A collection-creating migration body; `name` is the collection it creates. */
export function createCollectionMigration(name: string, opts: { down?: boolean } = {}): string {
  return `import { defineMigration } from 'mvmigrate'
export default defineMigration({
  async up(ctx) {
    await ctx.createCollection({
      name: '${name}',
      fields: [
        { name: 'id', type: 'Int64', primaryKey: true },
        { name: 'vector', type: 'FLOAT_VECTOR', dim: 4 },
        { name: 'title', type: 'varchar', maxLength: 200 },
      ],
      indexes: [{ field: 'vector', type: 'FLAT', metric: 'L2' }],
    })
  },
${opts.down === false ? '' : `  async down(ctx) { await ctx.dropCollection('${name}') },\n`}})
`
}
