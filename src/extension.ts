import * as vscode from 'vscode';
import { ActivationReport, createApi, TaskWorktreesApi } from './api';
import { Agents } from './ui/agents';
import { registerBoardCommands } from './ui/boardCommands';
import { registerCommands } from './ui/commands';
import { Session } from './ui/session';
import { TaskStatusBar } from './ui/statusBar';
import { TasksTreeProvider } from './ui/tasksView';
import { registerCliOnPath } from './ui/cliOnPath';
import { registerTools } from './ui/tools';
import { WorktreeSetup } from './ui/setup';
import { registerRecovery } from './ui/recovery';
import { registerReview } from './ui/review';
import { registerMerging } from './ui/merging';
import { WindowPresence } from './ui/windowPresence';
import { settingsFolder } from './ui/settings';

/** Returns the API (see api.ts) to other extensions, with the activation report our host tests read. */
export function activate(context: vscode.ExtensionContext): TaskWorktreesApi & ActivationReport {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Task Worktrees', { log: true });
  const session = new Session(log);
  const agents = new Agents(() => session.service, log);
  const tree = new TasksTreeProvider(session, agents, context.workspaceState);
  const view = vscode.window.createTreeView('taskWorktrees.tasks', { treeDataProvider: tree, showCollapseAll: true });
  const statusBar = new TaskStatusBar(session);
  context.subscriptions.push(log, session, agents, tree, view, statusBar);
  context.subscriptions.push(new WorktreeSetup(session, log));
  context.subscriptions.push(new WindowPresence(session, log));

  const api = createApi(() => session.service, session.onDidChange, agents, (repository, work) => session.inRepositoryAt(repository, work), (service) => settingsFolder(session, service));
  registerCommands(context, session, tree, log, api, agents);
  registerBoardCommands(context, session, tree, view, log);
  registerTools(context, api);
  registerReview(context, session, log);
  const mergeHistory = registerMerging(context, session, tree, agents, log);
  registerRecovery(context, session, log, api);
  // Terminals of this window get `task-worktrees` on PATH; a window that cannot write its storage just goes without.
  registerCliOnPath(context).catch((error: Error) => log.warn(`task-worktrees CLI not put on PATH: ${error.message}`));
  context.subscriptions.push(
    session.onDidChange(() => {
      tree.refresh();
      void statusBar.update();
    }),
    agents.onDidChange(() => tree.refresh()),
  );
  const timings: ActivationReport['timings'] = { activateMs: 0 };
  void session.start().then(() => (timings.readyMs = performance.now() - started));
  const activationToFirstRenderMs = tree.whenFirstRendered().then((boardMs) => {
    timings.firstBoardMs = boardMs;
    return performance.now() - started;
  });
  timings.activateMs = performance.now() - started;
  return { ...api, timings, activationToFirstRenderMs, onDidRenderBoard: tree.onDidRenderBoard, agentRows: (taskId) => tree.agentItems(taskId), board: tree, mergeHistoryView: mergeHistory };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
