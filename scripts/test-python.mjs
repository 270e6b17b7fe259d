// `npm run test:python`: the PyTorch engine's own tests (python/tests, unittest). The
// interpreter is RPG_PYTHON, else /usr/bin/python3 (Debian's python3-torch installs for it),
// else python3. Without torch the tests are skipped with the reason — except under
// RPG_REQUIRE_TORCH=1 (CI), where that is a failure.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const candidates = [process.env.RPG_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
const env = { ...process.env, PYTHONPATH: [path.join(repo, 'python'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter), PYTHONUNBUFFERED: '1' };
const python = candidates.find((p) => (p.includes('/') ? existsSync(p) : true) && spawnSync(p, ['-c', 'import torch'], { env }).status === 0);
if (!python) {
  const why = `no interpreter among ${candidates.join(', ')} can import torch (install Debian's python3-torch or set RPG_PYTHON)`;
  if (process.env.RPG_REQUIRE_TORCH === '1') {
    console.error(`test:python: RPG_REQUIRE_TORCH=1 but ${why}`);
    process.exit(1);
  }
  console.log(`test:python: skipped: ${why}`);
  process.exit(0);
}
const r = spawnSync(python, ['-m', 'unittest', 'discover', '-s', path.join(repo, 'python', 'tests')], { env, stdio: 'inherit', cwd: repo });
process.exit(r.status ?? 1);
