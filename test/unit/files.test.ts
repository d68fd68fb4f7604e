import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { MvmError } from '../../src/errors'
import { checksumOf, discoverMigrations } from '../../src/migrations/files'
import { extensionFor, makeMigration, validateMigrationName, versionFor } from '../../src/scaffold/make'
import { PACKAGE_TEMPLATES_DIR } from '../../src/config/config'

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-unit-'))

describe('checksums', () => {
  it('are sha256 hex and ignore line-ending style', () => {
    expect(checksumOf('a\nb\n')).toMatch(/^[0-9a-f]{64}$/)
    expect(checksumOf('a\r\nb\r\n')).toBe(checksumOf('a\nb\n'))
    expect(checksumOf('a\nb\n')).not.toBe(checksumOf('a\nc\n'))
  })
})

describe('discoverMigrations', () => {
  it('lists migrations in version order and skips non-migration files', () => {
    const dir = tmp()
    fs.writeFileSync(path.join(dir, '20260102000000_second.ts'), 'x')
    fs.writeFileSync(path.join(dir, '20260101000000_first-one.js'), 'y')
    fs.writeFileSync(path.join(dir, 'README.md'), 'z')
    fs.writeFileSync(path.join(dir, '20260101000000_first-one.d.ts'), 'z')
    const found = discoverMigrations(dir)
    expect(found.map((f) => [f.version, f.name])).toEqual([
      ['20260101000000', 'first-one'],
      ['20260102000000', 'second'],
    ])
    expect(found[0].checksum).toBe(checksumOf('y'))
  })
  it('rejects badly named files and duplicate versions, naming each file', () => {
    const dir = tmp()
    fs.writeFileSync(path.join(dir, '2026_bad.ts'), 'x')
    fs.writeFileSync(path.join(dir, '20260101000000_a.ts'), 'x')
    fs.writeFileSync(path.join(dir, '20260101000000_b.ts'), 'x')
    let err: MvmError | undefined
    try {
      discoverMigrations(dir)
    } catch (e) {
      err = e as MvmError
    }
    expect(err?.code).toBe('MIGRATION_INVALID')
    expect(err?.message).toContain('2026_bad.ts')
    expect(err?.message).toContain('version 20260101000000 is also used by 20260101000000_a.ts')
  })
  it('returns nothing for a missing directory', () => {
    expect(discoverMigrations(path.join(tmp(), 'nope'))).toEqual([])
  })
})

describe('migration names and make', () => {
  it('accepts lower snake and kebab case only', () => {
    for (const ok of ['add_page_num', 'add-page-num', 'v2', 'a1_b2'])
      expect(() => validateMigrationName(ok)).not.toThrow()
    for (const bad of ['AddPage', 'add page', 'add__x', '_x', 'x_', 'ä', '', 'a.b', '../x']) {
      expect(() => validateMigrationName(bad), bad).toThrow(/Invalid migration name/)
    }
  })
  it('versions are UTC yyyyMMddHHmmss', () => {
    expect(versionFor(new Date('2026-11-26T09:30:05.123Z'))).toBe('20261126093005')
  })
  it('writes the template with the name filled in, and never overwrites', () => {
    const dir = tmp()
    const now = new Date('2026-11-26T09:30:00Z')
    const file = makeMigration('add_page_num', { migrationsDir: dir, templatesDir: PACKAGE_TEMPLATES_DIR, now })
    expect(path.basename(file)).toBe('20261126093000_add_page_num.ts')
    expect(fs.readFileSync(file, 'utf8')).toContain("import { defineMigration } from 'mvmigrate'")
    fs.writeFileSync(file, 'mine')
    expect(() => makeMigration('other', { migrationsDir: dir, templatesDir: PACKAGE_TEMPLATES_DIR, now })).toThrow(
      /already exists/,
    )
    expect(fs.readFileSync(file, 'utf8')).toBe('mine')
    const js = makeMigration('js_one', {
      migrationsDir: dir,
      templatesDir: PACKAGE_TEMPLATES_DIR,
      js: true,
      now: new Date('2026-11-26T09:31:00Z'),
    })
    expect(js.endsWith('20261126093100_js_one.js')).toBe(true)
    expect(fs.readFileSync(js, 'utf8')).toContain("require('mvmigrate')")
  })
})

describe('the extension make gives a new migration', () => {
  const dirWith = (...files: string[]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvm-ext-'))
    for (const f of files) fs.writeFileSync(path.join(dir, f), '')
    return dir
  }

  it("is the newest migration's, whichever language (README: make follows the project)", () => {
    expect(extensionFor({ migrationsDir: dirWith() })).toBe('ts')
    expect(extensionFor({ migrationsDir: dirWith('20260101000000_a.ts', '20260102000000_b.js') })).toBe('js')
    expect(extensionFor({ migrationsDir: dirWith('20260102000000_b.mjs', '20260101000000_a.ts') })).toBe('mjs')
    expect(extensionFor({ migrationsDir: dirWith('20260101000000_a.js', '20260102000000_b.mts') })).toBe('mts')
  })

  it('--js takes the newest JavaScript extension, else js; --ext wins', () => {
    expect(extensionFor({ migrationsDir: dirWith('20260101000000_a.mjs', '20260102000000_b.ts'), js: true })).toBe(
      'mjs',
    )
    expect(extensionFor({ migrationsDir: dirWith('20260101000000_a.ts'), js: true })).toBe('js')
    expect(extensionFor({ migrationsDir: dirWith('20260101000000_a.js'), ext: 'cts' })).toBe('cts')
  })
})
