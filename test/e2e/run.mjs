#!/usr/bin/env node
// End-to-end runner: RPG Studio inside a real VS Code workbench (code-server 4.100.3, i.e.
// VS Code 1.100.3 with a Node extension host), shown by headless Debian Chromium and driven
// through playwright-core over CDP. Builds nothing: run the root `npm run build` and
// `node test/e2e/build-tests.mjs` first. See test/e2e/README.md.
//
//   node test/e2e/run.mjs --dev                 mocha suite (out/test/index.js) in the extension
//                                               host, extension loaded unpacked from the repo
//   node test/e2e/run.mjs --vsix rpg-studio.vsix same suite against the installed .vsix
//   node test/e2e/run.mjs --ui test/e2e/ui/x.ui.mjs [--vsix F]   Playwright UI script
//
// Exit code: 0 on success, 1 on test/UI failure, 2 on usage or harness error, 124 on timeout.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');

const USAGE = `usage: node test/e2e/run.mjs [--dev | --vsix FILE] [--ui SCRIPT] [options]
  --dev               load the extension unpacked from --ext (default)
  --vsix FILE         install FILE with code-server --install-extension and test that instead
  --ui SCRIPT         run a Playwright UI script (export default async function (ctx)) instead
                      of the extension-host mocha suite
  --theme T           workbench.colorTheme in the user settings: dark, light, hc-dark (Default
                      High Contrast) or hc-light (Default High Contrast Light); default dark
  --ext DIR           extension folder for --dev (default: repo root)
  --tests FILE        extensionTestsPath (default: <repo>/out/test/index.js)
  --workspace DIR     folder copied and opened as the workspace (default: test/e2e/fixtures/workspace)
  --out DIR           screenshots and logs (default: <repo>/.e2e-out)
  --grep REGEX        only run mocha tests matching REGEX (passed as RPG_E2E_GREP)
  --timeout SEC       global timeout, after which everything is killed (default 300)
  --keep              keep the temp folder (HOME, user data, workspace copy) for inspection
  --verbose           echo browser console and code-server output`;

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      dev: { type: 'boolean', default: false },
      vsix: { type: 'string' },
      ui: { type: 'string' },
      theme: { type: 'string', default: 'dark' },
      ext: { type: 'string', default: repo },
      tests: { type: 'string', default: join(repo, 'out/test/index.js') },
      workspace: { type: 'string', default: join(here, 'fixtures/workspace') },
      out: { type: 'string', default: join(repo, '.e2e-out') },
      grep: { type: 'string' },
      timeout: { type: 'string', default: '300' },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const THEMES = { dark: 'Default Dark Modern', light: 'Default Light Modern', 'hc-dark': 'Default High Contrast', 'hc-light': 'Default High Contrast Light' };
const usageError = (msg) => {
  console.error(`[e2e] ${msg}\n${USAGE}`);
  process.exit(2);
};
if (opts.dev && opts.vsix) usageError('--dev and --vsix exclude each other');
if (!THEMES[opts.theme]) usageError(`--theme must be one of ${Object.keys(THEMES).join(', ')}, not ${opts.theme}`);
const timeoutSec = Number(opts.timeout);
if (!(timeoutSec > 0)) usageError(`bad --timeout ${opts.timeout}`);

const abs = (p) => (isAbsolute(p) ? p : resolve(process.cwd(), p));
const mode = opts.vsix ? 'vsix' : 'dev';
const extDir = abs(opts.ext);
const testsFile = abs(opts.tests);
const vsixFile = opts.vsix && abs(opts.vsix);
const uiScript = opts.ui && abs(opts.ui);
const outDir = abs(opts.out);
const codeServerEntry = join(here, 'node_modules/code-server/out/node/entry.js');
const chromiumPath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p) => p && existsSync(p),
);

const preflight = [];
if (!existsSync(codeServerEntry)) preflight.push(`code-server missing: run \`npm ci\` in ${here}`);
if (!existsSync(join(here, 'node_modules/playwright-core'))) preflight.push(`playwright-core missing: run \`npm ci\` in ${here}`);
if (!chromiumPath) preflight.push('chromium missing: apt-get install -y chromium (or set CHROMIUM_PATH)');
if (mode === 'dev' && !existsSync(join(extDir, 'package.json'))) preflight.push(`no extension at ${extDir}`);
if (mode === 'dev' && existsSync(join(extDir, 'package.json'))) {
  const main = JSON.parse(readFileSync(join(extDir, 'package.json'), 'utf8')).main;
  if (main && !existsSync(join(extDir, main)) && !existsSync(join(extDir, `${main}.js`)))
    console.warn(`[e2e] warning: extension main ${main} does not exist (run the root \`npm run build\`)`);
}
if (vsixFile && !existsSync(vsixFile)) preflight.push(`no such .vsix: ${vsixFile}`);
if (uiScript && !existsSync(uiScript)) preflight.push(`no such UI script: ${uiScript}`);
if (!uiScript && !existsSync(testsFile))
  preflight.push(`no test entry ${testsFile}: run \`node test/e2e/build-tests.mjs\``);
