import * as vscode from 'vscode';
import { canonicalPath, Task, TaskService, TaskView, TaskWorktreesError } from '../core';
import { validateTaskId } from '../core/tasks/ids';
import { agentEnvironment, AgentProfile, launchArgs, parseProfiles, resolveExecutable, runsThroughShell, taskPrompt } from './agentLaunch';

export interface AgentSettings {
  profiles: AgentProfile[];
  defaultAgent: string;
  /** At most this many of this window's agents run at once after Start Agents on Ready Tasks. */
  maxAutoAgents: number;
}

/** One agent program started on a task in this window. */
export interface AgentRun {
  /** The main worktree of the task's repository: with the task id, what names the task (ids repeat across repositories). */
  readonly repository: string;
  readonly taskId: string;
  readonly agent: string;
  readonly executable: string;
  readonly worktreePath: string;
  readonly terminal: vscode.Terminal;
  readonly startedAt: Date;
  /** The program's process (it is the terminal's); recorded in the store while it runs. */
  pid?: number;
  /** Only where shell integration reports executions; a program run directly has none. */
  lastOutputAt?: Date;
  exit?: { code: number | undefined; reason: string; at: Date };
}

interface TrackedRun extends AgentRun {
  /** The repository it was started in: its exit is logged there even if the window moved on. */
  readonly service: TaskService;
}

export interface InstalledProfile {
  profile: AgentProfile;
  /** The program the profile runs, resolved on PATH; undefined when it is not installed. */
  executable: string | undefined;
}

export interface ReadyStarts {
  started: AgentRun[];
  /** Tasks that were ready but could not be started, with the refusal's code. */
  skipped: Array<{ taskId: string; code: string; message: string }>;
}

const EXIT_REASONS: Record<vscode.TerminalExitReason, string> = {
  [vscode.TerminalExitReason.Unknown]: 'unknown',
  [vscode.TerminalExitReason.Shutdown]: 'shutdown',
  [vscode.TerminalExitReason.Process]: 'process',
  [vscode.TerminalExitReason.User]: 'user',
  [vscode.TerminalExitReason.Extension]: 'extension',
};

/**
 * The coding agents this window started: each runs directly (no shell) in a terminal whose cwd is
 * its task's worktree. Tracks them from start to exit, logs both to the task's events, and answers
 * whether one still runs in a worktree (remove and merge refuse then).
 */
export class Agents implements vscode.Disposable {
  private readonly runs: TrackedRun[] = [];
  /** Tasks (by taskKey) between "start" and a running terminal: a second start on them is refused. */
  private readonly starting = new Set<string>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[];
  private reportedProblems = '';

  constructor(
    private readonly service: () => TaskService,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables = [
      this.changed,
      vscode.window.onDidCloseTerminal((terminal) => void this.onClosed(terminal)),
      vscode.window.onDidStartTerminalShellExecution((event) => void this.onExecution(event)),
    ];
  }

  /**
   * The runs on one task, newest first. `service` (the task's repository's) tells apart tasks of
   * the same id in two repositories; without it, that id's runs in any repository.
   */
  forTask(taskId: string, service?: TaskService): AgentRun[] {
    return this.runs.filter((run) => run.taskId === taskId && (!service || run.repository === service.mainWorktree)).reverse();
  }

  all(): AgentRun[] {
    return [...this.runs];
  }

  running(): AgentRun[] {
    return this.runs.filter((run) => !run.exit);
  }

  /** This window's agents still running in any of `worktrees`. */
  runningIn(worktrees: readonly string[]): AgentRun[] {
    const roots = new Set(worktrees.map((path) => canonicalPath(path)));
    return this.running().filter((run) => roots.has(canonicalPath(run.worktreePath)));
  }

  settings(): AgentSettings {
    const config = vscode.workspace.getConfiguration('taskWorktrees');
    const { profiles, problems } = parseProfiles(config.get<unknown>('agents', []));
    // Said once per distinct mistake, not on every read.
    const said = problems.join('\n');
    if (said && said !== this.reportedProblems) this.log.warn(`taskWorktrees.agents: ${problems.join('; ')}`);
    this.reportedProblems = said;
    return {
      profiles,
      defaultAgent: config.get<string>('defaultAgent', ''),
      maxAutoAgents: config.get<number>('maxAutoAgents', 2),
    };
  }

  /** Every profile with the program it would run, for the picker. */
  async installedProfiles(): Promise<InstalledProfile[]> {
    return Promise.all(this.settings().profiles.map(async (profile) => ({ profile, executable: await executableOf(profile) })));
  }

