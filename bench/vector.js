'use strict'
/** A deterministic pseudo-random vector for bench row i: a cheap LCG seeded by the row number. */
function benchVector(i, dim) {
  let x = (i * 2654435761) >>> 0
  const vector = new Array(dim)
  for (let d = 0; d < dim; d++) {
    x = (x * 1664525 + 1013904223) >>> 0
    vector[d] = x / 4294967296 - 0.5
  }
  return vector
}
module.exports = { benchVector }
