import { type Command, Option } from 'commander'
import { ensureLiteInstalled } from '../../lite/install'
import { startEmbeddedLite } from '../../session'
import { type CliContext, parseCount } from '../cli-context'
import { exitCodesHelp } from '../exit-help'

export function register(program: Command, cli: CliContext): void {
  const lite = program.command('lite').description('the embedded Milvus Lite')
  const progress = (l: string) => void (!cli.json && process.stderr.write(l + '\n'))

  lite
    .command('install')
    .description('install the pinned Milvus Lite into the project virtual environment (.mvmigrate/venv)')
    .addHelpText('after', exitCodesHelp([['PYTHON_MISSING', 'no Python 3.10+ with venv and pip, or pip failed']]))
    .action(async () => {
      const cfg = await cli.config()
      const binary = await ensureLiteInstalled({ venvDir: cfg.lite.venvDir, python: cfg.lite.python, log: progress })
      if (cli.json) cli.printJson({ binary })
      else cli.out(`Milvus Lite is installed: ${binary}`)
    })

  lite
    .command('serve')
    .description('run Milvus Lite in the foreground, for several commands to share with --uri (Ctrl-C stops it)')
    .addHelpText(
      'after',
      exitCodesHelp([
        ['DATA_DIR_IN_USE', 'another mvmigrate uses the data directory'],
        ['LITE_START_FAILED', 'Milvus Lite could not be installed or started'],
      ]),
    )
    .addOption(
      new Option('--port <port>', 'port on 127.0.0.1 (default: any free port)').argParser(parseCount('--port')),
    )
    .action(async (opts: { port?: number }) => {
      const cfg = await cli.config()
      // The shared server is the embedded one: loopback, plain gRPC. TLS options given for it would
      // otherwise be dropped without a word, and a client told to use TLS towards it fails.
      if (cfg.tls && Object.values(cfg.tls).some(Boolean))
        progress(
          'warning: TLS options are set but `lite serve` ignores them: it serves Milvus Lite on loopback without TLS (pass its --uri without TLS options)',
        )
      const server = await startEmbeddedLite(
        cfg,
        { info: progress, warn: progress, debug: () => undefined },
        opts.port,
        { serving: true },
      )
      if (cli.json) cli.printJson({ uri: server.uri, pid: server.pid, dataDir: server.dataDir })
      else {
        cli.out(`Milvus Lite is serving ${server.dataDir} on ${server.uri}`)
        cli.out(`Use: mvmigrate --uri ${server.uri} <command>   (Ctrl-C to stop)`)
      }
      await new Promise<void>((resolve) => {
        const stop = () => void server.stop().then(resolve)
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
    })
}
