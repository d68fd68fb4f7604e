/**
 * The names of the collections an alter creates, derived from the migration version, and the
 * parser that recognises them again (status, prune and the drift check must never mistake them
 * for user collections).
 */
export function alterNames(name: string, version: string) {
  return {
    temp: `${name}__mvm_tmp_${version}`,
    backup: `${name}__mvm_bak_${version}`,
    /** In alias mode the new collection keeps this name for good. */
    versioned: `${name}_v${version}`,
    /** Where `down` moves the altered collection; later reverts of the same alter get `_2`, `_3`, ... */
    undone: `${name}__mvm_undone_${version}`,
  }
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
