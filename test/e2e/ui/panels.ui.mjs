// The two webview panels in a real VS Code (node test/e2e/run.mjs --ui test/e2e/ui/panels.ui.mjs
// [--theme light]): train the "long" fixture, open Training Curves and watch it gain points
// while the run trains, open Ring Mapping and check it draws every generated layer of the
// config, then time opening the mapping of a ResNet-34 config (21.3M generated weights); stop
// the run, export its curves as CSV and PNG through the save dialog and check both files
// against the run's metrics.jsonl (each save announced by a notification); at 300 px (the
// window narrowed so each panel gets a 300-px group) both panels, the DoF tab included, fit
// without anything cut off; then Reload Window and find both panels restored.
// --theme dark|light|hc-dark|hc-light. Screenshots (and the exported PNG) go to the output
// folder; timings are printed as "[panels] ..." lines.
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PNG } from 'pngjs';
import { tsImport } from 'tsx/esm/api';
import { openFile, pickTheme, reloadWindow, runForConfig, unfocusWebview, until, webviewFrame } from './helpers.mjs';

export default async function (ctx) {
  const { page, log, screenshot, workspaceDir, theme } = ctx;
  const { planFor } = await tsImport('../../../src/core/experiment/planning.ts', import.meta.url);
  const report = (m) => log(`[panels] ${m}`);
  await pickTheme(ctx);
  // Written before the first Quick Open, which lists the workspace's files once.
  writeFileSync(join(workspaceDir, 'resnet34.rpg.json'), JSON.stringify({ name: 'resnet34-1pct', seed: 1, model: { arch: 'resnet34' }, rpg: { dof: '1%' }, data: { dataset: 'mnist-embedded' } }, null, 2) + '\n');

  // ── a real training run, and the curves panel following it ──
  await openFile(page, 'long.rpg.json');
  await runForConfig(ctx, 'RPG: Train Model', 'long');
  await runForConfig(ctx, 'RPG: Show Training Curves', 'long');
  const curves = await webviewFrame(page, '.legend', 60_000);
  await curves.waitForSelector('.legend-item', { timeout: 60_000 });
  // textContent: a narrow panel hides the point count (innerText would not see it).
  const pointsOf = async () => Number(/([\d,]+) pts/.exec(await curves.locator('.legend-item').first().textContent())?.[1].replace(/,/g, '') ?? NaN);
  await curves.waitForFunction(() => /[1-9][\d,]* pts/.test(document.querySelector('.legend-item')?.textContent ?? ''), undefined, { timeout: 90_000 });
  const before = await pointsOf();
  const t0 = Date.now();
  await curves.waitForFunction((n) => Number((/([\d,]+) pts/.exec(document.querySelector('.legend-item')?.textContent ?? '') ?? [])[1]?.replace(/,/g, '')) > n, before, { timeout: 90_000 });
  const after = await pointsOf();
  report(`training curves: live run went from ${before} to ${after} points in ${Date.now() - t0} ms`);
  if ((await curves.locator('.chart canvas').count()) < 4) throw new Error('curves panel has no charts');

  // ── ResNet-34: open time, from the command to every layer drawn. Cold (the first mapping
  // panel, a run still training), then re-plans with the trainer idle. ──
  const r34 = planFor({ configPath: join(workspaceDir, 'resnet34.rpg.json') });
  await openFile(page, 'resnet34.rpg.json');
  const started = Date.now();
  await runForConfig(ctx, 'RPG: Show Ring Mapping', 'resnet34-1pct');
  const frame = await webviewFrame(page, 'svg.ring', 90_000);
  await frame.waitForFunction((n) => document.querySelectorAll('.layer-arc').length === n && document.body.dataset.renderedMs !== undefined, r34.layers.length, { timeout: 30_000 });
  const wall = Date.now() - started;
  const timing = async () => frame.evaluate(() => Object.fromEntries(['renderedMs', 'planMs', 'scriptMs', 'arrivedMs'].map((k) => [k, Number(document.body.dataset[k])])));
  const cold = await timing();
  const what = `ResNet-34 ring mapping (${r34.layers.length} layers, ${r34.summary.generatedParams.toLocaleString('en-US')} generated weights, theme ${theme})`;
  report(`${what}, cold open while a run trains: drawn ${cold.renderedMs} ms after showRingMapping (webview script started at ${cold.scriptMs} ms, plan took ${cold.planMs} ms and arrived at ${cold.arrivedMs} ms); ${wall} ms from opening the command palette (typing the command included)`);
  await screenshot(`panels-resnet34-mapping-${theme}`);
  await ctx.runCommand('RPG: Stop Training').catch(() => undefined);
  await sleep(2000);
  const again = [];
  for (let i = 0; i < 3; i++) {
    const renders = await frame.evaluate(() => document.body.dataset.renders);
    await frame.click('#refresh');
    await frame.waitForFunction((b) => document.querySelectorAll('.layer-arc').length > 0 && document.body.dataset.renders !== b, renders, { timeout: 30_000 });
    again.push(await timing());
  }
  report(`${what}, open panel re-planned with the trainer idle: ${again.map((t) => `${t.renderedMs} ms (plan ${t.planMs} ms)`).join(', ')}`);

  // ── ring mapping of the same config: every generated layer of its plan ──
  await openFile(page, 'long.rpg.json');
  const plan = planFor({ configPath: join(workspaceDir, 'long.rpg.json') });
  await runForConfig(ctx, 'RPG: Show Ring Mapping', 'long');
  const expected = plan.layers.map((l) => l.name);
  const mapping = await webviewFrame(page, 'svg.ring', 60_000);
  await mapping.waitForFunction((names) => [...document.querySelectorAll('.layer-arc')].map((e) => e.getAttribute('data-layer')).join() === names.join(), expected, { timeout: 30_000 }).catch(() => undefined);
  const arcs = await mapping.locator('.layer-arc').evaluateAll((els) => els.map((e) => e.getAttribute('data-layer')));
  if (JSON.stringify(arcs) !== JSON.stringify(expected)) throw new Error(`mapping shows ${arcs.join(', ')}; the plan has ${expected.join(', ')}`);
  if ((await mapping.locator('.free-row').count()) !== plan.free.length) throw new Error('free parameters missing');
  report(`ring mapping: all ${arcs.length} generated layers of long.rpg.json drawn (${arcs.join(', ')}), ${plan.free.length} free parameters listed`);
  await mapping.locator('button.layer-button').nth(1).click();
  await mapping.waitForSelector('canvas.heatmap', { timeout: 60_000 });
  const source = await mapping.locator('.source').innerText();
  report(`ring mapping detail: ${source}`);
  // Both panels side by side for the picture. (Moving a webview between groups reloads it, and
  // code-server's webview service worker sometimes never serves the reload: open it afresh.)
  const mappingTab = page.locator('.tab', { hasText: 'Ring Mapping' }).first();
  await mappingTab.hover();
  await mappingTab.locator('.codicon-close').click();
  await mappingTab.waitFor({ state: 'detached' });
  await page.locator('.tab', { hasText: 'Training Curves' }).first().click();
  // The curves panel was hidden behind the mapping since the ResNet-34 step while the run went on
  // until stopped: shown again, it has the rows that came meanwhile (held by the extension).
  const shown = await webviewFrame(page, '.legend-item', 60_000);
  await shown.waitForFunction((n) => Number((/([\d,]+) pts/.exec(document.querySelector('.legend-item')?.textContent ?? '') ?? [])[1]?.replace(/,/g, '')) > n, after, { timeout: 30_000 });
  const resumed = Number(/([\d,]+) pts/.exec(await shown.locator('.legend-item').first().textContent())?.[1].replace(/,/g, ''));
  report(`training curves hidden then shown again: ${after} → ${resumed} points (the rows of the rest of the run, stopped meanwhile)`);

  // ── export: the stopped run's curves as PNG and CSV through VS Code's save dialog (in
  // code-server the "simple" dialog: a quick input holding the proposed path) ──
  const runDir = await until('the stopped run\'s run.json', () => stoppedRun(join(workspaceDir, 'runs', 'long')));
  const rows = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const trainRows = rows.filter((r) => r.type === 'train');
  const evalRows = rows.filter((r) => r.type === 'eval');
  // Live rows are thinned to ≤ 10/s; once the run has ended the panel holds every row of metrics.jsonl.
  await shown.waitForFunction((n) => Number((/([\d,]+) pts/.exec(document.querySelector('.legend-item')?.textContent ?? '') ?? [])[1]?.replace(/,/g, '')) === n, trainRows.length, { timeout: 30_000 })
    .catch(async () => { throw new Error(`the stopped run shows ${await shown.locator('.legend-item').first().innerText()}; its metrics.jsonl has ${trainRows.length} train rows`); });
  const csvFile = join(workspaceDir, 'long-curves.csv'); // typed into the dialog
  await shown.click('#export-csv');
  await answerSaveDialog(page, { proposed: join(workspaceDir, 'runs', 'long.csv'), type: csvFile });
  await until(`${csvFile} and "Saved CSV" in the panel`, async () => existsSync(csvFile) && (await shown.locator('#status').innerText()).includes(`Saved CSV to ${csvFile}`));
  // …and said where the user looks: a notification naming the file.
  await page.locator('.notification-toast', { hasText: `Saved CSV to ${csvFile}` }).first().waitFor({ state: 'visible', timeout: 15_000 });
  checkCsv(readFileSync(csvFile, 'utf8'), runDir, trainRows, evalRows);
  report(`Export CSV → save dialog (typed ${csvFile}): header + ${trainRows.length} train + ${evalRows.length} eval rows, equal to ${runDir}/metrics.jsonl`);
  const pngFile = join(workspaceDir, 'runs', 'long.png'); // the proposed path, accepted with Enter
  await shown.click('#export-png');
  await answerSaveDialog(page, { proposed: pngFile });
  await until(`${pngFile} and "Saved PNG" in the panel`, async () => existsSync(pngFile) && (await shown.locator('#status').innerText()).includes(`Saved PNG to ${pngFile}`));
  await page.locator('.notification-toast', { hasText: `Saved PNG to ${pngFile}` }).first().waitFor({ state: 'visible', timeout: 15_000 });
  const png = checkPng(readFileSync(pngFile));
  copyFileSync(pngFile, join(ctx.outDir, `panels-export-${theme}.png`));
  report(`Export PNG → save dialog (Enter on the proposed ${pngFile}): ${png.width}×${png.height} px, ${statSync(pngFile).size.toLocaleString('en-US')} bytes, ${png.colors} colours`);
  // The curves' group active, so that the mapping opens beside it rather than on top of it.
  await page.locator('.tab', { hasText: 'Training Curves' }).first().click();
  await runForConfig(ctx, 'RPG: Show Ring Mapping', 'long');
  const fresh = await webviewFrame(page, 'button.layer-button', 60_000);
  await fresh.locator('button.layer-button').nth(1).click(); // selects, and reveals in the editor
  await fresh.waitForSelector('canvas.heatmap', { timeout: 60_000 });
  await sleep(1000);
  await page.locator('.part.editor .tabs-container .tab').first().click();
  await unfocusWebview(page);
  await ctx.runCommand('View: Close All Editors in Group').catch((e) => log(`layout: ${e.message}`));
  await ctx.runCommand('Notifications: Clear All Notifications').catch(() => undefined);
  await ctx.runCommand('View: Close Primary Side Bar').catch(() => undefined);
  await page.mouse.move(23, 600); // empty activity bar: no hover anywhere
  await sleep(1500);
  await screenshot(`panels-curves-and-mapping-${theme}`);
  await narrowPanels(ctx, report);

  // ── restart: both panels come back (WebviewPanelSerializer + the webviews' saved state) ──
  await reloadWindow(ctx);
  // VS Code revives a restored webview only when its tab is shown: each tab is clicked first,
  // so the check holds whichever groups the panels ended up in.
  const showTab = async (title) => {
    const tab = page.locator('.tab', { hasText: title }).first();
    await tab.waitFor({ state: 'visible', timeout: 60_000 }).catch(() => { throw new Error(`no "${title}" tab after Reload Window`); });
    await tab.click();
  };
  // code-server's webview service worker sometimes never serves a restored webview's document
  // after a reload: the tab stays blank, its outer frame never takes the content (about 1 in 4
  // CI runs, either panel, never seen locally; re-setting the HTML, which PanelHost's watchdog
  // does after 5 s, does not help). Then the window is reloaded again, as a user would, up to
  // three times: each time both panels must come back from our serializers.
  const restored = async (title, selector) => {
    await showTab(title);
    return webviewFrame(page, selector, 30_000);
  };
  let legend;
  let selected;
  for (let attempt = 1; ; attempt++) {
    try {
      const curvesBack = await restored('Training Curves', '.legend-item');
      legend = await curvesBack.locator('.legend-item').first().innerText();
      const mappingBack = await restored('Ring Mapping', 'canvas.heatmap');
      selected = await mappingBack.locator('.layer-row[aria-selected="true"]').getAttribute('data-layer');
      break;
    } catch (e) {
      if (attempt === 3) throw e;
      report(`after Reload Window ${attempt}: ${String(e.message).split('\n')[0]} (code-server's service worker did not serve it); reloading again`);
      await reloadWindow(ctx);
    }
  }
  report(`after Reload Window: curves restored with "${legend.replace(/\s+/g, ' ')}", mapping restored with ${selected} selected`);
}

