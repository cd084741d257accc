import { join } from 'node:path';
import * as vscode from 'vscode';
import { serialRefresh } from './serialRefresh';
import { publicAgent, AgentInfo } from '../api';
import { ConflictResolution, MergeAttempt, MergeQueueReport, Task, TaskService, TaskView, TaskWorktreesError } from '../core';
import { validateTaskId } from '../core/tasks/ids';
import * as agentPrompts from './agentPrompts';
import { Agents } from './agents';
import { registerCommand, showError } from './commandRunner';
import { describeError } from './flowText';
import { ForecastRows, showForecast } from './forecastView';
import { MergeHistoryProvider, outcomeLabel } from './mergeHistoryView';
import { autoMergeIsSet, autoMergeSetting, ConflictResolver, conflictResolverSetting, mergeGateSetting } from './mergeSettings';
import * as prompts from './prompts';
import { Session } from './session';
import { settingsFolder } from './settings';
import { TaskNode, TasksTreeProvider, WorktreeNode } from './tasksView';

/** At most this many conflicting files are opened as editors at once. */
const MAX_OPENED_FILES = 10;

/**
 * The merge flow's UI: the auto-merge setting written into the repository's config, notifications
 * for auto-merges (from this window, the CLI or an agent), Resolve Conflicts (merge editor or a
 * resolver agent), the Merge Queue and the Merge History view. The core does the merging, under
 * its lock; nothing here runs in an untrusted workspace (the session has no service there).
 */
/** Returns the Merge History view's provider (the host tests read its rows). */
export function registerMerging(context: vscode.ExtensionContext, session: Session, tree: TasksTreeProvider, agents: Agents, log: vscode.LogOutputChannel): MergeHistoryProvider {
  const history = new MergeHistoryProvider(session);
  const historyView = vscode.window.createTreeView('taskWorktrees.mergeHistory', { treeDataProvider: history });
  history.attach(historyView);
  const flow = new MergeFlow(session, agents, log);
  const forecastRows = new ForecastRows(session, tree, log);
  const autoMerge = new AutoMergeWatch(session, log, (taskId) => flow.resolveInteractively(taskId));
  context.subscriptions.push(
    history,
    historyView,
    forecastRows,
    autoMerge,
    session.onDidChange(() => {
      if (historyView.visible) history.refresh();
    }),
    historyView.onDidChangeVisibility(({ visible }) => visible && history.refresh()),
  );

  const taskOf = (arg: unknown): Task | undefined => (arg instanceof TaskNode || arg instanceof WorktreeNode ? arg.task : undefined);
  const commands: Record<string, { interactive: (arg: unknown) => Promise<unknown>; withArguments: (input: Record<string, unknown>) => Promise<unknown> }> = {
    'taskWorktrees.forecast': {
      interactive: async () => {
        const service = session.service;
        const [forecast, board] = await Promise.all([service.forecast(), service.board()]);
        await showForecast(forecast, board, tree);
        return forecast;
      },
      withArguments: async () => session.service.forecast(),
    },
    'taskWorktrees.resolveConflicts': {
      interactive: async (arg) => {
        const task = taskOf(arg) ?? (await pickMergeable(session.service, vscode.l10n.t('Resolve Conflicts')));
        return task && flow.resolveInteractively(task.id);
      },
      withArguments: async (input) => {
        const resolver = input.resolver === undefined ? conflictResolverSetting(settingsFolder(session)) : input.resolver;
        if (resolver !== 'mergeEditor' && resolver !== 'agent') {
          throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"resolver" must be "mergeEditor" or "agent".'));
        }
        if (input.agent !== undefined && typeof input.agent !== 'string') throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"{0}" must be a {1}.', 'agent', 'string'));
        if (typeof input.taskId !== 'string') throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"{0}" must be a {1}.', 'taskId', 'string'));
        return flow.resolve(validateTaskId(input.taskId), resolver, input.agent as string | undefined);
      },
    },
    'taskWorktrees.mergeQueue': {
      interactive: async () => flow.queueInteractively(),
      withArguments: async (input) => session.service.mergeQueue(input.taskIds as string[], { gate: mergeGateSetting(settingsFolder(session)) }),
    },
  };
  for (const [id, { interactive, withArguments }] of Object.entries(commands)) {
    context.subscriptions.push(registerCommand(id, log, { byPerson: interactive, byCode: withArguments }));
  }

  // Each repository's config carries the setting (as its first folder reads it), so a task completed
  // by an agent or the CLI obeys it too. It is written when the setting changes, and when a window
  // opens a repository with the setting set; not on every board change: a task's window, whose folder
  // has its own settings, would otherwise write its own view back over the main window's each time.
  // One round at a time: two overlapping writes could each read the config before the other wrote it.
  let done = new WeakSet<TaskService>();
  let changed = false;
  const writeAutoMerge = serialRefresh(
    async () => {
      if (session.state !== 'ready') return;
      const always = changed;
      changed = false;
      for (const { service, folders } of session.repositories) {
        if (done.has(service) && !always) continue;
        const mode = autoMergeSetting(folders[0]);
        // Writing "off" where nothing was ever written would record the layout before the first task asks where worktrees go.
        if ((always || autoMergeIsSet(folders[0])) && service.autoMergeMode() !== mode) await service.setAutoMerge(mode);
        done.add(service);
      }
    },
    // Not written: the next change of the board or the setting tries again.
    (error) => {
      changed = true;
      log.warn(`could not write the autoMerge setting into a repository's config: ${describeError(error)}`);
    },
  );
  context.subscriptions.push(
    session.onDidChange(() => void writeAutoMerge()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('taskWorktrees.autoMerge')) return;
      changed = true;
      done = new WeakSet();
      void writeAutoMerge();
    }),
  );
  void writeAutoMerge();
  return history;
}

