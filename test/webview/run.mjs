#!/usr/bin/env node
// Webview tests in a real browser: both panels' bundles (dist/webview-*.js, build first) load in
// headless Chromium inside the same HTML shell and CSP the extension serves, with a fake
// message host standing in for VS Code. Asserts they render, react to messages, stay within
// their CSP, and keep 100k-point runs responsive. Exit 0 = all passed.
//   node test/webview/run.mjs [--shots DIR] [--headed]
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tsImport } from 'tsx/esm/api';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const { values: opts } = parseArgs({ options: { shots: { type: 'string' }, headed: { type: 'boolean', default: false } } });
const require = createRequire(join(repo, 'test/e2e/package.json'));
const { chromium } = require('playwright-core');
const { webviewHtml } = await tsImport('../../src/extension/panels/html.ts', import.meta.url);
const fx = await tsImport('./fixtures.ts', import.meta.url);

for (const b of ['webview-mapping', 'webview-curves']) {
  if (!existsSync(join(repo, 'dist', `${b}.js`))) {
    console.error(`dist/${b}.js is missing: run \`npm run build\` first`);
    process.exit(2);
  }
}

// ── a tiny server: the HTML shell (as the extension renders it) and dist/ ───────────────────
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const origin = `http://127.0.0.1:${server.address().port}`;
  const m = /^\/(mapping|curves)\.html$/.exec(url.pathname);
  if (m) {
    const bundle = `webview-${m[1]}`;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(webviewHtml({ cspSource: origin, nonce: 'testnonce123', scriptUri: `${origin}/dist/${bundle}.js`, styleUri: `${origin}/dist/${bundle}.css`, title: bundle, label: bundle }));
    return;
  }
  if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
  const file = join(repo, url.pathname);
  if (url.pathname.startsWith('/dist/') && existsSync(file)) {
    res.writeHead(200, { 'content-type': { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' }[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
    return;
  }
  res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// The fake VS Code: acquireVsCodeApi records posts and state; theme variables set on <html>
// through CSSOM (as the workbench does; the CSP forbids inline styles).
const THEMES = {
  dark: { cls: 'vscode-dark', vars: { '--vscode-foreground': '#cccccc', '--vscode-editor-background': '#1e1e1e', '--vscode-descriptionForeground': '#9d9d9d', '--vscode-button-background': '#0e639c', '--vscode-button-foreground': '#ffffff', '--vscode-button-secondaryBackground': '#3a3d41', '--vscode-button-secondaryForeground': '#cccccc', '--vscode-charts-blue': '#3794ff', '--vscode-charts-red': '#f14c4c', '--vscode-charts-green': '#89d185', '--vscode-charts-orange': '#d18616', '--vscode-charts-purple': '#b180d7', '--vscode-charts-yellow': '#cca700', '--vscode-focusBorder': '#007fd4', '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px', '--vscode-editorWidget-border': '#454545', '--vscode-editorHoverWidget-background': '#252526' } },
  light: { cls: 'vscode-light', vars: { '--vscode-foreground': '#616161', '--vscode-editor-background': '#ffffff', '--vscode-descriptionForeground': '#717171', '--vscode-button-background': '#007acc', '--vscode-button-foreground': '#ffffff', '--vscode-button-secondaryBackground': '#e5e5e5', '--vscode-button-secondaryForeground': '#000000', '--vscode-charts-blue': '#1a85ff', '--vscode-charts-red': '#e51400', '--vscode-charts-green': '#388a34', '--vscode-charts-orange': '#d18616', '--vscode-charts-purple': '#652d90', '--vscode-charts-yellow': '#bf8803', '--vscode-focusBorder': '#0090f1', '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px', '--vscode-editorWidget-border': '#c8c8c8', '--vscode-editorHoverWidget-background': '#f3f3f3' } },
};

function fakeHost({ state, theme }) {
  window.__posted = [];
  window.__state = state ?? undefined;
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
    getState: () => window.__state,
    setState: (s) => { window.__state = JSON.parse(JSON.stringify(s)); },
  });
  const applyTheme = () => {
    document.body.classList.add(theme.cls);
    for (const [k, v] of Object.entries(theme.vars)) document.documentElement.style.setProperty(k, v);
  };
  if (document.body) applyTheme();
  else document.addEventListener('DOMContentLoaded', applyTheme);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: !opts.headed,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

let failures = 0;
let passed = 0;
const results = [];
async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures++;
    console.log(`not ok - ${name}\n  ${String(e?.stack ?? e).split('\n').slice(0, 6).join('\n  ')}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

async function openPanel(kind, { state, theme = 'dark', width = 1200, height = 900 } = {}) {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.addInitScript(fakeHost, { state, theme: THEMES[theme] });
  await page.goto(`${base}/${kind}.html`);
  await waitPosted(page, 'ready');
  return { page, errors };
}
const posted = (page) => page.evaluate(() => window.__posted);
async function waitPosted(page, type, count = 1) {
  await page.waitForFunction(([t, n]) => window.__posted.filter((m) => m.type === t).length >= n, [type, count], { timeout: 10_000 });
  return (await posted(page)).filter((m) => m.type === type);
}
const send = (page, message) => page.evaluate((m) => window.postMessage(m, '*'), message);
/** Big payloads cross into the page once, untimed (Playwright's transfer is not the panel's cost). */
const stash = (page, name, value) => page.evaluate(([n, v]) => { window[n] = JSON.parse(v); }, [name, JSON.stringify(value)]);
async function clean(page, errors) {
  const csp = await page.evaluate(() => window.__cspViolations);
  assert(csp.length === 0, `CSP violations: ${csp.join('; ')}`);
  assert(errors.length === 0, `page errors: ${errors.join('; ')}`);
}
async function shot(page, name) {
  if (!opts.shots) return;
  mkdirSync(opts.shots, { recursive: true });
  await page.screenshot({ path: join(opts.shots, `${name}.png`), fullPage: false });
}

const { lenet, resnet34 } = fx.plans();

// ── ring mapping ────────────────────────────────────────────────────────────────────────────
await test('mapping: says ready, renders every layer of LeNet-5 as arcs and rows, lists free params apart', async () => {
  const { page, errors } = await openPanel('mapping');
  await send(page, { type: 'plan', plan: lenet, configPath: '/ws/lenet.rpg.json', openedAt: Date.now() });
  await page.waitForSelector('svg.ring');
  assert((await page.locator('.layer-arc').count()) === lenet.layers.length, 'one arc group per generated layer');
  assert((await page.locator('.layer-row').count()) === lenet.layers.length, 'one row per generated layer');
  assert((await page.locator('.free-row').count()) === lenet.free.length, 'free parameters listed apart');
  assert(/aria-label/.test(await page.locator('figure.ring-figure').evaluate((e) => e.outerHTML.slice(0, 200))), 'ring figure has an ARIA label');
  const rendered = await waitPosted(page, 'rendered');
  assert(rendered[0].layers === lenet.layers.length, 'rendered reports the layer count');

  // hover: tooltip with the layer's numbers, then its weights are asked for (sign balance)
  const point = await page.locator(`.layer-arc[data-layer="${lenet.layers[1].name}"] path`).first().evaluate((path) => {
    // a point inside the arc: its outline halfway along the outer edge, nudged to the middle of the track
    const p = path.getPointAtLength(path.getTotalLength() * 0.2).matrixTransform(path.getScreenCTM());
    const c = path.ownerSVGElement.getBoundingClientRect();
    const cx = c.left + c.width / 2;
    const cy = c.top + c.height / 2;
    const d = Math.hypot(p.x - cx, p.y - cy);
    return { x: cx + ((p.x - cx) * (d - 4)) / d, y: cy + ((p.y - cy) * (d - 4)) / d };
  });
  await page.mouse.move(point.x, point.y);
  await page.waitForSelector('#layer-tip:not([hidden])');
  const tip = await page.locator('#layer-tip').innerText();
  assert(tip.includes('shape') && tip.includes(lenet.layers[1].shape.join(' × ')) && tip.includes('share of ring') && tip.includes('sign balance'), `tooltip: ${tip}`);
  assert((await page.locator('.layer-arc.dim').count()) === lenet.layers.length - 1, 'other layers dim');
  const reqs = await waitPosted(page, 'requestWeights');
  assert(reqs.some((r) => r.layer === lenet.layers[1].name), 'hover asks for weights');

  // click a row: selection + reveal; weights arrive → heatmap + histogram
  const target = lenet.layers[2].name;
  await page.locator(`button.layer-button[data-layer="${target}"]`).click();
  const reveal = await waitPosted(page, 'revealLayer');
  assert(reveal.at(-1).layer === target, 'click reveals the layer');
  await send(page, { type: 'layerWeights', result: await fx.lenetWeights(target) });
  await page.waitForSelector('canvas.heatmap');
  assert((await page.locator('.histogram rect').count()) > 5, 'histogram bars');
  const text = await page.locator('#detail').innerText();
  assert(text.includes(target) && text.includes('initial ring') && /positive/.test(text), `detail: ${text}`);
  const st = await page.evaluate(() => window.__state);
  assert(st.selectedLayer === target && st.configPath === '/ws/lenet.rpg.json', 'state saved');
  await shot(page, 'mapping-lenet-dark');
  await clean(page, errors);
  await page.close();
});

await test('mapping: keyboard reaches every layer (arrows move, Enter reveals)', async () => {
  const { page, errors } = await openPanel('mapping', { theme: 'light' });
  await send(page, { type: 'plan', plan: lenet, configPath: '/ws/lenet.rpg.json', openedAt: Date.now() });
  await page.waitForSelector('button.layer-button');
  await page.locator('button.layer-button').first().focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const focused = await page.evaluate(() => document.activeElement?.dataset.layer);
  assert(focused === lenet.layers[2].name, `focus moved to the third layer (${focused})`);
  await page.keyboard.press('Enter');
  const reveal = await waitPosted(page, 'revealLayer');
  assert(reveal.at(-1).layer === lenet.layers[2].name, 'Enter reveals');
  await shot(page, 'mapping-lenet-light');
  await clean(page, errors);
  await page.close();
});

await test('mapping: ResNet-34 (21.8M generated weights) draws every layer (the time is logged)', async () => {
  const { page, errors } = await openPanel('mapping');
  const t0 = Date.now();
  await send(page, { type: 'plan', plan: resnet34, configPath: '/ws/r34.rpg.json', openedAt: t0 });
  const [rendered] = await waitPosted(page, 'rendered');
  const ms = Date.now() - t0;
  assert((await page.locator('.layer-arc').count()) === resnet34.layers.length, 'every layer drawn');
  // Timed, never asserted (a shared, loaded box must not fail the suite): logged with the results.
  results.push(`ResNet-34 mapping (${resnet34.layers.length} layers, ${resnet34.summary.generatedParams.toLocaleString('en-US')} generated): drawn ${rendered.ms} ms after the plan message, ${ms} ms after sending it`);
  await shot(page, 'mapping-resnet34-dark');
  await clean(page, errors);
  await page.close();
});

await test('mapping: restores config and selection from state; errors show with a retry', async () => {
  const { page, errors } = await openPanel('mapping', { state: { configPath: '/ws/lenet.rpg.json', selectedLayer: lenet.layers[0].name } });
  const [ready] = await waitPosted(page, 'ready');
  assert(ready.state.configPath === '/ws/lenet.rpg.json', 'ready carries the saved state');
  await send(page, { type: 'plan', plan: lenet, configPath: '/ws/lenet.rpg.json', openedAt: Date.now() });
  await page.waitForSelector(`.layer-row[aria-selected="true"][data-layer="${lenet.layers[0].name}"]`);
  await send(page, { type: 'error', message: 'rpg.dof: "0%" is not a positive percentage' });
  await page.waitForSelector('.error[role="alert"]');
  await page.click('#retry');
  await waitPosted(page, 'refresh');
  await clean(page, errors);
  await page.close();
});

// ── training curves ────────────────────────────────────────────────────────────────────────
const big = fx.run('lenet5-mnist-10pct', 4419, 100_000, 0.97, 1);
const small = [fx.run('lenet5-mnist-1pct', 442, 2000, 0.91, 2), fx.run('lenet5-mnist-50pct', 22095, 2000, 0.985, 3), fx.run('lenet5-mnist-5pct', 2210, 2000, 0.955, 4)];
const runInfos = [big, ...small].map((s) => s.info);

await test('curves: lists runs, plots a 100k-point run in four charts, appends live rows', async () => {
  const { page, errors } = await openPanel('curves');
  await send(page, { type: 'runs', runs: runInfos, runsDir: '/ws/runs' });
  const [load] = await waitPosted(page, 'loadRuns');
  assert(load.runDirs[0] === big.info.runDir, 'first list selects the newest run');
  await stash(page, '__big', big);
  const plotMs = await page.evaluate(async () => {
    const t0 = performance.now();
    window.postMessage({ type: 'series', series: [window.__big] }, '*');
    while (!(document.querySelectorAll('.chart canvas').length === 4 && /100,000/.test(document.getElementById('legend')?.textContent ?? ''))) await new Promise((r) => requestAnimationFrame(r));
    return performance.now() - t0;
  });
  results.push(`curves: 100,000-point run plotted (4 charts) ${plotMs.toFixed(0)} ms after its message arrived`);
  assert((await page.locator('.run-item').count()) === runInfos.length, 'every run listed');
  assert((await page.locator('.chart[role="img"][aria-label]').count()) === 4, 'charts have ARIA labels');
  const legend = await page.locator('.legend-item').innerText();
  assert(legend.includes('lenet5-mnist-10pct') && legend.includes('DoF 4.42k'), `legend: ${legend}`);
  // live rows
  const n = 50;
  const steps = Array.from({ length: n }, (_, i) => 100_001 + i);
  const col = (v) => steps.map(() => v);
  await send(page, { type: 'append', appends: [{ runDir: big.info.runDir, train: { step: steps, epoch: steps.map((s) => s / 125), loss: col(0.05), acc: col(0.99), lr: col(1e-5), samplesPerSec: col(1000), time: steps.map((s) => s * 0.05) }, eval: { step: [], epoch: [], loss: [], acc: [], time: [] }, status: 'running' }] });
  await page.waitForFunction(() => /100,050/.test(document.getElementById('legend')?.textContent ?? ''));
  await shot(page, 'curves-100k-dark');
  // the charts follow the panel's width
  const widthOf = () => page.locator('#chart-loss .uplot').evaluate((e) => e.getBoundingClientRect().width);
  const wide = await widthOf();
  await page.setViewportSize({ width: 650, height: 900 });
  await page.waitForFunction((w) => Math.abs(document.querySelector('#chart-loss .uplot').getBoundingClientRect().width - w) > 50, wide, { timeout: 5000 }).catch(() => undefined);
  const narrow = await widthOf();
  const fits = await page.evaluate(() => document.querySelector('#chart-loss .uplot').getBoundingClientRect().right <= document.documentElement.clientWidth + 1);
  assert(narrow < wide && fits, `charts resize with the panel (${wide} → ${narrow} px, fits ${fits})`);
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.waitForFunction((w) => document.querySelector('#chart-loss .uplot').getBoundingClientRect().width > w + 50, narrow, { timeout: 5000 }).catch(() => undefined);
  const regrown = await widthOf();
  assert(regrown > narrow + 50, `charts grow back with the panel (${narrow} → ${regrown} px)`);
  await clean(page, errors);
  await page.close();
});

await test('curves: 100k points × 4 runs pan and zoom smoothly (wheel, keys)', async () => {
  const { page, errors } = await openPanel('curves', { state: { selected: runInfos.map((r) => r.runDir), hidden: [], xAxis: 'step', logY: true, smoothing: 0.6, view: 'curves', showTrain: true, showVal: true } });
  await send(page, { type: 'runs', runs: runInfos, runsDir: '/ws/runs' });
  await stash(page, '__runs', [big, ...small]);
  await page.evaluate(() => window.postMessage({ type: 'series', series: window.__runs }, '*'));
  await page.waitForFunction(() => document.querySelectorAll('.legend-item').length === 4 && document.querySelectorAll('.chart canvas').length === 4);
  const box = await page.locator('#chart-loss .u-over').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const frames = [];
  for (let i = 0; i < 12; i++) {
    const t = Date.now();
    await page.mouse.wheel(0, i < 6 ? -120 : 120);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    frames.push(Date.now() - t);
  }
  await page.locator('#chart-loss').focus();
  for (const key of ['+', '+', 'ArrowLeft', 'ArrowRight', '-', '0']) {
    const t = Date.now();
    await page.keyboard.press(key);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    frames.push(Date.now() - t);
  }
  const sorted = [...frames].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  // The script's own time per step (scale change → every chart redrawn), apart from rasterizing.
  const jsMs = await page.evaluate(async () => {
    const over = document.querySelector('#chart-loss .u-over');
    const times = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      over.dispatchEvent(new WheelEvent('wheel', { deltaY: i % 2 ? 120 : -120, clientX: 400, clientY: 100, bubbles: true, cancelable: true }));
      await Promise.resolve();
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[5];
  });
  const load = (await import('node:os')).loadavg()[0].toFixed(1);
  results.push(`curves: zoom/pan over 4 runs (106,000 points, smoothing on, log y): median ${median} ms per step to the next frame (max ${sorted.at(-1)} ms), script ${jsMs.toFixed(1)} ms; load average ${load}`);
  // legend toggle
  await page.locator('.legend-item').nth(1).click();
  await page.waitForSelector('.legend-item[aria-pressed="false"]');
  assert((await page.evaluate(() => window.__state.hidden.length)) === 1, 'hidden run saved in state');
  await clean(page, errors);
  await page.close();
});

await test('curves: DoF view fits RPG runs only (repeats averaged), shows the plain model apart, exports its table', async () => {
  const { page, errors } = await openPanel('curves', { theme: 'light' });
  const repeat = fx.run('lenet5-mnist-5pct', 2210, 10, 0.945, 9).info; // a second seed at 5%
  const plain = fx.run('lenet5-mnist-plain', 44426, 10, 0.974, 8, { rpg: false }).info;
  await send(page, { type: 'runs', runs: [...runInfos, repeat, plain], runsDir: '/ws/runs' });
  await page.click('#tab-dof');
  await page.waitForSelector('#fit');
  const fit = await page.locator('#fit').innerText();
  // 4 DoF values from 5 RPG runs; the plain run is not in the fit.
  assert(/R² = 0\.\d{3}, n = 4 DoF values from 5 RPG runs; 1 plain run shown apart, not fitted/.test(fit), `fit: ${fit}`);
  assert((await page.locator('.dof-table tbody tr').count()) === 6, 'every run in the table');
  assert((await page.locator('.dof-table tbody tr.baseline').count()) === 1, 'the plain run marked as a baseline');
  const head = await page.locator('.dof-table thead').innerText();
  assert(/Final/.test(head) && /Best/.test(head), `final and best columns: ${head}`);
  assert((await page.evaluate(() => window.__state.view)) === 'dof', 'view saved');
  // CSV from this tab is the DoF table, not the per-step rows.
  await page.click('#export-csv');
  const [csv] = await waitPosted(page, 'exportCsv');
  const lines = csv.csv.trimEnd().split('\n');
  assert(lines[0] === 'arch,dataset,run,runDir,kind,dof,finalAcc,bestAcc,fitAcc' && lines.length === 7, `DoF CSV: ${lines.slice(0, 2).join(' / ')} (${lines.length} lines)`);
  assert(csv.suggestedName.startsWith('dof-'), csv.suggestedName);
  // PNG: drawn at a figure's width whatever the panel's.
  await page.click('#export-png');
  const [png] = await waitPosted(page, 'exportPng');
  const size = await page.evaluate(async (url) => { const i = new Image(); i.src = url; await i.decode(); return [i.naturalWidth, i.naturalHeight]; }, png.dataUrl);
  assert(size[0] >= 1200, `DoF PNG ${size.join('×')} px`);
  await shot(page, 'curves-dof-light');
  await clean(page, errors);
  await page.close();
});

await test('curves: train smoothed by default over its faint raw curve, test dotted with markers; hover and pin compare every run at a step', async () => {
  const runs = small;
  // A saved state from before smoothing had a default: the default applies.
  const { page, errors } = await openPanel('curves', { state: { selected: runs.map((r) => r.info.runDir), hidden: [], xAxis: 'step', logY: false, view: 'curves', showTrain: true, showVal: true } });
  await send(page, { type: 'runs', runs: runs.map((r) => r.info), runsDir: '/ws/runs' });
  await send(page, { type: 'series', series: runs });
  await page.waitForFunction((n) => document.querySelectorAll('.legend-item').length === n && document.querySelectorAll('.chart canvas').length === 4, runs.length);
  const st = await page.evaluate(() => window.__state);
  assert(st.smoothing === 0.6, `default smoothing ${st.smoothing}`);
  assert((await page.locator('label[for="show-val"]').innerText()).trim() === 'Test', 'the test split is called test');
  const series = (await page.locator('#chart-loss').getAttribute('data-series')).split('|');
  for (const r of runs) {
    const label = `${r.info.name} (${r.info.runId}) · DoF`;
    assert(series.some((x) => x.startsWith(label) && x.endsWith(' train (raw):faint')), `raw train of ${r.info.name}: ${series.join(' | ')}`);
    assert(series.some((x) => x.startsWith(label) && x.endsWith(' train:solid')), `smoothed train of ${r.info.name}`);
    assert(series.some((x) => x.startsWith(label) && x.endsWith(' test:dotted+markers')), `test of ${r.info.name}`);
  }
  // Hover the middle of the loss chart: the readout lists every run's values at that step.
  const box = await page.locator('#chart-loss .u-over').boundingBox();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.move(box.x + box.width / 2 + 1, box.y + box.height / 2);
  await page.waitForFunction(() => /At step/.test(document.querySelector('#readout')?.textContent ?? ''), undefined, { timeout: 5000 }).catch(async (e) => {
    const at = await page.evaluate(([x, y]) => { const el = document.elementFromPoint(x, y); return `${el?.tagName}.${el?.className} in ${el?.parentElement?.className}`; }, [box.x + box.width / 2, box.y + box.height / 2]);
    throw new Error(`${e.message}; readout: ${await page.locator('#readout').innerText()}; under the pointer: ${at}; box ${JSON.stringify(box)}; ${logs.slice(0, 8).join(' / ')}; errors ${errors.join(' / ')}`);
  });
  const head = await page.locator('#readout').innerText();
  const step = Number(/At step ([\d,]+)/.exec(head)?.[1]?.replace(/,/g, ''));
  assert(step > 800 && step < 1200, `cursor step ${head}`);
  // The values are the runs' own: raw = the row at that step, smoothed = the time-weighted EMA there.
  const expect = fx.expectedAt(runs[0], step, 0.6);
  for (const r of runs) assert(/loss \d\.\d+ \(raw \d\.\d+\) · test \d\.\d+ · acc [\d.]+% \(raw [\d.]+%\) · test [\d.]+%/.test(await page.locator(`.legend-item[data-run="${r.info.runDir}"] .legend-values`).innerText()), `values of ${r.info.name}`);
  const row = await page.locator(`.legend-item[data-run="${runs[0].info.runDir}"] .legend-values`).innerText();
  assert(row.includes(`loss ${expect.loss.toPrecision(4)} (raw ${expect.lossRaw.toPrecision(4)})`), `readout ${row} vs ${JSON.stringify(expect)}`);
  // Click pins the step: it stays when the mouse leaves, and is saved.
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForFunction(() => typeof window.__state.pinnedX === 'number');
  await page.mouse.move(5, 5);
  assert(/Pinned at step/.test(await page.locator('#readout').innerText()), 'pinned readout');
  await shot(page, 'curves-compare-dark');
  await page.click('#unpin');
  await page.waitForFunction(() => window.__state.pinnedX === undefined);
  await clean(page, errors);
  await page.close();
});

await test('curves: a finished run loses its live badge; a deleted run leaves the list, the selection and the charts', async () => {
  const live = fx.run('lenet5-live', 4419, 200, 0.9, 7, { status: 'running' });
  const { page, errors } = await openPanel('curves', { state: { selected: [live.info.runDir, small[0].info.runDir], hidden: [], xAxis: 'step', logY: false, smoothing: 0.6, view: 'curves', showTrain: true, showVal: true } });
  await send(page, { type: 'runs', runs: [live.info, small[0].info], runsDir: '/ws/runs' });
  await send(page, { type: 'series', series: [live, small[0]] });
  await page.waitForFunction(() => document.querySelectorAll('.run-item .badge').length === 1 && document.querySelectorAll('.legend-item').length === 2);
  const none = { step: [], epoch: [], loss: [], acc: [], lr: [], samplesPerSec: [], time: [] };
  await send(page, { type: 'append', appends: [{ runDir: live.info.runDir, train: none, eval: { step: [], epoch: [], loss: [], acc: [], time: [] }, status: 'finished', finalAcc: 0.9 }] });
  await page.waitForFunction(() => document.querySelectorAll('.run-item .badge').length === 0);
  await send(page, { type: 'removed', runDirs: [small[0].info.runDir] });
  await page.waitForFunction(() => document.querySelectorAll('.run-item').length === 1 && document.querySelectorAll('.legend-item').length === 1);
  const st = await page.evaluate(() => window.__state);
  assert(!st.selected.includes(small[0].info.runDir), 'dropped from the selection');
  await clean(page, errors);
  await page.close();
});

for (const theme of ['dark', 'light']) {
  await test(`300 px wide (${theme}): curves start near the top, nothing is cut off; the mapping fits with every layer named`, async () => {
    const { page, errors } = await openPanel('curves', { theme, width: 300, height: 700, state: { selected: small.map((r) => r.info.runDir), hidden: [], xAxis: 'step', logY: false, smoothing: 0.6, view: 'curves', showTrain: true, showVal: true } });
    await send(page, { type: 'runs', runs: runInfos, runsDir: '/ws/runs' });
    await send(page, { type: 'series', series: small });
    await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 4);
    const layout = await page.evaluate(() => ({ top: document.querySelector('#chart-loss').getBoundingClientRect().top, overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth }));
    assert(layout.overflow <= 0, `no horizontal overflow (${layout.overflow} px)`);
    assert(layout.top < 700 * 0.5, `the first chart starts in the upper half (top ${layout.top} px of 700)`);
    await shot(page, `curves-300px-${theme}`);
    // Widened: the options show again (on a wide panel their "Options" summary is hidden).
    await page.setViewportSize({ width: 900, height: 700 });
    await page.waitForFunction(() => document.getElementById('options')?.open === true && document.getElementById('runs')?.open === true, undefined, { timeout: 5000 });
    await page.setViewportSize({ width: 300, height: 700 });
    await page.click('#tab-dof');
    await page.waitForSelector('.dof-table');
    const dof = await page.evaluate(() => { const t = document.querySelector('.table-scroll'); return { overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth, chart: document.querySelector('#chart-dof .uplot').getBoundingClientRect().right, table: t.scrollWidth - t.clientWidth }; });
    assert(dof.overflow <= 0 && dof.chart <= 300 && dof.table <= 0, `DoF view fits, its table's columns too: ${JSON.stringify(dof)}`);
    await shot(page, `curves-dof-300px-${theme}`);
    await clean(page, errors);
    await page.close();

    const m = await openPanel('mapping', { theme, width: 300, height: 700 });
    await send(m.page, { type: 'plan', plan: lenet, configPath: '/ws/lenet.rpg.json', openedAt: Date.now() });
    await m.page.waitForSelector('svg.ring');
    const fit = await m.page.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      ring: document.querySelector('svg.ring').getBoundingClientRect().right,
      names: [...document.querySelectorAll('.layer-button')].map((b) => { const r = b.getBoundingClientRect(); return r.width > 20 && r.right <= document.documentElement.clientWidth; }),
      table: (() => { const l = document.querySelector('.layer-list'); return l.scrollWidth - l.clientWidth; })(),
    }));
    assert(fit.overflow <= 0 && fit.ring <= 300 && fit.table <= 0, `mapping fits, its layer table too: ${JSON.stringify(fit)}`);
    assert(fit.names.length === lenet.layers.length && fit.names.every(Boolean), `every layer name visible: ${fit.names}`);
    await shot(m.page, `mapping-300px-${theme}`);
    await clean(m.page, m.errors);
    await m.page.close();
  });
}

