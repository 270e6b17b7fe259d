// `rpg info`: engines, backends, devices (each WebGPU adapter) and versions.
import { selectBackend, tfjsVersion } from '../../engines/tfjs/backend';
import { describeAdapter } from '../../engines/tfjs/webgpu-adapter';

const out = (s: string) => process.stdout.write(s + '\n');

export async function infoCommand(): Promise<number> {
  const choice = await selectBackend('auto');
  out(`RPG Studio CLI — node ${process.version}, tfjs ${tfjsVersion()}, ${require('node:os').cpus().length} CPU cores`);
  for (const b of choice.backends) out(`  ${b.available ? '✓' : '✗'} ${b.name.padEnd(10)} ${b.detail}`);
  if (choice.adapters.length) {
    out('WebGPU adapters:');
    for (const a of choice.adapters) out(`  ${describeAdapter(a)}`);
  }
  out(`selected: ${choice.name} (${choice.reason}); threads ${choice.threads}; devices ${choice.devices.join(', ')}`);
  return 0;
}
