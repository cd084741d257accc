import * as vscode from 'vscode';
import { Board } from './core/lifecycle';
import { registerCommands } from './ui/commands';
import { Session } from './ui/session';
import { TaskStatusBar } from './ui/statusBar';
import { TasksTreeProvider } from './ui/tasksView';

/** What activate() returns to other extensions and to our host tests. */
export interface TaskWorktreesApi {
  /** Where activation time goes, in milliseconds; filled in as each step happens. */
  readonly timings: {
    /** Inside activate() itself. */
    activateMs: number;
    /** From activate() until the repository is open (git located, store ready). */
    readyMs?: number;
    /** The first render of the board: store read and two git calls. */
    firstBoardMs?: number;
  };
  /** Milliseconds from activate() to the first render (includes waiting for the view to be shown). */
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
  const timings: TaskWorktreesApi['timings'] = { activateMs: 0 };
  void session.start().then(() => (timings.readyMs = performance.now() - started));
  const activationToFirstRenderMs = tree.whenFirstRendered().then((boardMs) => {
    timings.firstBoardMs = boardMs;
    return performance.now() - started;
  });
  timings.activateMs = performance.now() - started;
  return { timings, activationToFirstRenderMs, onDidRenderBoard: tree.onDidRenderBoard };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
