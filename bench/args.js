'use strict'
// The benches' command-line options: `--name value`, or `--name` alone (true).

/** The value after --name; true when it is given without one; `fallback` when it is absent. */
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const v = process.argv[i + 1]
  return v === undefined || v.startsWith('--') ? true : v
}

module.exports = { arg }
