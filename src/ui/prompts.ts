import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { IdContext, IdPreview, previewTaskId, Task, TaskView } from '../core';
import { WorktreeEntry } from '../core/git/porcelain';
import { MAX_ID_LENGTH, validateSubject } from '../core/tasks/ids';
import { TASK_STATUSES, TaskStatus } from '../core/tasks/model';
import { statusLabel } from './tasksView';
import { WORKTREE_LOCATIONS, WorktreeLocation } from './worktreeLocation';

/** The only place that asks the user for input. Every function resolves undefined on Escape. */

/** A new task's subject and, when the person changed it, its id: the id, branch and folder are shown as they type. */
export async function askNewTask(context: IdContext, steps: number): Promise<{ subject: string; id?: string } | undefined> {
  const where = (preview: IdPreview): string => vscode.l10n.t('Branch {0} · folder {1}', preview.branch, vscode.workspace.asRelativePath(preview.folder));
  const subject = await vscode.window.showInputBox({
    title: vscode.l10n.t('Create Task (1/{0})', steps),
    prompt: vscode.l10n.t('What is the task? It names the branch and the worktree folder.'),
    placeHolder: vscode.l10n.t('e.g. Fix the login redirect'),
    ignoreFocusOut: true,
    validateInput: (value) => {
      const problem = subjectProblem(value);
      if (problem) return problem;
      return subjectPreviewMessage(previewTaskId(value, context, existsSync), where);
    },
  });
  if (!subject) return undefined;
  const proposed = previewTaskId(subject, context, existsSync).id;
  const id = await vscode.window.showInputBox({
    title: vscode.l10n.t('Create Task (2/{0})', steps),
    prompt: vscode.l10n.t('The task\'s id names its branch ({0}<id>) and folder. Change it or press Enter.', context.branchPrefix),
    value: proposed,
    ignoreFocusOut: true,
    validateInput: (value) => {
      const preview = previewTaskId(subject, context, existsSync, value.trim());
      return preview.problem ? editedIdProblemText(preview) : { message: where(preview), severity: vscode.InputBoxValidationSeverity.Info };
    },
  });
  if (id === undefined) return undefined;
  // Unchanged, the core picks the same id itself, under its lock.
  return id.trim() === proposed ? { subject } : { subject, id: id.trim() };
}

function subjectProblem(value: string): string | undefined {
  try {
    validateSubject(value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** What the subject box says under the text: the branch and folder, warning on a twin subject or a subject with no usable id. */
function subjectPreviewMessage(preview: IdPreview, where: (preview: IdPreview) => string): vscode.InputBoxValidationMessage {
  if (preview.sameSubject.length > 0) {
    return {
      message: vscode.l10n.t('A task with this subject exists already ({0}): this makes another one. {1}', preview.sameSubject.join(', '), where(preview)),
      severity: vscode.InputBoxValidationSeverity.Warning,
    };
  }
  if (preview.fallback) {
    return {
      message: vscode.l10n.t('No letter or digit here can name a branch, so the id would be "{0}"; you can change it in the next step. {1}', preview.id, where(preview)),
      severity: vscode.InputBoxValidationSeverity.Warning,
    };
  }
  return { message: where(preview), severity: vscode.InputBoxValidationSeverity.Info };
}

function editedIdProblemText(preview: IdPreview): string {
  switch (preview.problem) {
    case 'notAnId':
      return vscode.l10n.t('Use lowercase letters, digits and single dashes (at most {0}).', MAX_ID_LENGTH);
    case 'taskExists':
      return vscode.l10n.t('A task "{0}" exists already.', preview.id);
    case 'branchExists':
      return vscode.l10n.t('A branch {0} exists already.', preview.branch);
    case 'branchInvalid':
      return vscode.l10n.t('{0} is not a valid branch name (check the branch prefix).', preview.branch);
    default:
      return vscode.l10n.t('The folder {0} exists already.', preview.folder);
  }
}

/**
 * On a repository's first task: where its worktrees go, with why for each choice, offered in
 * `order`; `configFile` is where the answer is kept. Resolves the `worktreeRoot` to record, undefined on Escape.
 */
export async function askWorktreeLocation(repoName: string, configFile: string, order: readonly WorktreeLocation[]): Promise<string | undefined> {
  const choices: Record<WorktreeLocation, vscode.QuickPickItem> = {
    nextTo: {
      label: vscode.l10n.t('$(folder) Next to the repository'),
      description: WORKTREE_LOCATIONS.nextTo.replace('${repoName}', repoName),
      detail: vscode.l10n.t('Tools here (TypeScript, Jest, ESLint, search) never see them · outside a container\'s mount'),
    },
    inside: {
      label: vscode.l10n.t('$(folder-library) Inside the repository'),
      description: WORKTREE_LOCATIONS.inside,
      detail: vscode.l10n.t('Stays in a container\'s mount · git ignores it, other tools see it unless configured'),
    },
  };
  const picked = await vscode.window.showQuickPick(
    order.map((location) => ({ ...choices[location], location })),
    {
      title: vscode.l10n.t('Create Task: Where Do This Repository\'s Worktrees Go? (asked once)'),
      placeHolder: vscode.l10n.t('Remembered for this repository: edit {0} to change it. Setting taskWorktrees.worktreeRoot skips this question.', vscode.workspace.asRelativePath(configFile)),
      ignoreFocusOut: true,
    },
  );
  return picked && WORKTREE_LOCATIONS[picked.location];
}

export async function askBaseBranch(branches: string[], current: string | undefined): Promise<string | undefined> {
  const ordered = current ? [current, ...branches.filter((branch) => branch !== current)] : branches;
  const picked = await vscode.window.showQuickPick(
    ordered.map((branch) => ({
      label: branch,
      description: branch === current ? vscode.l10n.t('current branch') : undefined,
      iconPath: new vscode.ThemeIcon('git-branch'),
    })),
    { title: vscode.l10n.t('Create Task (3/3)'), placeHolder: vscode.l10n.t('Branch to start from and merge back into'), ignoreFocusOut: true },
  );
  return picked?.label;
}

/** A pick among `tasks`; `title` is the command's name, `none` says why there is nothing to pick. */
export async function pickTask(tasks: TaskView[], title: string, none = vscode.l10n.t('There is no task for this action.'), placeHolder = vscode.l10n.t('Type to filter by subject or branch')): Promise<TaskView | undefined> {
  if (tasks.length === 0) {
    void vscode.window.showInformationMessage(none);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    tasks.map((task) => ({ label: task.subject, description: task.branch ?? task.id, detail: statusLabel(task.status), task })),
    { title, placeHolder, matchOnDescription: true },
  );
  return picked?.task;
}

export async function pickStatus(task: Task): Promise<TaskStatus | undefined> {
  const picked = await vscode.window.showQuickPick(
    TASK_STATUSES.map((status) => ({ label: statusLabel(status), description: status === task.status ? vscode.l10n.t('current') : undefined, status })),
    { title: vscode.l10n.t('Set Status of "{0}"', task.subject), placeHolder: vscode.l10n.t('New status') },
  );
  return picked?.status;
}

/** The owner for a claim: proposed is git's user.name, the name the task's commits will carry. */
export async function askOwner(task: Task, proposed: string | undefined): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: vscode.l10n.t('Claim "{0}"', task.subject),
    prompt: vscode.l10n.t('Who works on this task? (you, or an agent\'s name)'),
    value: task.owner || proposed || '',
    ignoreFocusOut: true,
  });
}

