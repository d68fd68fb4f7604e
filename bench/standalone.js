#!/usr/bin/env node
'use strict'
// npm run bench:standalone -- [bench options]: starts the Milvus 2.3 standalone (the real engine,
// as `npm run test:standalone` does), runs bench.js (or with --online, online.js) against it, and stops it.
const { spawn } = require('node:child_process')
const path = require('node:path')
const { startStandalone } = require(path.join(__dirname, '..', 'scripts', 'standalone-server.js'))

async function main() {
  const server = await startStandalone({ log: (l) => console.error(l) })
  try {
    const child = spawn(
      process.execPath,
      [
        path.join(__dirname, process.argv.includes('--online') ? 'online.js' : 'bench.js'),
        '--uri',
        server.uri,
        '--token',
        server.token,
        ...process.argv.slice(2).filter((a) => a !== '--online'),
      ],
      {
        stdio: 'inherit',
      },
    )
    return await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)))
  } finally {
    await server.stop()
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