await test('mapping: no timer in the footer; a layer tooltip goes away when the page scrolls', async () => {
  const { page, errors } = await openPanel('mapping', { width: 700, height: 500 });
  await send(page, { type: 'plan', plan: lenet, configPath: '/ws/lenet.rpg.json', openedAt: Date.now() - 100_000 });
  await page.waitForSelector('svg.ring');
  await waitPosted(page, 'rendered');
  const text = await page.locator('body').innerText();
  assert(!/ms after/.test(text), 'no "drawn … ms after" text');
  assert((await page.evaluate(() => document.body.dataset.renderedMs)) !== undefined, 'the timing is still there for benchmarks');
  // Hover an arc (its tooltip opens), then scroll the page under the pointer: the tooltip goes.
  const point = await page.locator(`.layer-arc[data-layer="${lenet.layers[1].name}"] path`).first().evaluate((path) => {
    const p = path.getPointAtLength(path.getTotalLength() * 0.2).matrixTransform(path.getScreenCTM());
    const c = path.ownerSVGElement.getBoundingClientRect();
    const cx = c.left + c.width / 2;
    const cy = c.top + c.height / 2;
    const d = Math.hypot(p.x - cx, p.y - cy);
    return { x: cx + ((p.x - cx) * (d - 4)) / d, y: cy + ((p.y - cy) * (d - 4)) / d };
  });
  await page.mouse.move(point.x, point.y);
  await page.waitForSelector('#layer-tip:not([hidden])');
  await page.evaluate(() => window.scrollBy(0, 120));
  await page.waitForSelector('#layer-tip', { state: 'hidden' });
  // A tooltip opened by keyboard focus follows its row instead of vanishing as focus scrolls it into view.
  await page.locator('button.layer-button').last().focus();
  await page.waitForSelector('#layer-tip:not([hidden])');
  await clean(page, errors);
  await page.close();
});

