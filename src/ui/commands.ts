import * as vscode from 'vscode';
import { isCoded, TaskWorktreesError } from '../core/errors';
import { MergeResult, TaskService, TaskView } from '../core/lifecycle';
import { validateTaskId } from '../core/tasks/ids';
import { MergeStrategy, Task, TaskStatus } from '../core/tasks/model';
import * as prompts from './prompts';
import { Session } from './session';
import { readSettings } from './settings';
import { TaskNode, TasksTreeProvider, TreeNode, UnassignedWorktreeNode, WorktreeNode } from './tasksView';

type Args = Record<string, unknown>;

/**
 * How a command was called. With an argument object (keybindings, other extensions, agents,
 * tests) it never prompts, returns its result and throws errors carrying `code`. From the palette
 * or the tree it asks, confirms destructive steps in modals, and shows errors.
 */
interface Invocation {
  args: Args;
  node: TreeNode | undefined;
  interactive: boolean;
}

type Handler = (invocation: Invocation) => Promise<unknown>;

export function registerCommands(
  context: vscode.ExtensionContext,
  session: Session,
  tree: TasksTreeProvider,
  log: vscode.LogOutputChannel,
): void {
  const service = (): TaskService => session.service;

  /**
   * The task a command is about: from the tree node, the argument object (a store read: agents
   * calling commands in a loop cost no git process here), or a pick among the board's tasks.
   */
  const resolveTask = async (invocation: Invocation, filter: (task: TaskView) => boolean, placeHolder: string): Promise<Task | undefined> => {
    const { node, args } = invocation;
    if (node instanceof TaskNode || node instanceof WorktreeNode) return node.task;
    if (!invocation.interactive) return service().task(args.taskId as string);
    const board = await service().board();
    return prompts.pickTask(board.tasks.filter(filter), placeHolder);
  };

  const withProgress = <T>(title: string, work: () => Promise<T>): Promise<T> =>
    Promise.resolve(vscode.window.withProgress({ location: { viewId: 'taskWorktrees.tasks' }, title }, work));

  const openTask = async (task: Task, target: 'newWindow' | 'currentWindow'): Promise<{ opened: string }> => {
    if (!task.worktreePath) {
      throw new TaskWorktreesError('TaskHasNoWorktree', vscode.l10n.t('Task "{0}" has no worktree yet: create one first.', task.id));
    }
    await vscode.commands.executeCommand(
      'vscode.openFolder',
      vscode.Uri.file(task.worktreePath),
      target === 'newWindow' ? { forceNewWindow: true } : { forceReuseWindow: true },
    );
    return { opened: task.worktreePath };
  };

  const afterCreate = async (task: Task): Promise<void> => {
    const choice = readSettings().afterCreate;
    if (choice === 'newWindow' || choice === 'currentWindow') {
      await openTask(task, choice);
      return;
    }
    if (choice === 'nothing') return;
    // Offered, not awaited: the command is done whether or not the notification is answered.
    const open = vscode.l10n.t('Open in New Window');
    void vscode.window.showInformationMessage(vscode.l10n.t('Task "{0}" is ready in {1} on {2}.', task.subject, task.worktreePath!, task.branch!), open).then((picked) => {
      if (picked === open) return openTask(task, 'newWindow');
      return undefined;
    });
  };

  /** Removal with the safety dialog: a refusal listing unsaved work becomes a modal "Remove Anyway". */
  const removeInteractively = async (task: Task, deleteBranch: boolean): Promise<Task | undefined> => {
    try {
      return await withProgress(vscode.l10n.t('Removing worktree…'), () => service().removeWorktree(task.id, { deleteBranch }));
    } catch (error) {
      if (!isCoded(error, 'WorktreeDirty')) throw error;
      const removeAnyway = vscode.l10n.t('Remove Anyway');
      const sure = await prompts.confirm(
        vscode.l10n.t('The worktree of "{0}" has work that would be lost.', task.subject),
        `${prompts.listForModal(error.details)}\n\n${vscode.l10n.t('Removing it deletes these changes for good.')}`,
        removeAnyway,
      );
      if (!sure) return undefined;
      return withProgress(vscode.l10n.t('Removing worktree…'), () => service().removeWorktree(task.id, { force: true, deleteBranch }));
    }
  };

  const handlers: Record<string, Handler> = {
    'taskWorktrees.createTask': async ({ args, interactive }) => {
      if (!interactive) {
        return service().createTask({
          subject: args.subject as string,
          description: args.description as string | undefined,
          baseBranch: args.baseBranch as string | undefined,
          blockedBy: args.blockedBy as string[] | undefined,
          createWorktree: args.createWorktree === true,
        });
      }
      const subject = await prompts.askSubject();
      if (!subject) return undefined;
      const [branches, current] = await Promise.all([service().localBranches(), service().currentBranch()]);
      const baseBranch = readSettings().defaultBaseBranch || (await prompts.askBaseBranch(branches, current));
      if (!baseBranch) return undefined;
      const task = await withProgress(vscode.l10n.t('Creating task and worktree…'), () => service().createTask({ subject, baseBranch, createWorktree: true }));
      await afterCreate(task);
      return task;
    },

    'taskWorktrees.createWorktree': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'none', vscode.l10n.t('Task to create a worktree for'));
      if (!task) return undefined;
      const created = await withProgress(vscode.l10n.t('Creating worktree…'), () => service().createWorktree(task.id));
      if (invocation.interactive) await afterCreate(created);
      return created;
    },

    'taskWorktrees.assignWorktree': async (invocation) => {
      const { args, node, interactive } = invocation;
      if (!interactive) {
        return service().assignWorktree(validateTaskId(args.taskId), {
          worktreePath: args.worktreePath as string | undefined,
          branch: args.branch as string | undefined,
        });
      }
      const board = await service().board();
      if (node instanceof UnassignedWorktreeNode) {
        // Adopting a worktree made outside: into an existing task without one, or a new task named after it.
        const newTask = { label: vscode.l10n.t('$(add) New task for this worktree'), task: undefined as TaskView | undefined };
        const picked = await vscode.window.showQuickPick(
          [newTask, ...board.tasks.filter((task) => task.worktreeState === 'none').map((task) => ({ label: task.subject, description: task.id, task }))],
          { placeHolder: vscode.l10n.t('Adopt {0} into…', node.entry.path) },
        );
        if (!picked) return undefined;
        const task = picked.task ?? (await service().createTask({ subject: node.entry.branch?.split('/').pop() ?? 'adopted worktree', baseBranch: await service().currentBranch() }));
        return service().assignWorktree(task.id, { worktreePath: node.entry.path });
      }
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'none', vscode.l10n.t('Task to bind'));
      if (!task) return undefined;
      const target = await prompts.pickAssignTarget(board.unassigned, await service().localBranches());
      if (!target) return undefined;
      return withProgress(vscode.l10n.t('Assigning…'), () => service().assignWorktree(task.id, target));
    },

    'taskWorktrees.openTask': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'present', vscode.l10n.t('Task to open in a new window'));
      if (!task) return undefined;
      const target = invocation.args.target ?? 'newWindow';
      if (target !== 'newWindow' && target !== 'currentWindow') {
        throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('target must be "newWindow" or "currentWindow".'));
      }
      return openTask(task, target);
    },

    'taskWorktrees.openTaskHere': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'present', vscode.l10n.t('Task to open in this window'));
      return task && openTask(task, 'currentWindow');
    },

    'taskWorktrees.openTerminal': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'present', vscode.l10n.t('Task to open a terminal in'));
      if (!task?.worktreePath) return undefined;
      const terminal = vscode.window.createTerminal({ name: vscode.l10n.t('Task: {0}', task.id), cwd: task.worktreePath, iconPath: new vscode.ThemeIcon('git-branch') });
      terminal.show();
      return { terminal: terminal.name };
    },

    'taskWorktrees.revealInExplorer': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'present', vscode.l10n.t('Task to reveal'));
      if (!task?.worktreePath) return undefined;
      // The OS file manager is on this machine only when the extension runs here too.
      if (vscode.env.remoteName || vscode.env.uiKind === vscode.UIKind.Web) {
        await vscode.env.clipboard.writeText(task.worktreePath);
        void vscode.window.showInformationMessage(vscode.l10n.t('The worktree is on the remote machine; its path was copied: {0}', task.worktreePath));
        return undefined;
      }
      await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(task.worktreePath));
      return undefined;
    },

    'taskWorktrees.claimTask': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.status !== 'completed', vscode.l10n.t('Task to claim'));
      if (!task) return undefined;
      if (!invocation.interactive) {
        const owner = invocation.args.owner;
        if (typeof owner !== 'string' || !owner.trim()) throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('claimTask needs an owner: a non-empty "owner" string.'));
        return service().setStatus(task.id, 'in_progress', owner);
      }
      const owner = await prompts.askOwner(task.owner);
      return owner === undefined ? undefined : service().setStatus(task.id, 'in_progress', owner);
    },

    'taskWorktrees.setStatus': async (invocation) => {
      const task = await resolveTask(invocation, () => true, vscode.l10n.t('Task to change'));
      if (!task) return undefined;
      if (!invocation.interactive) return service().setStatus(task.id, invocation.args.status as TaskStatus, invocation.args.owner as string | undefined);
      const status = await prompts.pickStatus(task.status);
      return status && service().setStatus(task.id, status);
    },

    'taskWorktrees.completeTask': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.status !== 'completed', vscode.l10n.t('Task to complete'));
      return task && service().completeTask(task.id);
    },

    'taskWorktrees.mergeTask': async (invocation) => {
      const { args, interactive } = invocation;
      const task = await resolveTask(invocation, (candidate) => !!candidate.branch, vscode.l10n.t('Task to merge into its base'));
      if (!task) return undefined;
      const strategy = (args.strategy as MergeStrategy | undefined) ?? readSettings().mergeStrategy;
      if (!interactive) {
        const result = await service().mergeTask(task.id, { strategy, removeWorktree: args.removeWorktree === true, deleteBranch: args.deleteBranch === true });
        return publicMergeResult(result);
      }
      const merge = vscode.l10n.t('Merge');
      const sure = await prompts.confirm(
        vscode.l10n.t('Merge "{0}" into {1}?', task.subject, task.baseBranch),
        vscode.l10n.t('{0} is merged into {1} ({2}). A conflict is reported before anything changes.', task.branch!, task.baseBranch, strategy === 'squash' ? vscode.l10n.t('one squashed commit') : vscode.l10n.t('a merge commit')),
        merge,
      );
      if (!sure) return undefined;
      const result = await withProgress(vscode.l10n.t('Merging…'), () => service().mergeTask(task.id, { strategy }));
      if (!result.merged) {
        const openWorktree = vscode.l10n.t('Open Task Worktree');
        const choice = await vscode.window.showWarningMessage(
          vscode.l10n.t('"{0}" conflicts with {1}; nothing was changed.', task.subject, task.baseBranch),
          { modal: true, detail: `${prompts.listForModal(result.conflicts ?? [])}\n\n${vscode.l10n.t('Merge {0} into the task branch in its worktree and resolve there with the merge editor, then merge again.', task.baseBranch)}` },
          openWorktree,
        );
        if (choice === openWorktree && task.worktreePath) await openTask(task, 'newWindow');
        return publicMergeResult(result);
      }
      void vscode.window.showInformationMessage(vscode.l10n.t('Merged "{0}" into {1} ({2}).', task.subject, task.baseBranch, result.commit!.slice(0, 10)));
      await cleanUpAfterMerge(result.task);
      return publicMergeResult(result);
    },

    'taskWorktrees.removeWorktree': async (invocation) => {
      const { args, interactive } = invocation;
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState !== 'none', vscode.l10n.t('Task whose worktree to remove'));
      if (!task) return undefined;
      if (!interactive) {
        return service().removeWorktree(task.id, { force: args.force === true, deleteBranch: args.deleteBranch === true });
      }
      const remove = vscode.l10n.t('Remove Worktree');
      const sure = await prompts.confirm(
        vscode.l10n.t('Remove the worktree of "{0}"?', task.subject),
        vscode.l10n.t('{0} is deleted from disk. The branch {1} is kept. Uncommitted work is checked first.', task.worktreePath!, task.branch ?? ''),
        remove,
      );
      return sure ? removeInteractively(task, false) : undefined;
    },

    'taskWorktrees.deleteTask': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState !== 'present', vscode.l10n.t('Task to delete'));
      if (!task) return undefined;
      if (invocation.interactive) {
        const sure = await prompts.confirm(
          vscode.l10n.t('Delete task "{0}"?', task.subject),
          vscode.l10n.t('Only the task record is deleted; its branch {0} stays.', task.branch ?? vscode.l10n.t('(none)')),
          vscode.l10n.t('Delete Task'),
        );
        if (!sure) return undefined;
      }
      await service().deleteTask(task.id);
      return { deleted: task.id };
    },

    'taskWorktrees.prune': async ({ interactive }) => {
      const unbound = await withProgress(vscode.l10n.t('Pruning…'), () => service().prune());
      if (interactive) {
        void vscode.window.showInformationMessage(
          unbound.length ? vscode.l10n.t('Pruned missing worktrees; unbound tasks: {0}. Their branches are kept.', unbound.join(', ')) : vscode.l10n.t('Pruned: no task pointed at a missing worktree.'),
        );
      }
      return { unbound };
    },

    'taskWorktrees.repairWorktree': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'missing', vscode.l10n.t('Task whose missing worktree to repair'));
      if (!task) return undefined;
      const repaired = await withProgress(vscode.l10n.t('Repairing worktree…'), () => service().repairWorktree(task.id));
      if (invocation.interactive) {
        void vscode.window.showInformationMessage(
          repaired.worktreePath
            ? vscode.l10n.t('Recreated the worktree of "{0}" from {1}.', task.subject, repaired.branch ?? '')
            : vscode.l10n.t('The branch of "{0}" is gone or checked out elsewhere: the task was unbound from its missing worktree.', task.subject),
        );
      }
      return repaired;
    },

    'taskWorktrees.showEvents': async ({ interactive }) => {
      const { events, unreadable } = await service().events();
      if (!interactive) return events;
      const content = events.map((event) => JSON.stringify(event)).join('\n') + (unreadable ? `\n// ${vscode.l10n.t('{0} unreadable line(s) skipped', unreadable)}\n` : '\n');
      const document = await vscode.workspace.openTextDocument({ content, language: 'jsonl' });
      await vscode.window.showTextDocument(document, { preview: true });
      return undefined;
    },

    'taskWorktrees.listTasks': async () => (await service().board()).tasks,

    'taskWorktrees.refresh': async () => tree.refresh(),

    'taskWorktrees.showLog': async () => log.show(),

    'taskWorktrees.taskActions': async () => {
      const folder = session.folder;
      const task = folder && (await service().taskAt(folder.fsPath));
      if (!task) return undefined;
      const actions: Array<{ label: string; command: string }> = [
        { label: vscode.l10n.t('$(person) Claim Task'), command: 'taskWorktrees.claimTask' },
        { label: vscode.l10n.t('$(check) Complete Task'), command: 'taskWorktrees.completeTask' },
        { label: vscode.l10n.t('$(git-merge) Merge into {0}', task.baseBranch), command: 'taskWorktrees.mergeTask' },
        { label: vscode.l10n.t('$(terminal) Open Terminal in Worktree'), command: 'taskWorktrees.openTerminal' },
        { label: vscode.l10n.t('$(list-tree) Show Board'), command: 'taskWorktrees.tasks.focus' },
      ];
      const picked = await vscode.window.showQuickPick(actions, { placeHolder: task.subject });
      if (!picked) return undefined;
      const view = (await service().board()).tasks.find((candidate) => candidate.id === task.id);
      return vscode.commands.executeCommand(picked.command, view ? new TaskNode(view) : undefined);
    },
  };

  /** After a merge from the board: remove the worktree and the merged branch, per setting. */
  const cleanUpAfterMerge = async (task: Task): Promise<void> => {
    const setting = readSettings().deleteBranchAfterMerge;
    if (setting === 'never') return;
    let deleteBranch = true;
    if (setting === 'ask') {
      const both = task.worktreePath ? vscode.l10n.t('Remove Worktree and Branch') : vscode.l10n.t('Delete Branch');
      const worktreeOnly = vscode.l10n.t('Remove Worktree Only');
      const choice = await vscode.window.showInformationMessage(
        vscode.l10n.t('"{0}" is merged. Clean up its worktree and branch {1}?', task.subject, task.branch ?? ''),
        { modal: true },
        ...(task.worktreePath ? [both, worktreeOnly] : [both]),
      );
      if (!choice) return;
      deleteBranch = choice === both;
    }
    if (task.worktreePath) await removeInteractively(task, deleteBranch);
    else if (deleteBranch && task.branch) await service().deleteTaskBranch(task.id);
  };

  for (const [id, handler] of Object.entries(handlers)) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (arg?: unknown) => {
        const invocation = toInvocation(arg);
        try {
          return await handler(invocation);
        } catch (error) {
          log.error(`${id} failed: ${(error as Error).message}`);
          if (!invocation.interactive) throw error;
          void showError(error as Error, log);
          return undefined;
        }
      }),
    );
  }
}

function toInvocation(arg: unknown): Invocation {
  if (arg instanceof TaskNode || arg instanceof WorktreeNode || arg instanceof UnassignedWorktreeNode) {
    return { args: {}, node: arg, interactive: true };
  }
  if (arg && typeof arg === 'object' && !(arg instanceof vscode.Uri)) {
    return { args: arg as Args, node: undefined, interactive: false };
  }
  return { args: {}, node: undefined, interactive: true };
}

/** What callers outside get: the task's fields that matter, not the whole internal result. */
function publicMergeResult(result: MergeResult): { merged: boolean; commit?: string; conflicts?: string[]; cleanupError?: string } {
  return { merged: result.merged, commit: result.commit, conflicts: result.conflicts, cleanupError: result.cleanupError };
}

async function showError(error: Error, log: vscode.LogOutputChannel): Promise<void> {
  const details = error instanceof TaskWorktreesError && error.details.length ? ` (${error.details.slice(0, 5).join(', ')}${error.details.length > 5 ? ', …' : ''})` : '';
  const showLog = vscode.l10n.t('Show Log');
  const choice = await vscode.window.showErrorMessage(`${error.message}${details}`, showLog);
  if (choice === showLog) log.show();
}
