import { promises as fs } from 'node:fs';
import { join } from 'node:path';

export interface CliLauncher {
  /** A Node to run the CLI with: the extension host's own (Electron run as Node) or any `node`. */
  node: string;
  /** The bundled CLI, dist/cli.js. */
  cli: string;
}

/**
 * Writes a `task-worktrees` command into `dir` (a `.cmd` on Windows) that runs the CLI with
 * `launcher.node`, so a terminal with `dir` on PATH has the CLI without installing anything.
 * Arguments pass through untouched ("$@" / %*). Returns the command's path.
 */
export async function writeCliShim(dir: string, launcher: CliLauncher, platform: NodeJS.Platform = process.platform): Promise<string> {
  const windows = platform === 'win32';
  const file = join(dir, windows ? 'task-worktrees.cmd' : 'task-worktrees');
  const text = windows ? windowsShim(launcher) : posixShim(launcher);
  await fs.mkdir(dir, { recursive: true });
  // Windows of one VS Code share this file: each writes its own copy and renames it into place.
  const temporary = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temporary, text, { mode: 0o755 });
  await fs.rename(temporary, file);
  return file;
}

// ELECTRON_RUN_AS_NODE makes VS Code's executable a plain Node; set for the CLI only, never for the
// terminal (it would break `code` and other Electron apps started from there).
function posixShim({ node, cli }: CliLauncher): string {
  return [
    '#!/bin/sh',
    '# Written by the Task Worktrees extension: its CLI, run with the Node of the VS Code that wrote this.',
    'ELECTRON_RUN_AS_NODE=1',
    'export ELECTRON_RUN_AS_NODE',
    `exec ${shellQuote(node)} ${shellQuote(cli)} "$@"`,
    '',
  ].join('\n');
}

function windowsShim({ node, cli }: CliLauncher): string {
  // Windows paths cannot hold `"`; a `%` would be expanded by cmd unless doubled.
  const quote = (path: string): string => `"${path.replace(/%/g, '%%')}"`;
  return ['@echo off', 'setlocal', 'set ELECTRON_RUN_AS_NODE=1', `${quote(node)} ${quote(cli)} %*`, ''].join('\r\n');
}

/** One word for sh, whatever the path holds: single quotes, each `'` written as '\''. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
