import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/config'

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-config-'))

describe('config precedence', async () => {
  it('flags beat environment beat config file beat defaults', async () => {
    const cwd = tmp()
    fs.writeFileSync(
      path.join(cwd, 'mvmigrate.config.json'),
      JSON.stringify({ uri: 'http://file:1', database: 'filedb', token: 'filetoken', migrationsDir: 'db/migrations' }),
    )
    const env = { MILVUS_URI: 'http://env:2', MILVUS_DATABASE: 'envdb' }
    const c = await loadConfig({ cwd, env, flags: { uri: 'http://flag:3' } })
    expect(c.uri).toBe('http://flag:3')
    expect(c.database).toBe('envdb')
    expect(c.token).toBe('filetoken')
    expect(c.migrationsDir).toBe(path.join(cwd, 'db', 'migrations'))
    expect(c.lite.dataDir).toBe(path.join(cwd, '.mvmigrate', 'milvus'))
    expect(c.lockTimeout).toBe(0)
  })
  it('undefined flags do not erase lower layers', async () => {
    const cwd = tmp()
    const c = await loadConfig({
      cwd,
      env: { MILVUS_URI: 'http://env:2' },
      flags: { uri: undefined, lite: { dataDir: undefined } },
    })
    expect(c.uri).toBe('http://env:2')
    expect(c.lite.dataDir).toBe(path.join(cwd, '.mvmigrate', 'milvus'))
  })
  it('loads .ts and .js config files', async () => {
    const cwd = tmp()
    fs.writeFileSync(
      path.join(cwd, 'mvmigrate.config.ts'),
      "const x: string = 'mig'\nexport default { migrationsDir: x, lockTimeout: 5 }\n",
    )
    const c = await loadConfig({ cwd, env: {} })
    expect(c.migrationsDir).toBe(path.join(cwd, 'mig'))
    expect(c.lockTimeout).toBe(5)
    const cwd2 = tmp()
    fs.writeFileSync(path.join(cwd2, 'custom.js'), "module.exports = { database: 'jsdb' }\n")
    expect((await loadConfig({ cwd: cwd2, env: {}, configFile: 'custom.js' })).database).toBe('jsdb')
  })
  it('rejects malformed files, unknown keys and wrong types, naming the file and key', async () => {
    const cwd = tmp()
    const f = path.join(cwd, 'mvmigrate.config.json')
    fs.writeFileSync(f, '{ "uri": ')
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/mvmigrate\.config\.json/)
    fs.writeFileSync(f, '{ "urii": "x" }')
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/unknown key 'urii'/)
    fs.writeFileSync(f, '{ "lockTimeout": "soon" }')
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/'lockTimeout' must be a number/)
    fs.writeFileSync(f, '{ "lite": { "port": "x" } }')
    await expect(loadConfig({ cwd, env: {} })).rejects.toThrow(/'lite.port' must be a number/)
    await expect(loadConfig({ cwd, env: {}, configFile: 'nope.json' })).rejects.toThrow(/does not exist/)
  })
})
