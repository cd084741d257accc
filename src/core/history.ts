import { TaskEvent } from './tasks/events';

/**
 * Merge history: every merge attempt made through the core is one `merge.attempt` event in
 * events.jsonl. This file says how an attempt's outcome is decided and how the rates are counted.
 */

export type MergeOutcome = 'clean' | 'conflict' | 'gateFailed' | 'resolvedByAgent' | 'resolvedByHand' | 'aborted' | 'nothingToMerge';

/** Who asked for the merge: a person or a script (merge), completing with auto-merge on, or the merge queue. */
export type MergeTrigger = 'merge' | 'autoMerge' | 'queue';

export const MERGE_ATTEMPT_EVENT = 'merge.attempt';
/** Left by prepareConflictResolution: the next landing of the task is a resolution. */
export const RESOLUTION_PREPARED_EVENT = 'merge.resolution.prepared';

const OUTCOMES: readonly MergeOutcome[] = ['clean', 'conflict', 'gateFailed', 'resolvedByAgent', 'resolvedByHand', 'aborted', 'nothingToMerge'];
const LANDED: ReadonlySet<MergeOutcome> = new Set(['clean', 'resolvedByAgent', 'resolvedByHand', 'nothingToMerge']);
/** Outcomes listed but not counted: no merge was decided (a refusal), or there was nothing to merge. */
const UNCOUNTED: ReadonlySet<MergeOutcome> = new Set(['aborted', 'nothingToMerge']);
const FAILED: ReadonlySet<MergeOutcome> = new Set(['conflict', 'gateFailed']);

/** One attempt, as logged (the event's own fields `type` and `pid` left out). */
export interface MergeAttempt {
  taskId: string;
  outcome: MergeOutcome;
  base: string;
  /** The agent profile: the one that resolved the conflict for a resolution, else the last one started for the task. */
  agent?: string;
  via: MergeTrigger;
  at: string;
  /** The conflicting files (conflict). */
  files?: string[];
  /** The commit the base moved to (landed outcomes). */
  commit?: string;
  /** Why it stopped: an error code for `aborted`, the gate's exit for `gateFailed`. */
  reason?: string;
}

export interface MergeRates {
  /** Attempts that merged something or met trouble: every outcome except `aborted` and `nothingToMerge`. */
  attempts: number;
  firstTryClean: number;
  /** resolvedByAgent + resolvedByHand. */
  resolved: number;
  /** firstTryClean / attempts; null with no attempts. */
  successRate: number | null;
  /** resolved / attempts; null with no attempts. */
  resolvedRate: number | null;
}

export interface MergeHistory extends MergeRates {
  /** Every attempt, oldest first, aborted ones included. */
  entries: MergeAttempt[];
  /** Attempts refused before a verdict (the safety inspector, a cancel, a failed step): not in `attempts`. */
  aborted: number;
  /** Landings with nothing to merge (the base had it all, nothing committed): not in `attempts`. */
  nothingToMerge: number;
  /** The same rates over the attempts that name each agent profile; attempts without one are in no entry. */
  perAgent: Record<string, MergeRates>;
}

/**
 * The rates. An aborted attempt never reached the merge itself (a dirty worktree, a running agent,
 * a cancel), and a `nothingToMerge` landing merged nothing (a re-merge of a landed task, a branch
 * without commits): both are listed but not counted as attempts, so the rates are about merges
 * that had something to merge. attempts = clean + conflict + gateFailed + resolvedByAgent + resolvedByHand.
 */
export function mergeHistory(events: readonly TaskEvent[]): MergeHistory {
  const entries = events.flatMap((event) => {
    const attempt = attemptOf(event);
    return attempt ? [attempt] : [];
  });
  const perAgent: Record<string, MergeRates> = {};
  for (const agent of new Set(entries.flatMap((entry) => (entry.agent ? [entry.agent] : [])))) {
    perAgent[agent] = rates(entries.filter((entry) => entry.agent === agent));
  }
  const count = (outcome: MergeOutcome): number => entries.filter((entry) => entry.outcome === outcome).length;
  return { entries, aborted: count('aborted'), nothingToMerge: count('nothingToMerge'), ...rates(entries), perAgent };
}

