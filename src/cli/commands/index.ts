// The CLI's subcommands, one module each, in one map from name to function.
import type { ParsedArgs } from '../args';
import { compressCommand } from './compress';
import { dataCommand } from './data';
import { evalCommand } from './eval';
import { exportCommand } from './export';
import { importCommand } from './import';
import { infoCommand } from './info';
import { planCommand } from './plan';
import { sweepCommand } from './sweep';
import { trainCommand } from './train';

export type Command = (args: ParsedArgs) => Promise<number>;

export const commands: Record<string, Command> = {
  train: trainCommand,
  plan: planCommand,
  eval: evalCommand,
  info: infoCommand,
  data: dataCommand,
  sweep: sweepCommand,
  compress: compressCommand,
  export: exportCommand,
  import: importCommand,
};
