// Example UI flow for `node test/e2e/run.mjs --ui test/e2e/ui/palette.ui.mjs`: open the command
// palette as a user would, check that RPG Studio contributes commands, keep a screenshot.
// A UI script default-exports `async function (ctx)`; ctx = { page, workspaceDir, outDir, port,
// theme, mode, screenshot(name), log(msg), palette(text, match?), runCommand(title), webview() }.
// Throw to fail.
export default async function ({ page, palette, screenshot, log }) {
  const rows = await palette('RPG');
  const titles = (await rows.allInnerTexts()).map((t) => t.split('\n')[0]);
  log(`palette shows ${titles.length} RPG command(s): ${titles.join(' | ')}`);
  await screenshot('palette-rpg-commands');
  await page.keyboard.press('Escape');
}
