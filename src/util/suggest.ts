/** Edit distance (insert, delete, substitute), for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]
}

/** The closest candidate to a misspelt name, if one is close enough to be a likely typo. */
export function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestScore = Infinity
  for (const c of candidates) {
    const score = c.toLowerCase() === name.toLowerCase() ? 0 : distance(name.toLowerCase(), c.toLowerCase())
    if (score < bestScore) [best, bestScore] = [c, score]
  }
  const allowed = Math.max(1, Math.min(3, Math.floor(name.length / 3)))
  return best !== undefined && bestScore <= allowed ? best : undefined
}

/** " (did you mean 'text'?)", or '' when nothing is close. */
export function didYouMean(name: string, candidates: string[]): string {
  const c = closest(name, candidates)
  return c ? ` (did you mean '${c}'?)` : ''
}
