import * as vscode from 'vscode';
import { registerCommand } from './commandRunner';
import { TaskWorktreesError } from '../core/errors';
import { BoardFilter, BoardSort } from '../core/board';
import { isTaskStatus, TASK_STATUSES, TaskStatus } from '../core/tasks/model';
import { Session } from './session';
import { GroupNode, RepositoryNode, sortLabel, statusLabel, TaskNode, TasksTreeProvider, TreeNode, WorktreeNode } from './tasksView';

const SORTS: readonly BoardSort[] = ['status', 'activity', 'name'];

/**
 * The board's own commands: filter and sort from the view's title bar (remembered per workspace),
 * and Enter on a row. Each also takes an argument object, so code and tests set a filter directly.
 */
export function registerBoardCommands(context: vscode.ExtensionContext, session: Session, tree: TasksTreeProvider, view: vscode.TreeView<TreeNode>, log: vscode.LogOutputChannel): void {
  tree.attach(view);

  const handlers: Record<string, (arg?: unknown) => Promise<unknown>> = {
    'taskWorktrees.filterTasks': async (arg) => {
      if (arg !== undefined) return tree.setState({ ...tree.state, filter: validFilter(arg) });
      const filter = await pickFilter(session, tree.state.filter);
      if (filter) await tree.setState({ ...tree.state, filter });
      return undefined;
    },

    'taskWorktrees.clearTaskFilter': async () => tree.setState({ ...tree.state, filter: {} }),

    'taskWorktrees.sortTasks': async (arg) => {
      if (arg !== undefined) return tree.setState({ ...tree.state, sort: validSort(arg) });
      const picked = await vscode.window.showQuickPick(
        SORTS.map((sort) => ({ label: sortLabel(sort), sort, description: sort === tree.state.sort ? vscode.l10n.t('current') : undefined })),
        { title: vscode.l10n.t('Sort Tasks') },
      );
      if (picked) await tree.setState({ ...tree.state, sort: picked.sort });
      return undefined;
    },

    // Enter on a row: opens a task that has a worktree; on anything else, what Enter does in a tree.
    'taskWorktrees.openSelectedTask': async () => {
      const [node] = view.selection;
      if ((node instanceof TaskNode || node instanceof WorktreeNode) && node.task.worktreeState === 'present') {
        return vscode.commands.executeCommand('taskWorktrees.openTask', node);
      }
      if (node instanceof RepositoryNode || node instanceof GroupNode || node instanceof TaskNode) return vscode.commands.executeCommand('list.toggleExpand');
      return vscode.commands.executeCommand('list.select');
    },
  };

  for (const [id, handler] of Object.entries(handlers)) {
    // A tree row or nothing: a person's gesture (the handler gets no argument). An argument object: code.
    context.subscriptions.push(registerCommand(id, log, { byPerson: () => handler(undefined), byCode: (input) => handler(input) }));
  }
}

/** A filter from a person: what to filter by, then its value; undefined when they cancel. */
async function pickFilter(session: Session, current: BoardFilter): Promise<BoardFilter | undefined> {
  const byText = vscode.l10n.t('$(search) By Text…');
  const byStatus = vscode.l10n.t('$(list-filter) By Status…');
  const byOwner = vscode.l10n.t('$(person) By Owner…');
  const clear = vscode.l10n.t('$(clear-all) Clear Filter');
  const statuses = current.statuses?.map(statusLabel).join(', ');
  const choice = await vscode.window.showQuickPick(
    [
      { label: byText, description: current.text },
      { label: byStatus, description: statuses },
      { label: byOwner, description: current.owner === undefined ? undefined : current.owner || vscode.l10n.t('nobody') },
      { label: clear },
    ],
    { title: vscode.l10n.t('Filter Tasks') },
  );
  if (!choice) return undefined;
  if (choice.label === clear) return {};
  if (choice.label === byText) {
    const text = await vscode.window.showInputBox({
      title: vscode.l10n.t('Filter Tasks by Text'),
      prompt: vscode.l10n.t('Shows the tasks whose subject, id, branch or owner contains this (any case). Empty: no text filter.'),
      value: current.text ?? '',
    });
    return text === undefined ? undefined : { ...current, text: text.trim() || undefined };
  }
  if (choice.label === byStatus) {
    const picked = await vscode.window.showQuickPick(
      TASK_STATUSES.map((status) => ({ label: statusLabel(status), status, picked: current.statuses?.includes(status) ?? false })),
      { title: vscode.l10n.t('Filter Tasks by Status'), canPickMany: true, placeHolder: vscode.l10n.t('Shows the tasks with any of these statuses; none: every status') },
    );
    return picked === undefined ? undefined : { ...current, statuses: picked.length > 0 ? picked.map((item) => item.status) : undefined };
  }
  const boards = await Promise.all(session.repositories.map(({ service }) => service.board()));
  const owners = [...new Set(boards.flatMap(({ tasks }) => tasks.map((task) => task.owner)).filter(Boolean))].sort();
  const anyone = { label: vscode.l10n.t('Anyone'), owner: undefined as string | undefined };
  const nobody = { label: vscode.l10n.t('Nobody (unclaimed tasks)'), owner: '' };
  const picked = await vscode.window.showQuickPick([anyone, nobody, ...owners.map((owner) => ({ label: `@${owner}`, owner }))], { title: vscode.l10n.t('Filter Tasks by Owner') });
  return picked === undefined ? undefined : { ...current, owner: picked.owner };
}

function validFilter(arg: unknown): BoardFilter {
  if (typeof arg !== 'object' || arg === null || Array.isArray(arg)) throw new TaskWorktreesError('InvalidInput', 'filterTasks takes { text?, statuses?, owner? }.');
  const { text, statuses, owner } = arg as Record<string, unknown>;
  if (text !== undefined && typeof text !== 'string') throw new TaskWorktreesError('InvalidInput', 'text must be a string.');
  if (owner !== undefined && typeof owner !== 'string') throw new TaskWorktreesError('InvalidInput', "owner must be a string ('' for tasks nobody owns).");
  if (statuses !== undefined && (!Array.isArray(statuses) || !statuses.every(isTaskStatus))) {
    throw new TaskWorktreesError('InvalidInput', `statuses must be a list of ${TASK_STATUSES.join(', ')}.`);
  }
  return { text: text?.trim() || undefined, statuses: (statuses as TaskStatus[] | undefined)?.length ? (statuses as TaskStatus[]) : undefined, owner };
}

function validSort(arg: unknown): BoardSort {
  const sort = typeof arg === 'object' && arg !== null ? (arg as { sort?: unknown }).sort : undefined;
  if (!SORTS.includes(sort as BoardSort)) throw new TaskWorktreesError('InvalidInput', `sortTasks takes { sort }: ${SORTS.join(', ')}.`);
  return sort as BoardSort;
}
