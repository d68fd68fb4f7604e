#!/usr/bin/env node
'use strict'
// Adds up the counters the reliability tests wrote (test/helpers/reliability.ts) and prints the
// summary line. Exits non-zero if any row was lost or nothing was recorded.
const fs = require('node:fs')
const path = require('node:path')

const file = path.resolve(__dirname, '..', '.tmp', 'reliability.jsonl')
const total = {
  faultsInjected: 0,
  recovered: 0,
  badInputs: 0,
  rowsChecked: 0,
  rowsLost: 0,
  randomAlters: 0,
  invariantViolations: 0,
}
const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []
for (const line of lines) for (const [k, v] of Object.entries(JSON.parse(line))) total[k] += v
console.log(
  `faults injected: ${total.faultsInjected}, recovered: ${total.recovered}, bad inputs: ${total.badInputs}, rows checked: ${total.rowsChecked}, rows lost: ${total.rowsLost}`,
)
console.log(`random alters: ${total.randomAlters}, invariant violations: ${total.invariantViolations}`)
if (!lines.length || total.rowsLost > 0 || total.invariantViolations > 0 || total.recovered < total.faultsInjected)
  process.exit(1)
