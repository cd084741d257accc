import * as vscode from 'vscode';
import { TaskWorktreesApi } from '../api';
import { Snapshot, TaskService, TaskView, TaskWorktreesError } from '../core';
import * as prompts from './prompts';
import { registerCommand } from './commandRunner';
import { Session } from './session';
import { TaskNode, WorktreeNode } from './tasksView';

type Args = Record<string, unknown>;

/**
 * *Snapshots* / *Restore Snapshot*, *Move Changes to New Task*, *Clean Up Merged Tasks*. Each command
 * asks and confirms when a person runs it; called with an argument object (code, agents, tests) it
 * runs the core's method directly, returns the result and throws coded errors.
 */
export function registerRecovery(context: vscode.ExtensionContext, session: Session, log: vscode.LogOutputChannel, api: TaskWorktreesApi): void {
  const service = (): TaskService => session.service;
  const progress = <T>(title: string, work: () => Promise<T>): Promise<T> =>
    Promise.resolve(vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, work));

  const snapshots = async (arg: unknown): Promise<unknown> => {
    const task = await taskOf(arg, service(), vscode.l10n.t('Show the snapshots of which task?'));
    if (!task) return undefined;
    const list = await service().listSnapshots(task.id);
    const take = { label: `$(device-camera) ${vscode.l10n.t('Take a Snapshot Now')}`, snapshot: undefined as Snapshot | undefined };
    const items = [
      ...(task.worktreePath ? [take] : []),
      ...list.reverse().map((snapshot) => ({
        label: `#${snapshot.number} ${reasonLabel(snapshot.reason)}`,
        description: new Date(snapshot.createdAt).toLocaleString(),
        detail: `${snapshot.commit.slice(0, 12)} · ${snapshot.ref}`,
        snapshot,
      })),
    ];
    if (items.length === 0) {
      void vscode.window.showInformationMessage(vscode.l10n.t('Task "{0}" has no snapshots.', task.subject));
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(items, { placeHolder: vscode.l10n.t('Snapshots of "{0}", newest first', task.subject) });
    if (!picked) return undefined;
    if (!picked.snapshot) {
      const taken = await service().snapshotWorktree(task.id);
      void vscode.window.showInformationMessage(vscode.l10n.t('Snapshot #{0} of "{1}" taken ({2}).', taken.number, task.subject, taken.ref));
      return taken;
    }
    return restore(picked.snapshot);
  };

  const restore = async (snapshot: Snapshot): Promise<unknown> => {
    const intoWorktree = vscode.l10n.t('Into the Task\'s Worktree');
    const intoNewTask = vscode.l10n.t('Into a New Task');
    const choice = await vscode.window.showQuickPick([intoWorktree, intoNewTask], { placeHolder: vscode.l10n.t('Restore snapshot #{0} where?', snapshot.number) });
    if (!choice) return undefined;
    const result = await progress(vscode.l10n.t('Restoring snapshot #{0}…', snapshot.number), () =>
      service().restoreSnapshot(snapshot.ref, { into: choice === intoWorktree ? 'worktree' : 'newTask' }),
    );
    void vscode.window.showInformationMessage(
      vscode.l10n.t('Restored into "{0}": {1} file(s) written, {2} deleted. The changes are unstaged.', result.task.subject, result.written.length, result.deleted.length),
    );
    return result;
  };

  const moveChanges = async (): Promise<unknown> => {
    const source = session.folder?.fsPath;
    if (!source) throw new TaskWorktreesError('NotARepository', vscode.l10n.t('Open a worktree to move its changes.'));
    const subject = await vscode.window.showInputBox({
      prompt: vscode.l10n.t('Subject of the new task that takes the uncommitted changes of this worktree'),
      ignoreFocusOut: true,
    });
    if (!subject) return undefined;
    // The new task goes into the repository of this window's folder.
    const result = await progress(vscode.l10n.t('Moving changes to a new task…'), () => api.moveChangesToNewTask({ sourcePath: source, subject, repository: source }));
    const kept = result.keptInSource.length ? ' ' + vscode.l10n.t('{0} file(s) changed again meanwhile stayed here.', result.keptInSource.length) : '';
    void vscode.window.showInformationMessage(vscode.l10n.t('{0} file(s) moved to task "{1}" (snapshot {2}).', result.moved.length, result.task.subject, result.snapshot.ref) + kept);
    return result;
  };

  const cleanUp = async (): Promise<unknown> => {
    const merged = await progress(vscode.l10n.t('Finding merged tasks…'), () => service().mergedTasks());
    if (merged.length === 0) {
      void vscode.window.showInformationMessage(vscode.l10n.t('No task is merged into its base.'));
      return undefined;
    }
    const lines = merged.map((task) => {
      const what = task.worktreePath ? vscode.l10n.t('worktree and branch {0}', task.branch) : vscode.l10n.t('branch {0}', task.branch);
      const saved = task.wouldLose.length ? ' — ' + vscode.l10n.t('{0} uncommitted item(s) saved as a snapshot first', task.wouldLose.length) : '';
      return `${task.taskId}: ${what}${saved}`;
    });
    const remove = vscode.l10n.t('Remove');
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t('Remove the worktrees and branches of {0} merged task(s)?', merged.length),
      { modal: true, detail: `${prompts.listForModal(lines)}\n\n${vscode.l10n.t('Task records stay. Uncommitted work is kept as a snapshot (Snapshots… restores it).')}` },
      remove,
    );
    if (choice !== remove) return undefined;
    const report = await progress(vscode.l10n.t('Cleaning up merged tasks…'), () => api.cleanUpMerged({ taskIds: merged.map((task) => task.taskId) }));
    for (const skip of report.skipped) log.warn(`clean-up skipped ${skip.taskId}: ${skip.reason}`);
    const summary = vscode.l10n.t('Cleaned up {0} task(s); {1} skipped; {2} snapshot(s) kept.', report.cleaned.length, report.skipped.length, report.snapshots.length);
    const detail = report.skipped.map((skip) => `${skip.taskId}: ${skip.reason}`);
    if (detail.length === 0) void vscode.window.showInformationMessage(summary);
    else void vscode.window.showWarningMessage(summary, { modal: true, detail: prompts.listForModal(detail) });
    return report;
  };

  const commands: Record<string, { person: (arg: unknown) => Promise<unknown>; code: (args: Args) => Promise<unknown> }> = {
    'taskWorktrees.snapshots': {
      person: snapshots,
      code: (args) => api.listSnapshots(args as { taskId: string }),
    },
    'taskWorktrees.snapshotWorktree': {
      person: async (arg) => {
        const task = await taskOf(arg, service(), vscode.l10n.t('Snapshot the worktree of which task?'));
        return task && service().snapshotWorktree(task.id);
      },
      code: (args) => api.snapshotWorktree(args as { taskId: string }),
    },
    'taskWorktrees.restoreSnapshot': {
      person: snapshots,
      code: (args) => api.restoreSnapshot(args as { ref: string; into: 'worktree' | 'newTask' }),
    },
    'taskWorktrees.moveChangesToNewTask': {
      person: moveChanges,
      code: (args) => api.moveChangesToNewTask(args as { sourcePath: string; subject: string }),
    },
    'taskWorktrees.cleanUpMerged': {
      person: cleanUp,
      code: (args) => api.cleanUpMerged(args),
    },
  };
  for (const [id, { person, code }] of Object.entries(commands)) {
    context.subscriptions.push(
      registerCommand(id, log, {
        byCode: code,
        // Moving changes works on this window's folder, wherever it is; the others on the row's repository or the one picked.
        byPerson: (arg) => (person === moveChanges ? person(arg) : session.inRepositoryOf(arg, vscode.l10n.t('Task Worktrees: Choose a Repository'), () => person(arg))),
      }),
    );
  }
}

async function taskOf(arg: unknown, service: TaskService, placeHolder: string): Promise<TaskView | undefined> {
  if (arg instanceof TaskNode || arg instanceof WorktreeNode) return arg.task;
  return prompts.pickTask((await service.board()).tasks, placeHolder);
}

function reasonLabel(reason: Snapshot['reason']): string {
  switch (reason) {
    case 'forced-removal':
      return vscode.l10n.t('before a forced removal');
    case 'clean-up':
      return vscode.l10n.t('before clean-up');
    case 'move-changes':
      return vscode.l10n.t('changes moved here');
    default:
      return vscode.l10n.t('taken by hand');
  }
}
