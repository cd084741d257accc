import { existsSync } from 'node:fs';
import { GitAdapter } from './git/adapter';
import { BranchHead, WorkingTreeStatus, WorktreeEntry } from './git/porcelain';
import { canonicalPath, isInside, Repository } from './repo';
import { isReady, openBlockers } from './tasks/dependencies';
import { Task } from './tasks/model';
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
    const views = tasks.map((task): TaskView => {
      const view = { ...task, branchMissing: task.branch !== undefined && !heads.has(task.branch), blockers: openBlockers(task, tasks), ready: isReady(task, tasks) };
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
