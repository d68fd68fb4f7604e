/** Edit distance where swapping two neighbouring letters counts once (optimal string alignment). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
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
