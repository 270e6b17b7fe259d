// Extension-host test entry (the `extensionTestsPath` of VS Code's test API). Bundled to
// out/test/index.js by test/e2e/build-tests.mjs; VS Code (desktop or code-server) loads it
// inside the extension host and awaits `run()`. A rejected promise means failed tests.
//
// It runs every bundled suite found under out/test/**/*.test.js with mocha's `tdd` UI; suites
// should import what they use: `import { suite, test } from 'mocha'`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

function findSuites(root: string): string[] {
  return fs
    .readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((rel) => rel.endsWith('.test.js'))
    .map((rel) => path.join(root, rel))
    .sort();
}

export async function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'tdd',
    color: false,
    // Model training and webviews are slow on small CI machines.
    timeout: Number(process.env.RPG_E2E_MOCHA_TIMEOUT ?? 60_000),
    ...(process.env.RPG_E2E_GREP ? { grep: process.env.RPG_E2E_GREP } : {}),
  });
  const suites = findSuites(__dirname);
  if (suites.length === 0) throw new Error(`no *.test.js suites under ${__dirname}`);
  for (const file of suites) mocha.addFile(file);

  await new Promise<void>((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        const { passes = 0, pending = 0 } = runner.stats ?? {};
        // A plain summary line that CI and test/e2e/run.mjs recognise.
        console.log(`extension-tests: ${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`);
        if (failures > 0) reject(new Error(`${failures} extension test(s) failed`));
        else resolve();
      });
    } catch (err) {
      reject(err);
    }
  });
}
