// Colours from the VS Code theme (the --vscode-* variables the workbench sets on <html>), so
// light, dark and high-contrast themes all read. Canvas drawing needs them as strings.
import { parseColor, Rgb } from '../mapping/weights';

export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function isHighContrast(): boolean {
  return document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
}

export function isLight(): boolean {
  return document.body.classList.contains('vscode-light') || document.body.classList.contains('vscode-high-contrast-light');
}

const CHART_VARS: readonly [string, string][] = [
  ['--vscode-charts-blue', '#3794ff'],
  ['--vscode-charts-orange', '#d18616'],
  ['--vscode-charts-green', '#89d185'],
  ['--vscode-charts-purple', '#b180d7'],
  ['--vscode-charts-red', '#f14c4c'],
  ['--vscode-charts-yellow', '#cca700'],
];

/** Categorical colours: the theme's chart colours, then more hues (no cap on how many runs). */
export function palette(n: number): string[] {
  const base = CHART_VARS.map(([v, f]) => cssVar(v, f));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i < base.length) out.push(base[i]!);
    else out.push(`hsl(${Math.round((i * 137.508) % 360)}, 65%, ${isLight() ? 40 : 62}%)`);
  }
  return out;
}

export function rgbVar(name: string, fallback: Rgb): Rgb {
  return parseColor(cssVar(name, '')) ?? fallback;
}

/** Re-run `redraw` when the theme changes (VS Code swaps the body's classes and variables). */
export function onThemeChange(redraw: () => void): void {
  let last = document.body.className;
  new MutationObserver(() => {
    if (document.body.className !== last) {
      last = document.body.className;
      redraw();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