/** Tasks with a branch still to merge. */
async function mergeableTasks(service: TaskService): Promise<TaskView[]> {
  return (await service.board()).tasks.filter((task) => task.branch && !task.merge && task.worktreeState !== 'missing');
}

async function pickMergeable(service: TaskService, title: string): Promise<TaskView | undefined> {
  return prompts.pickTask(await mergeableTasks(service), title, vscode.l10n.t('No task has a branch still to merge.'));
}

class MergeFlow {
  constructor(
    private readonly session: Session,
    private readonly agents: Agents,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Asks (per the setting) how to resolve, prepares the worktree and shows what happened. */
  async resolveInteractively(taskId: string): Promise<unknown> {
    const setting = conflictResolverSetting(settingsFolder(this.session));
    let resolver: Exclude<ConflictResolver, 'ask'>;
    if (setting !== 'ask') resolver = setting;
    else {
      const items: Array<vscode.QuickPickItem & { resolver: Exclude<ConflictResolver, 'ask'> }> = [
        { label: vscode.l10n.t('$(git-merge) Open the Conflicting Files'), description: vscode.l10n.t('resolve them yourself in the task\'s worktree'), resolver: 'mergeEditor' },
        { label: vscode.l10n.t('$(hubot) Start an Agent to Resolve Them'), description: vscode.l10n.t('it resolves, commits and completes the task; the merge is retried'), resolver: 'agent' },
      ];
      const picked = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Resolve Conflicts') });
      if (!picked) return undefined;
      resolver = picked.resolver;
    }
    let agent: string | undefined;
    if (resolver === 'agent') {
      agent = await this.profileFor(await this.session.service.task(taskId));
      agent ??= await agentPrompts.pickAgent(await this.agents.installedProfiles(), this.agents.settings().defaultAgent, vscode.l10n.t('Agent to Resolve the Conflicts'));
      if (!agent) return undefined;
    }
    const result = await this.resolve(taskId, resolver, agent);
    if (result.resolution.files.length === 0) {
      void vscode.window.showInformationMessage(vscode.l10n.t('The base merged into the task\'s branch without a conflict: merge the task again.'));
    } else if (result.agent) {
      void vscode.window.showInformationMessage(
        vscode.l10n.t('{0} is resolving {1} conflicting file(s) in the task\'s worktree; the merge is retried when it completes the task.', result.agent.agent, result.resolution.files.length),
      );
    } else {
      void vscode.window.showInformationMessage(
        vscode.l10n.t('{0} conflicting file(s) are open. Resolve them, commit in the task\'s worktree, then complete or merge the task.', result.resolution.files.length),
      );
    }
    return result;
  }

  /**
   * Merges the base into the task's branch in its worktree (the core refuses a dirty worktree or a
   * running agent there), then opens the conflicting files or starts `agent` on them.
   */
  async resolve(taskId: string, resolver: 'mergeEditor' | 'agent', agentName?: string): Promise<{ resolution: ConflictResolution; agent?: AgentInfo }> {
    const service = this.session.service;
    const task = await service.task(taskId);
    // An agent that cannot start must fail before the worktree is left with conflict markers.
    const agent = resolver === 'agent' ? await this.launchableProfile(agentName ?? (await this.profileFor(task)) ?? this.agents.settings().defaultAgent) : undefined;
    const resolution = await service.prepareConflictResolution(taskId, agent ? { agent } : undefined);
    if (resolution.files.length === 0) return { resolution };
    if (!agent) {
      await openConflicts(resolution, this.log);
      return { resolution };
    }
    // A completed task cannot be claimed: the resolver takes it back, and completes it when done.
    if ((await service.task(taskId)).status !== 'pending') await service.setStatus(taskId, 'pending');
    const run = await this.agents.start({ taskId, agent, prompt: resolverPrompt(task, resolution) }, { reveal: true });
    // A quick resolver can exit before start() returns: its exit is looked for at once, then on each change.
    const settle = (): void => {
      if (!run.exit) return;
      watch.dispose();
      void this.afterResolver(service, taskId, agent);
    };
    const watch = this.agents.onDidChange(settle);
    settle();
    return { resolution, agent: publicAgent(run) };
  }

  /**
   * With auto-merge on, the core retries the merge itself once the agent's exit is recorded; with
   * it off, the merge is retried here, credited to the resolver.
   */
  private async afterResolver(service: TaskService, taskId: string, agent: string): Promise<void> {
    try {
      if (service.autoMergeMode() === 'onComplete') return;
      const task = await service.task(taskId);
      if (task.merge) return;
      if (task.status !== 'completed') {
        void vscode.window.showWarningMessage(vscode.l10n.t('{0} exited without completing "{1}": its worktree is as the agent left it.', agent, task.subject));
        return;
      }
      const result = await service.mergeTask(taskId, { resolvedBy: { agent } });
      if (result.merged) {
        void vscode.window.showInformationMessage(vscode.l10n.t('"{0}", resolved by {1}, is merged into {2}.', task.subject, agent, task.baseBranch));
      } else {
        void vscode.window.showWarningMessage(
          vscode.l10n.t('"{0}" still conflicts with {1} after {2}: {3}. Nothing landed.', task.subject, task.baseBranch, agent, (result.conflicts ?? []).join(', ')),
        );
      }
    } catch (error) {
      this.log.error(`merging ${taskId} after its resolver ${agent} failed: ${describeError(error)}`);
      void showError(error, this.log);
    }
  }

  /** The task's own agent profile: its owner when that names a profile. */
  private async profileFor(task: Task): Promise<string | undefined> {
    return this.agents.settings().profiles.some((profile) => profile.name === task.owner) ? task.owner : undefined;
  }

  private async launchableProfile(name: string): Promise<string> {
    const installed = (await this.agents.installedProfiles()).find((entry) => entry.profile.name === name);
    if (!installed?.executable) {
      throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('The agent "{0}" is not a profile of taskWorktrees.agents whose program is installed.', name));
    }
    return name;
  }

