import { TaskWorktreesError } from './errors';
import { GitAdapter } from './git/adapter';
import { GitError } from './git/errors';
import { BranchHead, MergeTreeResult } from './git/porcelain';
import { ProcessSlots } from './git/process';
import { Task } from './tasks/model';

/** Whether one merge would go through, and the paths that would conflict. */
export interface MergeForecast {
  clean: boolean;
  files: string[];
}

export interface TaskForecast {
  taskId: string;
  /** Merging the task into its base as the base is now. */
  withBase: MergeForecast;
}

/** Two tasks on the same base whose branches conflict with each other. */
export interface Overlap {
  a: string;
  b: string;
  files: string[];
}

export interface Forecast {
  tasks: TaskForecast[];
  /** Only the pairs that conflict. */
  overlaps: Overlap[];
}

/** One task of a queue, merged into its base after every task before it that merges cleanly. */
export interface QueueForecastStep extends MergeForecast {
  taskId: string;
}

// Two cores and agents committing next to us: a few merges at a time leave the adapter's other
// slots to board refreshes; more than 4 did not make 210 merges faster on the bench machine.
export const FORECAST_PARALLELISM = 4;
// 20 tasks make 210 merges; a refresh after one branch moved adds 20. Enough for many refreshes.
const CACHE_LIMIT = 4096;

/** A Map that forgets the least recently used entry beyond `limit`. */
class RecentCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** Names the tasks of a merge git refused outright (unrelated histories), instead of two bare object ids. */
type Subject = () => string;

/**
 * Conflict forecasts from in-memory merges (`merge-tree --write-tree`): nothing is written but git
 * objects, no lock is needed. Results are kept by the pair of commits merged, so a refresh runs git
 * only for the pairs in which something moved; a merge asked for twice at once runs once.
 */
export class Forecaster {
  private readonly merges = new RecentCache<Promise<MergeTreeResult>>(CACHE_LIMIT);
  private readonly commits = new RecentCache<Promise<string>>(CACHE_LIMIT);
  private readonly slots: ProcessSlots;

  constructor(
    private readonly git: GitAdapter,
    parallelism = FORECAST_PARALLELISM,
  ) {
    this.slots = new ProcessSlots(parallelism);
  }

  /**
   * Every active task against its base, and every two active tasks on the same base against each
   * other. Active: not merged, its branch and base exist, and merging it would change the base's
   * tree (a branch the base already holds has nothing to land and cannot conflict).
   */
  async forecast(tasks: readonly Task[], heads: ReadonlyMap<string, BranchHead>): Promise<Forecast> {
    const candidates = tasks.filter((task) => !task.merge && landable(task, heads) && heads.get(task.branch!)!.oid !== heads.get(task.baseBranch)!.oid);
    const pairs: Array<[Task, Task]> = [];
    candidates.forEach((a, i) => {
      for (const b of candidates.slice(i + 1)) if (a.baseBranch === b.baseBranch) pairs.push([a, b]);
    });
    // One pool for both kinds, so the pairs do not wait for the slowest merge with a base.
    const [withBase, pairwise] = await Promise.all([
      Promise.all(candidates.map((task) => this.withBase(task, heads))),
      Promise.all(pairs.map(([a, b]) => this.merge(heads.get(a.branch!)!.oid, heads.get(b.branch!)!.oid, () => `tasks "${a.id}" and "${b.id}"`, true))),
    ]);
    const active = new Set(candidates.filter((task, i) => !withBase[i].clean || withBase[i].tree !== heads.get(task.baseBranch)!.tree).map((task) => task.id));
    return {
      tasks: candidates.flatMap((task, i) => (active.has(task.id) ? [{ taskId: task.id, withBase: outcome(withBase[i]) }] : [])),
      overlaps: pairs.flatMap(([a, b], i) => (active.has(a.id) && active.has(b.id) && !pairwise[i].clean ? [{ a: a.id, b: b.id, files: outcome(pairwise[i]).files }] : [])),
    };
  }

