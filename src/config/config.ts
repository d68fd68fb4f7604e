import * as fs from 'node:fs'
import * as path from 'node:path'
import { MvmError, messageOf } from '../errors'
import type { TlsOptions } from '../milvus/tls-files'
import { defaultExport, importUserModule, loadErrorText } from '../migrations/load-module'
import { splitCredentials } from '../util/redact'
import { findSchemaFile } from '../declarative/schema-file'
import { didYouMean } from '../util/suggest'

/** Everything mvmigrate can be told, after flags, environment and config file are merged. */
export interface MvmigrateConfig {
  /** Milvus address. When unset, mvmigrate starts the embedded Milvus Lite. */
  uri?: string
  token?: string
  username?: string
  password?: string
  database?: string
  /**
   * TLS towards the server at `uri`: a private CA, a client certificate and key (mutual TLS), the
   * name its certificate carries. Any of them turns TLS on; paths in a config file are relative to it.
   */
  tls?: TlsOptions
  /** Where migration files live (default "migrations"). */
  migrationsDir: string
  /**
   * Where migrationsDir came from, for messages: a flag (the placeholder {{migrationsDirFlag}}, which
   * an MvmError renders as --migrations-dir in the CLI), a config file's key naming the file, or the
   * default. Set by loadConfig; a missing directory is reported with it.
   */
  migrationsDirOrigin?: string
  /** Where `make` finds migration.ts.stub / migration.js.stub (default: the package's templates/). */
  templatesDir: string
  /** Seconds up, down, prune, baseline and resolve (dry runs too) wait for another runner's lock (default 0: fail at once). */
  lockTimeout: number
  /** Seconds to wait for the server to answer before giving up (default 15). */
  connectTimeout: number
  /** The declarative schema file (default: mvmigrate.schema.<ext> in the working directory, mvmigrate.schema.ts when there is none). */
  schemaFile: string
  /** The environment selected (--env / MVMIGRATE_ENV), if any. */
  env?: string
  /**
   * Credentials the config file reads from environment variables that are not set (`token:
   * process.env.PROD_TOKEN` with PROD_TOKEN unset): named in the hint when Milvus then rejects the
   * connection, since the value alone (undefined) cannot say where it should have come from.
   */
  unsetVariables?: { key: string; variable: string; file: string }[]
  /**
   * The connection settings the config file gave (no flag or MILVUS_* variable did), and where in
   * it: hints about the address or the credentials name these (describeOrigin), not the flags.
   */
  fromConfigFile?: Partial<Record<ConnectionKey, ConfigOrigin>>
  lite: {
    /** Embedded Milvus Lite data directory (default .mvmigrate/milvus). */
    dataDir: string
    /** Virtual environment Milvus Lite is installed into (default .mvmigrate/venv). */
    venvDir: string
    /** Python used to create the venv. */
    python?: string
    /** Fixed port for the embedded server (default: any free port). */
    port?: number
  }
}

/** The settings a connection failure is about. */
export type ConnectionKey = 'uri' | 'token' | 'username' | 'password' | 'database'
const CONNECTION_KEYS: ConnectionKey[] = ['uri', 'token', 'username', 'password', 'database']

/** Where in the config file a setting came from. */
export interface ConfigOrigin {
  /** The file, relative to the working directory. */
  file: string
  /** The environment whose block set it; absent: the top level. */
  environment?: string
  /** The variable a `key: process.env.NAME` read it from. */
  variable?: string
}

/** "uri in alt.config.ts (environment bad)", "token in mvmigrate.config.ts, read from process.env.SA_TOKEN". */
export function describeOrigin(key: ConnectionKey, o: ConfigOrigin): string {
  return (
    `${key} in ${o.file}${o.environment ? ` (environment ${o.environment})` : ''}` +
    (o.variable ? `, read from process.env.${o.variable}` : '')
  )
}

/** One layer of settings: every key optional. */
export type ConfigLayer = Partial<Omit<MvmigrateConfig, 'lite' | 'env'>> & { lite?: Partial<MvmigrateConfig['lite']> }

/** What a config file may contain: the settings, and named environments that override them (dev, staging, prod...). */
export type ConfigFile = ConfigLayer & { environments?: Record<string, ConfigLayer> }

/** The same keys, from command-line flags. */
export type ConfigOverrides = ConfigLayer

export const CONFIG_FILE_NAMES = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs', 'json'].map(
  (ext) => `mvmigrate.config.${ext}`,
)
export const PACKAGE_TEMPLATES_DIR = path.resolve(__dirname, '..', '..', 'templates')