  async queueInteractively(): Promise<MergeQueueReport | undefined> {
    const service = this.session.service;
    const ordered = await pickInOrder(await mergeableTasks(service));
    if (!ordered?.length) return undefined;
    const gate = mergeGateSetting(settingsFolder(this.session, service));
    const subjects = new Map(ordered.map((task) => [task.id, task.subject]));
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Merge Queue'), cancellable: true },
      (progress, token) =>
        service.mergeQueue(
          ordered.map((task) => task.id),
          {
            gate,
            onProgress: ({ taskId, index, total, state }) => {
              const message =
                state === 'merging'
                  ? gate
                    ? vscode.l10n.t('{0}/{1}: gate and merge of "{2}"…', index + 1, total, subjects.get(taskId)!)
                    : vscode.l10n.t('{0}/{1}: merging "{2}"…', index + 1, total, subjects.get(taskId)!)
                  : vscode.l10n.t('{0}/{1}: "{2}" merged', index + 1, total, subjects.get(taskId)!);
              progress.report({ message, increment: state === 'merged' ? 100 / total : 0 });
            },
            isCancelled: () => token.isCancellationRequested,
          },
        ),
    );
    await this.showQueueReport(report, subjects);
    return report;
  }

  private async showQueueReport(report: MergeQueueReport, subjects: Map<string, string>): Promise<void> {
    const merged = report.merged.map((entry) => `"${subjects.get(entry.taskId)}"`).join(', ');
    const stop = report.stoppedAt;
    this.log.info(`merge queue: merged ${report.merged.map((entry) => `${entry.taskId} (${entry.commit.slice(0, 12)})`).join(', ') || 'nothing'}${stop ? `; stopped at ${stop.taskId}: ${stop.reason}` : ''}`);
    if (!stop) {
      void vscode.window.showInformationMessage(vscode.l10n.t('Merge queue done: {0} merged.', merged));
      return;
    }
    if (stop.gateOutput !== undefined) this.log.warn(`merge queue gate on ${stop.taskId} (exit ${stop.gateExitCode ?? 'none'}${stop.gateTimedOut ? ', timed out' : ''}):\n${stop.gateOutput}`);
    const subject = subjects.get(stop.taskId)!;
    const why =
      stop.reason === 'conflict'
        ? vscode.l10n.t('it conflicts with its base in {0}', (stop.files ?? []).join(', '))
        : stop.reason === 'gateFailed'
          ? stop.gateTimedOut
            ? vscode.l10n.t('the gate timed out')
            : vscode.l10n.t('the gate failed (exit {0})', String(stop.gateExitCode ?? '–'))
          : stop.reason === 'cancelled'
            ? vscode.l10n.t('you cancelled')
            : stop.reason === 'baseMoved'
              ? vscode.l10n.t('its base moved meanwhile')
              : vscode.l10n.t('it was refused: {0}', stop.message ?? stop.code ?? '');
    const message = [
      vscode.l10n.t('Merge queue stopped at "{0}": {1}. It and the tasks after it are as they were.', subject, why),
      report.merged.length ? vscode.l10n.t('Merged before it: {0}.', merged) : vscode.l10n.t('Nothing was merged.'),
    ].join(' ');
    const showLog = vscode.l10n.t('Show Log');
    const resolve = vscode.l10n.t('Resolve Conflicts');
    const choice = await vscode.window.showWarningMessage(message, ...(stop.reason === 'conflict' ? [resolve, showLog] : [showLog]));
    if (choice === showLog) this.log.show();
    if (choice === resolve) await this.resolveInteractively(stop.taskId).catch((error) => showError(error, this.log));
  }
}

