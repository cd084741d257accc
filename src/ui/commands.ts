import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { mergeTouches, publicAgent, publicMergeResult, TaskWorktreesApi, unsavedEditorsIn } from '../api';
import { isCoded, LossReport, MergeStrategy, Task, TaskService, TaskView, TaskWorktreesError } from '../core';
import { hasLoss } from '../core/safety';
import * as agentPrompts from './agentPrompts';
import { AgentRun, Agents } from './agents';
import { isClaimable, watchBoardContext } from './contextKeys';
import { EventsView } from './eventsView';
import { describeError, lossDetail } from './flowText';
import * as prompts from './prompts';
import { Session } from './session';
import { readSettings, settingsFolder } from './settings';
import { registerCommand, showError } from './commandRunner';
import { AgentNode, isTreeNode, statusLabel, TaskNode, TasksTreeProvider, TreeNode, UnassignedWorktreeNode, WorktreeNode } from './tasksView';
import { taskEnvironment } from './taskEnvironment';
import { isSetByUser, locationOrder, needsLocationChoice } from './worktreeLocation';
import { askBeforeRemovingFromOpenWindows } from './windowPresence';

type Args = Record<string, unknown>;
type ApiMethod = (input: never) => Promise<unknown>;

/**
 * How a command was called from the palette, the tree or the status bar: it asks, confirms
 * destructive steps in modals, and shows errors. Called with an argument object (keybindings,
 * other extensions, agents, tests) a command is the API's method of the same name instead: it
 * never prompts, returns its result and throws errors carrying `code`.
 */
interface Invocation {
  node: TreeNode | undefined;
}

type Handler = (invocation: Invocation) => Promise<unknown>;

/** Commands about this window or its agents, not about a repository: they never ask which. */
const WITHOUT_REPOSITORY = new Set(['taskWorktrees.showLog', 'taskWorktrees.refresh', 'taskWorktrees.showAgentTerminal', 'taskWorktrees.stopAgent', 'taskWorktrees.taskActions']);

