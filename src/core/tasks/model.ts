export const TASK_STATUSES = ['pending', 'in_progress', 'completed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface MergeRecord {
  commit: string;
  /** The task branch's head that was merged: lets the branch be deleted safely after a squash. */
  branchHead: string;
  strategy: MergeStrategy;
  at: string;
}

export type MergeStrategy = 'merge' | 'squash';

export interface Task {
  id: string;
  subject: string;
  description: string;
  status: TaskStatus;
  owner: string;
  /** The branch the task started from and merges back into. */
  baseBranch: string;
  /** The task's own branch, once it has one. */
  branch?: string;
  /** Absolute path of the task's worktree, once it has one. */
  worktreePath?: string;
  blockedBy: string[];
  createdAt: string;
  updatedAt: string;
  merge?: MergeRecord;
  /** The task's own ports while it has a worktree: unique across the repository's tasks. */
  ports?: PortBlock;
  /** How getting the worktree ready went (ignored files copied, setup commands run). */
  setup?: SetupRecord;
}

/** Ports `first` … `first + count - 1`. */
export interface PortBlock {
  first: number;
  count: number;
}

export const SETUP_STATES = ['running', 'done', 'failed', 'cancelled'] as const;
export type SetupState = (typeof SETUP_STATES)[number];

export interface SetupRecord {
  state: SetupState;
  at: string;
  message?: string;
  /** Ignored files copied into the worktree when it was made. */
  copied?: number;
}

/** Where task port blocks start, and how many ports each task gets. */
export interface PortSettings {
  base: number;
  blockSize: number;
}

export function isTaskStatus(value: unknown): value is TaskStatus {
  return typeof value === 'string' && (TASK_STATUSES as readonly string[]).includes(value);
}

/** Repository-wide layout, kept in the store so every window and process agrees on it. */
/** An agent a window started in a task's worktree, recorded while it runs so every process sees it. */
export interface AgentRecord {
  pid: number;
  host: string;
  agent: string;
  taskId: string;
  worktreePath: string;
  startedAt: string;
  /** Where the record is (set when read): named in refusals, so a stale one can be deleted by hand. */
  file?: string;
}

/**
 * A VS Code window that has a worktree open (one file per extension host process): removals in
 * any process name it and ask first. Kept fresh by a heartbeat while the window lives.
 */
export interface WindowRecord {
  pid: number;
  host: string;
  worktreePath: string;
  taskId?: string;
  /** The window's terminals whose working directory is inside the worktree, by name. */
  terminals: string[];
  /** The window's last heartbeat. */
  seenAt: string;
  /** Where the record is (set when read). */
  file?: string;
}

export interface RepositoryConfig {
  /** Where task worktrees go: relative to the main worktree, or absolute. */
  worktreeRoot: string;
  /** Put before a task id to name its branch. */
  branchPrefix: string;
  /** The tasks' port blocks; recorded with the layout, so the CLI and every window allocate alike. */
  ports?: PortSettings;
  /** Whether completing a task merges it into its base (whoever completes it: a window, an agent, the CLI). Absent: off. */
  autoMerge?: AutoMergeMode;
}

export const AUTO_MERGE_MODES = ['off', 'onComplete'] as const;
export type AutoMergeMode = (typeof AUTO_MERGE_MODES)[number];