const TOP_KEYS: Record<string, 'string' | 'number' | 'object'> = {
  uri: 'string',
  token: 'string',
  username: 'string',
  password: 'string',
  database: 'string',
  migrationsDir: 'string',
  templatesDir: 'string',
  lockTimeout: 'number',
  connectTimeout: 'number',
  schemaFile: 'string',
  lite: 'object',
  tls: 'object',
}
/** The keys of the settings that are objects. */
const NESTED_KEYS: Record<string, Record<string, 'string' | 'number'>> = {
  lite: { dataDir: 'string', venvDir: 'string', python: 'string', port: 'number' },
  tls: { ca: 'string', cert: 'string', key: 'string', serverName: 'string' },
}
const LITE_KEYS = NESTED_KEYS.lite
const TLS_KEYS = NESTED_KEYS.tls

export function defaults(cwd: string): MvmigrateConfig {
  return {
    migrationsDir: path.resolve(cwd, 'migrations'),
    templatesDir: PACKAGE_TEMPLATES_DIR,
    lockTimeout: 0,
    connectTimeout: 15,
    schemaFile: findSchemaFile(cwd) ?? path.join(cwd, 'mvmigrate.schema.ts'),
    lite: { dataDir: path.resolve(cwd, '.mvmigrate', 'milvus'), venvDir: path.resolve(cwd, '.mvmigrate', 'venv') },
  }
}

/** The problems of one layer of settings (the top level, or one environment). */
function layerProblems(raw: Record<string, unknown>, prefix: string): string[] {
  const problems: string[] = []
  for (const [k, v] of Object.entries(raw)) {
    const want = TOP_KEYS[k]
    if (!want) {
      problems.push(`unknown key '${prefix}${k}'${didYouMean(k, Object.keys(TOP_KEYS))}`)
      continue
    }
    if (v === undefined) continue
    if (want === 'object') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) {
        problems.push(`'${prefix}${k}' must be an object`)
        continue
      }
      const keys = NESTED_KEYS[k]
      for (const [lk, lv] of Object.entries(v)) {
        if (!keys[lk]) problems.push(`unknown key '${prefix}${k}.${lk}'${didYouMean(lk, Object.keys(keys))}`)
        else if (lv !== undefined && typeof lv !== keys[lk])
          problems.push(`'${prefix}${k}.${lk}' must be a ${keys[lk]}, got ${JSON.stringify(lv)}`)
      }
    } else if (typeof v !== want) problems.push(`'${prefix}${k}' must be a ${want}, got ${JSON.stringify(v)}`)
    else if (want === 'number' && (!Number.isFinite(v) || (v as number) < 0))
      problems.push(`'${prefix}${k}' must be a non-negative number`)
  }
  return problems
}

/** Rejects unknown keys and wrong types, naming the file and every bad key at once (environments included). */
export function validateConfigFile(raw: unknown, file: string): ConfigFile {
  const hint = `Known keys: ${Object.keys(TOP_KEYS).join(', ')}, environments; lite: { ${Object.keys(LITE_KEYS).join(', ')} }; tls: { ${Object.keys(TLS_KEYS).join(', ')} }.`
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new MvmError('CONFIG_INVALID', `${file}: the config must be an object`, { hint })
  const { environments, ...top } = raw as Record<string, unknown>
  const problems = layerProblems(top, '')
  if (environments !== undefined) {
    if (!environments || typeof environments !== 'object' || Array.isArray(environments))
      problems.push(`'environments' must be an object of named settings ({ dev: {...}, prod: {...} })`)
    else
      for (const [name, layer] of Object.entries(environments)) {
        if (!layer || typeof layer !== 'object' || Array.isArray(layer))
          problems.push(`'environments.${name}' must be an object`)
        else problems.push(...layerProblems(layer as Record<string, unknown>, `environments.${name}.`))
      }
  }
  if (problems.length === 1) throw new MvmError('CONFIG_INVALID', `${file}: ${problems[0]}`, { hint })
  if (problems.length)
    throw new MvmError('CONFIG_INVALID', `${file} has ${problems.length} problems:\n  ${problems.join('\n  ')}`, {
      hint,
    })
  return raw as ConfigFile
}

/** Identity helper that gives a config file its types: `export default defineConfig({ ... })`. */
export function defineConfig(config: ConfigFile): ConfigFile {
  return config
}

export function findConfigFile(cwd: string): string | undefined {
  return CONFIG_FILE_NAMES.map((n) => path.join(cwd, n)).find((p) => fs.existsSync(p))
}

