import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { loadConfig, unsetCredentialVariables } from '../../src/config/config'
import type { MvmError } from '../../src/errors'

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
    // A trailing comma: JSON's own words, at the line and column of the problem.
    fs.writeFileSync(f, '{\n  "uri": "http://127.0.0.1:19530",\n}\n')
    const trailing = (await loadConfig({ cwd, env: {} }).catch((e: unknown) => e)) as MvmError
    expect([trailing.code, trailing.message]).toEqual([
      'CONFIG_INVALID',
      `Config file ${f}:3:1 is not valid JSON: Expected double-quoted property name`,
    ])
    expect(trailing.hint).toContain('JSON allows no trailing commas, comments or unquoted keys')
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

describe('TLS options', () => {
  /** A project with its config file in conf/, the working directory one level up. */
  const project = (cfg: unknown) => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-tls-'))
    fs.mkdirSync(path.join(cwd, 'conf'))
    fs.writeFileSync(path.join(cwd, 'conf', 'mvmigrate.config.json'), JSON.stringify(cfg))
    return { cwd, configFile: 'conf/mvmigrate.config.json', conf: path.join(cwd, 'conf') }
  }
  const file = {
    uri: 'https://milvus:19530',
    tls: { ca: 'ca.pem', serverName: 'top.example' },
    environments: {
      prod: { tls: { ca: 'prod/ca.pem', cert: 'prod/client.pem', key: 'prod/client.key' } },
      dev: {},
    },
  }

  it("paths in a config file are relative to the file, the top level's and an environment's", async () => {
    const p = project(file)
    const top = await loadConfig({ cwd: p.cwd, configFile: p.configFile, env: {} })
    expect(top.tls).toEqual({ ca: path.join(p.conf, 'ca.pem'), serverName: 'top.example' })
    const prod = await loadConfig({ cwd: p.cwd, configFile: p.configFile, env: {}, environment: 'prod' })
    // Key by key: the environment's files, the top level's server name.
    expect(prod.tls).toEqual({
      ca: path.join(p.conf, 'prod', 'ca.pem'),
      cert: path.join(p.conf, 'prod', 'client.pem'),
      key: path.join(p.conf, 'prod', 'client.key'),
      serverName: 'top.example',
    })
    const absolute = project({ tls: { ca: '/etc/milvus/ca.pem' } })
    expect((await loadConfig({ cwd: absolute.cwd, configFile: absolute.configFile, env: {} })).tls).toEqual({
      ca: '/etc/milvus/ca.pem',
    })
  })

  it('flags > MILVUS_TLS_* > the selected environment > top level, key by key; their paths relative to the working directory', async () => {
    const p = project(file)
    const env = {
      MILVUS_TLS_CERT: 'env/client.pem',
      MILVUS_TLS_KEY: 'env/client.key',
      MILVUS_TLS_SERVER_NAME: 'env.example',
    }
    const c = await loadConfig({
      cwd: p.cwd,
      configFile: p.configFile,
      env,
      environment: 'prod',
      flags: { tls: { key: 'flag.key', ca: undefined } },
    })
    expect(c.tls).toEqual({
      ca: path.join(p.conf, 'prod', 'ca.pem'), // the environment's (the undefined flag erases nothing)
      cert: path.join(p.cwd, 'env', 'client.pem'), // environment variable over the environment
      key: path.join(p.cwd, 'flag.key'), // flag over everything
      serverName: 'env.example', // environment variable over the top level
    })
    const all = await loadConfig({
      cwd: p.cwd,
      env: { MILVUS_TLS_CA: '/abs/ca.pem' },
      flags: { tls: { serverName: 'flag.example' } },
    })
    expect(all.tls).toEqual({ ca: '/abs/ca.pem', serverName: 'flag.example' })
  })

  it('no TLS option anywhere: no tls at all (https:// alone uses the public CAs)', async () => {
    const p = project({ uri: 'https://in01.example.zillizcloud.com:19530' })
    const c = await loadConfig({ cwd: p.cwd, configFile: p.configFile, env: {}, flags: { tls: {} } })
    expect(c.tls).toBeUndefined()
  })

  it('unknown keys and wrong types under tls are config errors naming them', async () => {
    const p = project({
      tls: { serverNmae: 'milvus.example' },
      environments: { prod: { tls: { cert: 3 } }, qa: { tls: 'on' } },
    })
    await expect(loadConfig({ cwd: p.cwd, configFile: p.configFile, env: {} })).rejects.toThrow(
      /3 problems:\n {2}unknown key 'tls\.serverNmae' \(did you mean 'serverName'\?\)\n {2}'environments\.prod\.tls\.cert' must be a string, got 3\n {2}'environments\.qa\.tls' must be an object/,
    )
  })
})

