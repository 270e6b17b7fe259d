// `rpg info`: engines, backends, devices and versions.
import { selectBackend, tfjsVersion } from '../../engines/tfjs/backend';

const out = (s: string) => process.stdout.write(s + '\n');

export async function infoCommand(): Promise<number> {
  const choice = await selectBackend('auto');
  out(`RPG Studio CLI — node ${process.version}, tfjs ${tfjsVersion()}, ${require('node:os').cpus().length} CPU cores`);
  for (const b of choice.backends) out(`  ${b.available ? '✓' : '✗'} ${b.name.padEnd(10)} ${b.detail}`);
  out(`selected: ${choice.name} (${choice.reason}); threads ${choice.threads}; devices ${choice.devices.join(', ')}`);
  return 0;
}