function rates(entries: readonly MergeAttempt[]): MergeRates {
  const attempts = entries.filter((entry) => !UNCOUNTED.has(entry.outcome)).length;
  const firstTryClean = entries.filter((entry) => entry.outcome === 'clean').length;
  const resolved = entries.filter((entry) => entry.outcome === 'resolvedByAgent' || entry.outcome === 'resolvedByHand').length;
  return {
    attempts,
    firstTryClean,
    resolved,
    successRate: attempts === 0 ? null : firstTryClean / attempts,
    resolvedRate: attempts === 0 ? null : resolved / attempts,
  };
}

/** A well-formed attempt event, or undefined (other events, or a line edited by hand). */
function attemptOf(event: TaskEvent): MergeAttempt | undefined {
  if (event.type !== MERGE_ATTEMPT_EVENT || typeof event.taskId !== 'string') return undefined;
  const outcome = event.outcome as MergeOutcome;
  if (!OUTCOMES.includes(outcome) || typeof event.base !== 'string') return undefined;
  const via = (['merge', 'autoMerge', 'queue'] as const).find((trigger) => trigger === event.via) ?? 'merge';
  const attempt: MergeAttempt = { taskId: event.taskId, outcome, base: event.base, via, at: event.at };
  if (typeof event.agent === 'string' && event.agent) attempt.agent = event.agent;
  if (Array.isArray(event.files) && event.files.every((file) => typeof file === 'string')) attempt.files = event.files as string[];
  if (typeof event.commit === 'string') attempt.commit = event.commit;
  if (typeof event.reason === 'string') attempt.reason = event.reason;
  return attempt;
}

/**
 * What a landing of `taskId` now counts as, from the task's events since its last landing (and only
 * those at or after `since`, the task's creation: a task id reused after a delete starts afresh):
 * `clean` when none of them is a conflict, a failed gate or a prepared resolution; else a
 * resolution — by an agent when the caller names one (`resolvedBy`), the preparation named one, or
 * an agent was started for the task after the trouble; by hand otherwise.
 * Also the agent to credit: that resolver, else the last agent started for the task (if any).
 */
export function landingOutcome(
  events: readonly TaskEvent[],
  taskId: string,
  resolvedBy?: { agent: string },
  since?: string,
): { outcome: MergeOutcome; agent?: string } {
  const { troubled, resolver, workedBy } = taskMergeState(events, taskId, since);
  if (!troubled) return { outcome: 'clean', agent: workedBy };
  const agent = resolvedBy?.agent ?? resolver;
  return agent ? { outcome: 'resolvedByAgent', agent } : { outcome: 'resolvedByHand', agent: workedBy };
}

/** The agent profile last started for the task: credited with an attempt that is not a resolution. */
export function lastAgentOf(events: readonly TaskEvent[], taskId: string, since?: string): string | undefined {
  return taskMergeState(events, taskId, since).workedBy;
}

function taskMergeState(events: readonly TaskEvent[], taskId: string, since?: string): { troubled: boolean; resolver?: string; workedBy?: string } {
  let troubled = false;
  let resolver: string | undefined;
  let workedBy: string | undefined;
  for (const event of events) {
    if (event.taskId !== taskId || (since !== undefined && !isAtOrAfter(event.at, since))) continue;
    const agent = typeof event.agent === 'string' && event.agent ? event.agent : undefined;
    if (event.type === 'agent.started' && agent) {
      workedBy = agent;
      if (troubled) resolver = agent;
    } else if (event.type === RESOLUTION_PREPARED_EVENT) {
      troubled = true;
      if (agent) resolver = agent;
    } else if (event.type === MERGE_ATTEMPT_EVENT) {
      const outcome = event.outcome as MergeOutcome;
      if (LANDED.has(outcome)) {
        troubled = false;
        resolver = undefined;
      } else if (FAILED.has(outcome)) {
        troubled = true;
      }
    }
  }
  return { troubled, resolver, workedBy };
}

/** Timestamps compared as instants (both ISO 8601, as the store writes them); an unreadable one counts as earlier. */
function isAtOrAfter(at: unknown, since: string): boolean {
  const time = typeof at === 'string' ? Date.parse(at) : NaN;
  const start = Date.parse(since);
  return Number.isNaN(start) || (!Number.isNaN(time) && time >= start);
}
