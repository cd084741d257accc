/**
 * The core's stable Node entry (built to out/src/core/index.js): the CLI, the benchmark, tests and
 * outside suites drive the core through this file only. Its names do not change between releases.
 */
export { TaskService } from './service';
export { DEFAULT_SETTINGS, canonicalPath } from './repo';
export type { LifecycleSettings, Layout } from './repo';
export type { Board, TaskView, WorktreeDetails, WorktreeState } from './board';
export type { CreateTaskInput } from './tasks/create';
export type { MergeResult } from './tasks/merge';
export type { LossReport, OperationInProgress } from './safety';
export type { OperationKind, OperationOutcome } from './operations';
export { TaskWorktreesError, isCoded } from './errors';
export type { ErrorCode } from './errors';
export { GitError } from './git/errors';
export type { GitAdapterOptions } from './git/adapter';
export type { Task, TaskStatus, MergeStrategy, MergeRecord, WindowRecord } from './tasks/model';
export type { PortBlock, PortSettings, SetupRecord, SetupState } from './tasks/model';
export { globsToIncludePatterns } from './tasks/include';
export { describePortBlock } from './tasks/ports';
export type { TaskEvent } from './tasks/events';
export { previewTaskId } from './tasks/idPreview';
export type { IdContext, IdPreview, EditedIdProblem } from './tasks/idPreview';
export type { Snapshot, SnapshotReason, AppliedSnapshot } from './snapshots';
export type { RestoreResult, MoveChangesResult, MergedTask, CleanUpReport } from './tasks/recovery';
export type { ChangedFile, TaskChanges, DiskUsage } from './review';
export { WorktreeDetailsCache } from './details';
export type { TaskDetails, DirtyCounts, DirtyKind, TrackedTask, DetailsCacheOptions } from './details';
export type { CompletedTask, AutoMergeReport } from './service';
export type { ConflictResolution } from './tasks/merge';
export type { MergeQueueOptions, MergeQueueProgress, MergeQueueReport, QueueStopReason } from './tasks/queue';
export type { MergeAttempt, MergeHistory, MergeOutcome, MergeRates, MergeTrigger } from './history';
export type { AutoMergeMode } from './tasks/model';
export type { GateRun } from './gate';
export type { Forecast, TaskForecast, MergeForecast, Overlap, QueueForecastStep } from './forecast';
