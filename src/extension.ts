import * as vscode from 'vscode';
import { Board } from './core/lifecycle';
import { registerCommands } from './ui/commands';
import { Session } from './ui/session';
import { TaskStatusBar } from './ui/statusBar';
import { TasksTreeProvider } from './ui/tasksView';

/** What activate() returns to other extensions and to our host tests. */
export interface TaskWorktreesApi {
  /** Milliseconds spent inside activate() itself. */
  readonly activateMs: number;
  /** Milliseconds from activate() to the first render of the board (includes git and waiting for the view to show). */
  readonly activationToFirstRenderMs: Promise<number>;
  /** Fired with each board the Tasks view renders. */
  readonly onDidRenderBoard: vscode.Event<Board>;
}

export function activate(context: vscode.ExtensionContext): TaskWorktreesApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Task Worktrees', { log: true });
  const session = new Session(log);
  const tree = new TasksTreeProvider(session);
  const view = vscode.window.createTreeView('taskWorktrees.tasks', { treeDataProvider: tree, showCollapseAll: true });
  const statusBar = new TaskStatusBar(session);
  context.subscriptions.push(log, session, tree, view, statusBar);

  registerCommands(context, session, tree, log);
  context.subscriptions.push(
    session.onDidChange(() => {
      tree.refresh();
      void statusBar.update();
    }),
  );
  void session.start();
  return {
    activateMs: performance.now() - started,
    activationToFirstRenderMs: tree.whenFirstRendered().then(() => performance.now() - started),
    onDidRenderBoard: tree.onDidRenderBoard,
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
