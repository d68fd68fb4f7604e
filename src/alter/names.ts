/**
 * The names of the collections an alter creates, derived from the migration version, and the
 * parser that recognises them again (status, prune and the drift check must never mistake them
 * for user collections).
 */
export function alterNames(name: string, version: string, slot = '') {
  return {
    temp: `${name}__mvm_tmp_${version}${slot}`,
    backup: `${name}__mvm_bak_${version}${slot}`,
    /** In alias mode the new collection keeps this name for good. */
    versioned: `${name}_v${version}${slot}`,
    /** Where `down` moves the altered collection; later reverts of the same alter get `_2`, `_3`, ... */
    undone: `${name}__mvm_undone_${version}`,
  }
}

/**
 * The suffix for one more alter of `name` by this migration: '' the first time, then `_2`, `_3`, ...
 * while an earlier alter's collections hold the names (the backup of an alter that a rollback left
 * behind, or of the alter a down() made). Never names an existing collection.
 */
export function freeSlot(name: string, version: string, taken: Iterable<string>): string {
  const used = new Set(taken)
  const free = (slot: string) => {
    const n = alterNames(name, version, slot)
    return !used.has(n.temp) && !used.has(n.backup) && !used.has(n.versioned)
  }
  if (free('')) return ''
  for (let n = 2; ; n++) if (free(`_${n}`)) return `_${n}`
}

/** The first free leftover name for one more revert of this alter: never an existing collection. */
export function nextUndoneName(name: string, version: string, taken: Iterable<string>): string {
  const used = new Set(taken)
  const base = alterNames(name, version).undone
  if (!used.has(base)) return base
  for (let n = 2; ; n++) if (!used.has(`${base}_${n}`)) return `${base}_${n}`
}

export type LeftoverKind = 'backup' | 'undone' | 'partial copy'

/** What a collection name says about the alter that made it, or undefined for any other name. */
export function parseAlterName(collection: string): { of: string; kind: LeftoverKind; version: string } | undefined {
  const m = /^(.+)__mvm_(tmp|undone|bak)_(\d{14})(?:_\d+)?$/.exec(collection)
  if (!m) return undefined
  const kind: LeftoverKind = m[2] === 'tmp' ? 'partial copy' : m[2] === 'undone' ? 'undone' : 'backup'
  return { of: m[1], kind, version: m[3] }
}
