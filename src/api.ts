import * as vscode from 'vscode';
import { Board, canonicalPath, MergeResult, MergeStrategy, Task, TaskEvent, TaskService, TaskStatus, TaskView, TaskWorktreesError } from './core';
import type { CleanUpReport, MergedTask, MergeHistory, MergeQueueReport, MoveChangesResult, RestoreResult, Snapshot, TaskChanges } from './core';
import { isInside } from './core/repo';
import { AgentRun, Agents } from './ui/agents';
import { mergeGateSetting } from './ui/mergeSettings';

/**
 * Every method takes `repository`: a path inside the repository to act on (any folder of any of its
 * worktrees). Without it, the workspace's only repository; with several, a coded error (InvalidInput)
 * naming them.
 */
export interface InRepository {
  repository?: string;
}

/** Runs `work` on the repository holding the path `repository` (see Session.inRepositoryAt). */
export type RepositoryScope = <T>(repository: string | undefined, work: () => Promise<T>) => Promise<T>;

/** The workspace folder whose settings apply to a repository (see settings.ts settingsFolder). */
export type SettingsFolder = (service: TaskService) => vscode.Uri | undefined;

/**
 * The contract other extensions, commands called with an argument object, and (next) language
 * model tools use. Inputs are plain objects checked here once; results are plain data; failures
 * are `TaskWorktreesError`s whose `code` is stable. Versioned: a breaking change gets a new number.
 */
export interface TaskWorktreesApi {
  readonly version: 1;
  listTasks(input?: InRepository): Promise<TaskView[]>;
  getTask(input: InRepository & { taskId: string }): Promise<Task>;
  createTask(input: InRepository & { subject: string; description?: string; baseBranch?: string; blockedBy?: string[]; createWorktree?: boolean; id?: string }): Promise<Task>;
  createWorktree(input: InRepository & { taskId: string }): Promise<Task>;
  assignWorktree(input: InRepository & { taskId: string; worktreePath?: string; branch?: string }): Promise<Task>;
  claimTask(input: InRepository & { taskId: string; owner: string }): Promise<Task>;
  setStatus(input: InRepository & { taskId: string; status: TaskStatus; owner?: string }): Promise<Task>;
  completeTask(input: InRepository & { taskId: string }): Promise<Task>;
  /** What the task waits on (replaces the list); unknown ids, itself and cycles are refused. */
  setBlockedBy(input: InRepository & { taskId: string; blockedBy: string[] }): Promise<Task>;
  /**
   * Refuses (WorktreeDirty) while this window has unsaved editors in the worktrees the merge touches,
   * and (AgentRunning) while an agent this window started runs in one of them.
   */
  mergeTask(input: InRepository & { taskId: string; strategy?: MergeStrategy; removeWorktree?: boolean; deleteBranch?: boolean; evenIfOpen?: boolean }): Promise<PublicMergeResult>;
  /**
   * Refuses (WorktreeDirty) while this window has unsaved editors in the worktree, unless `force`;
   * and (AgentRunning) while an agent this window started runs there, even with `force`;
   * and (WorktreeOpenInWindow, naming them) while other windows have it open, unless `evenIfOpen`.
   */
  removeWorktree(input: InRepository & { taskId: string; force?: boolean; deleteBranch?: boolean; evenIfOpen?: boolean }): Promise<Task>;
  deleteTask(input: InRepository & { taskId: string }): Promise<{ deleted: string }>;
  deleteTaskBranch(input: InRepository & { taskId: string }): Promise<Task>;
  prune(input?: InRepository): Promise<{ unbound: string[] }>;
  repairWorktree(input: InRepository & { taskId: string; path?: string }): Promise<Task>;
  events(input?: InRepository): Promise<TaskEvent[]>;
  /**
   * Runs an agent profile of `taskWorktrees.agents` (default: `taskWorktrees.defaultAgent`) on the
   * task in a terminal in its worktree (made if missing), claimed in the agent's name. The prompt
   * (default: the task's id, subject and description) is one argument of the program, never shell text.
   */
  startAgent(input: InRepository & { taskId: string; agent?: string; prompt?: string }): Promise<AgentInfo>;
  /** Starts agents on the oldest ready tasks until `max` (default: `taskWorktrees.maxAutoAgents`) of this window's agents run. */
  startAgentsOnReadyTasks(input: InRepository & { agent?: string; max?: number }): Promise<{ started: AgentInfo[]; skipped: Array<{ taskId: string; code: string; message: string }> }>;
  /** The agents this window started, running or exited, oldest first; with `repository`, only those on that repository's tasks. */
  listAgents(input?: InRepository): Promise<AgentInfo[]>;
  /** Fired after every change this window made and every change another process made to the store. */
  readonly onDidChange: vscode.Event<void>;
  /** The task's snapshots (refs/task-worktrees/snapshots/<task id>/<n>), oldest first. */
  listSnapshots(input: InRepository & { taskId: string }): Promise<Snapshot[]>;
  /** Saves the task's worktree files (uncommitted, staged, untracked) as a snapshot; the worktree is not touched. */
  snapshotWorktree(input: InRepository & { taskId: string }): Promise<Snapshot>;
  /** Into the task's worktree (made again if gone) or a new task; refuses (SnapshotConflict) to overwrite uncommitted work. */
  restoreSnapshot(input: InRepository & { ref: string; into: 'worktree' | 'newTask'; subject?: string; baseBranch?: string }): Promise<RestoreResult>;
  /** The uncommitted changes of a worktree become a new task's (snapshot first). Refuses (WorktreeDirty) while this window has unsaved editors there. */
  moveChangesToNewTask(input: InRepository & { sourcePath: string; subject: string; description?: string; baseBranch?: string }): Promise<MoveChangesResult>;
  /** Tasks whose branch is merged into their base, with what a clean-up would snapshot. */
  mergedTasks(input?: InRepository): Promise<MergedTask[]>;
  /** Removes worktree and branch of the merged tasks (or those named), snapshotting work first. Refuses (WorktreeDirty) while this window has unsaved editors in them. */
  cleanUpMerged(input: InRepository & { taskIds?: string[] }): Promise<CleanUpReport>;
  /** The task's files against the merge-base with its base: committed and uncommitted, with status letters. */
  changedFiles(input: InRepository & { taskId: string }): Promise<TaskChanges>;
  /** Merges the tasks into their bases one at a time in this order, each after the gate of `taskWorktrees.mergeGate` (trusted workspaces only) passed on it; stops at the first conflict, failed gate or refusal. */
  mergeQueue(input: InRepository & { taskIds: string[] }): Promise<MergeQueueReport>;
  /** Every merge attempt with its outcome, and the success rates overall and per agent profile. */
  mergeHistory(input?: InRepository): Promise<MergeHistory>;
}

