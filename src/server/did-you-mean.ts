// "Did you mean …?": the known words closest to a typo ("epocs" → "epochs", "lenet6" →
// "lenet5"), by edit distance with transpositions counted as one edit, case-insensitively.
// Only close matches are offered: a word unlike every candidate gets no suggestion.

/** Candidates within a small edit distance of `word`, closest first (ties keep their order). */
export function closestWords(word: string, candidates: readonly string[], limit = 2): string[] {
  const w = word.toLowerCase();
  const maxDistance = Math.max(1, Math.min(3, Math.floor(w.length / 3)));
  return candidates
    .map((c, i) => ({ c, i, d: c.toLowerCase().startsWith(w) && w.length >= 3 ? 1 : editDistance(w, c.toLowerCase()) }))
    .filter((x) => x.d <= maxDistance && x.c !== word)
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, limit)
    .map((x) => x.c);
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
