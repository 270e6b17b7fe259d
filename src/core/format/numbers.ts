// How numbers read everywhere a person sees them (CLI, extension, language server, webviews):
// one module, so a parameter count or a ratio is written the same way in all of them.
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 21800000 → "21,800,000" (rounded to an integer). */
export function count(n: number): string {
  return integer.format(n);
}

/** 0.1234 → "12.3%". */
export function percent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** A ratio with 3 significant digits ("9.87×", "12.3×", "1,234×"). */
export function ratio(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return x >= 100 ? `${count(x)}×` : `${Number(x.toPrecision(3))}×`;
}

/** 7.5 → "7.5 s", 125 → "2 min 5 s", 7380 → "2 h 3 min"; "–" when unknown. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 59.5) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  // Rounded once, so 959.7 s reads "16 min 0 s", never "15 min 60 s".
  const total = Math.round(seconds);
  const m = Math.floor(total / 60);
  if (m < 60) return `${m} min ${total % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