export interface AgentInfo {
  /** The main worktree of the task's repository (task ids repeat across the repositories of a workspace). */
  repository: string;
  taskId: string;
  agent: string;
  /** The program run, resolved on PATH. */
  command: string;
  worktreePath: string;
  terminal: string;
  state: 'running' | 'exited';
  startedAt: string;
  /** Present once exited; absent when the terminal was closed before the program reported one. */
  exitCode?: number;
  exitedAt?: string;
}

export interface PublicMergeResult {
  merged: boolean;
  commit?: string;
  conflicts?: string[];
  nothingToMerge?: boolean;
  cleanupError?: string;
}

/** What the host tests read besides the API: timings and each rendered board. */
export interface ActivationReport {
  readonly timings: { activateMs: number; readyMs?: number; firstBoardMs?: number };
  readonly activationToFirstRenderMs: Promise<number>;
  readonly onDidRenderBoard: vscode.Event<Board>;
  /** The rows the board shows under a task for the agents on it. */
  agentRows(taskId: string): vscode.TreeItem[];
  /** The board's tree as the view reads it (the host tests walk its rows and pass them to commands). */
  readonly board: vscode.TreeDataProvider<object>;
  /** The Merge History view's tree (one section per repository when there are several). */
  readonly mergeHistoryView: vscode.TreeDataProvider<object>;
}

type Input = Record<string, unknown>;

