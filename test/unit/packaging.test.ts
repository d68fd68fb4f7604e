import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'

const REPO = path.resolve(__dirname, '..', '..')

describe('what the installed package loads', () => {
  it('never loads utilium (the Node >= 22 package behind the EBADENGINE warning on Node 20)', () => {
    // utilium comes with the SDK's parquet bulk writer (@zenfs/core); mvmigrate never uses it, so
    // the install warning is harmless on Node 20. This fails if a new SDK starts loading it.
    const script = `require('./dist/index.js'); require('./dist/cli/main.js'); require('./dist/milvus/data-client.js');
      console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /utilium|@zenfs|kerium|memium/.test(k))))`
    const r = spawnSync(process.execPath, ['-e', script], { cwd: REPO, encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual([])
  })

  it('exports the public API to require and to import alike (one copy of each class)', () => {
    const script = `const cjs = require('mvmigrate'); import('mvmigrate').then((esm) => {
      console.log(JSON.stringify({ same: esm.MvmError === cjs.MvmError && esm.Migrator === cjs.Migrator, esm: typeof esm.defineMigration, names: Object.keys(cjs).sort() }))
    })`
    const r = spawnSync(process.execPath, ['-e', script], { cwd: REPO, encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.same).toBe(true)
    expect(out.esm).toBe('function')
    expect(out.names).not.toContain('readPages')
    expect(out.names).toEqual(
      expect.arrayContaining(['Migrator', 'defineMigration', 'MvmError', 'loadConfig', 'openSession']),
    )
  })
})
