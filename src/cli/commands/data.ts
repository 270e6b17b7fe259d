// `rpg data download NAME [--dest DIR]`: fetches a dataset and verifies its checksums.
import * as path from 'node:path';
import { downloadDataset, DOWNLOADABLE_DATASETS } from '../../core/data';
import type { DownloadableDataset } from '../../core/data';
import { flagString, ParsedArgs, UsageError } from '../args';

const out = (s: string) => process.stdout.write(s + '\n');

export async function dataCommand(args: ParsedArgs): Promise<number> {
  const [sub, name] = args.positional;
  if (sub !== 'download' || !name) throw new UsageError(`data download NAME, NAME one of ${DOWNLOADABLE_DATASETS.join(', ')}`);
  if (!(DOWNLOADABLE_DATASETS as readonly string[]).includes(name)) throw new UsageError(`unknown dataset "${name}"; one of ${DOWNLOADABLE_DATASETS.join(', ')}`);
  const dest = path.resolve(flagString(args, 'dest') ?? path.join('data', name));
  const result = await downloadDataset(name as DownloadableDataset, dest, {
    onProgress: (p) => process.stderr.write(`\r${p.message}\x1b[K`),
  });
  process.stderr.write('\n');
  out(`${name}: ${result.files.length} files verified (${result.skipped.length} already present) in ${result.dataPath}`);
  out(`use it with "data": { "dataset": "${name}", "path": ${JSON.stringify(result.dataPath)} }`);
  return 0;
}
