import * as vscode from 'vscode';
import { TaskWorktreesError } from '../core/errors';
import { describeError } from './flowText';
import { isTreeNode } from './tasksView';

export type ArgumentObject = Record<string, unknown>;

/** An argument object from code, as opposed to a tree node, a URI or nothing (a person's gesture). */
export function argumentObject(arg: unknown): ArgumentObject | undefined {
  return arg && typeof arg === 'object' && !isTreeNode(arg) && !(arg instanceof vscode.Uri) && !Array.isArray(arg) ? (arg as ArgumentObject) : undefined;
}

export interface CommandHandlers {
  /** A person's gesture: the palette (no argument), a tree item, a URI. */
  byPerson(arg: unknown): Promise<unknown>;
  /** Code calling with an argument object; without it, such calls run `byPerson`. */
  byCode?(input: ArgumentObject): Promise<unknown>;
}

/**
 * The one way every command of the extension is registered. Each failure is logged with its code
 * and git's output; code gets it back as a thrown error, a person sees the message (never a stack
 * trace) with *Show Log*.
 */
export function registerCommand(id: string, log: vscode.LogOutputChannel, handlers: CommandHandlers): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (arg?: unknown) => {
    const input = argumentObject(arg);
    try {
      return await (input && handlers.byCode ? handlers.byCode(input) : handlers.byPerson(arg));
    } catch (error) {
      log.error(`${id} failed: ${describeError(error)}`);
      if (input) throw error;
      void showError(error, log);
      return undefined;
    }
  });
}

/** What a person sees: the message (never a stack trace) and a way to the log line that explains it. */
export async function showError(error: unknown, log: vscode.LogOutputChannel): Promise<void> {
  const coded = error instanceof TaskWorktreesError;
  const message = coded ? error.message : vscode.l10n.t('Task Worktrees hit an unexpected error: {0}', error instanceof Error ? error.message : String(error));
  const details = coded && error.details.length ? ` (${error.details.slice(0, 5).join(', ')}${error.details.length > 5 ? ', …' : ''})` : '';
  const showLog = vscode.l10n.t('Show Log');
  const choice = await vscode.window.showErrorMessage(`${message}${details}`, showLog);
  if (choice === showLog) log.show();
}