export async function readConfigFile(file: string): Promise<ConfigFile> {
  if (!fs.existsSync(file)) {
    throw new MvmError('CONFIG_INVALID', `Config file ${file} does not exist`, {
      hint: 'Check {{configFile}}, or {{init}}.',
    })
  }
  let raw: unknown
  try {
    if (file.endsWith('.json')) raw = parseJsonConfig(file)
    else {
      raw = defaultExport(await importUserModule(file))
    }
  } catch (e) {
    if (e instanceof MvmError) throw e
    throw new MvmError('CONFIG_INVALID', `Could not read config file ${file}: ${loadErrorText(e, 3, file)}`, {
      hint: 'Fix the file (it must export or contain one config object), or pass another with {{configFile}}.',
      cause: e,
    })
  }
  return validateConfigFile(raw, file)
}

/** A .json config: JSON's own error, at its line and column (no JavaScript parser's guess). */
function parseJsonConfig(file: string): unknown {
  const text = fs.readFileSync(file, 'utf8')
  try {
    return JSON.parse(text)
  } catch (e) {
    const message = messageOf(e)
    const at = /position (\d+)/.exec(message)
    let where = ''
    if (at) {
      const before = text.slice(0, Number(at[1]))
      const line = before.split('\n').length
      where = `:${line}:${Number(at[1]) - before.lastIndexOf('\n')}`
    }
    throw new MvmError(
      'CONFIG_INVALID',
      `Config file ${file}${where} is not valid JSON: ${at ? message.replace(/ in JSON at position \d+.*$/, '') : message}`,
      {
        hint: 'JSON allows no trailing commas, comments or unquoted keys: fix it, or write the config as mvmigrate.config.ts ({{init}}).',
        cause: e,
      },
    )
  }
}

/** Environment variables mvmigrate reads. */
export function fromEnv(env: NodeJS.ProcessEnv): ConfigFile {
  const out: ConfigFile = {}
  if (env.MILVUS_URI) out.uri = env.MILVUS_URI
  if (env.MILVUS_TOKEN) out.token = env.MILVUS_TOKEN
  if (env.MILVUS_USERNAME) out.username = env.MILVUS_USERNAME
  if (env.MILVUS_PASSWORD) out.password = env.MILVUS_PASSWORD
  if (env.MILVUS_DATABASE) out.database = env.MILVUS_DATABASE
  const tls: TlsOptions = {}
  if (env.MILVUS_TLS_CA) tls.ca = env.MILVUS_TLS_CA
  if (env.MILVUS_TLS_CERT) tls.cert = env.MILVUS_TLS_CERT
  if (env.MILVUS_TLS_KEY) tls.key = env.MILVUS_TLS_KEY
  if (env.MILVUS_TLS_SERVER_NAME) tls.serverName = env.MILVUS_TLS_SERVER_NAME
  if (Object.keys(tls).length) out.tls = tls
  return out
}

/**
 * A layer's paths made absolute against `dir`: migrationsDir, templatesDir, schemaFile, lite.dataDir,
 * lite.venvDir, lite.python when it is a path (a bare name such as 'python3' is looked up on PATH, as
 * a shell does), and the TLS files.
 */
function resolveLayerPaths(layer: ConfigLayer, dir: string): ConfigLayer {
  const out: ConfigLayer = { ...layer }
  for (const k of ['migrationsDir', 'templatesDir', 'schemaFile'] as const) {
    const v = layer[k]
    if (typeof v === 'string') out[k] = path.resolve(dir, v)
  }
  if (layer.lite) {
    const lite = { ...layer.lite }
    for (const k of ['dataDir', 'venvDir'] as const) if (lite[k]) lite[k] = path.resolve(dir, lite[k])
    if (lite.python && /[\\/]/.test(lite.python)) lite.python = path.resolve(dir, lite.python)
    out.lite = lite
  }
  return resolveTlsPaths(out, dir)
}

/** The TLS file paths of a layer, resolved against `dir`. */
function resolveTlsPaths(layer: ConfigLayer, dir: string): ConfigLayer {
  if (!layer.tls) return layer
  const tls = { ...layer.tls }
  for (const k of ['ca', 'cert', 'key'] as const) if (tls[k]) tls[k] = path.resolve(dir, tls[k])
  return { ...layer, tls }
}

/**
 * A config file's paths (top level and environments) made absolute: they are relative to the file,
 * as a knexfile's are, so `--config deploy/mvmigrate.config.ts` reads the same from any directory.
 */