if (!existsSync(opts.workspace)) preflight.push(`no workspace fixture ${opts.workspace}`);
if (preflight.length) {
  for (const p of preflight) console.error(`[e2e] ${p}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Everything the run creates lives under one temp folder and in processes we kill at the end.
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const log = (msg) => console.log(`[e2e ${elapsed()}] ${msg}`);

const tmp = mkdtempSync(join(tmpdir(), 'rpg-e2e-'));
const dirs = {
  home: join(tmp, 'home'),
  tmp: join(tmp, 'tmp'),
  userData: join(tmp, 'user-data'),
  extensions: join(tmp, 'extensions'),
  chrome: join(tmp, 'chrome-profile'),
  workspace: join(tmp, 'workspace'),
};
for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
mkdirSync(outDir, { recursive: true });
const emptyConfig = join(tmp, 'code-server.yaml');
writeFileSync(emptyConfig, '');
cpSync(opts.workspace, dirs.workspace, { recursive: true });
mkdirSync(join(dirs.userData, 'User'), { recursive: true });
writeFileSync(
  join(dirs.userData, 'User/settings.json'),
  JSON.stringify(
    {
      'workbench.colorTheme': THEMES[opts.theme],
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'extensions.ignoreRecommendations': true,
      'chat.commandCenter.enabled': false,
      'window.confirmBeforeClose': 'never',
    },
    null,
    2,
  ),
);

// A UI script may name test-only extensions from test/e2e/fixtures/ to run next to ours
// (`export const fixtureExtensions = ['blank-webview']`). They are copied into the extensions
// folder as if installed: the workbench URL's payload holds only one extensionDevelopmentPath.
let uiModule;
if (uiScript) {
  const bail = (msg) => {
    console.error(`[e2e] ${msg}`);
    rmSync(tmp, { recursive: true, force: true });
    process.exit(2);
  };
  try {
    uiModule = await import(pathToFileURL(uiScript).href);
  } catch (err) {
    bail(`cannot load ${uiScript}: ${err.stack ?? err}`);
  }
  if (typeof uiModule.default !== 'function') bail(`${uiScript} has no default export function`);
  for (const name of uiModule.fixtureExtensions ?? []) {
    const src = join(here, 'fixtures', name);
    if (!existsSync(join(src, 'package.json'))) bail(`${uiScript} asks for a fixture extension ${src} that does not exist`);
    const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
    cpSync(src, join(dirs.extensions, `${pkg.publisher}.${pkg.name}-${pkg.version}`), { recursive: true });
  }
}

const childEnv = {
  ...process.env,
  HOME: dirs.home,
  TMPDIR: dirs.tmp,
  XDG_CONFIG_HOME: join(dirs.home, '.config'),
  XDG_DATA_HOME: join(dirs.home, '.local/share'),
  XDG_CACHE_HOME: join(dirs.home, '.cache'),
  ...(opts.grep ? { RPG_E2E_GREP: opts.grep } : {}),
  // The extension-host suite tells an installed .vsix from the unpacked checkout by it.
  RPG_E2E_MODE: mode,
};
for (const k of ['VSCODE_IPC_HOOK_CLI', 'VSCODE_PID', 'ELECTRON_RUN_AS_NODE', 'PASSWORD', 'HASHED_PASSWORD'])
  delete childEnv[k];

const groups = []; // detached process groups (code-server, chromium): killed at the end
let browser; // playwright Browser (CDP connection)
let page; // the workbench tab
let cleaning;
let summary; // "extension-tests: N passed, N failed", printed by test/extension/index.ts

async function cleanup() {
  if (cleaning) return cleaning;
  cleaning = (async () => {
    if (browser) await Promise.race([browser.close().catch(() => {}), sleep(3000)]);
    for (const g of groups) killGroup(g.pid, 'SIGTERM');
    const deadline = Date.now() + 4000;
    while (groups.some((g) => groupAlive(g.pid)) && Date.now() < deadline) await sleep(100);
    for (const g of groups) if (groupAlive(g.pid)) killGroup(g.pid, 'SIGKILL');
    if (!opts.keep) rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    else log(`kept ${tmp}`);
  })();
  return cleaning;
}
function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}
function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
async function finish(code, why) {
  if (cleaning) return cleaning.then(() => new Promise(() => {})); // the first finish() exits
  if (why) console.error(`[e2e ${elapsed()}] ${why}`);
  await cleanup();
  log(`exit ${code}`);
  if (summary) console.log(summary);
  process.exit(code);
}
const globalTimer = setTimeout(() => {
  shot('timeout').finally(() => finish(124, `global timeout of ${timeoutSec}s reached: killing everything`));
}, timeoutSec * 1000);
globalTimer.unref?.();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => finish(130, `got ${sig}`));
process.on('uncaughtException', (err) => finish(2, `harness error: ${err.stack ?? err}`));
process.on('unhandledRejection', (err) => finish(2, `harness error: ${err?.stack ?? err}`));

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
const codeServerArgs = (port) => [
  '--auth', 'none',
  '--bind-addr', `127.0.0.1:${port}`,
  '--user-data-dir', dirs.userData,
  '--extensions-dir', dirs.extensions,
  '--config', emptyConfig,
  '--disable-telemetry',
  '--disable-update-check',
  '--disable-workspace-trust',
  '--disable-getting-started-override',
  '--disable-proxy',
];

if (vsixFile) {
  log(`installing ${vsixFile}`);
  const r = spawnSync(
    process.execPath,
    [codeServerEntry, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions,
      '--config', emptyConfig, '--install-extension', vsixFile],
    { env: childEnv, encoding: 'utf8', timeout: 120_000 },
  );
  process.stdout.write(r.stdout ?? '');
  if (r.status !== 0) {
    process.stderr.write(r.stderr ?? '');
    await finish(1, `--install-extension failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
  }
}

