// The two webview panels in a real VS Code (node test/e2e/run.mjs --ui test/e2e/ui/panels.ui.mjs
// [--theme light]): train the "long" fixture, open Training Curves and watch it gain points
// while the run trains, open Ring Mapping and check it draws every generated layer of the
// config, then time opening the mapping of a ResNet-34 config (21.8M generated weights).
// Screenshots go to the output folder; timings are printed as "[panels] ..." lines.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tsImport } from 'tsx/esm/api';

/** The frame (two iframes deep) of the webview whose document has `selector`. */
async function webviewFrame(page, selector, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      if (f === page.mainFrame()) continue;
      try {
        if (await f.$(selector)) return f;
      } catch {
        /* frame navigating */
      }
    }
    await sleep(100);
  }
  throw new Error(`no webview shows ${selector}`);
}

/** Opens a workspace file through Quick Open, as a user would. */
async function openFile(page, name) {
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').waitFor({ state: 'visible' });
  await page.keyboard.type(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
  await page.locator(`.tab.active[aria-label*="${name}"]`).waitFor({ state: 'visible', timeout: 15_000 });
}

/** Runs a command that may ask which config: answers its quick pick with `config`. */
async function runForConfig(ctx, title, config) {
  await ctx.runCommand(title);
  const pick = ctx.page.locator('.quick-input-list .monaco-list-row', { hasText: config });
  if (await pick.first().isVisible().catch(() => false)) {
    await ctx.page.keyboard.type(config);
    await ctx.page.keyboard.press('Enter');
  }
}

export default async function (ctx) {
  const { page, log, screenshot, workspaceDir, theme } = ctx;
  const { planFor } = await tsImport('../../../src/trainer/planning.ts', import.meta.url);
  const report = (m) => log(`[panels] ${m}`);

  // ── a real training run, and the curves panel following it ──
  await openFile(page, 'long.rpg.json');
  await runForConfig(ctx, 'RPG: Train Model', 'long');
  await runForConfig(ctx, 'RPG: Show Training Curves', 'long');
  const curves = await webviewFrame(page, '.legend', 60_000);
  await curves.waitForSelector('.legend-item', { timeout: 60_000 });
  const pointsOf = async () => Number(/([\d,]+) pts/.exec(await curves.locator('.legend-item').first().innerText())?.[1].replace(/,/g, '') ?? NaN);
  await curves.waitForFunction(() => /[1-9][\d,]* pts/.test(document.querySelector('.legend-item')?.textContent ?? ''), undefined, { timeout: 90_000 });
  const before = await pointsOf();
  const t0 = Date.now();
  await curves.waitForFunction((n) => Number((/([\d,]+) pts/.exec(document.querySelector('.legend-item')?.textContent ?? '') ?? [])[1]?.replace(/,/g, '')) > n, before, { timeout: 90_000 });
  const after = await pointsOf();
  report(`training curves: live run went from ${before} to ${after} points in ${Date.now() - t0} ms`);
  if ((await curves.locator('.chart canvas').count()) < 4) throw new Error('curves panel has no charts');

  // ── ring mapping of the same config: every generated layer of its plan ──
  await openFile(page, 'long.rpg.json');
  const plan = planFor({ configPath: join(workspaceDir, 'long.rpg.json') });
  await runForConfig(ctx, 'RPG: Show Ring Mapping', 'long');
  const mapping = await webviewFrame(page, 'svg.ring', 60_000);
  const arcs = await mapping.locator('.layer-arc').evaluateAll((els) => els.map((e) => e.getAttribute('data-layer')));
  const expected = plan.layers.map((l) => l.name);
  if (JSON.stringify(arcs) !== JSON.stringify(expected)) throw new Error(`mapping shows ${arcs.join(', ')}; the plan has ${expected.join(', ')}`);
  if ((await mapping.locator('.free-row').count()) !== plan.free.length) throw new Error('free parameters missing');
  report(`ring mapping: all ${arcs.length} generated layers of long.rpg.json drawn (${arcs.join(', ')}), ${plan.free.length} free parameters listed`);
  await mapping.locator('button.layer-button').nth(1).click();
  await mapping.waitForSelector('canvas.heatmap', { timeout: 60_000 });
  const source = await mapping.locator('.source').innerText();
  report(`ring mapping detail: ${source}`);
  await sleep(500);
  await screenshot(`panels-curves-and-mapping-${theme}`);

  // ── ResNet-34: open time, from the command to every layer drawn (with the run stopped,
  // so the trainer answers the plan at once, and then again while a run trains) ──
  await ctx.runCommand('RPG: Stop Training').catch(() => undefined);
  await sleep(2000);
  writeFileSync(join(workspaceDir, 'resnet34.rpg.json'), JSON.stringify({ name: 'resnet34-1pct', seed: 1, model: { arch: 'resnet34' }, rpg: { dof: '1%' }, data: { dataset: 'mnist-embedded' } }, null, 2) + '\n');
  const r34 = planFor({ configPath: join(workspaceDir, 'resnet34.rpg.json') });
  await openFile(page, 'resnet34.rpg.json');
  const started = Date.now();
  await runForConfig(ctx, 'RPG: Show Ring Mapping', 'resnet34-1pct');
  const frame = await webviewFrame(page, 'svg.ring', 30_000);
  await frame.waitForFunction((n) => document.querySelectorAll('.layer-arc').length === n && document.body.dataset.renderedMs !== undefined, r34.layers.length, { timeout: 30_000 });
  const wall = Date.now() - started;
  const timing = async () => frame.evaluate(() => ({ ms: Number(document.body.dataset.renderedMs), plan: Number(document.body.dataset.planMs) }));
  const idle = await timing();
  report(`ResNet-34 ring mapping (${r34.layers.length} layers, ${r34.summary.generatedParams.toLocaleString('en-US')} generated weights), trainer idle: drawn ${idle.ms} ms after showRingMapping (plan ${idle.plan} ms), ${wall} ms from pressing Enter in the palette (theme ${theme})`);
  await screenshot(`panels-resnet34-mapping-${theme}`);
  // Re-open (Refresh re-plans) while nothing trains, a few times, for a steadier figure.
  const again = [];
  for (let i = 0; i < 3; i++) {
    const renders = await frame.evaluate(() => document.body.dataset.renders);
    await frame.click('#refresh');
    await frame.waitForFunction((b) => document.querySelectorAll('.layer-arc').length > 0 && document.body.dataset.renders !== b, renders, { timeout: 30_000 });
    again.push(await timing());
  }
  report(`ResNet-34 ring mapping re-plan + redraw: ${again.map((t) => `${t.ms} ms (plan ${t.plan} ms)`).join(', ')}`);
}