  /** Each task merged into its base as the base is now; tasks whose branch or base is gone are left out. */
  async withBases(tasks: readonly Task[], heads: ReadonlyMap<string, BranchHead>): Promise<Array<{ task: Task; forecast: MergeForecast }>> {
    const landing = tasks.filter((task) => landable(task, heads));
    const results = await Promise.all(landing.map((task) => this.withBase(task, heads)));
    return landing.map((task, i) => ({ task, forecast: outcome(results[i]) }));
  }

  /**
   * The tasks merged one after another, in the given order: each is forecast against its base with
   * every earlier task of the same base that merges cleanly already in it (a merge commit written
   * with `commit-tree`, referenced by nothing). A conflict stops nothing: that task is left out of
   * the base the next ones see, as a queue that skips it would leave it.
   */
  async queue(tasks: readonly Task[], heads: ReadonlyMap<string, BranchHead>): Promise<QueueForecastStep[]> {
    const baseSoFar = new Map<string, { oid: string; tree: string }>();
    const steps: QueueForecastStep[] = [];
    for (const task of tasks) {
      const base = baseSoFar.get(task.baseBranch) ?? heads.get(task.baseBranch)!;
      const taskOid = heads.get(task.branch!)!.oid;
      const result = await this.merge(base.oid, taskOid, () => `task "${task.id}" and ${task.baseBranch}`);
      steps.push({ taskId: task.id, ...outcome(result) });
      if (result.clean && result.tree !== base.tree) {
        const commit = await this.commit(result.tree, base.oid, taskOid, task.id);
        baseSoFar.set(task.baseBranch, { oid: commit, tree: result.tree });
      }
    }
    return steps;
  }

  private withBase(task: Task, heads: ReadonlyMap<string, BranchHead>): Promise<MergeTreeResult> {
    return this.merge(heads.get(task.baseBranch)!.oid, heads.get(task.branch!)!.oid, () => `task "${task.id}" and its base ${task.baseBranch}`);
  }

  /**
   * `symmetric`: only the conflicting paths are used, which do not depend on the order, so (a, b)
   * and (b, a) share one entry. A failed merge is not kept: the next forecast asks git again.
   */
  private merge(ours: string, theirs: string, subject: Subject, symmetric = false): Promise<MergeTreeResult> {
    const key = symmetric && theirs < ours ? `${theirs} ${ours}` : `${ours} ${theirs}`;
    let result = this.merges.get(key);
    if (!result) {
      result = this.inSlot(() => this.git.mergeTree(ours, theirs)).catch((error: unknown) => {
        this.merges.delete(key);
        throw named(error, subject);
      });
      this.merges.set(key, result);
    }
    return result;
  }

  private commit(tree: string, baseOid: string, taskOid: string, taskId: string): Promise<string> {
    const key = `${tree} ${baseOid} ${taskOid}`;
    let commit = this.commits.get(key);
    if (!commit) {
      commit = this.git.commitTree(tree, [baseOid, taskOid], `Forecast: merge task ${taskId}`).catch((error: unknown) => {
        this.commits.delete(key);
        throw error;
      });
      this.commits.set(key, commit);
    }
    return commit;
  }

  private async inSlot<T>(run: () => Promise<T>): Promise<T> {
    const release = await this.slots.acquire();
    try {
      return await run();
    } finally {
      release();
    }
  }
}

/** The task has a branch and a base, and both exist now. */
export function landable(task: Task, heads: ReadonlyMap<string, BranchHead>): boolean {
  return task.branch !== undefined && heads.has(task.branch) && heads.has(task.baseBranch);
}

/** A copy: the cached result outlives what a caller does with its answer. */
function outcome(result: MergeTreeResult): MergeForecast {
  return { clean: result.clean, files: [...result.conflicts] };
}

function named(error: unknown, subject: Subject): unknown {
  if (!(error instanceof GitError && error.code === 'UnrelatedHistories')) return error;
  return new TaskWorktreesError('UnrelatedHistories', `Cannot forecast merging ${subject()}: their branches share no commit, so git refuses to merge them.`);
}
