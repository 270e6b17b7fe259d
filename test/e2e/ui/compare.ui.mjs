// Compare Runs in a real VS Code (node test/e2e/run.mjs --ui test/e2e/ui/compare.ui.mjs
// [--theme dark] [--vsix F]): a tiny sweep runs with the `rpg` CLI (RPG at three ring sizes,
// random-subspace and HashedNets baselines, the plain model: 10 runs of an MLP on 512 digits),
// then F1 → RPG: Compare Runs lists every run; sort by final accuracy (best first); the DoF vs
// accuracy plot shows each method with its log-linear fit; three runs selected go to the
// training curves; the table is exported as CSV through the save dialog and checked against the
// runs' run.json files. Timings are printed as "[compare] ..." lines, never asserted.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pickTheme, unfocusWebview, until, webviewFrame } from './helpers.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export default async function (ctx) {
  const { page, log, screenshot, workspaceDir, theme } = ctx;
  const report = (m) => log(`[compare] ${m}`);
  await pickTheme(ctx);

  // ── a tiny sweep, as a user runs it in a terminal ──
  const config = join(workspaceDir, 'sweep.rpg.json');
  writeFileSync(config, JSON.stringify({ name: 'sweep', seed: 3, model: { arch: 'mlp', hidden: [32] }, rpg: { dof: 100 }, data: { dataset: 'mnist-embedded', trainSize: 512, testSize: 256 }, train: { optimizer: 'adam', lr: 0.003, batchSize: 64, epochs: 1, backend: 'wasm' } }, null, 2) + '\n');
  const t0 = Date.now();
  const sweep = await new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(repo, 'dist/cli.js'), 'sweep', config, '--dof', '50,200,800', '--baselines', 'subspace,hashed', '--runs', join(workspaceDir, 'runs')], { cwd: workspaceDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`rpg sweep exited ${code}:\n${out}`))));
  });
  const sweepRoot = join(workspaceDir, 'runs', 'sweep-sweep');
  const sweepFile = join(sweepRoot, readdirSync(sweepRoot)[0], 'sweep.json');
  const s = JSON.parse(readFileSync(sweepFile, 'utf8'));
  const runDirs = [s.reference.runDir, ...s.points.map((p) => p.runDir)];
  const records = new Map(runDirs.map((d) => [d, JSON.parse(readFileSync(join(d, 'run.json'), 'utf8'))]));
  report(`rpg sweep (3 sizes × RPG, subspace, HashedNets + plain: ${runDirs.length} runs) in ${Date.now() - t0} ms; ${sweep.split('\n').find((l) => l.startsWith('fit over RPG')) ?? 'no fit line'}`);

  // ── RPG: Compare Runs lists them ──
  await unfocusWebview(page);
  const opened = Date.now();
  await ctx.runCommand('RPG: Compare Runs');
  const table = await webviewFrame(page, '#runs-grid', 60_000);
  await table.waitForFunction((n) => (document.getElementById('count')?.textContent ?? '').startsWith(`${n} runs`), runDirs.length, { timeout: 60_000 });
  report(`Compare Runs listed ${runDirs.length} runs ${Date.now() - opened} ms after the command`);

  // ── sort by final accuracy: the best run first ──
  await table.click('.grid-head button.sort[data-column="finalAcc"]');
  await table.waitForSelector('.grid-head [data-column="finalAcc"][aria-sort="descending"]');
  const byAcc = [...records.entries()].sort((a, b) => b[1].finalAcc - a[1].finalAcc || a[0].localeCompare(b[0]));
  const topKey = await table.locator('.grid-row[data-index="0"]').getAttribute('data-key');
  if (records.get(topKey)?.finalAcc !== byAcc[0][1].finalAcc) throw new Error(`sorted by final accuracy, the first row is ${topKey} (${records.get(topKey)?.finalAcc}); the best run has ${byAcc[0][1].finalAcc}`);
  report(`sorted by final accuracy: ${records.get(topKey).name} first at ${(byAcc[0][1].finalAcc * 100).toFixed(2)}%`);

  // ── DoF vs accuracy: every run a point, each method's fit, the baselines in the legend ──
  await table.waitForFunction((n) => document.querySelectorAll('#plot svg .point').length === n, runDirs.length - 0, { timeout: 30_000 });
  const fits = await table.locator('#fits').innerText();
  if (!/RPG: final acc ≈ .*·ln DoF \(R² /.test(fits)) throw new Error(`no RPG fit under the plot: ${fits}`);
  const legend = await table.locator('#legend').innerText();
  for (const name of ['RPG', 'random subspace', 'HashedNets', 'plain model']) if (!legend.includes(name)) throw new Error(`the plot's legend lacks ${name}: ${legend}`);
  report(`DoF vs accuracy: ${runDirs.length} points, fits: ${fits.replace(/\n/g, '; ')}`);
  await screenshot(`compare-table-${theme}`);

  // ── three runs into the training curves ──
  await table.click('.grid-row[data-index="0"] .cell:nth-child(2)');
  await table.click('.grid-row[data-index="1"] .cell:nth-child(2)', { modifiers: ['Control'] });
  await table.click('.grid-row[data-index="2"] .cell:nth-child(2)', { modifiers: ['Control'] });
  const chosen = await table.evaluate(() => [0, 1, 2].map((i) => document.querySelector(`.grid-row[data-index="${i}"]`).dataset.key));
  await table.waitForFunction(() => document.getElementById('show-curves')?.textContent === 'Show 3 in curves');
  await table.click('#show-curves');
  const curves = await webviewFrame(page, '#tab-dof', 60_000); // the curves panel (the table has a legend too)
  await curves.waitForFunction((n) => document.querySelectorAll('.legend-item').length === n, 3, { timeout: 30_000 }).catch(async () => {
    throw new Error(`the curves show ${await curves.locator('.legend').innerText()}; expected the 3 selected runs`);
  });
  const legendText = await curves.locator('.legend').innerText();
  for (const d of chosen) if (!legendText.includes(records.get(d).name)) throw new Error(`the curves' legend (${legendText}) lacks ${records.get(d).name}`);
  report(`three selected runs in the training curves: ${chosen.map((d) => records.get(d).name).join(', ')}`);
  await screenshot(`compare-curves-${theme}`);

  // ── export the table as CSV through the save dialog ──
  await page.locator('.tab', { hasText: 'Compare Runs' }).first().click();
  const again = await webviewFrame(page, '#runs-grid', 30_000);
  await again.waitForSelector('.grid-row[data-index="0"]');
  const csvFile = join(workspaceDir, 'runs-table.csv');
  await again.click('#export-csv');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  const proposed = await until('the proposed file name', async () => ((await input.inputValue()) || '').endsWith('.csv') && (await input.inputValue()));
  if (!proposed.startsWith(join(workspaceDir, 'runs', 'runs-'))) throw new Error(`the save dialog proposes ${proposed}`);
  await page.keyboard.press('Control+A');
  await page.keyboard.type(csvFile);
  await page.waitForFunction((t) => document.querySelector('.quick-input-widget input')?.value === t, csvFile);
  await page.keyboard.press('Enter');
  await until(`${csvFile} and "Saved CSV" in the table`, async () => existsSync(csvFile) && (await again.locator('#status').innerText()).includes(`Saved CSV to ${csvFile}`));
  const lines = readFileSync(csvFile, 'utf8').trimEnd().split('\n');
  const header = lines[0].split(',');
  const accAt = header.indexOf('finalAcc');
  const dirAt = header.indexOf('runDir');
  if (accAt < 0 || dirAt !== header.length - 1 || lines.length !== runDirs.length + 1) throw new Error(`CSV header ${lines[0]}, ${lines.length - 1} rows`);
  const csvRows = lines.slice(1).map((l) => l.split(','));
  csvRows.forEach((c, i) => {
    const rec = records.get(c[dirAt]);
    if (!rec) throw new Error(`CSV row ${i + 1} names ${c[dirAt]}, not a run of the sweep`);
    if (Number(c[accAt]) !== rec.finalAcc) throw new Error(`CSV row ${i + 1}: finalAcc ${c[accAt]}, run.json ${rec.finalAcc}`);
    if (i > 0 && Number(c[accAt]) > Number(csvRows[i - 1][accAt])) throw new Error('the CSV is not in the table\'s order (final accuracy, best first)');
  });
  report(`Export CSV → ${csvFile}: ${csvRows.length} rows × ${header.length} columns, in the table's order, final accuracies equal to each run.json`);
}
