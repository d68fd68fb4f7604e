import { parseAlterName } from '../alter/names'

/**
 * Collections mvmigrate itself makes: the ledger, lock, journal and snapshots (`_migrations*`),
 * and what alters leave (temporary copies, backups, set-aside collections). They are never a
 * user's schema: drift, `diff` and `pull` leave them out.
 */
export function isToolCollection(name: string): boolean {
  return name.startsWith('_migrations') || parseAlterName(name) !== undefined
}
