// `rpg`: the same engine as the extension, headless (CI, remote GPU boxes).
//   rpg train CONFIG [--backend B] [--runs DIR] | rpg train --resume RUN
//   rpg plan CONFIG [--json]
//   rpg import MODEL_JSON [--out CONFIG]
//   rpg eval RUN [--backend B]
//   rpg info
//   rpg data download NAME [--dest DIR]
import { ConfigError } from '../core/config/load';
import { DatasetError } from '../core/data/types';
import { TrainError } from '../core/errors';
import { PlanError } from '../core/rpg/plan';
import { ShapeError } from '../core/models/shapes';
import { parseArgs, USAGE, UsageError } from './args';
import { commands } from './commands/index';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help' || command === '-h') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 2;
  }
  const handler = commands[command];
  if (!handler) throw new UsageError(`unknown command "${command}"`);
  return handler(parseArgs(rest));
}

/** Known failures print one clear line (file, field, what was expected); never a stack trace. */
function describeError(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  if (err instanceof TrainError) return `${err.message}${err.field && !err.message.includes(err.field) ? ` (field ${err.field})` : ''}`;
  if (err instanceof DatasetError || err instanceof PlanError || err instanceof ShapeError) return err.message;
  if (err instanceof UsageError) return `${err.message}\n\n${USAGE}`;
  const e = err as Error;
  return `internal error: ${e?.message ?? String(err)}${process.env.RPG_DEBUG ? `\n${e?.stack ?? ''}` : ' (set RPG_DEBUG=1 for a stack trace)'}`;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`rpg: error: ${describeError(err)}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}
