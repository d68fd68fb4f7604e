import * as fs from 'node:fs'
import * as path from 'node:path'
import { CONFIG_FILE_NAMES, PACKAGE_TEMPLATES_DIR } from '../config/config'

export interface InitResult {
  created: string[]
  kept: string[]
}

/** Writes a commented mvmigrate.config.ts and migrations/ where missing; never overwrites. */
export function initProject(cwd: string): InitResult {
  const created: string[] = []
  const kept: string[] = []
  const existingConfig = CONFIG_FILE_NAMES.map((n) => path.join(cwd, n)).find((p) => fs.existsSync(p))
  if (existingConfig) kept.push(existingConfig)
  else {
    const file = path.join(cwd, 'mvmigrate.config.ts')
    fs.writeFileSync(file, fs.readFileSync(path.join(PACKAGE_TEMPLATES_DIR, 'mvmigrate.config.ts.stub')), { flag: 'wx' })
    created.push(file)
  }
  const dir = path.join(cwd, 'migrations')
  if (fs.existsSync(dir)) kept.push(dir)
  else {
    fs.mkdirSync(dir, { recursive: true })
    created.push(dir)
  }
  return { created, kept }
}