const port = await freePort();
const serverLog = createWriteStream(join(outDir, 'code-server.log'));
log(`starting code-server on 127.0.0.1:${port} (temp ${tmp})`);
const server = spawn(process.execPath, [codeServerEntry, ...codeServerArgs(port), dirs.workspace], {
  env: childEnv,
  cwd: dirs.workspace,
  detached: true,
  stdio: ['ignore', 'pipe', 'pipe'],
});
groups.push(server);
for (const stream of [server.stdout, server.stderr]) {
  stream.on('data', (chunk) => {
    serverLog.write(chunk);
    if (opts.verbose) process.stdout.write(`[code-server] ${chunk}`);
  });
}
let serverExited = false;
server.on('exit', (code, signal) => {
  serverExited = true;
  if (!cleaning) finish(2, `code-server exited early (code ${code}, signal ${signal}); see ${join(outDir, 'code-server.log')}`);
});

const base = `http://127.0.0.1:${port}`;
for (;;) {
  if (serverExited) await new Promise(() => {});
  try {
    const res = await fetch(`${base}/healthz`);
    if (res.ok) break;
  } catch {
    /* not listening yet */
  }
  await sleep(200);
}
log('code-server is up');

// ---------------------------------------------------------------------------------------------
// Chromium is started by us (own process group, so it can always be killed) and driven via CDP.
const { chromium } = await import(pathToFileURL(join(here, 'node_modules/playwright-core/index.mjs')).href);
const chrome = spawn(
  chromiumPath,
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-quic',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--password-store=basic',
    '--use-mock-keychain',
    '--window-size=1440,900',
    `--user-data-dir=${dirs.chrome}`,
    '--remote-debugging-address=127.0.0.1',
    '--remote-debugging-port=0',
    'about:blank',
  ],
  { env: childEnv, detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
);
groups.push(chrome);
const chromeLog = createWriteStream(join(outDir, 'chromium.log'));
const wsEndpoint = await new Promise((res, rej) => {
  let buf = '';
  const timer = setTimeout(() => rej(new Error('chromium did not print its DevTools endpoint in 30 s')), 30_000);
  chrome.stderr.on('data', (chunk) => {
    chromeLog.write(chunk);
    buf += chunk;
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(buf);
    if (m) {
      clearTimeout(timer);
      res(m[1]);
    }
  });
  chrome.on('exit', (code) => rej(new Error(`chromium exited (code ${code}); see ${join(outDir, 'chromium.log')}`)));
});
chrome.on('exit', (code, signal) => {
  if (!cleaning) finish(2, `chromium exited early (code ${code}, signal ${signal}); see ${join(outDir, 'chromium.log')}`);
});
browser = await chromium.connectOverCDP(wsEndpoint);
const context = browser.contexts()[0] ?? (await browser.newContext());
page = context.pages()[0] ?? (await context.newPage());
await page.setViewportSize({ width: 1440, height: 900 });
page.setDefaultTimeout(30_000);

