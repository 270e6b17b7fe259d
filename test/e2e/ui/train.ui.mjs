// A user's training session, driven through the real workbench (mode C):
// open a config, F1 → "RPG: Train Model", watch the status bar move and the run appear in the
// Experiments view, F1 → "RPG: Stop Training", and find the checkpoint in the run folder; then
// train again and stop with the progress notification's Cancel button.
//   node test/e2e/run.mjs --ui test/e2e/ui/train.ui.mjs --theme light|dark|hc-dark|hc-light [--vsix F]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFile, pickTheme, until } from './helpers.mjs';

const LIVE = /epoch \d+\/\d+ · (\d+)% · [\d,]+ samples\/s/;

export default async function (ctx) {
  const { page, workspaceDir, theme, screenshot, log, runCommand } = ctx;
  await pickTheme(ctx); // the screenshots show the theme asked for

  // Open the config as a user would: Quick Open.
  await openFile(page, 'long.rpg.json');
  log('opened long.rpg.json');

  // The RPG activity-bar container with its Experiments and Layers views.
  await page.locator('.activitybar .action-item a[aria-label^="RPG"]').first().click();
  await page.locator('.pane-header', { hasText: 'Experiments' }).waitFor({ state: 'visible' });
  await page.locator('.monaco-list-row', { hasText: 'Totals' }).first().waitFor({ state: 'visible', timeout: 60_000 });
  log('RPG views visible, Layers shows the plan');

  await runCommand('RPG: Train Model');
  log('ran RPG: Train Model');

  const status = page.locator('.statusbar-item', { hasText: /samples\/s/ }).first();
  await status.waitFor({ state: 'visible', timeout: 60_000 });
  const first = await status.innerText();
  log(`status bar: ${first}`);
  if (!LIVE.test(first)) throw new Error(`status bar text ${JSON.stringify(first)} is not "epoch e/E · p% · n samples/s"`);
  const startPct = Number(LIVE.exec(first)[1]);
  const moved = await until('the status bar to move', async () => {
    const text = await status.innerText().catch(() => '');
    const m = LIVE.exec(text);
    return m && Number(m[1]) > startPct && text;
  });
  log(`status bar moved: ${moved}`);

  const experiments = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Experiments' }) });
  const runRow = experiments.locator('.monaco-list-row', { hasText: /epoch \d+\/\d+/ }).first();
  await runRow.waitFor({ state: 'visible' });
  log(`Experiments view: ${(await runRow.innerText()).replace(/\s+/g, ' ')}`);
  await screenshot(`ui-training-${theme}`);

  await runCommand('RPG: Stop Training');
  log('ran RPG: Stop Training');

  const runsDir = join(workspaceDir, 'runs', 'long');
  const runDir = await until('a stopped run folder with a checkpoint', () => {
    if (!existsSync(runsDir)) return undefined;
    for (const id of readdirSync(runsDir)) {
      const dir = join(runsDir, id);
      try {
        const record = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
        if (record.status === 'stopped' && existsSync(join(dir, 'checkpoint.bin'))) return dir;
      } catch {
        /* being written */
      }
    }
    return undefined;
  });
  log(`checkpoint in ${runDir}`);
  await experiments.locator('.monaco-list-row', { hasText: /stopped/ }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await until('the status bar to leave the live text', async () => !(await page.locator('.statusbar-item', { hasText: /samples\/s/ }).count()));
  await screenshot(`ui-stopped-${theme}`);

  // The progress notification's Cancel stops a run too (train/stop → checkpoint).
  const stoppedBefore = countStopped(runsDir);
  await runCommand('RPG: Train Model');
  await page.locator('.statusbar-item', { hasText: /samples\/s/ }).first().waitFor({ state: 'visible', timeout: 60_000 });
  const cancel = page.locator('.notification-toast', { hasText: 'Training long' }).locator('.monaco-button', { hasText: 'Cancel' });
  await cancel.first().click();
  log('clicked Cancel on the progress notification');
  await until('a second stopped run', () => countStopped(runsDir) > stoppedBefore);
  await until('both stopped runs in the Experiments view', async () => (await experiments.locator('.monaco-list-row', { hasText: /stopped/ }).count()) >= 2);
  await until('an idle status bar', async () => /RPG: \w+/.test(await page.locator('.statusbar-item', { hasText: /RPG/ }).first().innerText().catch(() => '')));
  log(`${countStopped(runsDir)} stopped runs with checkpoints`);
  await screenshot(`ui-cancelled-${theme}`);
}

function countStopped(runsDir) {
  if (!existsSync(runsDir)) return 0;
  return readdirSync(runsDir).filter((id) => {
    try {
      const record = JSON.parse(readFileSync(join(runsDir, id, 'run.json'), 'utf8'));
      return record.status === 'stopped' && existsSync(join(runsDir, id, 'checkpoint.bin'));
    } catch {
      return false;
    }
  }).length;
}
