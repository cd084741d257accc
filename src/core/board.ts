import { existsSync } from 'node:fs';
import { GitAdapter } from './git/adapter';
import { BranchHead, WorkingTreeStatus, WorktreeEntry } from './git/porcelain';
import { canonicalPath, isInside, Repository } from './repo';
import { isReady, openBlockers, tasksById } from './tasks/dependencies';
import type { TaskDetails } from './details';
import { Task, TaskStatus } from './tasks/model';
import { StoreProblem } from './tasks/store';

export type WorktreeState = 'none' | 'present' | 'missing';

export interface TaskView extends Task {
  /** present: git lists it and its directory exists; missing: the store names one git does not have. */
  worktreeState: WorktreeState;
  locked?: string;
  detached?: boolean;
  /** The task names a branch that no longer exists. */
  branchMissing?: boolean;
  /** The tasks it waits on that are not completed yet. */
  blockers: string[];
  /** Pending, unowned and waiting on nothing. */
  ready: boolean;
}

export interface Board {
  tasks: TaskView[];
  /** Worktrees git has that no task claims (made outside the extension): can be adopted. */
  unassigned: WorktreeEntry[];
  problems: StoreProblem[];
  mainWorktree: string;
}

export interface WorktreeDetails {
  status: WorkingTreeStatus;
  ahead: number;
  behind: number;
}

/** The read model: nothing here writes, takes a lock or creates a directory. */
export class BoardReader {
  constructor(private readonly repo: Repository) {}

  private get git(): GitAdapter {
    return this.repo.git;
  }

  /**
   * The whole board: the store's files, one `git worktree list` and one `git for-each-ref` —
   * two git processes whatever the number of tasks and worktrees.
   */
  async board(): Promise<Board> {
    const [{ tasks, problems }, entries, heads] = await Promise.all([this.repo.store.load(), this.repo.worktrees(), this.heads()]);
    const byPath = new Map(entries.map((entry) => [canonicalPath(entry.path), entry]));
    // The main worktree is never a task's, nor offered for adoption.
    const claimed = new Set<string>([this.repo.mainWorktree]);
    const byId = tasksById(tasks);
    const views = tasks.map((task): TaskView => {
      const view = { ...task, branchMissing: task.branch !== undefined && !heads.has(task.branch), blockers: openBlockers(task, tasks, byId), ready: isReady(task, tasks, byId) };
      if (!task.worktreePath) return { ...view, worktreeState: 'none' };
      const key = canonicalPath(task.worktreePath);
      claimed.add(key);
      const entry = byPath.get(key);
      if (!entry || entry.prunable) return { ...view, worktreeState: 'missing' };
      return { ...view, worktreeState: 'present', locked: entry.locked, detached: entry.detached };
    });
    const unassigned = [...byPath].filter(([key, entry]) => !entry.bare && !claimed.has(key)).map(([, entry]) => entry);
    return { tasks: views, unassigned, problems, mainWorktree: this.repo.mainWorktree };
  }

  /** Dirty files and ahead/behind the base: two git calls, asked for lazily per worktree. */
  async worktreeDetails(task: Task): Promise<WorktreeDetails | undefined> {
    if (!task.worktreePath || !task.branch || !existsSync(task.worktreePath)) return undefined;
    const [status, counts] = await Promise.all([
      this.git.status(task.worktreePath),
      this.git.aheadBehind(task.baseBranch, task.branch).catch(() => ({ ahead: 0, behind: 0 })),
    ]);
    return { status, ...counts };
  }

  /** The task whose worktree contains `path` (a window's folder), if any. */
  async taskAt(path: string): Promise<Task | undefined> {
    const key = canonicalPath(path);
    const { tasks } = await this.repo.store.load();
    return tasks.find((task) => task.worktreePath && isInside(key, canonicalPath(task.worktreePath)));
  }

  async heads(options: { withWorktrees?: boolean } = {}): Promise<Map<string, BranchHead>> {
    return new Map((await this.git.branchHeads(options)).map((head) => [head.name, head]));
  }
}

export function worktreeAt(entries: readonly WorktreeEntry[], path: string): WorktreeEntry | undefined {
  const key = canonicalPath(path);
  return entries.find((entry) => canonicalPath(entry.path) === key);
}

// ---- the board's rows: filter, sort and groups (pure; the tree view draws what this returns) ----

export type BoardSort = 'status' | 'activity' | 'name';

export interface BoardFilter {
  /** Matched, ignoring case, against each task's subject, id, branch and owner. */
  text?: string;
  statuses?: readonly TaskStatus[];
  /** An owner's name; '' keeps the tasks nobody owns. */
  owner?: string;
}

export interface BoardRowGroup {
  /** A status when sorted by status; 'all' for the one flat list of the other sorts. */
  key: TaskStatus | 'all';
  tasks: TaskView[];
}

const STATUS_ORDER: readonly TaskStatus[] = ['in_progress', 'pending', 'completed'];

export function isFilterActive(filter: BoardFilter): boolean {
  return Boolean(filter.text?.trim()) || (filter.statuses !== undefined && filter.statuses.length > 0) || filter.owner !== undefined;
}

/**
 * The board's task rows in the order shown: status groups (board order within each), or one list
 * by recent activity (the task's last change or its branch's last commit, newest first) or by
 * subject. Linear in the tasks apart from the sort, whose keys are computed once per task.
 */
export function boardRows(board: Board, details: (taskId: string) => TaskDetails | undefined, options: { sort: BoardSort; filter: BoardFilter }): BoardRowGroup[] {
  const tasks = board.tasks.filter(taskFilter(options.filter));
  if (options.sort === 'status') {
    const groups = new Map<TaskStatus, TaskView[]>(STATUS_ORDER.map((status) => [status, []]));
    for (const task of tasks) groups.get(task.status)!.push(task);
    return STATUS_ORDER.filter((status) => groups.get(status)!.length > 0).map((status) => ({ key: status, tasks: groups.get(status)! }));
  }
  if (tasks.length === 0) return [];
  const keyed =
    options.sort === 'activity'
      ? tasks.map((task) => ({ task, key: -lastActivity(task, details(task.id)) }))
      : tasks.map((task) => ({ task, key: task.subject }));
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  keyed.sort((a, b) => (typeof a.key === 'number' ? a.key - (b.key as number) : collator.compare(a.key, b.key as string)));
  return [{ key: 'all', tasks: keyed.map(({ task }) => task) }];
}

/** When the task last changed: its record, or its branch's last commit, whichever is later (epoch ms). */
export function lastActivity(task: Task, details: TaskDetails | undefined): number {
  const updated = Date.parse(task.updatedAt) || 0;
  const committed = details?.lastCommit ? Date.parse(details.lastCommit.date) || 0 : 0;
  return Math.max(updated, committed);
}

function taskFilter(filter: BoardFilter): (task: TaskView) => boolean {
  const text = filter.text?.trim().toLowerCase();
  const statuses = filter.statuses && filter.statuses.length > 0 ? new Set(filter.statuses) : undefined;
  const { owner } = filter;
  return (task) =>
    (!statuses || statuses.has(task.status)) &&
    (owner === undefined || task.owner === owner) &&
    (!text || [task.subject, task.id, task.branch ?? '', task.owner].some((field) => field.toLowerCase().includes(text)));
}
