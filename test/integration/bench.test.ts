import { spawn } from 'node:child_process'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fileDatabases, milvusToken, milvusUri } from '../helpers/milvus'
import { REPO_ROOT } from '../helpers/project'

/**
 * The benchmark is a tool: when one of its steps fails (as the pymilvus script step did with
 * RESOURCE_EXHAUSTED), it still prints every figure it measured, says which step failed and why,
 * and exits non-zero. Tiny sizes: this checks the handling, never the figures.
 */
const databases = fileDatabases()
afterAll(() => databases.dropAll())

function bench(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bench', 'bench.js'), ...args], {
      env: { ...process.env, ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

describe('npm run bench', () => {
  it('a failed step is reported, the other figures are still printed, and the exit code is 1', async () => {
    const { database } = await databases.fresh('bench')
    const token = milvusToken()
    const r = await bench(
      [
        '--uri',
        milvusUri(),
        ...(token ? ['--token', token] : []),
        '--database',
        database,
        '--rows',
        '300',
        '--dim',
        '8',
        '--reps',
        '1',
        '--no-naive',
      ],
      { MVM_BENCH_FAIL: 'script' },
    )
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toContain('script FAILED (script failed on purpose (MVM_BENCH_FAIL))')
    const line = (phase: string) => r.stdout.split('\n').find((l) => l.startsWith(phase + ' '))
    // Measured: a number of seconds and rows/s. The failed step: a dash.
    for (const phase of ['insert_only', 'scan_only', 'alter', 'copy'])
      expect(line(phase), r.stdout).toMatch(new RegExp(`^${phase}\\s+\\d+\\.\\d\\d\\s+\\d+$`))
    expect(line('script')).toMatch(/^script\s+-\s+-$/)
    expect(r.stdout).toMatch(/^peak RSS of the alter process: \d+ MB$/m)
    expect(r.stdout).toContain('FAILED: script (300 rows, repetition 1): script failed on purpose (MVM_BENCH_FAIL)')
  }, 180_000)
})