await test('curves: exports PNG and CSV through the host; select from the Experiments tree', async () => {
  const { page, errors } = await openPanel('curves', { state: { selected: [small[0].info.runDir], hidden: [], xAxis: 'epoch', logY: false, smoothing: 0, view: 'curves', showTrain: true, showVal: true } });
  const [ready] = await waitPosted(page, 'ready');
  assert(ready.state.xAxis === 'epoch', 'restored state goes to the host');
  await send(page, { type: 'runs', runs: runInfos, runsDir: '/ws/runs' });
  await send(page, { type: 'series', series: [small[0]] });
  await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 4);
  assert((await page.locator('#x-axis').inputValue()) === 'epoch', 'x axis restored');
  await page.click('#export-png');
  const [png] = await waitPosted(page, 'exportPng');
  assert(png.dataUrl.startsWith('data:image/png;base64,') && png.dataUrl.length > 5000 && png.suggestedName.endsWith('.png'), 'PNG data URL');
  await page.click('#export-csv');
  const [csv] = await waitPosted(page, 'exportCsv');
  const lines = csv.csv.trimEnd().split('\n');
  assert(lines[0].startsWith('run,runDir,name') && lines.length === 1 + small[0].train.step.length + small[0].eval.step.length, `CSV rows ${lines.length}`);
  assert(lines.some((l) => l.includes(',test,')) && !lines.some((l) => l.includes(',eval,')), 'the test split is called test');
  const size = await page.evaluate(async (url) => { const i = new Image(); i.src = url; await i.decode(); return i.naturalWidth; }, png.dataUrl);
  assert(size >= 1200, `curves PNG ${size} px wide`);
  await send(page, { type: 'exported', what: 'csv', path: '/ws/out.csv' });
  await page.waitForFunction(() => /Saved CSV to \/ws\/out.csv/.test(document.getElementById('status')?.textContent ?? ''));
  await send(page, { type: 'select', runDirs: [small[1].info.runDir, small[2].info.runDir] });
  const loads = await waitPosted(page, 'loadRuns');
  assert(loads.at(-1).runDirs.length === 2, 'asks for the runs it lacks');
  await send(page, { type: 'series', series: [small[1], small[2]] });
  await page.waitForFunction(() => document.querySelectorAll('.legend-item').length === 3);
  await clean(page, errors);
  await page.close();
});

await browser.close();
server.close();
for (const r of results) console.log(`# ${r}`);
console.log(`# ${passed} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
