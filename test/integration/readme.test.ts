import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileDatabases, milvusToken, milvusUri } from '../helpers/milvus'
import { REPO_ROOT } from '../helpers/project'

/**
 * README's quickstart for an app, run as written: the commands of its ```sh blocks in order, in a
 * new app, with the package installed from `npm pack` (the one substitution: `npm install
 * mvmigrate` installs the packed tarball), and the migration of its ```ts block written into the
 * file `make` printed. The server is given the way README says users point at theirs (MILVUS_URI,
 * and a fresh MILVUS_DATABASE for the test). A README that drifts from what the package does fails here.
 */
const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')
const databases = fileDatabases()
let root: string
let tarball: string

interface Step {
  kind: 'command' | 'migration'
  text: string
}

/** The quickstart section's steps: shell commands (comments dropped) and the migration's source. */
export function quickstartSteps(readme: string): Step[] {
  const start = readme.indexOf('\n## Quickstart: in your app\n')
  expect(start, 'README has a "## Quickstart: in your app" section').toBeGreaterThan(0)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  const steps: Step[] = []
  for (const m of section.matchAll(/```(\w*)\n([\s\S]*?)```/g)) {
    if (m[1] === 'sh')
      for (const line of m[2].split('\n')) {
        const command = line.replace(/\s+#.*$/, '').trim()
        if (command) steps.push({ kind: 'command', text: command })
      }
    else if (m[1] === 'ts') steps.push({ kind: 'migration', text: m[2] })
  }
  return steps
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, NO_COLOR: '1', npm_config_loglevel: 'error', ...env },
  })
  return { code: r.status ?? -1, stdout: r.stdout ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ?? ''}` }
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mvmigrate-readme-'))
  // dist/ is built by `pretest`; pack what npm would publish, without building again.
  const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', root], REPO_ROOT)
  expect(packed.code, packed.out).toBe(0)
  tarball = path.join(root, packed.stdout.trim().split('\n').pop()!.trim())
}, 120_000)

afterAll(async () => {
  if (root) fs.rmSync(root, { recursive: true, force: true })
  await databases.dropAll()
})

describe("README's quickstart for an app", () => {
  it('names the commands a user runs, in order', () => {
    expect(quickstartSteps(README).map((s) => (s.kind === 'command' ? s.text : '<edit the migration>'))).toEqual([
      'npm install mvmigrate',
      'npx mvmigrate init',
      'npx mvmigrate make create_documents',
      '<edit the migration>',
      'npx mvmigrate up',
      'npx mvmigrate status --check',
    ])
  })

  it('runs as written from a packed install: every command succeeds and the collection is there', async () => {
    const { client, database } = await databases.fresh('readme')
    const app = path.join(root, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
    const env = { MILVUS_URI: milvusUri(), MILVUS_DATABASE: database, MILVUS_TOKEN: milvusToken() ?? '' }
    let made: string | undefined
    for (const step of quickstartSteps(README)) {
      if (step.kind === 'migration') {
        expect(made, 'a make command comes before the migration to edit').toBeDefined()
        fs.writeFileSync(made!, step.text)
        continue
      }
      const [cmd, ...args] = step.text.split(/\s+/)
      const r =
        step.text === 'npm install mvmigrate'
          ? run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app)
          : run(cmd, args, app, env)
      expect(r.code, `${step.text}\n${r.out}`).toBe(0)
      if (args[1] === 'make') {
        made = path.resolve(app, r.stdout.trim().split('\n').pop()!)
        expect(made).toMatch(/migrations\/\d{14}_create_documents\.ts$/)
        expect(fs.existsSync(made)).toBe(true)
      }
    }
    expect(fs.readFileSync(path.join(app, '.gitignore'), 'utf8')).toContain('.mvmigrate/')
    const described = await client.describeCollection({ collection_name: 'documents' })
    expect(
      described.schema.fields.map((f) => [f.name, f.data_type, f.type_params?.find((p) => p.key === 'dim')?.value]),
    ).toEqual([
      ['id', 'Int64', undefined],
      ['vector', 'FloatVector', '768'],
      ['text', 'VarChar', undefined],
      ['metadata', 'JSON', undefined],
    ])
  }, 600_000)
})
