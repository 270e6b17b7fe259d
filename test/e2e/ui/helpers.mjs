// What the UI scripts share: reaching into webviews, opening files and running commands the way
// a user does, and picking the colour theme. (Not a UI script itself: no default export.)
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` until it returns something truthy, and returns that. The deadline only bounds a
 * broken build (nothing is timed by it). */
export async function until(what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** The frame (two iframes deep) of the webview whose document has `selector`. */
export async function webviewFrame(page, selector, timeoutMs = 30_000) {
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
  // What each webview document holds and which of its resources loaded (status, ms).
  const frames = await Promise.all(page.frames().map(async (f) => {
    const d = await f.evaluate(() => ({
      app: document.getElementById('app')?.textContent?.slice(0, 40),
      res: performance.getEntriesByType('resource').map((e) => `${e.name.split('/').pop()} ${e.responseStatus} ${Math.round(e.duration)}ms`).join(', '),
    })).catch(() => ({}));
    return `${await f.title().catch(() => '?')} ${d.app === undefined ? '' : JSON.stringify(d)}`;
  }));
  throw new Error(`no webview shows ${selector}; frames:\n  ${frames.join('\n  ')}`);
}

/** Opens a workspace file through Quick Open, as a user would (F1 reaches the workbench even
 * from inside a webview; deleting the palette's ">" turns it into Go to File). */
export async function openFile(page, name) {
  // Focus out of any webview first: a click on the first editor group's first tab.
  const firstTab = page.locator('.part.editor .tabs-container .tab').first();
  if (await firstTab.isVisible().catch(() => false)) await firstTab.click();
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').waitFor({ state: 'visible' });
  await page.keyboard.press('Backspace');
  await page.keyboard.type(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
  await page.locator(`.tab.active[aria-label*="${name}"]`).waitFor({ state: 'visible', timeout: 15_000 });
}

/** Keyboard focus out of any webview (F1 pressed inside one does not always reach the
 * workbench): a click on the middle of the status bar, which is empty. */
export async function unfocusWebview(page) {
  const bar = await page.locator('.part.statusbar').boundingBox();
  if (bar) await page.mouse.click(bar.x + bar.width / 2, bar.y + bar.height / 2);
}

/** Runs a command from the palette like ctx.runCommand, and returns Date.now() at the moment
 * Enter ran it. */
export async function enterCommand(ctx, title) {
  const { page } = ctx;
  await unfocusWebview(page);
  const rows = await ctx.palette(title);
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: title }).first().waitFor({ state: 'visible' });
  const enteredAt = Date.now();
  await page.keyboard.press('Enter');
  await rows.first().waitFor({ state: 'hidden' }).catch(() => {});
  return enteredAt;
}

/** Runs a command that may ask which config: answers its quick pick with `config`. Returns
 * Date.now() at the moment Enter ran the command. */
export async function runForConfig(ctx, title, config) {
  const { page } = ctx;
  const enteredAt = await enterCommand(ctx, title);
  const pick = page.locator('.quick-input-list .monaco-list-row', { hasText: config });
  if (await pick.first().waitFor({ state: 'visible', timeout: 4000 }).then(() => true, () => false)) {
    await page.keyboard.type(config);
    await page.keyboard.press('Enter');
  }
  return enteredAt;
}

/** The class VS Code puts on .monaco-workbench for each kind of theme. */
const THEME_KIND = { 'Default Dark Modern': 'vs-dark', 'Default Light Modern': 'vs', 'Default High Contrast': 'hc-black', 'Default High Contrast Light': 'hc-light' };

/** Picks `ctx.themeName` in Preferences: Color Theme, as a user would (the harness writes
 * workbench.colorTheme too, but code-server does not always come up in it), and checks the
 * workbench took it. */
export async function pickTheme(ctx) {
  const { page, themeName } = ctx;
  // A row's aria-label is "<label>, <theme id>" ("Light High Contrast, Default High Contrast
  // Light"); match the whole id: "Default High Contrast" also begins "Default High Contrast Light".
  const row = page.locator(`.quick-input-list .monaco-list-row[aria-label$=", ${themeName}"], .quick-input-list .monaco-list-row[aria-label="${themeName}"]`).first();
  // Now and then the picker filters every theme out of what was typed (typed while it loaded
  // its list?): close it and pick again.
  for (let attempt = 1; ; attempt++) {
    const rows = await ctx.palette('Preferences: Color Theme');
    await rows.filter({ hasNotText: 'Browse' }).filter({ hasNotText: 'Generate' }).first().click();
    await page.locator('.quick-input-widget input').waitFor({ state: 'visible' });
    await page.keyboard.type(themeName);
    if (await row.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false)) break;
    if (attempt === 3) throw new Error(`the color theme picker does not list ${themeName}`);
    await page.keyboard.press('Escape');
    await sleep(1000);
  }
  await row.click();
  const kind = THEME_KIND[themeName];
  if (kind) await page.locator(`.monaco-workbench.${kind}`).waitFor({ state: 'attached', timeout: 10_000 });
  await sleep(1000);
}

/** Developer: Reload Window, returning once the new page has loaded and shows its workbench (the
 * old page's workbench stays visible until the browser navigates away, so waiting for it alone
 * could return at once). */
export async function reloadWindow(ctx) {
  const { page } = ctx;
  await unfocusWebview(page);
  const reloaded = page.waitForEvent('load', { timeout: 60_000 });
  await ctx.runCommand('Developer: Reload Window');
  await reloaded;
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
}