const consoleLog = createWriteStream(join(outDir, 'browser-console.log'));
page.on('console', (msg) => {
  const line = `[${msg.type()}] ${msg.text()}\n`;
  consoleLog.write(line);
  if (opts.verbose) process.stdout.write(`[browser] ${line}`);
});
page.on('pageerror', (err) => consoleLog.write(`[pageerror] ${err.stack ?? err}\n`));

async function shot(name) {
  if (!page || page.isClosed()) return undefined;
  const file = join(outDir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  try {
    await page.screenshot({ path: file, timeout: 10_000 });
    log(`screenshot ${file}`);
    return file;
  } catch (err) {
    log(`screenshot ${name} failed: ${err.message}`);
    return undefined;
  }
}

// The extension-host test runner reports through these two hooks (VS Code's IAutomatedWindow).
let reportExit;
const exitCode = new Promise((r) => (reportExit = r));
// Everything the workbench and extension host log goes to workbench.log; all but known
// harmless noise (offline marketplace, missing vsda) is echoed.
const workbenchLog = createWriteStream(join(outDir, 'workbench.log'));
const NOISE = /open-vsx\.org|vsda/;
await page.exposeFunction('codeAutomationLog', (type, args) => {
  const text = format(...(Array.isArray(args) ? args : [args]));
  workbenchLog.write(`${text}\n`);
  const m = /^extension-tests: \d+ passed, \d+ failed.*$/m.exec(text);
  if (m) summary = m[0];
  else if (!NOISE.test(text) || opts.verbose) (type === 'error' ? process.stderr : process.stdout).write(`${text}\n`);
});
await page.exposeFunction('codeAutomationExit', (code) => reportExit(Number(code)));

const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
const payload = [];
// The extension host runs extensionTestsPath only in an extension-development window, so in
// --vsix mode point extensionDevelopmentPath at an empty folder: no extension is loaded from it,
// and the installed .vsix is what the tests see.
const noDevExtension = join(tmp, 'no-dev-extension');
mkdirSync(noDevExtension);
if (mode === 'dev') payload.push(['extensionDevelopmentPath', remote(extDir)]);
else if (!uiScript) payload.push(['extensionDevelopmentPath', remote(noDevExtension)]);
if (!uiScript) payload.push(['extensionTestsPath', remote(testsFile)]);
const url = `${base}/?folder=${encodeURIComponent(dirs.workspace)}${payload.length ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;
log(`mode ${mode}${uiScript ? ` + ui ${uiScript}` : ' + extension tests'}, theme ${opts.theme}`);
await page.goto(url, { waitUntil: 'domcontentloaded' });
await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
log('workbench loaded');

if (!uiScript) {
  const code = await exitCode;
  await shot(`${mode}-tests-${opts.theme}`);
  await finish(code === 0 ? 0 : 1, code === 0 ? undefined : `extension tests failed (extension host exit code ${code})`);
} else {
  const ctx = {
    page,
    workspaceDir: dirs.workspace,
    outDir,
    port,
    theme: opts.theme,
    /** The color theme's name as the theme picker lists it ("Default High Contrast", …). */
    themeName: THEMES[opts.theme],
    mode,
    screenshot: shot,
    log,
    /**
     * Open the command palette (F1), type `text` as a user would, and return the rows that
     * contain `match` (default `text`) once at least one is visible. Reopens the palette a few
     * times: commands contributed by an extension appear only once the extension is registered.
     */
    async palette(text, match = text, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      const rows = page.locator('.quick-input-list .monaco-list-row', { hasText: match });
      for (;;) {
        await page.keyboard.press('F1');
        await page.locator('.quick-input-widget input').waitFor({ state: 'visible' });
        await page.keyboard.type(text);
        try {
          await rows.first().waitFor({ state: 'visible', timeout: 3000 });
          return rows;
        } catch (err) {
          await page.keyboard.press('Escape');
          if (Date.now() > deadline) throw new Error(`command palette shows nothing matching ${JSON.stringify(match)}`);
          await sleep(1000);
        }
      }
    },
    /** Run a command-palette command by its exact title, as a user would (F1, type, Enter). */
    async runCommand(title) {
      const rows = await ctx.palette(title);
      await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: title }).first().waitFor({ state: 'visible' });
      await page.keyboard.press('Enter');
      await rows.first().waitFor({ state: 'hidden' }).catch(() => {});
    },
    /** The innermost frame of the active webview (webview content lives two iframes deep). */
    webview() {
      return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    },
  };
  // Let the workbench settle (extensions activate, restored views render) before user actions.
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
  await sleep(1500);
  try {
    await uiModule.default(ctx);
    await shot(`ui-final-${opts.theme}`);
    await finish(0);
  } catch (err) {
    console.error(`[e2e] UI script failed: ${err.stack ?? err}`);
    await shot(`ui-failure-${opts.theme}`);
    await finish(1);
  }
}
