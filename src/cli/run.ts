import { resolve } from 'node:path';
import { isCoded, TaskService } from '../core';
import { EXIT_CODES, EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE } from './exitCodes';
import { commandHelp, generalHelp, usageLine } from './help';
import { printable } from './format';
import { parseInvocation, UsageError } from './parse';

export interface CliIo {
  /** The directory `--repo` is relative to, and the default repository. */
  cwd: string;
  out(text: string): void;
  err(text: string): void;
}

/** Runs one command line and returns the process's exit code (see exitCodes.ts). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let invocation;
  try {
    invocation = parseInvocation(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`task-worktrees: ${error.message}\n${usageLine(error.command)}\n`);
    return EXIT_USAGE;
  }
  if (invocation.kind === 'help') {
    io.out(invocation.command ? commandHelp(invocation.command) : generalHelp());
    return EXIT_OK;
  }
  const { command, args, options } = invocation;
  try {
    const service = await TaskService.open(resolve(io.cwd, (options.repo as string | undefined) ?? '.'));
    const result = await command.run({ service, args, options, warn: (line) => io.err(`${printable(line)}\n`) });
    io.out(options.json ? `${JSON.stringify(result.json, null, 2)}\n` : result.text);
    return EXIT_OK;
  } catch (error) {
    if (isCoded(error)) {
      const details = error.details.map((detail) => `  ${printable(detail)}\n`).join('');
      io.err(`error ${error.code}: ${printable(error.message)}\n${details}`);
      return EXIT_CODES[error.code];
    }
    io.err(`error: ${printable(error instanceof Error ? error.message : String(error))}\n`);
    return EXIT_UNEXPECTED;
  }
}
