import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig, unsetCredentialVariables } from '../../src/config/config'

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

describe('environments', () => {
  const write = (cfg: unknown) => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-env-'))
    fs.writeFileSync(path.join(cwd, 'mvmigrate.config.json'), JSON.stringify(cfg))
    return cwd
  }
  const file = {
    uri: 'http://top:1',
    database: 'topdb',
    token: 'toptoken',
    lockTimeout: 1,
    lite: { port: 1 },
    environments: { prod: { uri: 'http://prod:2', database: 'proddb', lite: { port: 2 } }, dev: {} },
  }

  it('flags > environment variables > the selected environment > top level > defaults', async () => {
    const cwd = write(file)
    const c = await loadConfig({
      cwd,
      env: { MILVUS_DATABASE: 'envdb' },
      environment: 'prod',
      flags: { lockTimeout: 9 },
    })
    expect(c.env).toBe('prod')
    expect(c.uri).toBe('http://prod:2') // environment over top level
    expect(c.database).toBe('envdb') // environment variable over environment
    expect(c.token).toBe('toptoken') // top level where the environment is silent
    expect(c.lockTimeout).toBe(9) // flag over everything
    expect(c.lite.port).toBe(2)
    expect(c.connectTimeout).toBe(15) // default
    expect((await loadConfig({ cwd, env: {}, environment: 'prod', flags: { uri: 'http://flag:3' } })).uri).toBe(
      'http://flag:3',
    )
    const top = await loadConfig({ cwd, env: {} })
    expect([top.uri, top.env]).toEqual(['http://top:1', undefined])
  })

  it('MVMIGRATE_ENV selects one when --env does not', async () => {
    const cwd = write(file)
    expect((await loadConfig({ cwd, env: { MVMIGRATE_ENV: 'prod' } })).uri).toBe('http://prod:2')
    expect((await loadConfig({ cwd, env: { MVMIGRATE_ENV: 'prod' }, environment: 'dev' })).uri).toBe('http://top:1')
  })

  it('an unknown name, or bad keys inside an environment, are config errors naming them all', async () => {
    const cwd = write(file)
    await expect(loadConfig({ cwd, env: {}, environment: 'prdo' })).rejects.toThrow(
      "Unknown environment 'prdo': mvmigrate.config.json defines prod, dev (did you mean 'prod'?)",
    )
    await expect(loadConfig({ cwd: write({}), env: {}, environment: 'prod' })).rejects.toThrow(
      'defines no environments',
    )
    const bad = write({ environments: { prod: { urii: 'x', lockTimeout: 'soon' }, qa: 3 } })
    await expect(loadConfig({ cwd: bad, env: {} })).rejects.toThrow(
      /3 problems:[\s\S]*environments\.prod\.urii[\s\S]*environments\.prod\.lockTimeout[\s\S]*'environments\.qa' must be an object/,
    )
  })
})

describe('credentials read from environment variables that are not set', () => {
  const source = `export default {
  uri: 'http://top:1',
  token: process.env.TOP_TOKEN,
  environments: {
    staging: { uri: 'https://staging:19530', token: process.env['STAGING_TOKEN'] },
    prod: {
      uri: 'https://prod:19530',
      username: process.env.PROD_USER,
      password: process.env.PROD_PASSWORD,
    },
  },
}
`
  it('names the key and the variable, from the selected environment first, else the top level', () => {
    expect(unsetCredentialVariables(source, {}, 'prod')).toEqual([
      { key: 'username', variable: 'PROD_USER' },
      { key: 'password', variable: 'PROD_PASSWORD' },
    ])
    expect(unsetCredentialVariables(source, { PROD_USER: 'u' }, 'prod')).toEqual([
      { key: 'password', variable: 'PROD_PASSWORD' },
    ])
    expect(unsetCredentialVariables(source, {}, 'staging')).toEqual([{ key: 'token', variable: 'STAGING_TOKEN' }])
    expect(unsetCredentialVariables(source, {})).toEqual([{ key: 'token', variable: 'TOP_TOKEN' }])
    expect(unsetCredentialVariables(source, { TOP_TOKEN: 't' })).toEqual([])
  })

  it('loadConfig records them for the hint when the credential ends up unset', async () => {
    const cwd = tmp()
    fs.writeFileSync(path.join(cwd, 'mvmigrate.config.ts'), source)
    const c = await loadConfig({ cwd, env: {}, environment: 'staging' })
    expect(c.unsetVariables).toEqual([{ key: 'token', variable: 'STAGING_TOKEN', file: 'mvmigrate.config.ts' }])
    // Given another way (here MILVUS_TOKEN), nothing is missing.
    expect((await loadConfig({ cwd, env: { MILVUS_TOKEN: 'x' }, environment: 'staging' })).unsetVariables).toBe(
      undefined,
    )
  })
})