describe('paths in a config file are relative to that file', () => {
  /** /tmp/.../app/deploy/mvmigrate.config.ts, run from /tmp/... (two levels above the file). */
  const project = (source: string) => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-paths-'))
    const deploy = path.join(cwd, 'app', 'deploy')
    fs.mkdirSync(deploy, { recursive: true })
    fs.writeFileSync(path.join(deploy, 'mvmigrate.config.ts'), source)
    return { cwd, deploy, configFile: path.join(deploy, 'mvmigrate.config.ts') }
  }
  const source = `export default {
  migrationsDir: 'migrations',
  templatesDir: '../templates',
  schemaFile: 'schema/mvmigrate.schema.ts',
  lite: { dataDir: 'data/milvus', venvDir: '.venv', python: './py/bin/python3' },
  tls: { ca: 'certs/ca.pem' },
  environments: {
    ci: { migrationsDir: 'ci_migrations', schemaFile: '/abs/schema.ts', lite: { dataDir: 'ci-data', python: 'python3.11' } },
  },
}
`

  it('every path-like key, at the top level and in an environment, whatever the working directory', async () => {
    const p = project(source)
    const top = await loadConfig({ cwd: p.cwd, configFile: p.configFile, env: {} })
    expect({
      migrationsDir: top.migrationsDir,
      templatesDir: top.templatesDir,
      schemaFile: top.schemaFile,
      lite: top.lite,
      tls: top.tls,
      migrationsDirOrigin: top.migrationsDirOrigin,
    }).toEqual({
      migrationsDir: path.join(p.deploy, 'migrations'),
      templatesDir: path.join(p.cwd, 'app', 'templates'),
      schemaFile: path.join(p.deploy, 'schema', 'mvmigrate.schema.ts'),
      lite: {
        dataDir: path.join(p.deploy, 'data', 'milvus'),
        venvDir: path.join(p.deploy, '.venv'),
        python: path.join(p.deploy, 'py', 'bin', 'python3'),
      },
      tls: { ca: path.join(p.deploy, 'certs', 'ca.pem') },
      migrationsDirOrigin: `migrationsDir in ${p.configFile}, relative to that file`,
    })
    const ci = await loadConfig({ cwd: p.cwd, configFile: p.configFile, env: {}, environment: 'ci' })
    expect([ci.migrationsDir, ci.schemaFile, ci.lite.dataDir, ci.lite.venvDir, ci.lite.python]).toEqual([
      path.join(p.deploy, 'ci_migrations'),
      '/abs/schema.ts', // absolute stays
      path.join(p.deploy, 'ci-data'),
      path.join(p.deploy, '.venv'), // the top level's
      'python3.11', // a bare command is looked up on PATH, not made a path
    ])
    expect(ci.migrationsDirOrigin).toBe(`environments.ci.migrationsDir in ${p.configFile}, relative to that file`)
    // The same from the config file's own directory (the usual case: init writes it in the project root).
    const inPlace = await loadConfig({ cwd: p.deploy, env: {} })
    expect([inPlace.migrationsDir, inPlace.lite.dataDir]).toEqual([
      path.join(p.deploy, 'migrations'),
      path.join(p.deploy, 'data', 'milvus'),
    ])
  })

  it('flags and defaults stay relative to the working directory, with a config file elsewhere', async () => {
    const p = project('export default { uri: "http://127.0.0.1:19530" }\n')
    const defaults = await loadConfig({ cwd: p.cwd, configFile: p.configFile, env: {} })
    expect([defaults.migrationsDir, defaults.lite.dataDir, defaults.schemaFile, defaults.migrationsDirOrigin]).toEqual([
      path.join(p.cwd, 'migrations'),
      path.join(p.cwd, '.mvmigrate', 'milvus'),
      path.join(p.cwd, 'mvmigrate.schema.ts'),
      'the default: migrations in the working directory',
    ])
    const q = project(source)
    const flags = await loadConfig({
      cwd: q.cwd,
      configFile: q.configFile,
      env: {},
      flags: { migrationsDir: 'm', schemaFile: 's.ts', lite: { dataDir: 'd' } },
    })
    expect([flags.migrationsDir, flags.schemaFile, flags.lite.dataDir, flags.lite.venvDir]).toEqual([
      path.join(q.cwd, 'm'),
      path.join(q.cwd, 's.ts'),
      path.join(q.cwd, 'd'),
      path.join(q.deploy, '.venv'), // not given as a flag: the config file's
    ])
    // A placeholder: an error shows it as --migrations-dir in the CLI, in the library's words otherwise.
    expect(flags.migrationsDirOrigin).toBe('{{migrationsDirFlag}}')
  })
})

describe('credentials read from environment variables that are not set', () => {
  afterEach(() => vi.unstubAllEnvs())
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

  it('loadConfig records which connection settings the config file gave, where, and from which variable', async () => {
    const cwd = tmp()
    fs.writeFileSync(path.join(cwd, 'mvmigrate.config.ts'), source)
    // The file reads process.env itself when it loads.
    const env = { STAGING_TOKEN: 's', TOP_TOKEN: 't', PROD_USER: 'u' }
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v)
    expect((await loadConfig({ cwd, env, environment: 'staging' })).fromConfigFile).toEqual({
      uri: { file: 'mvmigrate.config.ts', environment: 'staging' },
      token: { file: 'mvmigrate.config.ts', environment: 'staging', variable: 'STAGING_TOKEN' },
    })
    expect((await loadConfig({ cwd, env })).fromConfigFile).toEqual({
      uri: { file: 'mvmigrate.config.ts' },
      token: { file: 'mvmigrate.config.ts', variable: 'TOP_TOKEN' },
    })
    // prod's username from its block; its uri beaten by MILVUS_URI, the top-level token by --token.
    const prod = await loadConfig({
      cwd,
      env: { ...env, MILVUS_URI: 'http://x:1' },
      flags: { token: 'f' },
      environment: 'prod',
    })
    expect(prod.fromConfigFile).toEqual({
      username: { file: 'mvmigrate.config.ts', environment: 'prod', variable: 'PROD_USER' },
    })
  })
})