export function resolveFilePaths(file: ConfigFile, configFile: string): ConfigFile {
  const dir = path.dirname(configFile)
  const out: ConfigFile = resolveLayerPaths(file, dir)
  if (file.environments)
    out.environments = Object.fromEntries(
      Object.entries(file.environments).map(([name, layer]) => [name, resolveLayerPaths(layer, dir)]),
    )
  return out
}

function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** The settings of the environment named (none when no name); an unknown name is an error listing the known ones. */
export function environmentLayer(file: ConfigFile, name: string | undefined, where = 'the config'): ConfigLayer {
  if (!name) return {}
  const known = Object.keys(file.environments ?? {})
  const layer = file.environments?.[name]
  if (!layer) {
    throw new MvmError(
      'CONFIG_INVALID',
      `Unknown environment '${name}': ${known.length ? `${where} defines ${known.join(', ')}` : `${where} defines no environments`}${didYouMean(name, known)}`,
      {
        // With no environments there is nothing to pick: say how to add one, or to select none.
        hint: known.length
          ? 'Pick one of those with {{env}}, or add it under environments in the config file.'
          : `Add it to the config file (environments: { ${/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name)}: { uri: ... } }), or leave {{env}} unset to use the config's top-level settings.`,
      },
    )
  }
  return layer
}

/**
 * Precedence: flags beat environment variables beat the selected environment beat the config
 * file's top level beat defaults, key by key inside `lite` and `tls` too. Relative paths resolve
 * against cwd: those of flags, environment variables and defaults (a config file's paths were
 * already made absolute against the file by loadConfig).
 */
export function mergeConfig(
  cwd: string,
  file: ConfigFile,
  env: ConfigLayer,
  flags: ConfigOverrides,
  environment?: { name: string; layer: ConfigLayer },
): MvmigrateConfig {
  const base = defaults(cwd)
  const { environments: _environments, ...top } = file
  const selected = environment?.layer ?? {}
  const merged = {
    ...base,
    ...defined(top),
    ...defined(selected),
    ...defined(env),
    ...defined(flags),
  } as MvmigrateConfig
  merged.lite = {
    ...base.lite,
    ...defined(top.lite),
    ...defined(selected.lite),
    ...defined(env.lite),
    ...defined(flags.lite),
  }
  if (environment) merged.env = environment.name
  const tls = { ...defined(top.tls), ...defined(selected.tls), ...defined(env.tls), ...defined(flags.tls) }
  delete merged.tls
  if (Object.keys(tls).length) merged.tls = resolveTlsPaths({ tls }, cwd).tls
  merged.schemaFile = path.resolve(cwd, merged.schemaFile)
  merged.migrationsDir = path.resolve(cwd, merged.migrationsDir)
  merged.templatesDir = path.resolve(cwd, merged.templatesDir)
  merged.lite.dataDir = path.resolve(cwd, merged.lite.dataDir)
  merged.lite.venvDir = path.resolve(cwd, merged.lite.venvDir)
  // Credentials in the uri (http://user:pass@host, as other tools accept) become username/password,
  // so the uri itself can be printed; explicit username/password win.
  if (merged.uri) {
    const split = splitCredentials(merged.uri)
    merged.uri = split.uri
    if (split.username !== undefined && merged.username === undefined && !merged.token) merged.username = split.username
    if (split.password !== undefined && merged.password === undefined && !merged.token) merged.password = split.password
  }
  return merged
}

export interface LoadConfigOptions {
  cwd?: string
  /** Explicit config file (--config); otherwise mvmigrate.config.{ts,js,json} in cwd, if any. */
  configFile?: string
  env?: NodeJS.ProcessEnv
  flags?: ConfigOverrides
  /** The environment to select from the config file's `environments` (--env); default MVMIGRATE_ENV. */
  environment?: string
}

/** Reads the config (flags > environment > config file > defaults). Async: the config file may be an ES module. */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<MvmigrateConfig> {
  const cwd = path.resolve(opts.cwd ?? process.cwd())
  const file = opts.configFile ? path.resolve(cwd, opts.configFile) : findConfigFile(cwd)
  const fileConfig = file ? resolveFilePaths(await readConfigFile(file), file) : {}
  const vars = opts.env ?? process.env
  const name = opts.environment ?? (vars.MVMIGRATE_ENV || undefined)
  const environment = name
    ? { name, layer: environmentLayer(fileConfig, name, file ? path.basename(file) : 'no config file') }
    : undefined
  const fromVars = fromEnv(vars)
  const merged = mergeConfig(cwd, fileConfig, fromVars, opts.flags ?? {}, environment)
  merged.migrationsDirOrigin =
    opts.flags?.migrationsDir !== undefined
      ? '{{migrationsDirFlag}}'
      : environment?.layer.migrationsDir !== undefined
        ? `environments.${environment.name}.migrationsDir in ${file}, relative to that file`
        : fileConfig.migrationsDir !== undefined
          ? `migrationsDir in ${file}, relative to that file`
          : 'the default: migrations in the working directory'
  if (!file) return merged
  const shown = path.relative(cwd, file) || file
  const source = file.endsWith('.json') ? '' : fs.readFileSync(file, 'utf8')
  const unset = unsetCredentialVariables(source, vars, environment?.name).filter(
    (u) => !merged[u.key as keyof MvmigrateConfig], // an empty variable gives '': unset too
  )
  if (unset.length) merged.unsetVariables = unset.map((u) => ({ ...u, file: shown }))
  const origins = connectionOrigins(fileConfig, environment, { ...fromVars, ...opts.flags }, shown, source, vars)
  if (Object.keys(origins).length) merged.fromConfigFile = origins
  return merged
}

