import { Command, COMMANDS } from './commands';
import { EXIT_CODES, EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE } from './exitCodes';

const NAME = 'task-worktrees';

const GLOBAL_HELP = `Options of every command:
  --repo DIR   the repository: any of its worktrees (default: the current directory)
  --json       machine output on stdout: the task, the tasks or the events as JSON
  -h, --help   this help; "${NAME} help <command>" for one command`;

export function usageLine(command?: Command): string {
  return command ? `usage: ${NAME} ${command.usage}` : `usage: ${NAME} <command> [options]   (${NAME} --help)`;
}

export function generalHelp(): string {
  // The options are in each command's help: here, the arguments only.
  const synopses = COMMANDS.map((command) => command.usage.replace(/ \[[^\]]*\](\.\.\.)?/g, ''));
  const width = Math.max(...synopses.map((synopsis) => synopsis.length));
  const commands = COMMANDS.map((command, i) => `  ${synopses[i].padEnd(width)}  ${command.summary}`);
  return [
    `${NAME}: the task board of a git repository (Task Worktrees), from any of its worktrees.`,
    'Every change takes the repository lock, as a VS Code window does: they never interleave,',
    'and open windows show the change at once.',
    '',
    usageLine(),
    '',
    'Commands:',
    ...commands,
    `  ${'help [command]'.padEnd(width)}  this text, or one command's`,
    '',
    GLOBAL_HELP,
    '',
    exitCodesHelp(),
    '',
  ].join('\n');
}

export function commandHelp(command: Command): string {
  const summary = `${command.summary.replace(/^./, (first) => first.toUpperCase())}.`;
  return [usageLine(command), '', summary, '', command.help, '', GLOBAL_HELP, '', `Exit codes: 0 ok, 2 usage, 3 and up per error code (${NAME} --help lists them).`, ''].join('\n');
}

/** The exit code table, three to a line. */
function exitCodesHelp(): string {
  const entries = [[String(EXIT_OK), 'ok'], [String(EXIT_UNEXPECTED), 'unexpected'], [String(EXIT_USAGE), 'usage'], ...Object.entries(EXIT_CODES).map(([code, exit]) => [String(exit), code])].map(
    ([exit, meaning]) => `${exit.padStart(3)} ${meaning.padEnd(21)}`,
  );
  const rows: string[] = [];
  for (let i = 0; i < entries.length; i += 3) rows.push(` ${entries.slice(i, i + 3).join(' ').trimEnd()}`);
  return [
    'Exit codes (errors print "error <Code>: message" on stderr; 2: the command line is malformed,',
    '3 and up: the error code of the task board, e.g. a bad value is InvalidInput):',
    ...rows,
  ].join('\n');
}