/**
 * Both panels at 300 px, as in a narrow side column: the window narrowed so each of the two
 * editor groups is ~300 px wide. In each webview nothing is cut off (no horizontal overflow),
 * the curves' first chart starts in the upper half, the DoF tab's table fits; screenshots of
 * both, then the window as it was.
 */
async function narrowPanels(ctx, report) {
  const { page, screenshot, theme } = ctx;
  const size = page.viewportSize();
  await page.setViewportSize({ width: 650, height: size.height });
  await ctx.runCommand('View: Reset Editor Group Sizes').catch(() => undefined);
  await sleep(1500);
  const check = async (frame, what) => {
    const m = await frame.evaluate(() => ({ width: document.documentElement.clientWidth, overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth, chart: document.querySelector('.chart')?.getBoundingClientRect().top, height: window.innerHeight }));
    if (m.width > 340 || m.width < 260) throw new Error(`${what}: the panel is ${m.width} px wide, not about 300`);
    if (m.overflow > 0) throw new Error(`${what}: ${m.overflow} px cut off at ${m.width} px`);
    return m;
  };
  const curves = await webviewFrame(page, '.legend-item', 30_000);
  const c = await check(curves, 'curves');
  if (!(c.chart < c.height / 2)) throw new Error(`curves at ${c.width} px: the first chart starts at ${c.chart} px of ${c.height}`);
  const mapping = await webviewFrame(page, 'button.layer-button', 30_000);
  await check(mapping, 'mapping');
  const names = await mapping.evaluate(() => [...document.querySelectorAll('.layer-button')].every((b) => b.getBoundingClientRect().right <= document.documentElement.clientWidth));
  if (!names) throw new Error('mapping at 300 px: a layer name is cut off');
  const table = await mapping.evaluate(() => { const l = document.querySelector('.layer-list'); return l.scrollWidth - l.clientWidth; });
  if (table > 0) throw new Error(`mapping at 300 px: ${table} px of the layer table cut off`);
  await screenshot(`panels-300px-${theme}`);
  await curves.click('#tab-dof');
  await curves.waitForSelector('#chart-dof canvas', { timeout: 30_000 }).catch(() => curves.waitForSelector('.placeholder'));
  const d = await check(curves, 'DoF tab');
  await screenshot(`panels-dof-300px-${theme}`);
  await curves.click('#tab-curves');
  report(`at 300 px: curves (first chart at ${c.chart} px), DoF tab and mapping fit, nothing cut off (${d.width} px wide)`);
  await page.setViewportSize(size);
  await sleep(500);
}