export function createApi(service: () => TaskService, onDidChange: vscode.Event<void>, agents: Agents, inRepository: RepositoryScope, settingsOf: SettingsFolder): TaskWorktreesApi {
  const api: TaskWorktreesApi = {
    version: 1,
    onDidChange,
    listTasks: async () => (await service().board()).tasks,
    getTask: async (input) => service().task(field(input, 'taskId', 'string')),
    createTask: async (input) =>
      service().createTask({
        subject: field(input, 'subject', 'string'),
        description: optional(input, 'description', 'string'),
        baseBranch: optional(input, 'baseBranch', 'string'),
        blockedBy: optionalArray(input, 'blockedBy'),
        createWorktree: optional(input, 'createWorktree', 'boolean'),
        id: optional(input, 'id', 'string'),
      }),
    createWorktree: async (input) => service().createWorktree(field(input, 'taskId', 'string')),
    assignWorktree: async (input) =>
      service().assignWorktree(field(input, 'taskId', 'string'), {
        worktreePath: optional(input, 'worktreePath', 'string'),
        branch: optional(input, 'branch', 'string'),
      }),
    claimTask: async (input) => {
      const owner = field(input, 'owner', 'string');
      if (!owner.trim()) throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('claimTask needs an owner: a non-empty "owner" string.'));
      return service().setStatus(field(input, 'taskId', 'string'), 'in_progress', owner);
    },
    setStatus: async (input) => service().setStatus(field(input, 'taskId', 'string'), field(input, 'status', 'string') as TaskStatus, optional(input, 'owner', 'string')),
    completeTask: async (input) => service().completeTask(field(input, 'taskId', 'string')),
    setBlockedBy: async (input) => service().setBlockedBy(field(input, 'taskId', 'string'), optionalArray(input, 'blockedBy') ?? []),
    mergeTask: async (input) => {
      const taskId = field(input, 'taskId', 'string');
      const options = {
        strategy: optional(input, 'strategy', 'string') as MergeStrategy | undefined,
        removeWorktree: optional(input, 'removeWorktree', 'boolean'),
        deleteBranch: optional(input, 'deleteBranch', 'boolean'),
        evenIfOpen: optional(input, 'evenIfOpen', 'boolean'),
      };
      // The worktree list is read only when some editor is unsaved at all; running agents are the core's check.
      if (vscode.workspace.textDocuments.some((document) => document.isDirty)) refuseUnsavedEditors(await mergeTouches(service(), taskId), vscode.l10n.t('merging'));
      return publicMergeResult(await service().mergeTask(taskId, options));
    },
    removeWorktree: async (input) => {
      const taskId = field(input, 'taskId', 'string');
      const force = optional(input, 'force', 'boolean');
      const task = await service().task(taskId);
      if (!force && task.worktreePath) refuseUnsavedEditors([task.worktreePath], vscode.l10n.t('removing the worktree'));
      return service().removeWorktree(taskId, { force, deleteBranch: optional(input, 'deleteBranch', 'boolean'), evenIfOpen: optional(input, 'evenIfOpen', 'boolean') });
    },
    deleteTask: async (input) => {
      const taskId = field(input, 'taskId', 'string');
      await service().deleteTask(taskId);
      return { deleted: taskId };
    },
    deleteTaskBranch: async (input) => service().deleteTaskBranch(field(input, 'taskId', 'string')),
    prune: async () => ({ unbound: await service().prune() }),
    repairWorktree: async (input) => service().repairWorktree(field(input, 'taskId', 'string'), { path: optional(input, 'path', 'string') }),
    events: async () => (await service().events()).events,
    startAgent: async (input) =>
      publicAgent(
        await agents.start({ taskId: field(input, 'taskId', 'string'), agent: optional(input, 'agent', 'string'), prompt: optional(input, 'prompt', 'string') }),
      ),
    startAgentsOnReadyTasks: async (input) => {
      const agent = optional(input, 'agent', 'string');
      const max = objectOf(input).max;
      if (max !== undefined && typeof max !== 'number') throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"{0}" must be a {1}.', 'max', 'number'));
      const { started, skipped } = await agents.startOn(await agents.readyTasks(max), agent);
      return { started: started.map(publicAgent), skipped };
    },
    listAgents: async (input) => {
      // `service()` is the repository named, or the only one: with several and none named, every repository's agents.
      const repository = repositoryField(input) === undefined ? undefined : service().mainWorktree;
      return agents
        .all()
        .filter((run) => !repository || run.repository === repository)
        .map(publicAgent);
    },
    listSnapshots: async (input) => service().listSnapshots(field(input, 'taskId', 'string')),
    snapshotWorktree: async (input) => service().snapshotWorktree(field(input, 'taskId', 'string')),
    restoreSnapshot: async (input) =>
      service().restoreSnapshot(field(input, 'ref', 'string'), {
        into: field(input, 'into', 'string') as 'worktree' | 'newTask',
        subject: optional(input, 'subject', 'string'),
        baseBranch: optional(input, 'baseBranch', 'string'),
      }),
    moveChangesToNewTask: async (input) => {
      const sourcePath = field(input, 'sourcePath', 'string');
      const task = { subject: field(input, 'subject', 'string'), description: optional(input, 'description', 'string'), baseBranch: optional(input, 'baseBranch', 'string') };
      refuseUnsavedEditors([sourcePath], vscode.l10n.t('moving the changes'));
      return service().moveChangesToNewTask(sourcePath, task);
    },
    mergedTasks: async () => service().mergedTasks(),
    cleanUpMerged: async (input) => {
      const taskIds = optionalArray(input, 'taskIds');
      const going = (await service().mergedTasks()).filter((task) => task.worktreePath && (!taskIds || taskIds.includes(task.taskId)));
      refuseUnsavedEditors(going.map((task) => task.worktreePath!), vscode.l10n.t('removing the merged worktrees'));
      return service().cleanUpMerged({ taskIds });
    },
    changedFiles: async (input) => service().changedFiles(field(input, 'taskId', 'string')),
    mergeQueue: async (input) => service().mergeQueue(optionalArray(input, 'taskIds') ?? [], { gate: mergeGateSetting(settingsOf(service())) }),
    mergeHistory: async () => service().mergeHistory(),
  };
  // Each method runs on the repository its input names; `service()` reads it.
  for (const [name, method] of Object.entries(api)) {
    if (typeof method !== 'function' || name === 'onDidChange') continue;
    Object.assign(api, { [name]: async (input?: unknown) => inRepository(repositoryField(input), () => method(input)) });
  }
  return api;
}

