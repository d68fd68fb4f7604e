import * as path from 'node:path'

/** mvmigrate's own version, recorded in every ledger row. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const TOOL_VERSION: string = require(path.resolve(__dirname, '..', 'package.json')).version
