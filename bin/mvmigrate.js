#!/usr/bin/env node
'use strict'
// The CLI runs the compiled library (npm ci / npm run build write dist/). The time before loading
// it is Node's own start (MVMIGRATE_TIMINGS=1 reports it).
const startedAt = require('node:perf_hooks').performance.now()
require('../dist/cli/main').main(undefined, startedAt)
