import { parseArgs } from 'node:util';
import { Command, COMMANDS, findCommand, GLOBAL_OPTIONS, OptionSpecs, OptionValues } from './commands';

/** The command line is wrong: the CLI prints the reason and a usage line, and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to show; none: the general one. */
    readonly command?: Command,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Invocation =
  | { kind: 'help'; command?: Command }
  | { kind: 'run'; command: Command; args: string[]; options: OptionValues };

/** Every option any command knows, so that the first pass reads `--base main` as one option, not an option and a positional. */
const ALL_OPTIONS = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((command) => command.options));

/**
 * argv → what to do. The command may come after global options (`--repo DIR list`), so a first,
 * lenient pass finds it; the second, strict pass knows exactly that command's options.
 */
export function parseInvocation(argv: string[]): Invocation {
  const { tokens } = parseArgs({ args: argv, options: ALL_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const wantsHelp = tokens.some((token) => token.kind === 'option' && token.name === 'help');
  const name = tokens.find((token) => token.kind === 'positional')?.value;
  if (name === undefined) {
    if (wantsHelp) return { kind: 'help' };
    throw new UsageError('a command is needed');
  }
  if (name === 'help') return helpFor(strictParse(argv, GLOBAL_OPTIONS).positionals.slice(1));
  const command = findCommand(name);
  if (!command) throw new UsageError(`unknown command "${name}"`);

  const { values, positionals } = strictParse(argv, { ...GLOBAL_OPTIONS, ...command.options }, command);
  if (values.help) return { kind: 'help', command };
  const args = positionals.slice(1);

  if (args.length < command.args.length) throw new UsageError(`missing <${command.args[args.length]}>`, command);
  if (args.length > command.args.length) {
    const hint = command.args.includes('subject') ? ' (quote a subject of several words)' : '';
    throw new UsageError(`unexpected argument "${args[command.args.length]}"${hint}`, command);
  }
  for (const option of command.required ?? []) {
    if (values[option] === undefined) throw new UsageError(`--${option} is required`, command);
  }
  return { kind: 'run', command, args, options: values };
}

function strictParse(argv: string[], options: OptionSpecs, command?: Command): { values: OptionValues; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true }) as { values: OptionValues; positionals: string[] };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((error as Error).message, command);
    throw error;
  }
}

/** `help` and `help <command>`. */
function helpFor(args: string[]): Invocation {
  if (args.length === 0) return { kind: 'help' };
  const command = findCommand(args[0]);
  if (!command || args.length > 1) throw new UsageError(`no help for "${args.join(' ')}"; the commands: ${COMMANDS.map((known) => known.name).join(', ')}`);
  return { kind: 'help', command };
}
