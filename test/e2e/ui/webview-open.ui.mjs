// How long a webview takes to open in the real workbench, and whose time that is
// (node test/e2e/run.mjs --ui test/e2e/ui/webview-open.ui.mjs [--theme T]). Times, never asserts:
// the numbers go to bench/RESULTS.md by hand.
//
// Opens, in one browser session and across Reload Window:
//   blank         a webview with nothing in it (test/e2e/fixtures/blank-webview): the host's
//                 own cost of booting a webview, the baseline for the panels
//   blank+script  the same plus one external script and stylesheet (fetched like our bundles:
//                 by the page, through the webview's service worker)
//   mapping       the Ring Mapping panel of a ResNet-34 config (37 generated layers)
// each as the first webview of a window and after other webviews have booted. Round 0 is the
// browser profile's first window (no webview service worker installed yet); later rounds come
// after "Developer: Reload Window".
//
// Every mark is Date.now() (one clock: extension host, browser and this script share the
// machine), relative to the request the extension host stamps when the command runs:
//   outer    the webview's outer iframe starts loading (the workbench created the webview)
//   inner    the content iframe is created (the outer page has its service worker registered)
//   worker   the content iframe's request reaches the webview's service worker (until then
//            its navigation waits for that worker to start)
//   script   the page's script starts (blank: its inline script; others: the external bundle)
//   drawn    mapping only: every layer drawn (plan asked, sent, arrived and rendered)
// Writes webview-open-<theme>.json to the output folder and logs a summary.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tsImport } from 'tsx/esm/api';
import { enterCommand, openFile, reloadWindow, unfocusWebview } from './helpers.mjs';

export const fixtureExtensions = ['blank-webview'];

const ROUNDS = Number(process.env.RPG_E2E_OPEN_ROUNDS ?? 4);
const COMMANDS = {
  blank: 'E2E Fixture: Open Empty Webview',
  'blank+script': 'E2E Fixture: Open Webview With Script and Stylesheet',
  mapping: 'RPG: Show Ring Mapping',
};
/** The page's own marks: which body attribute says it is up, and which holds the request time. */
const PAGE = {
  blank: { ready: 'body[data-inline-at]', requested: 'requestedAt', script: 'inlineAt' },
  'blank+script': { ready: 'body[data-script-at]', requested: 'requestedAt', script: 'scriptAt' },
  mapping: { ready: 'body[data-rendered-ms][data-opened-at]', requested: 'openedAt', script: 'scriptAt' },
};
/** Even rounds open the mapping first, odd rounds a blank webview first (the other way round
 * with RPG_E2E_OPEN_BLANK_FIRST=1, so that round 0, the profile's first window, starts blank). */
const ORDERS = [
  ['mapping', 'blank', 'blank+script', 'mapping'],
  ['blank', 'blank+script', 'mapping', 'blank'],
];

export default async function (ctx) {
  const { page, log, workspaceDir, outDir, theme } = ctx;
  const { planFor } = await tsImport('../../../src/core/experiment/planning.ts', import.meta.url);
  const report = (m) => log(`[webview-open] ${m}`);
  writeFileSync(join(workspaceDir, 'resnet34.rpg.json'), JSON.stringify({ name: 'resnet34-1pct', seed: 1, model: { arch: 'resnet34' }, rpg: { dof: '1%' }, data: { dataset: 'mnist-embedded' } }, null, 2) + '\n');
  const layers = planFor({ configPath: join(workspaceDir, 'resnet34.rpg.json') }).layers.length;
  // The webview host's service worker says what it found ("Found unexpected service worker
  // controller…", "No service worker controller found…"): kept with the open it belongs to.
  let swNotes = [];
  page.on('console', (m) => {
    if (/service worker/i.test(m.text())) swNotes.push(m.text().replace(/\s+/g, ' ').slice(0, 120));
  });

  const results = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) {
      await unfocusWebview(page);
      await ctx.runCommand('View: Close All Editors'); // nothing restored: the next webview is the window's first
      await reloadWindow(ctx);
      await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
      await sleep(3000);
    }
    // The config in the first editor group before any webview (they open beside it).
    await openFile(page, 'resnet34.rpg.json');
    const seen = new Set();
    for (const [nth, kind] of ORDERS[(round + (process.env.RPG_E2E_OPEN_BLANK_FIRST === '1' ? 1 : 0)) % 2].entries()) {
      if (kind === 'mapping') {
        await closeTab(page, 'Ring Mapping'); // a second mapping open is a new panel, not a refresh
        await openFile(page, 'resnet34.rpg.json'); // the active config: the command asks nothing
      }
      swNotes = [];
      const load = loadavg()[0];
      const enteredAt = await enterCommand(ctx, COMMANDS[kind]);
      const frame = await newWebview(page, kind, enteredAt, seen);
      if (kind === 'mapping') {
        const arcs = await frame.evaluate(() => document.querySelectorAll('.layer-arc').length);
        if (arcs !== layers) throw new Error(`the ResNet-34 mapping drew ${arcs} layers, not ${layers}`);
      }
      const m = await marks(frame, kind);
      const r = { round, nth: nth + 1, kind, load: Number(load.toFixed(2)), dispatch: m.requested - enteredAt, ...m.rel, resources: m.resources, outerUrl: m.outerUrl, sw: swNotes, detail: m.detail };
      results.push(r);
      report(`round ${round} #${r.nth} ${kind}: outer ${r.outer} · inner ${r.inner} · worker ${r.worker ?? '?'} · script ${r.script}${r.drawn !== undefined ? ` · plan arrived ${r.arrived} · drawn ${r.drawn} (render ${r.renderMs})` : ''} ms after the request (command dispatch ${r.dispatch} ms; ${m.resources.map((x) => `${x.name} ${x.start}–${x.end}`).join(', ') || 'no resources'}; load ${r.load})${swNotes.length ? ` [${swNotes.join(' | ')}]` : ''}`);
      await sleep(500);
    }
  }

  writeFileSync(join(outDir, `webview-open-${theme}.json`), JSON.stringify(results, null, 1) + '\n');
  const cases = [
    ['blank, first webview of the profile', (r) => r.kind === 'blank' && r.nth === 1 && r.round === 0],
    ['blank, first webview after Reload Window', (r) => r.kind === 'blank' && r.nth === 1 && r.round > 0],
    ['blank, after other webviews', (r) => r.kind === 'blank' && r.nth > 1],
    ['blank+script, after other webviews', (r) => r.kind === 'blank+script'],
    ['mapping, first webview of the profile', (r) => r.kind === 'mapping' && r.nth === 1 && r.round === 0],
    ['mapping, first webview after Reload Window', (r) => r.kind === 'mapping' && r.nth === 1 && r.round > 0],
    ['mapping, after other webviews', (r) => r.kind === 'mapping' && r.nth > 1],
  ];
  for (const [name, test] of cases) {
    const rs = results.filter(test);
    if (!rs.length) continue;
    const col = (k) => (rs[0][k] === undefined ? '' : ` ${k} ${stats(rs.map((r) => r[k]))}`);
    report(`${name} (${rs.length}):${col('outer')};${col('inner')};${col('worker')};${col('script')}${rs[0].drawn !== undefined ? `;${col('arrived')};${col('drawn')}` : ''} (load ${stats(rs.map((r) => r.load), 1)})`);
  }
}