export type AssignTarget = { worktreePath: string } | { branch: string };

/**
 * A worktree or branch to bind to `task`: only those the core would accept — none whose branch the
 * safety inspector protects (`protections`: branch → why), none checked out in another worktree.
 */
export async function pickAssignTarget(task: Task, unassigned: WorktreeEntry[], branches: string[], protections: ReadonlyMap<string, string>): Promise<AssignTarget | undefined> {
  const checkedOut = new Set(unassigned.map((entry) => entry.branch));
  const worktrees = unassigned.filter((entry) => !entry.prunable && !(entry.branch && protections.has(entry.branch)));
  const free = branches.filter((branch) => !checkedOut.has(branch) && !protections.has(branch));
  if (worktrees.length === 0 && free.length === 0) {
    void vscode.window.showInformationMessage(
      vscode.l10n.t('No worktree or branch can be bound to "{0}": every other branch is a base, the main worktree\'s, or another task\'s.', task.subject),
    );
    return undefined;
  }
  const items: Array<vscode.QuickPickItem & { target?: AssignTarget }> = [
    { label: vscode.l10n.t('Worktrees'), kind: vscode.QuickPickItemKind.Separator },
    ...worktrees.map((entry) => ({ label: entry.branch ?? vscode.l10n.t('(detached HEAD)'), description: entry.path, iconPath: new vscode.ThemeIcon('repo-forked'), target: { worktreePath: entry.path } })),
    { label: vscode.l10n.t('Branches (a worktree is made for it)'), kind: vscode.QuickPickItemKind.Separator },
    ...free.map((branch) => ({ label: branch, iconPath: new vscode.ThemeIcon('git-branch'), target: { branch } })),
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Assign a Worktree or Branch to "{0}"', task.subject),
    placeHolder: vscode.l10n.t('Worktree or branch to bind to the task (bases, the main worktree\'s branch and other tasks\' branches are left out)'),
  });
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

/**
 * The modal before work is lost: its first button — the one Enter presses — keeps everything;
 * the destructive `action` must be clicked. Resolves true only when it was.
 */
export async function confirmLoss(message: string, detail: string, action: string): Promise<boolean> {
  const keep: vscode.MessageItem = { title: vscode.l10n.t('Keep Worktree') };
  const destroy: vscode.MessageItem = { title: action };
  return (await vscode.window.showWarningMessage(message, { modal: true, detail }, keep, destroy)) === destroy;
}

/** The subject of a task made for a worktree found on disk, prefilled from its branch. */
export async function askAdoptedSubject(entry: WorktreeEntry): Promise<string | undefined> {
  const fromBranch = entry.branch?.split('/').pop()?.replace(/[-_]+/g, ' ').trim();
  return vscode.window.showInputBox({
    title: vscode.l10n.t('Adopt {0}', entry.path),
    prompt: vscode.l10n.t('The subject of the new task for this worktree (its branch {0} is kept).', entry.branch ?? vscode.l10n.t('(detached HEAD)')),
    value: fromBranch || '',
    ignoreFocusOut: true,
    validateInput: subjectProblem,
  });
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