/** The newest run under `dir` that has stopped (run.json says so), or undefined. */
function stoppedRun(dir) {
  if (!existsSync(dir)) return undefined;
  const stopped = readdirSync(dir).map((id) => join(dir, id)).filter((d) => {
    try {
      return JSON.parse(readFileSync(join(d, 'run.json'), 'utf8')).status === 'stopped';
    } catch {
      return false;
    }
  });
  return stopped.sort().at(-1);
}

/** Answers the save dialog: checks the path it proposes, optionally types another, presses Enter. */
async function answerSaveDialog(page, { proposed, type }) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  const deadline = Date.now() + 10_000;
  let value = await input.inputValue();
  while (value !== proposed && Date.now() < deadline) {
    await sleep(100);
    value = await input.inputValue();
  }
  if (value !== proposed) throw new Error(`the save dialog proposes ${JSON.stringify(value)}, not ${JSON.stringify(proposed)}`);
  if (type) {
    await page.keyboard.press('Control+A');
    await page.keyboard.type(type);
    await page.waitForFunction((t) => document.querySelector('.quick-input-widget input')?.value === t, type);
  }
  await page.keyboard.press('Enter');
  // A notification that arrives at that moment (the run's "stopped" message) can take the focus
  // from the dialog, and the Enter goes to it: then the dialog is focused and Enter pressed again.
  if (!(await input.waitFor({ state: 'hidden', timeout: 5_000 }).then(() => true, () => false))) {
    await input.click();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: 15_000 });
  }
}

