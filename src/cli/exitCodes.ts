import type { ErrorCode } from '../core';

export const EXIT_OK = 0;
/** Anything that is not one of the core's coded errors: a bug, or the machine (disk full, …). */
export const EXIT_UNEXPECTED = 1;
/** The command line itself is wrong (unknown command or option, missing or extra arguments). */
export const EXIT_USAGE = 2;

/**
 * One exit code per error code, so a script can branch on `$?` alone. Scripts depend on these
 * numbers: never renumber, only append. A `Record` makes a new core code a compile error here.
 */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  InvalidInput: 3,
  TaskNotFound: 4,
  Blocked: 5,
  StoreLocked: 6,
  LockLost: 7,
  StoreCorrupt: 8,
  NotARepository: 9,
  UnsafeRepository: 10,
  NoCommits: 11,
  Untrusted: 12,
  GitNotFound: 13,
  GitTooOld: 14,
  GitFailed: 15,
  Timeout: 16,
  BranchExists: 17,
  BranchNotFound: 18,
  BranchCheckedOut: 19,
  BranchProtected: 20,
  RefChanged: 21,
  TaskHasWorktree: 22,
  TaskHasNoWorktree: 23,
  WorktreeNotFound: 24,
  WorktreeAssigned: 25,
  WorktreePathExists: 26,
  WorktreeDirty: 27,
  WorktreeLocked: 28,
  WorktreeHasSubmodules: 29,
  OperationInProgress: 30,
  AgentRunning: 31,
  UnmergedWork: 32,
  BaseDirty: 33,
  MergeConflict: 34,
  NestedWorktree: 35,
  TaskClaimed: 36,
  TaskIdTaken: 55,
  SnapshotNotFound: 50,
  SnapshotConflict: 51,
  SnapshotFailed: 52,
  UnrelatedHistories: 37,
  WorktreeOpenInWindow: 58,
};
