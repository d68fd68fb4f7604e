import chalk from 'chalk'
import type { MvmError } from '../errors'
import { describeHolder } from '../ledger/lock'
import type { MigrationPlan } from '../context/planning-context'
import type { LeftoverCollection, RunResult, StatusReport } from '../migrator'
import type { SchemaChange } from '../schema/diff'

/** Colour only on a TTY, never with NO_COLOR or --no-color. */
export type Colors = chalk.Chalk

export function makeColors(enabled: boolean): Colors {
  const useColor = enabled && !!process.stdout.isTTY && process.env.NO_COLOR === undefined
  return new chalk.Instance({ level: useColor ? 1 : 0 })
}

function table(rows: string[][], header: string[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => stripAnsi(r[i]).length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(widths[i] - stripAnsi(c).length))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '')

export function formatStatus(report: StatusReport, c: Colors): string {
  const colour: Record<string, (s: string) => string> = {
    applied: c.green,
    baseline: c.green,
    pending: c.yellow,
    failed: c.red,
    missing: c.red,
    changed: c.red,
  }
  const label = (m: StatusReport['migrations'][number]) =>
    m.state === 'failed' && !m.file ? 'failed (file missing)' : (labels[m.state] ?? m.state)
  const labels: Record<string, string> = {
    missing: 'missing file',
    changed: 'changed since applied',
    baseline: 'baseline (not run)',
  }
  const rows = report.migrations.map((m) => [
    m.version,
    m.name,
    colour[m.state](label(m)),
    m.batch !== undefined ? String(m.batch) : '',
    m.appliedAt ?? '',
    m.durationMs !== undefined ? `${m.durationMs} ms` : '',
  ])
  const out: string[] = []
  out.push(
    rows.length ? table(rows, ['VERSION', 'NAME', 'STATE', 'BATCH', 'APPLIED AT', 'DURATION']) : 'No migrations found.',
  )
  for (const m of report.migrations.filter((x) => x.state === 'failed')) {
    if (m.error) out.push(c.red(`${m.version}_${m.name} failed: ${m.error}`))
    out.push(
      m.file
        ? `  fix it and \`mvmigrate up\` to run it again; or settle it by hand: \`mvmigrate resolve ${m.version} --rolled-back\` (abandoned) or \`--applied\` (you finished it)`
        : c.yellow(
            `  its file is gone, so up cannot run it again: if you abandoned it, \`mvmigrate resolve ${m.version} --rolled-back\` forgets the attempt (what it changed stays; undo that by hand or in a new migration)`,
          ),
    )
  }
  for (const i of report.interrupted) {
    if (i.running) {
      const rows =
        i.totalRows !== undefined
          ? ` ${(i.rowsDone ?? 0).toLocaleString('en-US')}/${i.totalRows.toLocaleString('en-US')} rows (${i.totalRows ? Math.floor(((i.rowsDone ?? 0) / i.totalRows) * 100) : 100}%)`
          : ''
      const speed = i.rowsPerSecond ? `, ${i.rowsPerSecond.toLocaleString('en-US')} rows/s` : ''
      const eta = i.etaSeconds !== undefined ? `, ETA ${i.etaSeconds}s` : ''
      const model =
        i.rowsComputed !== undefined
          ? `, ${i.rowsComputed.toLocaleString('en-US')} rows computed (${i.modelCalls} model call(s), ${i.retries} retries)`
          : ''
      out.push(
        c.yellow(
          `Running alter of ${i.name} (migration ${i.version}): ${i.phase ?? i.state}${rows}${model}${speed}${eta}; ${i.next}`,
        ),
      )
    } else out.push(c.yellow(`Interrupted alter of ${i.name} (migration ${i.version}, ${i.state}): ${i.next}`))
  }
  if (report.backups.length) {
    out.push('Backups and leftovers (mvmigrate prune drops them):')
    for (const b of report.backups) out.push(`  ${describeLeftover(b, c)}`)
  }
  if (report.lock)
    out.push(
      c.yellow(
        report.lockHolderGone
          ? `Locked by ${describeHolder(report.lock)}, but that process has ended without releasing it (it was killed, or could not reach the server to release it): the next \`mvmigrate up\` or \`down\` on this machine takes the lock over; \`mvmigrate unlock\` clears it now.`
          : `Locked by ${describeHolder(report.lock)}`,
      ),
    )
  if (report.drift.snapshotAt === null) out.push('Drift: no snapshot yet: the next `up` or `baseline` records one.')
  else if (report.drift.changes.length)
    out.push(
      c.red(
        formatChanges(report.drift.changes, c, `Drift: changed outside migrations since ${report.drift.snapshotAt}:`, {
          suffix: ' outside migrations',
          how: false,
        }),
      ),
    )
  const counts = ['applied', 'baseline', 'pending', 'failed', 'missing', 'changed']
    .map((s) => [s, report.migrations.filter((m) => m.state === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
  out.push(counts.length ? counts.join(', ') : '')
  return out.filter((l) => l !== '').join('\n')
}

export function formatRun(result: RunResult): string {
  const verbs = {
    up: ['Applied', 'Would apply'],
    down: ['Rolled back', 'Would roll back'],
    baseline: ['Baselined (marked as applied, not run)', 'Would baseline'],
  }
  const verb = verbs[result.direction][result.dryRun ? 1 : 0]
  const stopped = result.stoppedAt
    ? `Stopped before ${result.stoppedAt.version}_${result.stoppedAt.name}: it was baselined, not run.`
    : ''
  const unresolved = (result.unresolved ?? []).map(
    (m) =>
      `${m.version}_${m.name} is recorded as failed and its file is gone: \`status --check\` fails until \`mvmigrate resolve ${m.version} --rolled-back\` forgets the attempt.`,
  )
  if (!result.migrations.length)
    return result.direction === 'up'
      ? unresolved.length
        ? ['Nothing to apply.', ...unresolved].join('\n')
        : 'Already up to date.'
      : result.direction === 'down'
        ? 'Nothing to roll back.'
        : 'Nothing to baseline.'
  const list = result.migrations
    .map((m) => `  ${m.version}_${m.name}${m.durationMs !== undefined ? ` (${m.durationMs} ms)` : ''}`)
    .join('\n')
  const batch = result.batch !== undefined ? ` as batch ${result.batch}` : ''
  const writes = (result.writes ?? []).map((w) =>
    w.handled === 'carried'
      ? `  rows written to ${w.name} since the alter (${w.inserted} inserted, ${w.deleted} deleted${w.changed !== undefined ? `, ${w.changed} changed` : ''}) were carried back`
      : w.matchable
        ? `  WARNING: ${w.inserted + (w.changed ?? 0)} row(s) written to ${w.name} since the alter were NOT carried back: they exist only in the leftover collection (see status)`
        : `  WARNING: rows written to ${w.name} since the alter (which, its changed keys cannot tell) were NOT carried back: they exist only in the leftover collection (see status)`,
  )
  return [
    `${verb} ${result.migrations.length} migration(s)${batch}:`,
    list,
    ...writes,
    ...(stopped ? [stopped] : []),
    ...unresolved,
  ].join('\n')
}

/** Schema changes grouped by collection: + added, - dropped, ~ changed; how each is made; destructive ones marked. */
export function formatChanges(
  changes: (SchemaChange & { rowsToCopy?: number | null })[],
  c: Colors,
  title: string,
  opts: { suffix?: string; how?: boolean } = {},
): string {
  const suffix = opts.suffix ?? ''
  const out = [title]
  const byCollection = new Map<string, typeof changes>()
  for (const ch of changes) byCollection.set(ch.collection, [...(byCollection.get(ch.collection) ?? []), ch])
  for (const [name, list] of byCollection) {
    const copy = list.find((x) => x.how === 'copy-and-swap')
    const rows =
      copy && copy.rowsToCopy !== undefined
        ? copy.rowsToCopy === null
          ? ', rows to copy unknown (not loaded)'
          : `, ${copy.rowsToCopy} rows to copy`
        : ''
    out.push(c.bold(`  ${name}${copy && opts.how !== false ? ` (copy-and-swap${rows})` : ''}`))
    for (const ch of list) {
      const mark = /added|new collection|set to/.test(ch.text) ? '+' : /dropped|removed/.test(ch.text) ? '-' : '~'
      const colour = mark === '+' ? c.green : mark === '-' ? c.red : c.yellow
      const how =
        ch.kind === 'collection-added' || ch.kind === 'collection-dropped'
          ? ''
          : ch.how === 'in place'
            ? ' [in place]'
            : ' [copy-and-swap]'
      out.push(colour(`    ${mark} ${ch.text}${suffix}${how}${ch.destructive ? c.red(' DESTRUCTIVE') : ''}`))
    }
  }
  return out.join('\n')
}

export function formatPlan(plans: MigrationPlan[], c: Colors): string {
  if (!plans.length) return 'Nothing to apply: already up to date.'
  const out: string[] = []
  for (const p of plans) {
    out.push(c.bold(`${p.version}_${p.name}`))
    for (const s of p.steps) out.push(`  - ${s}`)
    for (const a of p.alters) {
      out.push(
        `  alter ${a.name}: copy ${a.rowsToCopy} rows, then swap${a.backup ? `; backup kept as ${a.backup}` : '; no backup kept'}`,
      )
      for (const ch of a.changes) {
        out.push(
          ch.startsWith('add')
            ? c.green(`    + ${ch}`)
            : ch.startsWith('drop')
              ? c.red(`    - ${ch}`)
              : c.yellow(`    ~ ${ch}`),
        )
      }
      for (const w of a.warnings) out.push(c.yellow(`    ! ${w}`))
      if (a.writers) out.push(`    ${a.writers}`)
    }
  }
  return out.join('\n')
}

/** One backup or leftover: what it is, its rows, and the rows that exist only there. */
export function describeLeftover(l: LeftoverCollection, c: Colors = makeColors(false)): string {
  const rows =
    l.rows === null
      ? 'rows unknown'
      : `${l.rowsApproximate ? '~' : ''}${l.rows} rows${l.rowsApproximate ? ' (not loaded)' : ''}`
  const unique =
    l.uniqueRows === undefined
      ? ''
      : l.uniqueRows === null
        ? c.yellow(', rows that exist only here: unknown until loaded')
        : l.uniqueRows > 0
          ? c.red(`, ${l.uniqueRows} exist nowhere else`)
          : ', none only here'
  return `${l.collection}  ${l.kind} of ${l.of}, migration ${l.version}: ${rows}${unique}`
}

export function formatLeftovers(list: LeftoverCollection[], verb: string): string {
  if (!list.length) return 'No backups or leftovers to prune.'
  return `${verb} ${list.length} collection(s):\n${list.map((l) => `  ${describeLeftover(l)}`).join('\n')}`
}

/** An error in the CLI's words: message, hint, and with --verbose the stack and causes. */
export function formatError(e: MvmError, c: Colors, verbose: boolean): string {
  const { message, hint } = e.render('cli')
  const lines = [c.red(`error: ${message}`)]
  if (hint) lines.push(`hint: ${hint}`)
  if (verbose) {
    if (e.stack) lines.push(e.stack)
    let cause = e.cause
    while (cause) {
      lines.push(`caused by: ${cause instanceof Error ? cause.stack : JSON.stringify(cause)}`)
      cause = cause instanceof Error ? cause.cause : undefined
    }
  }
  return lines.join('\n')
}

export function errorJson(e: MvmError): Record<string, unknown> {
  const { message, hint } = e.render('cli')
  return {
    error: {
      code: e.code,
      exitCode: e.exitCode,
      message,
      ...(hint ? { hint } : {}),
      ...(e.details ? { details: e.details } : {}),
    },
  }
}
