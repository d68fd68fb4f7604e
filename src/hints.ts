/**
 * The words a hint uses for "what to do", in the language of whoever called: the CLI says
 * "run `mvmigrate unlock`", the library says "call migrator.unlock()". Library code writes its
 * messages and hints with {{name}} placeholders from this table; an MvmError renders them in API
 * words by default and the CLI asks for its own (MvmError.render('cli')).
 */
export type Audience = 'cli' | 'api'

export const ACTIONS = {
  init: { cli: 'run `mvmigrate init` to write one', api: 'call initProject(cwd) to write one' },
  configFile: { cli: '--config', api: 'the configFile option of loadConfig()' },
  makeExample: { cli: 'mvmigrate make add_page_num', api: "makeMigration('add_page_num', { migrationsDir })" },
  make: { cli: '`mvmigrate make <name>` writes a correct one', api: 'makeMigration(name, ...) writes a correct one' },
  makeNew: { cli: '`mvmigrate make <name>`', api: 'makeMigration(name, ...)' },
  pull: { cli: '`mvmigrate pull` writes one from the database', api: 'pullSchema() writes one from the database' },
  verifyCount: {
    cli: 'run `mvmigrate down` without --verify full',
    api: "call migrator.down() without verify: 'full'",
  },
  status: { cli: 'run `mvmigrate status`', api: 'call migrator.status()' },
  up: { cli: 'run `mvmigrate up`', api: 'call migrator.up()' },
  upCommand: { cli: '`mvmigrate up`', api: 'migrator.up()' },
  down: { cli: 'run `mvmigrate down`', api: 'call migrator.down()' },
  unlock: { cli: 'run `mvmigrate unlock`', api: 'call migrator.unlock()' },
  prune: { cli: '`mvmigrate prune`', api: 'migrator.prune()' },
  lockTimeout: { cli: 'pass --lock-timeout <seconds>', api: 'set the lockTimeoutMs option' },
  allowChanged: { cli: 'pass --allow-changed', api: 'pass { allowChanged: true }' },
  allowOutOfOrder: { cli: 'pass --allow-out-of-order', api: 'pass { allowOutOfOrder: true }' },
  downRange: { cli: '--step / --to', api: 'the step / to options' },
  downChoice: { cli: 'one of --step, --to and --all', api: 'one of step, to and all' },
  to: { cli: '--to', api: 'to' },
  online: {
    cli: 'online (the default: without --offline)',
    api: 'online (the default: without online: false)',
  },
  carryWrites: { cli: '--carry-writes', api: "{ writes: 'carry' }" },
  discardWrites: { cli: '--discard-writes', api: "{ writes: 'discard' }" },
  pruneDiscard: { cli: 'prune --discard-writes', api: 'migrator.prune({ discardWrites: true })' },
  env: { cli: '--env <name> / MVMIGRATE_ENV', api: 'the environment option of loadConfig() (or MVMIGRATE_ENV)' },
  schemaFile: { cli: '--schema <file>', api: 'the schemaFile option' },
  migrationsDir: { cli: '--migrations-dir (or migrationsDir in the config)', api: 'the migrationsDir option' },
  migrationsDirFlag: { cli: '--migrations-dir', api: 'the migrationsDir flag of loadConfig()' },
  initDir: {
    cli: 'run `mvmigrate init` (it creates migrations/, and the config file where missing)',
    api: 'call initProject(cwd) (it creates migrations/, and the config file where missing)',
  },
  allowDestructive: { cli: 'pass --allow-destructive', api: 'pass { allowDestructive: true }' },
  pullForce: { cli: 'run `mvmigrate pull --force`', api: 'call pullSchema() with { force: true }' },
  baseline: { cli: '`mvmigrate baseline <version>`', api: 'migrator.baseline(version)' },
  rolledBack: { cli: '--rolled-back', api: "migrator.resolve(version, 'rolled-back')" },
  uri: { cli: '--uri / MILVUS_URI', api: 'the uri option or MILVUS_URI' },
  useServer: { cli: 'pass --uri to use a Milvus server instead', api: 'set uri to use a Milvus server instead' },
  noUri: {
    cli: 'leave --uri out to use the embedded Milvus Lite',
    api: 'leave uri unset to use the embedded Milvus Lite',
  },
  token: { cli: '--token / MILVUS_TOKEN', api: 'the token option (or MILVUS_TOKEN)' },
  database: { cli: '--database / MILVUS_DATABASE', api: 'the database option (or MILVUS_DATABASE)' },
  tlsCa: { cli: '--tls-ca / MILVUS_TLS_CA / tls.ca', api: 'the tls.ca option (or MILVUS_TLS_CA)' },
  tlsCert: { cli: '--tls-cert / MILVUS_TLS_CERT / tls.cert', api: 'the tls.cert option (or MILVUS_TLS_CERT)' },
  tlsKey: { cli: '--tls-key / MILVUS_TLS_KEY / tls.key', api: 'the tls.key option (or MILVUS_TLS_KEY)' },
  tlsServerName: {
    cli: '--tls-server-name / MILVUS_TLS_SERVER_NAME / tls.serverName',
    api: 'the tls.serverName option (or MILVUS_TLS_SERVER_NAME)',
  },
  tlsOptions: {
    cli: 'the TLS options (--tls-ca, --tls-cert, --tls-key, --tls-server-name; MILVUS_TLS_*; tls in the config)',
    api: 'the tls options (or MILVUS_TLS_*)',
  },
  dataDir: { cli: '--data-dir / lite.dataDir', api: 'the lite.dataDir option' },
  liteInstall: { cli: 'run `mvmigrate lite install`', api: 'call ensureLiteInstalled()' },
  liteServe: {
    cli: 'start `mvmigrate lite serve` once and pass its --uri to every command',
    api: 'start one server with startLiteServer() and pass its uri to every Migrator',
  },
} as const

export type Action = keyof typeof ACTIONS

/** Replaces {{action}} placeholders with the words of the audience. */
export function renderWords(text: string, audience: Audience): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, name: string) =>
    name in ACTIONS ? ACTIONS[name as Action][audience] : whole,
  )
}

/** The call that forgets a failed (or killed) attempt of one migration, in the audience's words. */
export function resolveRolledBack(version: string, audience: Audience): string {
  return audience === 'cli'
    ? `\`mvmigrate resolve ${version} --rolled-back\``
    : `migrator.resolve('${version}', 'rolled-back')`
}
