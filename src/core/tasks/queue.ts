import { TaskWorktreesError } from '../errors';
import { DEFAULT_GATE_TIMEOUT_MS, MAX_GATE_TIMEOUT_MS } from '../gate';
import { validateTaskIdQueue } from './ids';
import { MergeOptions, MergeResult } from './merge';

export interface MergeQueueOptions {
  /** A shell command run on each task merged with the current base, before it lands (user configuration: trusted workspaces only). */
  gate?: string;
  gateTimeoutMs?: number;
  /** Told before each task is merged and after it landed. */
  onProgress?: (progress: MergeQueueProgress) => void;
  /** Asked between tasks: true stops the queue before the next one. */
  isCancelled?: () => boolean;
}

export interface MergeQueueProgress {
  taskId: string;
  /** 0-based position in the queue. */
  index: number;
  total: number;
  state: 'merging' | 'merged';
}

export type QueueStopReason = 'conflict' | 'gateFailed' | 'baseMoved' | 'refused' | 'cancelled';

export interface MergeQueueReport {
  /** Landed, in order. */
  merged: Array<{ taskId: string; commit: string; nothingToMerge?: boolean }>;
  stoppedAt?: {
    taskId: string;
    reason: QueueStopReason;
    /** The conflicting files (conflict). */
    files?: string[];
    /** The end of what the gate printed (gateFailed). */
    gateOutput?: string;
    gateExitCode?: number | null;
    gateTimedOut?: boolean;
    /** The error code and message (refused, baseMoved). */
    code?: string;
    message?: string;
  };
  /** Tasks never attempted, in order (after a cancel, the one it stopped at too). */
  notRun: string[];
}

export interface ValidQueue {
  taskIds: string[];
  gate?: { command: string; timeoutMs: number };
  onProgress?: (progress: MergeQueueProgress) => void;
  isCancelled?: () => boolean;
}

export function validateQueueInput(taskIds: unknown, given: MergeQueueOptions | null | undefined): ValidQueue {
  const ids = validateTaskIdQueue(taskIds, 'the merge queue');
  if (given !== undefined && given !== null && (typeof given !== 'object' || Array.isArray(given))) throw new TaskWorktreesError('InvalidInput', 'Options must be an object.');
  const { gate, gateTimeoutMs, onProgress, isCancelled } = given ?? {};
  if (gate !== undefined && (typeof gate !== 'string' || gate.trim() === '' || gate.includes('\0'))) {
    throw new TaskWorktreesError('InvalidInput', 'The gate is a shell command (non-empty text).');
  }
  // Node's timers fire at once for a delay above 2^31-1 ms: a larger limit would stop every gate.
  if (gateTimeoutMs !== undefined && !(Number.isInteger(gateTimeoutMs) && gateTimeoutMs > 0 && gateTimeoutMs <= MAX_GATE_TIMEOUT_MS)) {
    throw new TaskWorktreesError('InvalidInput', `gateTimeoutMs is a whole number of milliseconds from 1 to ${MAX_GATE_TIMEOUT_MS} (about 24.8 days), not ${JSON.stringify(gateTimeoutMs)}.`);
  }
  for (const [name, fn] of [['onProgress', onProgress], ['isCancelled', isCancelled]] as const) {
    if (fn !== undefined && typeof fn !== 'function') throw new TaskWorktreesError('InvalidInput', `${name} must be a function.`);
  }
  return {
    taskIds: ids,
    gate: gate === undefined ? undefined : { command: gate, timeoutMs: gateTimeoutMs ?? DEFAULT_GATE_TIMEOUT_MS },
    onProgress,
    isCancelled,
  };
}

/** What the queue needs from the service: one merge attempt as one operation, and a cancel recorded. */
export interface QueueSteps {
  merge(taskId: string, options: Pick<MergeOptions, 'gate'>): Promise<MergeResult>;
  recordCancelled(taskId: string): Promise<void>;
}

/**
 * Merges the tasks one at a time, in order; the first conflict, failed gate or refusal stops the
 * queue. Each attempt is a whole operation, so a stop leaves that task as it was and the ones
 * before it landed.
 */
export async function runMergeQueue(queue: ValidQueue, steps: QueueSteps): Promise<MergeQueueReport> {
  const { taskIds } = queue;
  const report: MergeQueueReport = { merged: [], notRun: [] };
  for (const [index, taskId] of taskIds.entries()) {
    const progress = { taskId, index, total: taskIds.length };
    if (queue.isCancelled?.()) {
      await steps.recordCancelled(taskId);
      report.stoppedAt = { taskId, reason: 'cancelled' };
      report.notRun = taskIds.slice(index);
      return report;
    }
    queue.onProgress?.({ ...progress, state: 'merging' });
    let stop: MergeQueueReport['stoppedAt'];
    try {
      const result = await steps.merge(taskId, { gate: queue.gate });
      if (result.merged && result.commit) {
        report.merged.push({ taskId, commit: result.commit, ...(result.nothingToMerge ? { nothingToMerge: true } : {}) });
        queue.onProgress?.({ ...progress, state: 'merged' });
        continue;
      }
      stop = result.gate
        ? { taskId, reason: 'gateFailed', gateOutput: result.gate.output, gateExitCode: result.gate.exitCode, gateTimedOut: result.gate.timedOut }
        : { taskId, reason: 'conflict', files: result.conflicts ?? [] };
    } catch (error) {
      if (!(error instanceof TaskWorktreesError)) throw error;
      stop = { taskId, reason: error.code === 'RefChanged' ? 'baseMoved' : 'refused', code: error.code, message: error.message };
    }
    report.stoppedAt = stop;
    report.notRun = taskIds.slice(index + 1);
    return report;
  }
  return report;
}
