/**
 * Fault injection for the crash tests (off unless MVMIGRATE_FAILPOINTS is set). A failpoint kills
 * this process on the spot with SIGKILL, as a power cut or an OOM kill would, so the tests can
 * prove that the next run recovers from that exact point.
 *
 *   MVMIGRATE_FAILPOINTS=alter:after-create            kill at the first hit
 *   MVMIGRATE_FAILPOINTS=alter:after-page=3            kill at the third hit
 *   MVMIGRATE_FAILPOINTS=alter:after-page=sleep:25     wait 25 ms at every hit (a slow server, for
 *                                                      the tests that watch a running alter)
 *
 * Points: alter:after-create, alter:after-page, alter:catch-up-window, alter:catch-up-page (sleep
 * only), alter:after-copy, alter:after-verify, alter:between-renames, alter:after-swap (also
 * sleep), alter:sweep-window, alter:after-sweep, migrator:before-ledger-write, revert:between-renames.
 */
const hits = new Map<string, number>()
const SLEEP = 'sleep:'

/** What MVMIGRATE_FAILPOINTS sets for `name`: one value per mention ('' for the bare name). */
function settings(name: string): string[] {
  const spec = process.env.MVMIGRATE_FAILPOINTS
  if (!spec) return []
  return spec
    .split(',')
    .map((item) => item.trim().split('='))
    .filter(([point]) => point === name)
    .map(([, value]) => value ?? '')
}

export function failpoint(name: string): void {
  for (const nth of settings(name)) {
    if (nth.startsWith(SLEEP)) continue
    const count = (hits.get(name) ?? 0) + 1
    hits.set(name, count)
    if (count === Number(nth || 1)) {
      process.stderr.write(`failpoint ${name} (hit ${count}): killing the process\n`)
      process.kill(process.pid, 'SIGKILL')
    }
  }
}

/** The delay a `name=sleep:MS` failpoint asks for at every hit of `name` (awaited by async callers). */
export async function failpointDelay(name: string): Promise<void> {
  for (const value of settings(name))
    if (value.startsWith(SLEEP)) await new Promise((resolve) => setTimeout(resolve, Number(value.slice(SLEEP.length))))
}
