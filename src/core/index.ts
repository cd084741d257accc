/**
 * The core's stable Node entry (built to out/src/core/index.js): the CLI, the benchmark, tests and
 * outside suites drive the core through this file only. Its names do not change between releases.
 */
export { TaskService, DEFAULT_SETTINGS, canonicalPath } from './lifecycle';
export type { Board, CreateTaskInput, LifecycleSettings, MergeResult, TaskView, WorktreeDetails, WorktreeState } from './lifecycle';
export { TaskWorktreesError, isCoded } from './errors';
export type { ErrorCode } from './errors';
export { GitError } from './git/errors';
export type { GitAdapterOptions } from './git/adapter';
export type { Task, TaskStatus, MergeStrategy, MergeRecord } from './tasks/model';
export type { TaskEvent } from './tasks/events';