/** "median (min–max)" */
function stats(values, digits = 0) {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  const f = (x) => x.toFixed(digits);
  return v.length === 1 ? f(v[0]) : `${f(mid)} (${f(v[0])}–${f(v.at(-1))})`;
}

async function closeTab(page, title) {
  const tab = page.locator('.tab', { hasText: title }).first();
  if (!(await tab.count())) return;
  await tab.hover();
  await tab.locator('.codicon-close').click();
  await tab.waitFor({ state: 'detached' });
}

/** The content frame of the webview this open made: its page is up and its request stamp is
 * not older than the command (stamps are Date.now() on the same machine). */
async function newWebview(page, kind, enteredAt, seen, timeoutMs = 60_000) {
  const { ready, requested } = PAGE[kind];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      if (f === page.mainFrame() || seen.has(f)) continue;
      const stamp = await f.evaluate(([sel, key]) => (document.querySelector(sel) ? Number(document.body.dataset[key]) : NaN), [ready, requested]).catch(() => NaN);
      if (stamp >= enteredAt) {
        seen.add(f);
        return f;
      }
    }
    await sleep(20);
  }
  throw new Error(`no ${kind} webview came up within ${timeoutMs / 1000} s of its command`);
}

/** The page's marks and the frames' navigation starts, in ms after the request. */
async function marks(frame, kind) {
  const { requested, script } = PAGE[kind];
  const inner = await frame.evaluate(() => ({
    origin: performance.timeOrigin,
    nav: performance.getEntriesByType('navigation')[0]?.toJSON(),
    data: { ...document.body.dataset },
    resources: performance.getEntriesByType('resource').map((e) => ({ name: e.name.split('?')[0].split('/').pop(), start: e.startTime, end: e.responseEnd })),
  }));
  const outer = await frame.parentFrame().evaluate(() => ({
    origin: performance.timeOrigin,
    url: location.origin + location.pathname,
    nav: performance.getEntriesByType('navigation')[0]?.toJSON(),
    resources: performance.getEntriesByType('resource').map((e) => ({ name: e.name.split('?')[0].split('/').pop(), type: e.initiatorType, start: e.startTime, workerStart: e.workerStart, responseStart: e.responseStart, end: e.responseEnd })),
  }));
  const at = Number(inner.data[requested]);
  const rel = {
    outer: Math.round(outer.origin - at),
    inner: Math.round(inner.origin - at),
    script: Math.round(Number(inner.data[script]) - at),
  };
  if (kind === 'mapping') Object.assign(rel, { drawn: Number(inner.data.renderedMs), arrived: Number(inner.data.arrivedMs), planMs: Number(inner.data.planMs), renderMs: Number(inner.data.renderMs) });
  const resources = inner.resources.map((r) => ({ name: r.name, start: Math.round(inner.origin + r.start - at), end: Math.round(inner.origin + r.end - at) }));
  // Raw navigation and resource timings of both frames (ms after the request) for the JSON.
  const TIMES = /^(startTime|workerStart|fetchStart|requestStart|responseStart|responseEnd|domInteractive|domContentLoadedEvent(Start|End)|domComplete|loadEvent(Start|End)|start|end)$/;
  const shift = (origin, entry) => entry && Object.fromEntries(Object.entries(entry).filter(([k]) => TIMES.test(k) || k === 'name' || k === 'type' || k === 'initiatorType').map(([k, v]) => [k, TIMES.test(k) && (v > 0 || k === 'startTime') ? Math.round(origin + v - at) : v]));
  const detail = { innerNav: shift(inner.origin, inner.nav), outerNav: shift(outer.origin, outer.nav), outerResources: outer.resources.map((r) => shift(outer.origin, r)) };
  // The content frame's navigation is held until the webview's service worker runs it.
  if (detail.innerNav?.workerStart > 0) rel.worker = detail.innerNav.workerStart;
  return { requested: at, rel, resources, outerUrl: outer.url, detail };
}