/**
 * Which connection settings the config file gave, and where in it: the selected environment's
 * block, or the top level; with the variable a `key: process.env.NAME` reads.
 */
function connectionOrigins(
  fileConfig: ConfigFile,
  environment: { name: string; layer: ConfigLayer } | undefined,
  overrides: ConfigLayer,
  file: string,
  source: string,
  vars: NodeJS.ProcessEnv,
): Partial<Record<ConnectionKey, ConfigOrigin>> {
  const out: Partial<Record<ConnectionKey, ConfigOrigin>> = {}
  for (const key of CONNECTION_KEYS) {
    if (overrides[key] !== undefined && overrides[key] !== '') continue
    const inEnvironment = environment?.layer[key] !== undefined && environment.layer[key] !== ''
    if (!inEnvironment && (fileConfig[key] === undefined || fileConfig[key] === '')) continue
    // The block the value came from: `key: process.env.NAME` there names the variable too.
    const block = inEnvironment ? (blockOf(source, environment.name) ?? '') : topLevel(source)
    const variable = variablesIn(block).find((r) => r.key === key && vars[r.variable])?.variable
    out[key] = {
      file,
      ...(inEnvironment ? { environment: environment.name } : {}),
      ...(variable ? { variable } : {}),
    }
  }
  return out
}

const CREDENTIAL_KEYS = ['token', 'username', 'password', 'uri']

/**
 * `key: process.env.NAME` (or `process.env['NAME']`) for a credential key in a config file's source,
 * where NAME is not set. Read from the text because the loaded value is just undefined. With an
 * environment selected, its own block (`name: { ... }`) is searched first.
 */
export function unsetCredentialVariables(
  source: string,
  env: NodeJS.ProcessEnv,
  environment?: string,
): { key: string; variable: string }[] {
  return credentialVariables(source, environment, (u) => !env[u.variable])
}

/**
 * Every `key: process.env.NAME` for a credential key (that `keep` keeps) in a config file's
 * source: the selected environment's block when it has one, else the top level.
 */
function credentialVariables(
  source: string,
  environment?: string,
  keep: (u: { key: string; variable: string }) => boolean = () => true,
): { key: string; variable: string }[] {
  const block = environment ? blockOf(source, environment) : undefined
  const own = block ? variablesIn(block).filter(keep) : []
  return own.length ? own : variablesIn(topLevel(source)).filter(keep)
}

/** `key: process.env.NAME` (or `process.env['NAME']`) for a credential key, in a piece of config source. */
function variablesIn(text: string): { key: string; variable: string }[] {
  return [
    ...text.matchAll(
      /\b(token|username|password|uri)\s*:\s*process\.env(?:\.([A-Za-z_]\w*)|\[\s*['"]([^'"]+)['"]\s*\])/g,
    ),
  ]
    .map((m) => ({ key: m[1], variable: m[2] ?? m[3] }))
    .filter((u) => CREDENTIAL_KEYS.includes(u.key))
}

/** A config file's source without its environments block. */
function topLevel(source: string): string {
  const envs = blockOf(source, 'environments')
  return envs ? source.replace(envs, '') : source
}

/** The text of `name: { ... }` (braces balanced), or undefined. */
function blockOf(source: string, name: string): string | undefined {
  const m = new RegExp(`(^|[\\s,{'"])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]?\\s*:\\s*\\{`).exec(source)
  if (!m) return undefined
  let depth = 0
  for (let i = m.index + m[0].length - 1; i < source.length; i++) {
    if (source[i] === '{') depth++
    else if (source[i] === '}' && --depth === 0) return source.slice(m.index, i + 1)
  }
  return undefined
}