/** The prompt of a resolver agent: what conflicts, what each side did, and what "done" is. */
export function resolverPrompt(task: Pick<Task, 'id' | 'subject' | 'baseBranch'>, resolution: ConflictResolution): string {
  const list = (items: string[]): string => (items.length ? items.map((item) => `- ${item}`).join('\n') : '- (none)');
  return [
    `Task ${task.id}: ${task.subject}`,
    '',
    `The base branch "${task.baseBranch}" was merged into this task's branch in this worktree and left merge conflicts in:`,
    list(resolution.files),
    '',
    "This task's commits:",
    list(resolution.ours),
    '',
    `The commits on "${task.baseBranch}" since the branches parted:`,
    list(resolution.theirs),
    '',
    'Resolve every conflict so that both sides\' intentions are kept, remove all conflict markers, then',
    `\`git add\` the files and \`git commit\` (this concludes the merge), and complete the task: \`task-worktrees complete ${task.id}\`.`,
  ].join('\n');
}

/**
 * Opens the conflicting files of the task's worktree: the editor marks each conflict with Accept
 * Current / Incoming / Both (the built-in merge-conflict extension works on any file with markers).
 * Git's merge editor is asked for the first file too; it opens only where the git extension tracks
 * that worktree, so it is a bonus, not the way.
 */
async function openConflicts(resolution: ConflictResolution, log: vscode.LogOutputChannel): Promise<void> {
  const uris = resolution.files.slice(0, MAX_OPENED_FILES).map((file) => vscode.Uri.file(join(resolution.worktreePath, file)));
  for (const uri of uris) await vscode.window.showTextDocument(uri, { preview: false, preserveFocus: uri !== uris[0] });
  if (!(await vscode.commands.getCommands(true)).includes('git.openMergeEditor')) return;
  try {
    await vscode.commands.executeCommand('git.openMergeEditor', uris[0]);
  } catch (error) {
    log.debug(`git's merge editor did not open ${uris[0].fsPath}: ${describeError(error)}`);
  }
}