  /**
   * Starts `agent` (default: the `defaultAgent` setting) on a task: makes its worktree if it has
   * none, claims it in the agent's name and runs the agent there with the task as its first prompt.
   */
  async start(input: { taskId: string; agent?: string; prompt?: string }, options: { reveal?: boolean } = {}): Promise<AgentRun> {
    validateTaskId(input.taskId);
    if (input.prompt?.includes('\0')) throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('A prompt cannot contain NUL characters.'));
    const launchable = await this.launchable(input.agent);
    const service = this.service();
    const key = taskKey(service.mainWorktree, input.taskId);
    this.refuseBusy(key, input.taskId);
    this.starting.add(key);
    try {
      const view = (await service.board()).tasks.find((task) => task.id === input.taskId);
      refuseUnstartable(input.taskId, view);
      if (view.worktreeState === 'none') await service.createWorktree(view.id);
      // Claiming checks the blockers again, under the repository lock.
      const claimed = await service.setStatus(view.id, 'in_progress', launchable.profile.name);
      return await this.launch(service, claimed, launchable, input.prompt ?? taskPrompt(claimed), options.reveal ?? false);
    } finally {
      this.starting.delete(key);
    }
  }

  /**
   * The oldest ready tasks (pending, unowned, unblocked, not missing their worktree) that fit under
   * `max` running agents of this window (default: the `maxAutoAgents` setting).
   */
  async readyTasks(max?: number): Promise<TaskView[]> {
    const limit = max ?? this.settings().maxAutoAgents;
    if (!Number.isInteger(limit) || limit < 1) throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"max" must be a whole number of at least 1.'));
    const free = limit - this.running().length;
    if (free <= 0) return [];
    const service = this.service();
    const { tasks } = await service.board();
    return tasks
      .filter((task) => task.ready && task.worktreeState !== 'missing' && !this.isBusy(taskKey(service.mainWorktree, task.id)))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
      .slice(0, free);
  }

  /** Starts one agent per task, each in its own worktree; a task that refuses is skipped, not fatal. */
  async startOn(tasks: readonly TaskView[], agent?: string): Promise<ReadyStarts> {
    const { profile } = await this.launchable(agent); // an agent that is not installed fails before any task moves
    const result: ReadyStarts = { started: [], skipped: [] };
    for (const task of tasks) {
      try {
        result.started.push(await this.start({ taskId: task.id, agent: profile.name }));
      } catch (error) {
        const code = error instanceof TaskWorktreesError ? error.code : 'Error';
        this.log.warn(`not starting ${profile.name} on ${task.id}: ${code}: ${(error as Error).message}`);
        result.skipped.push({ taskId: task.id, code, message: (error as Error).message });
      }
    }
    return result;
  }

  /** Ends the agent's program (its terminal closes); its exit is logged like any other. */
  stop(run: AgentRun): void {
    run.terminal.dispose();
  }

  private async launchable(agent: string | undefined): Promise<{ profile: AgentProfile; executable: string }> {
    const { profiles, defaultAgent } = this.settings();
    const name = agent ?? defaultAgent;
    const profile = profiles.find((candidate) => candidate.name === name);
    if (!profile) {
      throw new TaskWorktreesError(
        'InvalidInput',
        vscode.l10n.t('There is no agent "{0}" in the setting taskWorktrees.agents (there are: {1}).', name, profiles.map((candidate) => candidate.name).join(', ')),
      );
    }
    const executable = await executableOf(profile);
    if (!executable) {
      throw new TaskWorktreesError(
        'InvalidInput',
        vscode.l10n.t('The agent "{0}" runs "{1}", which is not an executable program on PATH. Install it, or give its absolute path in taskWorktrees.agents.', profile.name, profile.command),
      );
    }
    if (runsThroughShell(executable)) {
      throw new TaskWorktreesError(
        'InvalidInput',
        vscode.l10n.t('The agent "{0}" runs {1}, a batch file: Windows would pass the task\'s text through cmd.exe. Point its command at the program itself (e.g. node.exe with the script as the first argument).', profile.name, executable),
      );
    }
    return { profile, executable };
  }

  private isBusy(key: string): boolean {
    return this.starting.has(key) || this.running().some((run) => taskKey(run.repository, run.taskId) === key);
  }

  private refuseBusy(key: string, taskId: string): void {
    if (!this.isBusy(key)) return;
    const names = this.running()
      .filter((run) => taskKey(run.repository, run.taskId) === key)
      .map((run) => run.agent);
    throw new TaskWorktreesError('AgentRunning', vscode.l10n.t('An agent is already running (or starting) on task "{0}".', taskId), names);
  }

  private async launch(service: TaskService, task: Task, { profile, executable }: { profile: AgentProfile; executable: string }, prompt: string, reveal: boolean): Promise<AgentRun> {
    // The program itself is the terminal's process: its argv is an array, never a command line.
    const terminal = vscode.window.createTerminal({
      name: vscode.l10n.t('{0} ({1})', task.subject, profile.name),
      shellPath: executable,
      shellArgs: launchArgs(profile, prompt),
      cwd: task.worktreePath,
      env: agentEnvironment(task, profile),
      iconPath: new vscode.ThemeIcon('hubot'),
    });
    const run: TrackedRun = { repository: service.mainWorktree, taskId: task.id, agent: profile.name, executable, worktreePath: task.worktreePath!, terminal, startedAt: new Date(), service };
    this.runs.push(run);
    this.changed.fire();
    if (reveal) terminal.show();
    this.log.info(`agent ${profile.name} started on ${task.id}: ${executable} in ${task.worktreePath}`);
    // The program is the terminal's process: its pid is what every other process checks.
    run.pid = await terminal.processId;
    await this.report(() => service.agentStarted(task.id, { name: profile.name, command: executable, pid: run.pid }), 'agent.started', task.id);
    return run;
  }

  private async onClosed(terminal: vscode.Terminal): Promise<void> {
    const run = this.runs.find((candidate) => candidate.terminal === terminal);
    if (!run || run.exit) return;
    const status = terminal.exitStatus;
    run.exit = { code: status?.code, reason: EXIT_REASONS[status?.reason ?? vscode.TerminalExitReason.Unknown], at: new Date() };
    this.changed.fire();
    this.log.info(`agent ${run.agent} on ${run.taskId} exited (code ${run.exit.code ?? 'unknown'}, ${run.exit.reason})`);
    await this.report(() => run.service.agentExited(run.taskId, { name: run.agent, pid: run.pid, code: run.exit!.code ?? null, reason: run.exit!.reason }), 'agent.exited', run.taskId);
  }

  private async onExecution(event: vscode.TerminalShellExecutionStartEvent): Promise<void> {
    const run = this.running().find((candidate) => candidate.terminal === event.terminal);
    if (!run) return;
    // The tree's periodic refresh shows it; output alone does not redraw the board.
    for await (const _chunk of event.execution.read()) run.lastOutputAt = new Date();
  }

  /** The agent runs whether or not its record is written: a failed write is reported, not thrown. */
  private async report(write: () => Promise<void>, what: string, taskId: string): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.log.warn(`could not record ${what} for ${taskId}: ${(error as Error).message}`);
    }
  }

  dispose(): void {
    this.disposables.forEach((disposable) => disposable.dispose());
  }
}