const CSV_HEADER = 'run,runDir,name,arch,dataset,dof,split,step,epoch,loss,acc,lr,samplesPerSec,time';
const cell = (v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '');

/** The exported CSV is the run's metrics.jsonl: one line per train and eval row, same numbers. */
function checkCsv(text, runDir, trainRows, evalRows) {
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the CSV does not end with a newline');
  lines.pop();
  if (lines[0] !== CSV_HEADER) throw new Error(`CSV header ${JSON.stringify(lines[0])}`);
  const body = lines.slice(1).map((l) => l.split(','));
  const train = body.filter((c) => c[6] === 'train');
  const evals = body.filter((c) => c[6] === 'test');
  if (train.length + evals.length !== body.length) throw new Error('CSV rows that are neither train nor test');
  if (train.length !== trainRows.length || evals.length !== evalRows.length) throw new Error(`CSV has ${train.length} train and ${evals.length} eval rows; metrics.jsonl ${trainRows.length} and ${evalRows.length}`);
  if (!train.length || !evals.length) throw new Error('the CSV has no train or no eval rows');
  const bad = [];
  body.forEach((c, i) => {
    if (c.length !== 14 || c[1] !== runDir || c[2] !== 'long' || c[3] !== 'lenet5') bad.push(`line ${i + 2}: ${c.slice(0, 7).join(',')}`);
  });
  train.forEach((c, k) => {
    const r = trainRows[k];
    const want = [r.step, r.epoch, r.loss, r.acc, r.lr, r.samplesPerSec, r.time].map(cell).join(',');
    if (c.slice(7).join(',') !== want) bad.push(`train row ${k}: ${c.slice(7).join(',')} ≠ ${want}`);
  });
  evals.forEach((c, k) => {
    const r = evalRows[k];
    const want = [r.step, r.epoch, r.loss, r.acc, undefined, undefined, r.time].map(cell).join(',');
    if (c.slice(7).join(',') !== want) bad.push(`eval row ${k}: ${c.slice(7).join(',')} ≠ ${want}`);
  });
  if (bad.length) throw new Error(`CSV differs from metrics.jsonl:\n  ${bad.slice(0, 5).join('\n  ')}${bad.length > 5 ? `\n  … ${bad.length - 5} more` : ''}`);
}

/** A real PNG of the four charts: signature, decodable, big enough, and not one flat colour. */
function checkPng(bytes) {
  const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!bytes.subarray(0, 8).equals(SIGNATURE)) throw new Error(`not a PNG (starts ${bytes.subarray(0, 8).toString('hex')})`);
  if (bytes.length < 10_000) throw new Error(`PNG of only ${bytes.length} bytes`);
  const img = PNG.sync.read(bytes);
  if (img.width < 1200 || img.height < 4 * 100) throw new Error(`PNG is ${img.width}×${img.height}: narrower than a figure (1,200 px) or too short for four charts`);
  const colors = new Set();
  for (let i = 0; i < img.data.length; i += 4 * 7) colors.add(img.data.readUInt32BE(i));
  if (colors.size < 16) throw new Error(`PNG has only ${colors.size} colours: nothing drawn`);
  return { width: img.width, height: img.height, colors: colors.size };
}
