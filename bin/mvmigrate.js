#!/usr/bin/env node
'use strict'
// The CLI runs the compiled library (npm ci / npm run build write dist/).
require('../dist/cli/main').main()
