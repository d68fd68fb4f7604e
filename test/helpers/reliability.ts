import * as fs from 'node:fs'
import * as path from 'node:path'

/**
 * Counters for the reliability summary (`faults injected`, `recovered`, `bad inputs`, `rows
 * checked`, `rows lost`). Tests append one JSON line each to .tmp/reliability.jsonl; the script
 * scripts/reliability-summary.js adds them up and prints the line.
 */
export const COUNTERS_FILE = path.resolve(__dirname, '..', '..', '.tmp', 'reliability.jsonl')

export interface Counts {
  faultsInjected?: number
  recovered?: number
  badInputs?: number
  rowsChecked?: number
  rowsLost?: number
  /** Randomized alter cases run (test/random), and invariants they found broken. */
  randomAlters?: number
  invariantViolations?: number
}

export function record(counts: Counts): void {
  fs.mkdirSync(path.dirname(COUNTERS_FILE), { recursive: true })
  fs.appendFileSync(COUNTERS_FILE, JSON.stringify(counts) + '\n')
}
