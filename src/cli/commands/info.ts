// `rpg info [--python PY]`: what each engine can run on here — tfjs's backends (each WebGPU
// adapter with its limits), and PyTorch's interpreter, version and devices — and what `auto`
// would choose.
import { availableParallelism } from 'node:os';
import type { EngineDescription } from '../../core/engine';
import { describeFailure } from '../../core/errors';
import { engineFor } from '../../engines';
import { applyPythonFlag, ParsedArgs } from '../args';

const out = (s: string) => process.stdout.write(s + '\n');

export async function infoCommand(args: ParsedArgs): Promise<number> {
  applyPythonFlag(args);
  out(`RPG Studio CLI — node ${process.version}, ${availableParallelism()} CPU cores`);
  for (const name of ['tfjs', 'torch'] as const) {
    let d: EngineDescription;
    try {
      d = await engineFor(name).describe('auto');
    } catch (err) {
      out(`engine ${name}: not available — ${describeFailure(err).message}`);
      continue;
    }
    out(`engine ${name} (${Object.entries(d.versions).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    for (const b of d.backends) out(`  ${b.available ? '✓' : '✗'} ${b.name.padEnd(10)} ${b.detail}`);
    for (const line of d.deviceDetails ?? []) out(`  ${line}`);
    // Each skipped backend's reason is on its own line above: the selection line stays one line.
    const reason = d.reason.replace(/^fastest available \(skipped .*\)$/s, 'fastest available; the others are unavailable or slower, as listed above');
    out(`  selected: ${d.backend} (${reason}); threads ${d.threads}; devices ${d.devices.join(', ')}`);
    if (d.warning) out(`  note: ${d.warning}`);
  }
  return 0;
}