/** The optional `repository` of an argument object; a method's own checks refuse input that is not one. */
function repositoryField(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const value = (input as Input).repository;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"{0}" must be a {1}.', 'repository', 'string'));
  return value;
}

export function publicAgent(run: AgentRun): AgentInfo {
  const info: AgentInfo = {
    repository: run.repository,
    taskId: run.taskId,
    agent: run.agent,
    command: run.executable,
    worktreePath: run.worktreePath,
    terminal: run.terminal.name,
    state: run.exit ? 'exited' : 'running',
    startedAt: run.startedAt.toISOString(),
  };
  if (run.exit?.code !== undefined) info.exitCode = run.exit.code;
  if (run.exit) info.exitedAt = run.exit.at.toISOString();
  return info;
}

/** The worktrees a merge changes files in or needs saved: the task's, and wherever its base is checked out. */
export async function mergeTouches(service: TaskService, taskId: string): Promise<string[]> {
  const [task, entries] = await Promise.all([service.task(taskId), service.worktrees()]);
  const baseWorktrees = entries.filter((entry) => entry.branch === task.baseBranch).map((entry) => entry.path);
  return task.worktreePath ? [task.worktreePath, ...baseWorktrees] : baseWorktrees;
}

/** This window's editors with unsaved changes inside any of `worktrees`. */
export function unsavedEditorsIn(worktrees: readonly string[]): vscode.TextDocument[] {
  const roots = worktrees.map((path) => canonicalPath(path));
  return vscode.workspace.textDocuments.filter(
    (document) => document.isDirty && document.uri.scheme === 'file' && roots.some((root) => isInside(canonicalPath(document.uri.fsPath), root)),
  );
}

function refuseUnsavedEditors(worktrees: readonly string[], what: string): void {
  const unsaved = unsavedEditorsIn(worktrees);
  if (unsaved.length > 0) {
    throw new TaskWorktreesError(
      'WorktreeDirty',
      vscode.l10n.t('Save or revert the unsaved editors first: {0} would lose them.', what),
      unsaved.map((document) => vscode.l10n.t('{0} (unsaved in an editor)', vscode.workspace.asRelativePath(document.uri))),
    );
  }
}

/** The merge's answer as plain data: only the fields that say something. */
export function publicMergeResult(result: MergeResult): PublicMergeResult {
  const { merged, commit, conflicts, nothingToMerge, cleanupError } = result;
  return Object.fromEntries(Object.entries({ merged, commit, conflicts, nothingToMerge, cleanupError }).filter(([, value]) => value !== undefined)) as unknown as PublicMergeResult;
}

function field(input: unknown, name: string, type: 'string'): string {
  const value = objectOf(input)[name];
  if (typeof value !== type) throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"{0}" must be a {1}.', name, type));
  return value as string;
}

function optional(input: unknown, name: string, type: 'string'): string | undefined;
function optional(input: unknown, name: string, type: 'boolean'): boolean | undefined;
function optional(input: unknown, name: string, type: 'string' | 'boolean'): string | boolean | undefined {
  const value = objectOf(input)[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"{0}" must be a {1}.', name, type));
  return value as string | boolean;
}

function optionalArray(input: unknown, name: string): string[] | undefined {
  const value = objectOf(input)[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"{0}" must be a list of task ids.', name));
  }
  return value as string[];
}

function objectOf(input: unknown): Input {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('Pass an object of named arguments, e.g. {0}.', '{ "taskId": "fix-login" }'));
  }
  return input as Input;
}
