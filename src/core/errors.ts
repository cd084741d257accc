/**
 * Every failure the core reports carries a stable `code`, so callers (commands, tests, other
 * extensions) branch on the code, never on message text.
 */
export type ErrorCode =
  // git, classified from stderr in one place (see classifyGitStderr)
  | 'GitNotFound'
  | 'GitTooOld'
  | 'NotARepository'
  | 'UnsafeRepository'
  | 'NoCommits'
  | 'BranchExists'
  | 'BranchNotFound'
  | 'BranchCheckedOut'
  | 'WorktreePathExists'
  | 'WorktreeDirty'
  | 'WorktreeLocked'
  | 'WorktreeHasSubmodules'
  | 'RefChanged'
  | 'MergeConflict'
  | 'Timeout'
  | 'GitFailed'
  // rules of this extension, checked before any git call
  | 'InvalidInput'
  | 'TaskNotFound'
  | 'TaskHasWorktree'
  | 'TaskHasNoWorktree'
  | 'WorktreeNotFound'
  | 'WorktreeAssigned'
  | 'UnmergedWork'
  | 'BaseDirty'
  | 'StoreCorrupt'
  | 'StoreLocked'
  /** The repository lock was taken from this process (it stalled past the heartbeat); its change was not made. */
  | 'LockLost'
  /** The branch is a task's base, the main worktree's branch or another task's branch. */
  | 'BranchProtected'
  /** A merge, rebase, cherry-pick, revert or bisect is under way in a worktree the operation touches. */
  | 'OperationInProgress'
  /** The task waits on tasks that are not completed (named in `details`). */
  | 'Blocked'
  /** An agent is still running in the worktree an operation would change. */
  | 'AgentRunning'
  /** Another worktree lies inside the one an operation would remove. */
  | 'NestedWorktree'
  /** Someone else has claimed the task. */
  | 'TaskClaimed'
  | 'Untrusted'
  /** The id asked for a new task is taken: a task, its branch or its folder exists. */
  | 'TaskIdTaken'
  /** No snapshot has that ref (it was never taken, or dropped by the bound on snapshots per task). */
  | 'SnapshotNotFound'
  /** Restoring a snapshot would overwrite uncommitted changes, or files changed by commits since (named in `details`). */
  | 'SnapshotConflict'
  /** The work could not be saved as a snapshot, so what would have destroyed it did not happen. */
  | 'SnapshotFailed'
  /** Two branches share no commit: git refuses to merge (or forecast a merge of) them. */
  | 'UnrelatedHistories'
  /** Another live VS Code window has the worktree open (the windows and their terminals are in `details`). */
  | 'WorktreeOpenInWindow';

export class TaskWorktreesError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Paths or items the user would want listed next to the message (dirty files, conflicts). */
    readonly details: readonly string[] = [],
  ) {
    super(message);
    this.name = 'TaskWorktreesError';
  }
}

export function isCoded(error: unknown, code?: ErrorCode): error is TaskWorktreesError {
  return error instanceof TaskWorktreesError && (code === undefined || error.code === code);
}
