// `rpg`: the same engine as the extension, headless (CI, remote GPU boxes).
//   rpg train CONFIG [--backend B] [--runs DIR] | rpg train --resume RUN
//   rpg plan CONFIG [--json]
//   rpg eval RUN [--backend B]
//   rpg info
//   rpg data download NAME [--dest DIR]
import { describeFailure } from '../core/errors';
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
  if (err instanceof UsageError) return `${err.message}\n\n${USAGE}`;
  const f = describeFailure(err);
  if (f.code !== 'internal') return `${f.message}${f.field && !f.message.includes(f.field) && f.code !== 'protocol' ? ` (field ${f.field})` : ''}`;
  return `internal error: ${f.message}${process.env.RPG_DEBUG ? `\n${f.stack ?? ''}` : ' (set RPG_DEBUG=1 for a stack trace)'}`;
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