/** A task across the workspace's repositories: its repository's main worktree and its id. */
function taskKey(repository: string, taskId: string): string {
  return `${repository}\0${taskId}`;
}

function refuseUnstartable(taskId: string, view: TaskView | undefined): asserts view is TaskView {
  if (!view) throw new TaskWorktreesError('TaskNotFound', vscode.l10n.t('There is no task "{0}".', taskId));
  if (view.status === 'completed') {
    throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('Task "{0}" is completed: set it back to pending to start an agent on it.', view.id));
  }
  if (view.blockers.length > 0) {
    throw new TaskWorktreesError(
      'Blocked',
      vscode.l10n.t('Task "{0}" is blocked by {1}: start an agent on it once they are completed.', view.id, view.blockers.map((id) => `"${id}"`).join(', ')),
      view.blockers,
    );
  }
  if (view.worktreeState === 'missing') {
    throw new TaskWorktreesError('WorktreeNotFound', vscode.l10n.t('The worktree of "{0}" is missing: repair or prune it first.', view.id), [view.worktreePath!]);
  }
}

async function executableOf(profile: AgentProfile): Promise<string | undefined> {
  return resolveExecutable(profile.command, profile.env.PATH ?? process.env.PATH);
}


/** "running · 4 min", "exited 0 · 2 min ago": the tree row and the modals say the same. */
export function describeRun(run: AgentRun, now = Date.now()): string {
  if (!run.exit) {
    const parts = [vscode.l10n.t('running · {0}', elapsed(now - run.startedAt.getTime()))];
    if (run.lastOutputAt) parts.push(vscode.l10n.t('output {0} ago', elapsed(now - run.lastOutputAt.getTime())));
    return parts.join(' · ');
  }
  const ago = elapsed(now - run.exit.at.getTime());
  if (run.exit.code !== undefined) return vscode.l10n.t('exited {0} · {1} ago', run.exit.code, ago);
  return run.exit.reason === 'user' || run.exit.reason === 'extension'
    ? vscode.l10n.t('stopped · {0} ago', ago)
    : vscode.l10n.t('exited (no code) · {0} ago', ago);
}

function elapsed(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return vscode.l10n.t('{0} s', seconds);
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return vscode.l10n.t('{0} min', minutes);
  return vscode.l10n.t('{0} h {1} min', Math.floor(minutes / 60), minutes % 60);
}
