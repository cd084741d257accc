import { delimiter, join } from 'node:path';
import * as vscode from 'vscode';
import { writeCliShim } from '../cli/shim';

/**
 * Puts `task-worktrees` on the PATH of this window's terminals (agents' included): a small shim in
 * the extension's global storage runs the bundled CLI with the extension host's own Node, so
 * nothing has to be installed. Rewritten on every activation: an update moves dist/cli.js.
 */
export async function registerCliOnPath(context: vscode.ExtensionContext): Promise<void> {
  const binDir = join(context.globalStorageUri.fsPath, 'bin');
  await writeCliShim(binDir, { node: process.execPath, cli: context.asAbsolutePath(join('dist', 'cli.js')) });
  const environment = context.environmentVariableCollection;
  environment.description = vscode.l10n.t('Puts the task-worktrees command on PATH.');
  environment.prepend('PATH', `${binDir}${delimiter}`);
}
