import * as fs from 'node:fs'
import * as path from 'node:path'
import { CONFIG_FILE_NAMES, PACKAGE_TEMPLATES_DIR } from '../config/config'

export interface InitResult {
  created: string[]
  kept: string[]
  /** .gitignore, when init added `.mvmigrate/` to it (or created it). */
  gitignore?: string
}

/** What the embedded Milvus Lite keeps in the project: a ~450 MB virtual environment and the data. Never committed. */
export const LOCAL_STATE_DIR = '.mvmigrate/'

/** Adds `.mvmigrate/` to .gitignore (creating the file if needed), unless a line already covers it. */
function ignoreLocalState(cwd: string): string | undefined {
  const file = path.join(cwd, '.gitignore')
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
  const covered = text
    .split(/\r?\n/)
    .some((l) => ['.mvmigrate', '.mvmigrate/', '/.mvmigrate', '/.mvmigrate/', '.mvmigrate/*'].includes(l.trim()))
  if (covered) return undefined
  const prefix = text && !text.endsWith('\n') ? '\n' : ''
  fs.appendFileSync(
    file,
    `${prefix}# mvmigrate: the embedded Milvus Lite (virtual environment and data)\n${LOCAL_STATE_DIR}\n`,
  )
  return file
}

/** Writes a commented mvmigrate.config.ts and migrations/ where missing; never overwrites. */
export function initProject(cwd: string): InitResult {
  const created: string[] = []
  const kept: string[] = []
  const existingConfig = CONFIG_FILE_NAMES.map((n) => path.join(cwd, n)).find((p) => fs.existsSync(p))
  if (existingConfig) kept.push(existingConfig)
  else {
    const file = path.join(cwd, 'mvmigrate.config.ts')
    fs.writeFileSync(file, fs.readFileSync(path.join(PACKAGE_TEMPLATES_DIR, 'mvmigrate.config.ts.stub')), {
      flag: 'wx',
    })
    created.push(file)
  }
  const dir = path.join(cwd, 'migrations')
  if (fs.existsSync(dir)) kept.push(dir)
  else {
    fs.mkdirSync(dir, { recursive: true })
    created.push(dir)
  }
  const gitignore = ignoreLocalState(cwd)
  return { created, kept, ...(gitignore ? { gitignore } : {}) }
}
