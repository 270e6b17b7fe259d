// A user's training session, driven through the real workbench (mode C): F1 → "RPG: New
// Experiment" answered step by step (Fashion-MNIST found on this machine, a DoF of 150% refused
// as it is typed, 10% shown as its ring size, epochs with a time estimate; the new file has no
// errors); then open a config, F1 → "RPG: Train Model", watch the status bar move and the run
// appear in the Experiments view, F1 → "RPG: Stop Training", and find the checkpoint in the run
// folder; then train again and stop with the progress notification's Cancel button.
//   node test/e2e/run.mjs --ui test/e2e/ui/train.ui.mjs --theme light|dark|hc-dark|hc-light [--vsix F]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFile, pickTheme, until } from './helpers.mjs';

const LIVE = /epoch \d+\/\d+ · (\d+)% · [\d,]+ samples\/s/;
const FASHION = '/usr/share/datasets/fashion-mnist';

/** RPG: New Experiment, answered as a user would, with a screenshot of each step that checks something. */
async function newExperimentWizard(ctx) {
  const { page, theme, screenshot, log, workspaceDir } = ctx;
  const input = page.locator('.quick-input-widget input');
  const rows = page.locator('.quick-input-list .monaco-list-row');
  const message = page.locator('.quick-input-widget .quick-input-message');
  const choose = async (text, shot) => {
    await rows.first().waitFor({ state: 'visible' });
    if (shot) await screenshot(shot);
    await page.keyboard.type(text);
    await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: text }).first().waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
  };
  await ctx.runCommand('RPG: New Experiment');
  await choose('LeNet-5');
  // The dataset list says where Fashion-MNIST was found.
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Fashion-MNIST' }).first().waitFor({ state: 'visible' });
  await choose('Fashion-MNIST', `wizard-dataset-${theme}`);
  // Where its files are: the folder found on this machine comes first.
  await page.locator('.quick-input-list .monaco-list-row', { hasText: FASHION }).first().waitFor({ state: 'visible' });
  await screenshot(`wizard-data-${theme}`);
  await page.keyboard.press('Enter');
  // The DoF, checked while it is typed.
  await input.waitFor({ state: 'visible' });
  await page.keyboard.press('Control+A');
  await page.keyboard.type('150%');
  await until('the 150% refusal', async () => /more than all 44,190 generated weights/.test(await message.innerText().catch(() => '')));
  await screenshot(`wizard-dof-refused-${theme}`);
  await page.keyboard.press('Enter'); // refused: the box stays
  await page.keyboard.press('Control+A');
  await page.keyboard.type('10%');
  await until('the ring size of 10%', async () => /Ring of 4,419 entries = 10\.00% of the 44,190 generated weights/.test(await message.innerText().catch(() => '')));
  await screenshot(`wizard-dof-${theme}`);
  await page.keyboard.press('Enter');
  // Epochs, each with an estimate of its time.
  await page.locator('.quick-input-list .monaco-list-row', { hasText: /≈ .* at / }).first().waitFor({ state: 'visible' });
  await choose('10 epochs', `wizard-epochs-${theme}`);
  // The name, as suggested.
  await input.waitFor({ state: 'visible' });
  await until('the suggested name', async () => (await input.inputValue()) === 'lenet5-fashion-mnist-10pct');
  await page.keyboard.press('Enter');
  const file = join(workspaceDir, 'lenet5-fashion-mnist-10pct.rpg.json');
  await until('the new config', () => existsSync(file));
  const text = readFileSync(file, 'utf8');
  if (!text.includes(`"path": "${FASHION}"`) || !/"epochs": 10\b/.test(text)) throw new Error(`the new config does not have the folder and epochs chosen:\n${text}`);
  await page.locator('.tab.active', { hasText: 'lenet5-fashion-mnist-10pct.rpg.json' }).waitFor({ state: 'visible' });
  // Opened without errors: the Problems view shows its DoF note and no error.
  await ctx.runCommand('View: Focus Problems (Errors, Warnings, Infos)').catch(() => ctx.runCommand('View: Toggle Problems (Errors, Warnings, Infos)'));
  const problems = page.locator('.markers-panel');
  await problems.locator('.monaco-list-row', { hasText: 'a ring of 4,419 entries' }).first().waitFor({ state: 'visible', timeout: 60_000 });
  const errors = await problems.locator('.monaco-list-row .codicon-error').count();
  await screenshot(`wizard-file-${theme}`);
  if (errors) throw new Error(`the new config opens with ${errors} error(s)`);
  log('New Experiment: 150% refused while typed, 10% shown as a ring of 4,419, Fashion-MNIST found, the file opens without errors');
  await page.keyboard.press('Control+J'); // the panel closes again
}

export default async function (ctx) {
  const { page, workspaceDir, theme, screenshot, log, runCommand } = ctx;
  await pickTheme(ctx); // the screenshots show the theme asked for
  if (existsSync(FASHION)) await newExperimentWizard(ctx);
  else log(`${FASHION} is missing (.ci/run installs dataset-fashion-mnist): the wizard part is skipped`);

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