export function registerCommands(
  context: vscode.ExtensionContext,
  session: Session,
  tree: TasksTreeProvider,
  log: vscode.LogOutputChannel,
  api: TaskWorktreesApi,
  agents: Agents,
): void {
  // The repository of the command being run: its tree item's, or the one picked (see the registration below).
  const service = (): TaskService => session.service;
  /** The settings as the command's repository's folder sets them (multi-root: each folder may differ). */
  const scope = (): vscode.Uri | undefined => settingsFolder(session);

  /** The task a command is about: from the tree node, or a pick (titled `title`) among the board's tasks; `none` says why none fits. */
  const resolveTask = async ({ node }: Invocation, filter: (task: TaskView) => boolean, title: string, none?: string, placeHolder?: string): Promise<Task | undefined> => {
    if (node instanceof TaskNode || node instanceof WorktreeNode) return node.task;
    const board = await service().board();
    return prompts.pickTask(board.tasks.filter(filter), title, none, placeHolder);
  };

  const events = new EventsView(service);
  context.subscriptions.push(events, session.onDidChange(() => events.refresh()), watchBoardContext(tree.onDidRenderBoard));

  const lossLabels = {
    kind: { changed: vscode.l10n.t('changed'), untracked: vscode.l10n.t('new, never committed'), conflicted: vscode.l10n.t('conflicted') },
    detached: (commit: string) => vscode.l10n.t('commit {0} on a detached HEAD, on no branch', commit),
    operation: (operation: string) => vscode.l10n.t('a {0} in progress', operation),
    more: (count: number) => vscode.l10n.t('… and {0} more', count),
  };

  /** What the task's worktree holds that is not on its branch, asked of the core's safety inspector. */
  const lossIn = async (task: Task): Promise<LossReport | undefined> => {
    const report = await service().lossReport(task.id);
    return report && hasLoss(report) ? report : undefined;
  };

  /** A failure a person should see: logged first with its code and git's output, then shown without a stack. */
  const reportFailure = (id: string, error: unknown): void => {
    log.error(`${id} failed: ${describeError(error)}`);
    void showError(error, log);
  };

  /**
   * Delete Task acts only on tasks without a worktree on disk; the pick (or the message when none
   * is left) names the tasks it leaves out and why.
   */
  const resolveDeletable = async ({ node }: Invocation): Promise<Task | undefined> => {
    const withWorktree = node instanceof TaskNode || node instanceof WorktreeNode ? [] : (await service().board()).tasks.filter((task) => task.worktreeState === 'present');
    const leftOut = withWorktree.length
      ? vscode.l10n.t('Left out, as they have a worktree (remove it first): {0}', withWorktree.map((task) => task.subject).join(', '))
      : undefined;
    const task = await resolveTask(
      { node },
      (candidate) => candidate.worktreeState !== 'present',
      vscode.l10n.t('Delete Task'),
      leftOut ?? vscode.l10n.t('There is no task to delete.'),
      leftOut,
    );
    if (task && 'worktreeState' in task && task.worktreeState === 'present') {
      void vscode.window.showInformationMessage(vscode.l10n.t('"{0}" has a worktree: remove it first, then delete the task.', task.subject));
      return undefined;
    }
    return task;
  };

  /** Unsaved editors in the worktrees an action touches: saved on request, or the action is dropped. */
  const saveEditorsFirst = async (worktrees: readonly string[], why: string): Promise<boolean> => {
    const unsaved = unsavedEditorsIn(worktrees);
    if (unsaved.length === 0) return true;
    const save = vscode.l10n.t('Save All and Continue');
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t('{0} file(s) have unsaved changes in an editor.', unsaved.length),
      { modal: true, detail: `${prompts.listForModal(unsaved.map((document) => vscode.workspace.asRelativePath(document.uri)))}\n\n${why}` },
      save,
    );
    if (choice !== save) return false;
    return (await Promise.all(unsaved.map((document) => document.save()))).every(Boolean);
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
    // The new task is selected on the board, so what was just made is where the eye is.
    void tree.reveal(task.id, service());
    const choice = readSettings().afterCreate;
    if (choice === 'newWindow' || choice === 'currentWindow') {
      await openTask(task, choice);
      return;
    }
    if (choice === 'nothing') return;
    // Offered, not awaited: the command is done whether or not the notification is answered.
    const open = vscode.l10n.t('Open in New Window');
    void vscode.window.showInformationMessage(vscode.l10n.t('Task "{0}" is ready in {1} on {2}.', task.subject, task.worktreePath!, task.branch!), open).then(async (picked) => {
      try {
        if (picked === open) await openTask(task, 'newWindow');
      } catch (error) {
        // The command has returned: its wrapper no longer catches this.
        reportFailure('taskWorktrees.openTask', error);
      }
    });
  };

  /** The agent a command is about: from its tree row, or a pick among the running ones. */
  const resolveAgent = async ({ node }: Invocation, title: string): Promise<AgentRun | undefined> =>
    node instanceof AgentNode ? node.run : agentPrompts.pickRunningAgent(agents.running(), title);

  /** Removal with the safety dialog: a refusal listing unsaved work becomes a modal "Remove Anyway". */
  const removeInteractively = async (task: Task, deleteBranch: boolean): Promise<Task | undefined> => {
    if (
      task.worktreePath &&
      !(await agentPrompts.noAgentsRunning(
        agents.runningIn([task.worktreePath]),
        vscode.l10n.t('An agent is still working in the worktree of "{0}".', task.subject),
        vscode.l10n.t('Removing the worktree would delete its files from under the agent. Stop it, or let it finish, first.'),
      ))
    ) {
      return undefined;
    }
    if (task.worktreePath && !(await saveEditorsFirst([task.worktreePath], vscode.l10n.t('Saved files still count as uncommitted work: the removal checks them next.')))) return undefined;
    const evenIfOpenElsewhere = askBeforeRemovingFromOpenWindows(task.subject);
    try {
      return await evenIfOpenElsewhere((evenIfOpen) => withProgress(vscode.l10n.t('Removing worktree…'), () => service().removeWorktree(task.id, { deleteBranch, evenIfOpen })));
    } catch (error) {
      if (!isCoded(error, 'WorktreeDirty')) throw error;
      const loss = await lossIn(task);
      const sure = await prompts.confirmLoss(
        vscode.l10n.t('The worktree of "{0}" has work that would be lost.', task.subject),
        `${loss ? lossDetail(loss, lossLabels) : prompts.listForModal(error.details)}\n\n${vscode.l10n.t('Removing it deletes these changes for good. Keep Worktree (the default) changes nothing.')}`,
        vscode.l10n.t('Remove Anyway'),
      );
      if (!sure) return undefined;
      return evenIfOpenElsewhere((evenIfOpen) => withProgress(vscode.l10n.t('Removing worktree…'), () => service().removeWorktree(task.id, { force: true, deleteBranch, evenIfOpen })));
    }
  };

  /**
   * Before a repository's first task, where its worktrees go — unless the person set
   * `taskWorktrees.worktreeRoot`. Undefined: nothing to ask (the settings seed the layout); null: Escape.
   */
  const askLocationOnFirstCreate = async (): Promise<string | undefined | null> => {
    const { store, mainWorktree } = service();
    const rootSetting = vscode.workspace.getConfiguration('taskWorktrees', scope()).inspect('worktreeRoot');
    // A damaged config.json counts as recorded: the create then stops on it (StoreCorrupt) rather than asking first.
    if (!needsLocationChoice(existsSync(store.configFile), isSetByUser(rootSetting))) return undefined;
    return (await prompts.askWorktreeLocation(basename(mainWorktree), store.configFile, locationOrder(vscode.env.remoteName))) ?? null;
  };

  const handlers: Record<string, Handler> = {
    'taskWorktrees.createTask': async () => {
      const worktreeRoot = await askLocationOnFirstCreate();
      if (worktreeRoot === null) return undefined;
      const configuredBase = readSettings(scope()).defaultBaseBranch;
      // The preview shows the folder in the chosen root; the answer is this create's input alone, never the window's setting.
      const named = await prompts.askNewTask(await service().idContext({ worktreeRoot }), configuredBase ? 2 : 3);
      if (!named) return undefined;
      const [branches, current] = await Promise.all([service().localBranches(), service().currentBranch()]);
      const baseBranch = configuredBase || (await prompts.askBaseBranch(branches, current));
      if (!baseBranch) return undefined;
      const task = await withProgress(vscode.l10n.t('Creating task and worktree…'), () =>
        service().createTask({ ...named, baseBranch, createWorktree: true, worktreeRoot }),
      );
      await afterCreate(task);
      return task;
    },

    'taskWorktrees.createWorktree': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'none', vscode.l10n.t('Create Worktree for a Task'), vscode.l10n.t('Every task has a worktree already.'));
      if (!task) return undefined;
      const created = await withProgress(vscode.l10n.t('Creating worktree…'), () => service().createWorktree(task.id));
      await afterCreate(created);
      return created;
    },

    'taskWorktrees.assignWorktree': async (invocation) => {
      const { node } = invocation;
      const board = await service().board();
      if (node instanceof UnassignedWorktreeNode) {
        // Adopting a worktree made outside: into an existing task without one, or a new task the person names.
        const protection = node.entry.branch && (await service().branchProtections()).get(node.entry.branch);
        if (protection) {
          void vscode.window.showWarningMessage(vscode.l10n.t('{0} cannot be adopted: {1}, and a task\'s branch must be its own.', node.entry.path, protection));
          return undefined;
        }
        const newTask = { label: vscode.l10n.t('$(add) New task for this worktree'), task: undefined as TaskView | undefined };
        const picked = await vscode.window.showQuickPick(
          [newTask, ...board.tasks.filter((task) => task.worktreeState === 'none').map((task) => ({ label: task.subject, description: task.id, task }))],
          { title: vscode.l10n.t('Adopt {0}', node.entry.path), placeHolder: vscode.l10n.t('A new task, or a task without a worktree') },
        );
        if (!picked) return undefined;
        let task: Task | undefined = picked.task;
        if (!task) {
          const subject = await prompts.askAdoptedSubject(node.entry);
          if (!subject) return undefined;
          task = await service().createTask({ subject, baseBranch: await service().currentBranch() });
        }
        return service().assignWorktree(task.id, { worktreePath: node.entry.path });
      }
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'none', vscode.l10n.t('Assign Existing Worktree/Branch'), vscode.l10n.t('Every task has a worktree already.'));
      if (!task) return undefined;
      const [branches, protections] = await Promise.all([service().localBranches(), service().branchProtections(task.id)]);
      const target = await prompts.pickAssignTarget(task, board.unassigned, branches, protections);
      if (!target) return undefined;
      return withProgress(vscode.l10n.t('Assigning…'), () => service().assignWorktree(task.id, target));
    },

    'taskWorktrees.openTask': async (invocation) => {
      if (invocation.node instanceof UnassignedWorktreeNode) {
        await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(invocation.node.entry.path), { forceNewWindow: true });
        return { opened: invocation.node.entry.path };
      }
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'present', vscode.l10n.t('Open Task in New Window'), vscode.l10n.t('No task has a worktree to open.'));
      if (!task) return undefined;
      return openTask(task, 'newWindow');
    },

    'taskWorktrees.openTaskHere': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'present', vscode.l10n.t('Open Task in This Window'), vscode.l10n.t('No task has a worktree to open.'));
      return task && openTask(task, 'currentWindow');
    },

    'taskWorktrees.openTerminal': async (invocation) => {
      if (invocation.node instanceof UnassignedWorktreeNode) {
        const { entry } = invocation.node;
        const terminal = vscode.window.createTerminal({ name: vscode.l10n.t('Worktree: {0}', entry.branch ?? entry.path), cwd: entry.path, iconPath: new vscode.ThemeIcon('repo-forked') });
        terminal.show();
        return { terminal: terminal.name };
      }
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'present', vscode.l10n.t('Open Terminal in a Task\'s Worktree'), vscode.l10n.t('No task has a worktree to open.'));
      if (!task?.worktreePath) return undefined;
      const terminal = vscode.window.createTerminal({ name: vscode.l10n.t('Task: {0}', task.id), cwd: task.worktreePath, env: taskEnvironment(task), iconPath: new vscode.ThemeIcon('git-branch') });
      terminal.show();
      return { terminal: terminal.name };
    },

    'taskWorktrees.revealInExplorer': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'present', vscode.l10n.t('Reveal a Task\'s Worktree'), vscode.l10n.t('No task has a worktree to open.'));
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
      const task = await resolveTask(invocation, isClaimable, vscode.l10n.t('Claim Task'), vscode.l10n.t('No task can be claimed: each is completed, blocked or claimed already.'));
      if (!task) return undefined;
      if (task.status === 'in_progress' && task.owner) {
        void vscode.window.showInformationMessage(vscode.l10n.t('"{0}" is claimed by {1}. They hand it back by setting it to Pending.', task.subject, task.owner));
        return undefined;
      }
      const owner = await prompts.askOwner(task, await service().gitUserName());
      return owner === undefined ? undefined : service().setStatus(task.id, 'in_progress', owner);
    },

    'taskWorktrees.setStatus': async (invocation) => {
      const task = await resolveTask(invocation, () => true, vscode.l10n.t('Set Task Status'));
      if (!task) return undefined;
      const status = await prompts.pickStatus(task);
      return status && service().setStatus(task.id, status);
    },

    'taskWorktrees.setBlockedBy': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.status !== 'completed', vscode.l10n.t('Set What a Task Waits On'), vscode.l10n.t('Every task is completed.'));
      if (!task) return undefined;
      const board = await service().board();
      const blockedBy = await prompts.pickBlockers(task, board.tasks);
      return blockedBy && service().setBlockedBy(task.id, blockedBy);
    },

    'taskWorktrees.completeTask': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.status !== 'completed', vscode.l10n.t('Complete Task'), vscode.l10n.t('Every task is completed.'));
      return task && service().completeTask(task.id);
    },

    'taskWorktrees.mergeTask': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => !!candidate.branch, vscode.l10n.t('Merge Task into Its Base'), vscode.l10n.t('No task has a branch to merge.'));
      if (!task) return undefined;
      const strategy: MergeStrategy = readSettings(scope()).mergeStrategy;
      const touches = await mergeTouches(service(), task.id);
      if (!(await saveEditorsFirst(touches, vscode.l10n.t('The merge needs the task\'s work committed and the base\'s files saved.')))) return undefined;
      // Checked before asking: a confirmation followed by "commit first" wastes the person's yes.
      const uncommitted = await lossIn(task);
      if (uncommitted) {
        const openWorktree = vscode.l10n.t('Open Task Worktree');
        const choice = await vscode.window.showWarningMessage(
          vscode.l10n.t('"{0}" has work that is not committed to {1}; nothing was merged.', task.subject, task.branch!),
          { modal: true, detail: `${lossDetail(uncommitted, lossLabels)}\n\n${vscode.l10n.t('Commit it on the task\'s branch (or discard it), then merge again.')}` },
          openWorktree,
        );
        if (choice === openWorktree) await openTask(task, 'newWindow');
        return undefined;
      }
      const noAgents = await agentPrompts.noAgentsRunning(
        agents.runningIn(touches),
        vscode.l10n.t('An agent is still working on "{0}" or its base.', task.subject),
        vscode.l10n.t('A merge now would land only what is committed so far, and change files the agent is working on. Stop it, or let it finish, first.'),
      );
      if (!noAgents) return undefined;
      const merge = vscode.l10n.t('Merge');
      const commits = await service().commitsToMerge(task.id);
      const sure = await prompts.confirm(
        vscode.l10n.t('Merge "{0}" into {1}?', task.subject, task.baseBranch),
        vscode.l10n.t(
          '{0} commit(s) of {1} land on {2} as {3}. A conflict is reported before anything changes.',
          commits,
          task.branch!,
          task.baseBranch,
          strategy === 'squash' ? vscode.l10n.t('one squashed commit (strategy: squash)') : vscode.l10n.t('a merge commit (strategy: merge)'),
        ),
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
      void vscode.window.showInformationMessage(
        result.nothingToMerge
          ? vscode.l10n.t('"{0}" has nothing that {1} lacks: no commit was made.', task.subject, task.baseBranch)
          : vscode.l10n.t('Merged "{0}" into {1} ({2}).', task.subject, task.baseBranch, result.commit!.slice(0, 10)),
      );
      await cleanUpAfterMerge(result.task);
      return publicMergeResult(result);
    },

    'taskWorktrees.removeWorktree': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState !== 'none', vscode.l10n.t('Remove Task Worktree'), vscode.l10n.t('No task has a worktree.'));
      if (!task) return undefined;
      const remove = vscode.l10n.t('Remove Worktree');
      const sure = await prompts.confirm(
        vscode.l10n.t('Remove the worktree of "{0}"?', task.subject),
        vscode.l10n.t('{0} is deleted from disk. The branch {1} is kept. Uncommitted work is checked first.', task.worktreePath!, task.branch ?? ''),
        remove,
      );
      return sure ? removeInteractively(task, false) : undefined;
    },

    'taskWorktrees.deleteTask': async (invocation) => {
      const task = await resolveDeletable(invocation);
      if (!task) return undefined;
      const sure = await prompts.confirm(
        vscode.l10n.t('Delete task "{0}"?', task.subject),
        vscode.l10n.t('Only the task record is deleted; its branch {0} stays.', task.branch ?? vscode.l10n.t('(none)')),
        vscode.l10n.t('Delete Task'),
      );
      if (!sure) return undefined;
      await service().deleteTask(task.id);
      return { deleted: task.id };
    },

    'taskWorktrees.prune': async () => {
      const board = await service().board();
      if (!board.tasks.some((task) => task.worktreeState === 'missing') && !board.unassigned.some((entry) => entry.prunable)) {
        void vscode.window.showInformationMessage(vscode.l10n.t('Nothing to prune: every worktree git lists is on disk.'));
        return { unbound: [] };
      }
      const unbound = await withProgress(vscode.l10n.t('Pruning…'), () => service().prune());
      void vscode.window.showInformationMessage(
        unbound.length ? vscode.l10n.t('Pruned missing worktrees; unbound tasks: {0}. Their branches are kept.', unbound.join(', ')) : vscode.l10n.t('Pruned: no task pointed at a missing worktree.'),
      );
      return { unbound };
    },

    'taskWorktrees.repairWorktree': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.worktreeState === 'missing', vscode.l10n.t('Repair Task Worktree'), vscode.l10n.t('Nothing to repair: every task\'s worktree is where it should be.'));
      if (!task) return undefined;
      const path = await prompts.askMovedWorktree(task);
      if (path === null) return undefined;
      const repaired = await withProgress(vscode.l10n.t('Repairing worktree…'), () => service().repairWorktree(task.id, { path }));
      void vscode.window.showInformationMessage(
        repaired.worktreePath
          ? vscode.l10n.t('The worktree of "{0}" is at {1} on {2}.', task.subject, repaired.worktreePath, repaired.branch ?? '')
          : vscode.l10n.t('The branch of "{0}" is gone or checked out elsewhere: the task was unbound from its missing worktree.', task.subject),
      );
      return repaired;
    },

    'taskWorktrees.showEvents': async () => events.show(service()),

    'taskWorktrees.listTasks': () => api.listTasks(),

    'taskWorktrees.startAgent': async (invocation) => {
      const task = await resolveTask(invocation, (candidate) => candidate.status !== 'completed', vscode.l10n.t('Start Agent on a Task'), vscode.l10n.t('Every task is completed.'));
      if (!task) return undefined;
      const agent = await agentPrompts.pickAgent(await agents.installedProfiles(), agents.settings().defaultAgent, vscode.l10n.t('Start Agent on "{0}"', task.subject));
      if (!agent) return undefined;
      const run = await withProgress(vscode.l10n.t('Starting {0}…', agent), () => agents.start({ taskId: task.id, agent }, { reveal: true }));
      return publicAgent(run);
    },

    'taskWorktrees.startAgentsOnReadyTasks': async () => {
      const settings = agents.settings();
      const agent = await agentPrompts.pickAgent(await agents.installedProfiles(), settings.defaultAgent, vscode.l10n.t('Start Agents on Ready Tasks'));
      if (!agent) return undefined;
      const tasks = await agents.readyTasks();
      if (tasks.length === 0) {
        const running = agents.running().length;
        void vscode.window.showInformationMessage(
          running >= settings.maxAutoAgents
            ? vscode.l10n.t('{0} agent(s) already running: taskWorktrees.maxAutoAgents is {1}.', running, settings.maxAutoAgents)
            : vscode.l10n.t('No task is ready: pending, unowned and not blocked.'),
        );
        return undefined;
      }
      if (!(await agentPrompts.confirmReadyStarts(agent, tasks))) return undefined;
      const { started, skipped } = await withProgress(vscode.l10n.t('Starting agents…'), () => agents.startOn(tasks, agent));
      started.at(-1)?.terminal.show();
      const message = vscode.l10n.t('Started {0} on: {1}.', agent, started.map((run) => run.taskId).join(', ') || vscode.l10n.t('(none)'));
      if (skipped.length) void vscode.window.showWarningMessage(`${message} ${vscode.l10n.t('Skipped: {0}.', skipped.map((skip) => `${skip.taskId} (${skip.code})`).join(', '))}`);
      else void vscode.window.showInformationMessage(message);
      return { started: started.map(publicAgent), skipped };
    },

    'taskWorktrees.showAgentTerminal': async (invocation) => {
      const run = await resolveAgent(invocation, vscode.l10n.t('Show Agent Terminal'));
      run?.terminal.show();
      return undefined;
    },

    'taskWorktrees.stopAgent': async (invocation) => {
      const run = await resolveAgent(invocation, vscode.l10n.t('Stop Agent'));
      if (!run || run.exit) return undefined;
      const sure = await prompts.confirm(
        vscode.l10n.t('Stop {0} on "{1}"?', run.agent, run.taskId),
        vscode.l10n.t('Its terminal is closed and the program ends. What it committed stays on the branch; uncommitted changes stay in the worktree.'),
        vscode.l10n.t('Stop Agent'),
      );
      if (sure) agents.stop(run);
      return undefined;
    },

    'taskWorktrees.refresh': async () => tree.refresh(),

    'taskWorktrees.showLog': async () => log.show(),

    'taskWorktrees.taskActions': async () => {
      const folder = session.folder;
      // The window's own task is in whichever repository holds its folder.
      const own = folder && session.repositoryContaining(folder.fsPath)?.service;
      const task = folder && own && (await own.taskAt(folder.fsPath));
      if (!own || !task) return undefined;
      const view = (await own.board()).tasks.find((candidate) => candidate.id === task.id);
      const claimedBy = task.status === 'in_progress' && task.owner ? task.owner : undefined;
      const actions: Array<{ label: string; command: string }> = [
        ...(view && isClaimable(view) ? [{ label: vscode.l10n.t('$(person) Claim Task'), command: 'taskWorktrees.claimTask' }] : []),
        { label: vscode.l10n.t('$(check) Complete Task'), command: 'taskWorktrees.completeTask' },
        { label: vscode.l10n.t('$(git-merge) Merge into {0}', task.baseBranch), command: 'taskWorktrees.mergeTask' },
        { label: vscode.l10n.t('$(terminal) Open Terminal in Worktree'), command: 'taskWorktrees.openTerminal' },
        { label: vscode.l10n.t('$(list-tree) Show Board'), command: 'taskWorktrees.tasks.focus' },
      ];
      const picked = await vscode.window.showQuickPick(actions, {
        title: vscode.l10n.t('Task: {0}', task.subject),
        placeHolder: claimedBy ? vscode.l10n.t('{0} · claimed by {1}', statusLabel(task.status), claimedBy) : statusLabel(task.status),
      });
      if (!picked) return undefined;
      return vscode.commands.executeCommand(picked.command, view ? new TaskNode(view, [], { service: own }) : undefined);
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

  // Called with an argument object, a command is the API method of the same name.
  const withArguments: Record<string, ApiMethod> = {
    'taskWorktrees.createTask': api.createTask,
    'taskWorktrees.createWorktree': api.createWorktree,
    'taskWorktrees.assignWorktree': api.assignWorktree,
    'taskWorktrees.claimTask': api.claimTask,
    'taskWorktrees.setStatus': api.setStatus,
    'taskWorktrees.completeTask': api.completeTask,
    'taskWorktrees.setBlockedBy': api.setBlockedBy,
    'taskWorktrees.mergeTask': api.mergeTask,
    'taskWorktrees.removeWorktree': api.removeWorktree,
    'taskWorktrees.deleteTask': api.deleteTask,
    'taskWorktrees.prune': api.prune,
    'taskWorktrees.repairWorktree': api.repairWorktree,
    'taskWorktrees.showEvents': api.events,
    'taskWorktrees.listTasks': api.listTasks,
    'taskWorktrees.startAgent': api.startAgent,
    'taskWorktrees.startAgentsOnReadyTasks': api.startAgentsOnReadyTasks,
    'taskWorktrees.openTask': async (input: Args) => {
      const target = input.target ?? 'newWindow';
      if (target !== 'newWindow' && target !== 'currentWindow') {
        throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('target must be "newWindow" or "currentWindow".'));
      }
      return openTask(await api.getTask(input as { taskId: string }), target);
    },
  };

  for (const [id, handler] of Object.entries(handlers)) {
    // Called with an argument object, the API method of the same name (it checks every field at run time).
    const programmatic = withArguments[id] as ((input: Args) => Promise<unknown>) | undefined;
    context.subscriptions.push(
      registerCommand(id, log, {
        byCode: programmatic,
        byPerson: async (arg) => {
          const node = isTreeNode(arg) ? arg : undefined;
          if (WITHOUT_REPOSITORY.has(id)) return handler({ node });
          return session.inRepositoryOf(node, vscode.l10n.t('Task Worktrees: Choose a Repository'), () => handler({ node }));
        },
      }),
    );
  }
}
