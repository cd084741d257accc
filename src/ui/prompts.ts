import { userInfo } from 'node:os';
import * as vscode from 'vscode';
import { Task, TaskView } from '../core';
import { WorktreeEntry } from '../core/git/porcelain';
import { validateSubject } from '../core/tasks/ids';
import { TASK_STATUSES, TaskStatus } from '../core/tasks/model';
import { statusLabel } from './tasksView';

/** The only place that asks the user for input. Every function resolves undefined on Escape. */

export async function askSubject(): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: vscode.l10n.t('Create Task (1/2)'),
    prompt: vscode.l10n.t('What is the task? It names the branch and the worktree folder.'),
    placeHolder: vscode.l10n.t('e.g. Fix the login redirect'),
    ignoreFocusOut: true,
    validateInput: (value) => {
      try {
        validateSubject(value);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    },
  });
}

export async function askBaseBranch(branches: string[], current: string | undefined): Promise<string | undefined> {
  const ordered = current ? [current, ...branches.filter((branch) => branch !== current)] : branches;
  const picked = await vscode.window.showQuickPick(
    ordered.map((branch) => ({
      label: branch,
      description: branch === current ? vscode.l10n.t('current branch') : undefined,
      iconPath: new vscode.ThemeIcon('git-branch'),
    })),
    { title: vscode.l10n.t('Create Task (2/2)'), placeHolder: vscode.l10n.t('Branch to start from and merge back into'), ignoreFocusOut: true },
  );
  return picked?.label;
}

export async function pickTask(tasks: TaskView[], placeHolder: string): Promise<TaskView | undefined> {
  if (tasks.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('There is no task for this action.'));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    tasks.map((task) => ({ label: task.subject, description: task.branch ?? task.id, detail: statusLabel(task.status), task })),
    { placeHolder, matchOnDescription: true },
  );
  return picked?.task;
}

export async function pickStatus(current: TaskStatus): Promise<TaskStatus | undefined> {
  const picked = await vscode.window.showQuickPick(
    TASK_STATUSES.map((status) => ({ label: statusLabel(status), description: status === current ? vscode.l10n.t('current') : undefined, status })),
    { placeHolder: vscode.l10n.t('New status') },
  );
  return picked?.status;
}

export async function askOwner(current: string): Promise<string | undefined> {
  return vscode.window.showInputBox({
    prompt: vscode.l10n.t('Who works on this task? (you, or an agent\'s name)'),
    value: current || safeUserName(),
    ignoreFocusOut: true,
  });
}

export type AssignTarget = { worktreePath: string } | { branch: string };

export async function pickAssignTarget(unassigned: WorktreeEntry[], branches: string[]): Promise<AssignTarget | undefined> {
  const checkedOut = new Set(unassigned.map((entry) => entry.branch));
  const items: Array<vscode.QuickPickItem & { target?: AssignTarget }> = [
    { label: vscode.l10n.t('Worktrees'), kind: vscode.QuickPickItemKind.Separator },
    ...unassigned
      .filter((entry) => !entry.prunable)
      .map((entry) => ({ label: entry.branch ?? vscode.l10n.t('(detached HEAD)'), description: entry.path, iconPath: new vscode.ThemeIcon('repo-forked'), target: { worktreePath: entry.path } })),
    { label: vscode.l10n.t('Branches (a worktree is made for it)'), kind: vscode.QuickPickItemKind.Separator },
    ...branches
      .filter((branch) => !checkedOut.has(branch))
      .map((branch) => ({ label: branch, iconPath: new vscode.ThemeIcon('git-branch'), target: { branch } })),
  ];
  const picked = await vscode.window.showQuickPick(items, { placeHolder: vscode.l10n.t('Worktree or branch to bind to the task') });
  return picked?.target;
}

/**
 * Repair of a missing worktree: look for it (moved inside the worktree root) or make it again from
 * its branch — or point at the folder it was moved to. Resolves the folder, undefined for "find or
 * recreate", null on Escape.
 */
export async function askMovedWorktree(task: Task): Promise<string | undefined | null> {
  const locate = { label: vscode.l10n.t('$(folder-opened) I moved it: locate the folder…'), locate: true };
  const find = { label: vscode.l10n.t('$(search) Find it in the worktree root, or recreate it from {0}', task.branch ?? vscode.l10n.t('its branch')), locate: false };
  const picked = await vscode.window.showQuickPick([find, locate], { title: vscode.l10n.t('Repair the worktree of "{0}"', task.subject), placeHolder: task.worktreePath });
  if (!picked) return null;
  if (!picked.locate) return undefined;
  const [folder] = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title: vscode.l10n.t('The moved worktree folder') })) ?? [];
  return folder ? folder.fsPath : null;
}

/** The tasks `task` waits on, chosen among the others (the current ones ticked); undefined on Escape. */
export async function pickBlockers(task: Task, tasks: readonly TaskView[]): Promise<string[] | undefined> {
  const items = tasks
    .filter((other) => other.id !== task.id)
    .map((other) => ({ label: other.subject, description: other.id, detail: statusLabel(other.status), picked: task.blockedBy.includes(other.id), id: other.id }));
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('"{0}" waits on…', task.subject),
    placeHolder: vscode.l10n.t('It cannot be claimed or started until these are completed'),
    canPickMany: true,
    matchOnDescription: true,
  });
  return picked?.map((item) => item.id);
}

/** A modal with one destructive choice; resolves true only when it was chosen. */
export async function confirm(message: string, detail: string, action: string): Promise<boolean> {
  return (await vscode.window.showWarningMessage(message, { modal: true, detail }, action)) === action;
}

/** Lists what would be lost (first few paths and a count), for modals. */
export function listForModal(items: readonly string[], max = 12): string {
  const shown = items.slice(0, max).map((item) => `• ${item}`);
  if (items.length > max) shown.push(vscode.l10n.t('… and {0} more', items.length - max));
  return shown.join('\n');
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}