/** A multi-select pick whose result keeps the order in which the tasks were ticked. */
async function pickInOrder(tasks: TaskView[]): Promise<TaskView[] | undefined> {
  if (tasks.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('No task has a branch still to merge.'));
    return undefined;
  }
  const title = vscode.l10n.t('Merge Queue: tick the tasks in the order they should land');
  const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { task: TaskView }>();
  pick.canSelectMany = true;
  pick.title = title;
  pick.placeholder = vscode.l10n.t('Each is merged into its base in turn; a conflict or a failed gate stops the queue');
  pick.items = tasks.map((task) => ({ label: task.subject, description: `${task.branch} → ${task.baseBranch}`, detail: statusDetail(task), task }));
  let order: TaskView[] = [];
  return new Promise((resolve) => {
    pick.onDidChangeSelection((selected) => {
      const ticked = new Set(selected.map((item) => item.task.id));
      order = [...order.filter((task) => ticked.has(task.id)), ...selected.map((item) => item.task).filter((task) => !order.some((kept) => kept.id === task.id))];
      pick.title = order.length ? `${title} — ${order.map((task) => task.subject).join(' → ')}` : title;
    });
    pick.onDidAccept(() => {
      resolve(order);
      pick.hide();
    });
    pick.onDidHide(() => {
      resolve(undefined);
      pick.dispose();
    });
    pick.show();
  });
}

function statusDetail(task: TaskView): string {
  return task.status === 'completed' ? vscode.l10n.t('completed') : task.status === 'in_progress' ? vscode.l10n.t('in progress') : vscode.l10n.t('pending');
}

/**
 * Shows the auto-merges the history gains — made by this window, another window, the CLI or an
 * agent (the board's watcher fires on the store's changes). Attempts already there when the
 * repository opened are not announced.
 */
class AutoMergeWatch implements vscode.Disposable {
  /** Per repository, the attempts already seen: only later ones are announced. */
  private readonly seen = new WeakMap<TaskService, Set<string>>();
  private readonly subscription: vscode.Disposable;
  private readonly check = serialRefresh(
    () => this.announceNew(),
    (error) => this.log.warn(`could not read the merge history: ${describeError(error)}`),
  );

  constructor(
    private readonly session: Session,
    private readonly log: vscode.LogOutputChannel,
    private readonly resolve: (taskId: string) => Promise<unknown>,
  ) {
    this.subscription = session.onDidChange(() => void this.check());
    void this.check();
  }

  private async announceNew(): Promise<void> {
    if (this.session.state !== 'ready') return;
    const key = (attempt: MergeAttempt): string => `${attempt.at}\0${attempt.taskId}\0${attempt.outcome}\0${attempt.via}`;
    for (const { service } of this.session.repositories) {
      const { entries } = await service.mergeHistory();
      const seen = this.seen.get(service);
      if (!seen) {
        this.seen.set(service, new Set(entries.map(key)));
        continue;
      }
      const fresh = entries.filter((attempt) => !seen.has(key(attempt)));
      fresh.forEach((attempt) => seen.add(key(attempt)));
      for (const attempt of fresh.filter((candidate) => candidate.via === 'autoMerge')) void this.announce(service, attempt);
    }
  }

  private async announce(service: TaskService, attempt: MergeAttempt): Promise<void> {
    // Refused while the completing agent still runs: the core retries as it exits, and that attempt is announced.
    if (attempt.outcome === 'aborted' && attempt.reason === 'AgentRunning') return;
    const subject = await service.task(attempt.taskId).then(
      (task) => task.subject,
      () => attempt.taskId,
    );
    if (attempt.outcome === 'clean' || attempt.outcome === 'resolvedByAgent' || attempt.outcome === 'resolvedByHand' || attempt.outcome === 'nothingToMerge') {
      void vscode.window.showInformationMessage(vscode.l10n.t('Auto-merge: "{0}" is merged into {1} ({2}).', subject, attempt.base, outcomeLabel(attempt.outcome)));
      return;
    }
    if (attempt.outcome === 'conflict') {
      const action = vscode.l10n.t('Resolve Conflicts');
      const choice = await vscode.window.showWarningMessage(
        vscode.l10n.t('Auto-merge: "{0}" conflicts with {1} in {2}. Nothing landed.', subject, attempt.base, (attempt.files ?? []).join(', ')),
        action,
      );
      if (choice === action) await this.session.inRepositoryOf({ service }, action, () => this.resolve(attempt.taskId)).catch((error) => showError(error, this.log));
      return;
    }
    const showLog = vscode.l10n.t('Show Log');
    const reason = attempt.reason ?? outcomeLabel(attempt.outcome);
    const choice = await vscode.window.showWarningMessage(vscode.l10n.t('Auto-merge of "{0}" did not run ({1}). Nothing landed.', subject, reason), showLog);
    if (choice === showLog) this.log.show();
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
