import { existsSync, promises as fs, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { TaskWorktreesError } from './errors';
import { GitAdapter, GitAdapterOptions } from './git/adapter';
import { BranchHead, WorkingTreeStatus, WorktreeEntry } from './git/porcelain';
import { MergeEngine } from './merge';
import { validateBranchName, validateSubject, validateTaskId } from './tasks/ids';
import { isTaskStatus, MergeStrategy, Task, TaskStatus } from './tasks/model';
import { StoreProblem, TaskStore } from './tasks/store';

export interface LifecycleSettings {
  /** Where task worktrees go: relative to the main worktree, or absolute. `${repoName}` is replaced. */
  worktreeRoot: string;
  branchPrefix: string;
  /** Empty: the branch checked out where the task is created. */
  defaultBaseBranch: string;
  mergeStrategy: MergeStrategy;
}

export const DEFAULT_SETTINGS: LifecycleSettings = {
  worktreeRoot: '.worktrees',
  branchPrefix: 'task/',
  defaultBaseBranch: '',
  mergeStrategy: 'merge',
};

export type WorktreeState = 'none' | 'present' | 'missing';

export interface TaskView extends Task {
  /** present: git lists it and its directory exists; missing: the store names one git does not have. */
  worktreeState: WorktreeState;
  locked?: string;
  detached?: boolean;
  /** The task names a branch that no longer exists. */
  branchMissing?: boolean;
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

export interface MergeResult {
  merged: boolean;
  commit?: string;
  conflicts?: string[];
  task: Task;
  /** Set when the merge landed but removing the worktree or branch afterwards was refused. */
  cleanupError?: string;
}

export interface CreateTaskInput {
  subject: string;
  description?: string;
  baseBranch?: string;
  blockedBy?: string[];
}

/**
 * The rules of the task/worktree lifecycle for one repository. Mutations run one at a time
 * (a queue per repository); the store's lock orders them across processes.
 */
export class TaskService {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly mutationListeners = new Set<() => void>();
  private readonly mergeEngine: MergeEngine;

  private constructor(
    readonly git: GitAdapter,
    readonly store: TaskStore,
    readonly mainWorktree: string,
    readonly commonDir: string,
    private settings: LifecycleSettings,
  ) {
    this.mergeEngine = new MergeEngine(git);
  }

  static async open(
    repoDir: string,
    settings: Partial<LifecycleSettings> = {},
    gitOptions: GitAdapterOptions = {},
  ): Promise<TaskService> {
    const git = new GitAdapter(repoDir, gitOptions);
    const { commonDir } = await git.locate();
    // The usual layout (<main>/.git) names the main worktree without asking git again; anything
    // else (a separate git dir, a bare repository) asks for the worktree list.
    let mainWorktree = basename(commonDir) === '.git' ? dirname(commonDir) : undefined;
    if (!mainWorktree) {
      const [main] = await git.listWorktrees();
      if (!main || main.bare) {
        throw new TaskWorktreesError('NotARepository', 'Bare repositories are not supported: open a worktree of the repository.');
      }
      mainWorktree = main.path;
    }
    return new TaskService(git, new TaskStore(TaskStore.dirFor(commonDir)), mainWorktree, commonDir, { ...DEFAULT_SETTINGS, ...settings });
  }

  updateSettings(settings: Partial<LifecycleSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  onDidMutate(listener: () => void): () => void {
    this.mutationListeners.add(listener);
    return () => this.mutationListeners.delete(listener);
  }

  // ---- reading ---------------------------------------------------------------------------

  /**
   * The whole board: the store's files, one `git worktree list` and one `git for-each-ref` —
   * two git processes whatever the number of tasks and worktrees.
   */
  async board(): Promise<Board> {
    const [{ tasks, problems }, entries, heads] = await Promise.all([this.store.load(), this.git.listWorktrees(), this.heads()]);
    const byPath = new Map(entries.map((entry) => [canonicalPath(entry.path), entry]));
    // The main worktree is never a task's, nor offered for adoption.
    const claimed = new Set<string>([canonicalPath(this.mainWorktree)]);
    const views = tasks.map((task): TaskView => {
      const branchMissing = task.branch !== undefined && !heads.has(task.branch);
      if (!task.worktreePath) return { ...task, worktreeState: 'none', branchMissing };
      const key = canonicalPath(task.worktreePath);
      claimed.add(key);
      const entry = byPath.get(key);
      if (!entry || entry.prunable) return { ...task, worktreeState: 'missing', branchMissing };
      return { ...task, worktreeState: 'present', locked: entry.locked, detached: entry.detached, branchMissing };
    });
    const unassigned = [...byPath].filter(([key, entry]) => !entry.bare && !claimed.has(key)).map(([, entry]) => entry);
    return { tasks: views, unassigned, problems, mainWorktree: this.mainWorktree };
  }

  async task(taskId: string): Promise<Task> {
    return this.store.get(validateTaskId(taskId));
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

  async currentBranch(): Promise<string | undefined> {
    return this.git.currentBranch();
  }

  async localBranches(): Promise<string[]> {
    return [...(await this.heads()).keys()];
  }

  /** The task whose worktree contains `path` (a window's folder), if any. */
  async taskAt(path: string): Promise<Task | undefined> {
    const key = canonicalPath(path);
    const { tasks } = await this.store.load();
    return tasks.find((task) => task.worktreePath && isInside(key, canonicalPath(task.worktreePath)));
  }

  worktreePathFor(taskId: string): string {
    return join(this.worktreeRoot(), validateTaskId(taskId));
  }

  // ---- mutations ---------------------------------------------------------------------------

  /** Creates a task on its base (default: the current branch) and, on request, its worktree too. */
  async createTask(input: CreateTaskInput & { createWorktree?: boolean }): Promise<Task> {
    const subject = validateSubject(input.subject);
    const description = typeof input.description === 'string' ? input.description : '';
    const blockedBy = (input.blockedBy ?? []).map((id) => validateTaskId(id));
    const requestedBase = input.baseBranch || this.settings.defaultBaseBranch;
    if (requestedBase) validateBranchName(requestedBase, 'base branch');
    return this.run(async () => {
      const [currentBranch, heads] = await Promise.all([requestedBase ? undefined : this.git.currentBranch(), this.heads()]);
      // No branch has a commit yet (an unborn HEAD names a branch that does not exist).
      if (heads.size === 0) {
        throw new TaskWorktreesError('NoCommits', 'The repository has no commits yet: make a first commit, then create tasks.');
      }
      const baseBranch = requestedBase || currentBranch;
      if (!baseBranch) throw new TaskWorktreesError('InvalidInput', 'HEAD is detached: choose a base branch for the task.');
      if (!heads.has(baseBranch)) {
        throw new TaskWorktreesError('BranchNotFound', `The base branch "${baseBranch}" does not exist.`);
      }
      const task = await this.store.create(
        { subject, description, status: 'pending', owner: '', baseBranch, blockedBy },
        (id) => heads.has(`${this.settings.branchPrefix}${id}`) || existsSync(this.worktreePathFor(id)),
      );
      // The heads just read serve the worktree too: one git call fewer than two separate steps.
      return input.createWorktree ? this.addWorktreeFor(task, heads) : task;
    });
  }

  /** Creates `<root>/<id>` on a new branch `<prefix><id>` from the task's base; undone completely on failure. */
  async createWorktree(taskId: string): Promise<Task> {
    validateTaskId(taskId);
    return this.run(async () => this.addWorktreeFor(await this.store.get(taskId), await this.heads()));
  }

  private async addWorktreeFor(task: Task, heads: Map<string, BranchHead>): Promise<Task> {
    const taskId = task.id;
    const branch = validateBranchName(`${this.settings.branchPrefix}${taskId}`, 'branch name (check the branch prefix setting)');
    refuseIfBound(task);
    const baseOid = heads.get(task.baseBranch)?.oid;
    if (!baseOid) {
      throw new TaskWorktreesError('BranchNotFound', `The task's base branch "${task.baseBranch}" does not exist.`);
    }
    if (heads.has(branch)) {
      throw new TaskWorktreesError('BranchExists', `A branch "${branch}" already exists. Use "Assign Existing Worktree/Branch" to bind it to this task.`);
    }
    const path = this.worktreePathFor(taskId);
    if (existsSync(path)) {
      throw new TaskWorktreesError('WorktreePathExists', `${path} already exists; move it away or choose another worktree root.`);
    }
    await this.excludeWorktreeRoot();
    try {
      // The "before" event is written while git works; both settle before "after" or "failed" is logged.
      const [logged, added] = await Promise.allSettled([
        this.store.log('worktree.create.before', taskId, { branch, path, base: task.baseBranch }),
        this.git.addWorktreeWithNewBranch(path, branch, baseOid),
      ]);
      if (added.status === 'rejected') throw added.reason;
      if (logged.status === 'rejected') throw logged.reason;
      return await this.bind(taskId, path, branch, 'worktree.create.after');
    } catch (error) {
      await this.rollBackCreatedWorktree(path, branch, baseOid);
      await this.store.log('worktree.create.failed', taskId, { branch, path, error: (error as Error).message });
      throw error;
    }
  }

  /** Binds an existing worktree, or an existing branch (checked out where it is, or in a new worktree). */
  async assignWorktree(taskId: string, target: { worktreePath?: string; branch?: string }): Promise<Task> {
    validateTaskId(taskId);
    if (target.branch !== undefined) validateBranchName(target.branch);
    if (target.worktreePath === undefined && target.branch === undefined) {
      throw new TaskWorktreesError('InvalidInput', 'Give a worktreePath or a branch to assign.');
    }
    if (target.worktreePath !== undefined && (typeof target.worktreePath !== 'string' || !isAbsolute(target.worktreePath))) {
      throw new TaskWorktreesError('InvalidInput', 'worktreePath must be an absolute path of one of the repository\'s worktrees.');
    }
    return this.run(async () => {
      const task = await this.store.get(taskId);
      refuseIfBound(task);
      const board = await this.board();
      // A worktree whose directory is gone cannot be worked in: it is pruned, not adopted.
      const adoptable = board.unassigned.filter((candidate) => !candidate.prunable);
      const entry = target.worktreePath
        ? worktreeAt(adoptable, target.worktreePath)
        : adoptable.find((candidate) => candidate.branch === target.branch);
      if (entry) {
        if (target.branch !== undefined && entry.branch !== target.branch) {
          throw new TaskWorktreesError('InvalidInput', `${entry.path} has ${entry.branch ?? 'a detached HEAD'} checked out, not ${target.branch}.`);
        }
        return this.bind(taskId, entry.path, entry.branch, 'worktree.assigned');
      }
      if (target.worktreePath) {
        const owner = board.tasks.find((other) => other.worktreePath && canonicalPath(other.worktreePath) === canonicalPath(target.worktreePath!));
        throw owner
          ? new TaskWorktreesError('WorktreeAssigned', `${target.worktreePath} already belongs to task "${owner.id}".`)
          : new TaskWorktreesError('WorktreeNotFound', `${target.worktreePath} is not a worktree of this repository (or it is the main worktree).`);
      }
      const branch = target.branch!;
      const head = (await this.heads({ withWorktrees: true })).get(branch);
      if (!head) throw new TaskWorktreesError('BranchNotFound', `There is no branch "${branch}".`);
      if (head.worktreePath) {
        throw new TaskWorktreesError('BranchCheckedOut', `"${branch}" is checked out in ${head.worktreePath}, which is the main worktree or another task's.`);
      }
      const path = this.worktreePathFor(taskId);
      if (existsSync(path)) throw new TaskWorktreesError('WorktreePathExists', `${path} already exists.`);
      await this.excludeWorktreeRoot();
      await this.git.addWorktreeForBranch(path, branch);
      try {
        return await this.bind(taskId, path, branch, 'worktree.assigned');
      } catch (error) {
        await this.git.removeWorktree(path, true).catch(() => undefined);
        throw error;
      }
    });
  }

  async setStatus(taskId: string, status: TaskStatus, owner?: string): Promise<Task> {
    validateTaskId(taskId);
    if (!isTaskStatus(status)) {
      throw new TaskWorktreesError('InvalidInput', `Unknown status ${JSON.stringify(String(status))}: use pending, in_progress or completed.`);
    }
    const newOwner = owner === undefined ? undefined : validateOwner(owner);
    return this.run(() =>
      this.store.update(taskId, (task) => {
        task.status = status;
        if (newOwner !== undefined) task.owner = newOwner;
        const type = status === 'completed' ? 'task.completed' : newOwner ? 'task.claimed' : 'task.status';
        return { type, detail: { status, owner: task.owner } };
      }),
    );
  }

  async completeTask(taskId: string): Promise<Task> {
    return this.setStatus(taskId, 'completed');
  }

  async mergeTask(taskId: string, options: { strategy?: MergeStrategy; removeWorktree?: boolean; deleteBranch?: boolean } = {}): Promise<MergeResult> {
    validateTaskId(taskId);
    const strategy = options.strategy ?? this.settings.mergeStrategy;
    if (strategy !== 'merge' && strategy !== 'squash') {
      throw new TaskWorktreesError('InvalidInput', `Unknown merge strategy ${JSON.stringify(String(strategy))}: use merge or squash.`);
    }
    const result = await this.run(async (): Promise<MergeResult> => {
      // The heads are read while the task is; its worktree is checked while the merge is tried in
      // memory (merge-tree writes nothing but objects). Nothing that shows is written before both are known.
      const headsRead = this.heads({ withWorktrees: true });
      headsRead.catch(() => undefined); // awaited below; an early throw must not leave it unobserved
      const task = await this.store.get(taskId);
      if (!task.branch) throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${taskId}" has no branch to merge.`);
      const taskWorktree = task.worktreePath && existsSync(task.worktreePath) ? task.worktreePath : undefined;
      const unsavedCheck = taskWorktree ? this.unsavedWork(taskWorktree) : Promise.resolve([]);
      unsavedCheck.catch(() => undefined);
      const heads = await headsRead;
      const branchOid = heads.get(task.branch)?.oid;
      const base = heads.get(task.baseBranch);
      if (!branchOid) throw new TaskWorktreesError('BranchNotFound', `The task's branch "${task.branch}" does not exist any more.`);
      if (!base) throw new TaskWorktreesError('BranchNotFound', `The task's base branch "${task.baseBranch}" does not exist.`);
      const [preview, unsaved, alreadyMerged] = await Promise.all([
        this.mergeEngine.preview(base.oid, branchOid),
        unsavedCheck,
        this.git.isAncestor(branchOid, base.oid),
      ]);
      if (unsaved.length > 0) {
        throw new TaskWorktreesError('WorktreeDirty', `Task "${taskId}" has work that is not on its branch (uncommitted, untracked or on a detached HEAD); commit it to ${task.branch} first, so that the merge leaves nothing behind.`, unsaved);
      }
      await this.store.log('merge.before', taskId, { base: task.baseBranch, branch: task.branch, strategy });
      if (preview.conflicts.length > 0) {
        await this.store.log('merge.conflict', taskId, { conflicts: preview.conflicts });
        return { merged: false, conflicts: preview.conflicts, task };
      }
      const request = {
        base: task.baseBranch,
        baseOid: base.oid,
        branch: task.branch,
        branchOid,
        strategy,
        message: strategy === 'squash' ? `${task.subject} (task ${task.id})` : `Merge task ${task.id}: ${task.subject}`,
        baseWorktree: base.worktreePath,
      };
      // A branch the base already contains has nothing to land: no empty merge commit.
      const commit = alreadyMerged
        ? base.oid
        : await this.mergeEngine.land(request, preview.tree).catch(async (error: Error) => {
            await this.store.log('merge.failed', taskId, { error: error.message });
            throw error;
          });
      const merged = await this.store.update(taskId, (current) => {
        current.status = 'completed';
        current.merge = { commit, branchHead: branchOid, strategy, at: new Date().toISOString() };
        return { type: 'merge.after', detail: { commit, base: current.baseBranch, strategy } };
      });
      return { merged: true, commit, task: merged };
    });
    if (!result.merged || !options.removeWorktree) return result;
    try {
      let task = result.task;
      if (task.worktreePath) task = await this.removeWorktree(taskId, { deleteBranch: options.deleteBranch });
      else if (options.deleteBranch) task = await this.deleteTaskBranch(taskId);
      return { ...result, task };
    } catch (error) {
      return { ...result, cleanupError: (error as Error).message };
    }
  }

  /**
   * Would each task merge cleanly into its base right now? In-memory merges (merge-tree) only:
   * nothing is written but git objects. One `for-each-ref` for all heads, then the merges run
   * side by side within the adapter's process limit.
   */
  async previewMerges(taskIds?: string[]): Promise<Array<{ taskId: string; clean: boolean; conflicts: string[] }>> {
    const [{ tasks }, heads] = await Promise.all([this.store.load(), this.heads()]);
    const wanted = taskIds ? new Set(taskIds.map((id) => validateTaskId(id))) : undefined;
    const candidates = tasks.filter((task) => task.branch && heads.has(task.branch) && heads.has(task.baseBranch) && (!wanted || wanted.has(task.id)));
    return Promise.all(
      candidates.map(async (task) => {
        const { conflicts } = await this.mergeEngine.preview(heads.get(task.baseBranch)!.oid, heads.get(task.branch!)!.oid);
        return { taskId: task.id, clean: conflicts.length === 0, conflicts };
      }),
    );
  }

  /**
   * Removes the task's worktree. Refuses (WorktreeDirty, with the files) when anything would be
   * lost, unless `force`; never removes a locked worktree. The branch is deleted only on request and
   * only when merged into the base.
   */
  async removeWorktree(taskId: string, options: { force?: boolean; deleteBranch?: boolean } = {}): Promise<Task> {
    validateTaskId(taskId);
    return this.run(async () => {
      const task = await this.store.get(taskId);
      if (!task.worktreePath) throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${taskId}" has no worktree.`);
      const entries = await this.git.listWorktrees();
      const entry = worktreeAt(entries, task.worktreePath);
      const present = entry !== undefined && !entry.prunable;
      refuseIfLocked(entry);
      if (present && !options.force) {
        const lost = await this.unsavedWork(entry.path);
        if (lost.length > 0) {
          throw new TaskWorktreesError('WorktreeDirty', `The worktree of "${taskId}" has work that removing it would lose.`, lost);
        }
      }
      // `force` covers the worktree's files only: a branch with commits the base lacks is never deleted.
      const branchToDelete = options.deleteBranch ? await this.deletableBranch(task, entries, entry) : undefined;
      await this.store.log('worktree.remove.before', taskId, { path: task.worktreePath, force: !!options.force });
      try {
        // A worktree whose directory is gone: git drops its record; there is nothing on disk to lose.
        if (entry) await this.git.removeWorktree(entry.path, present && !!options.force);
        if (branchToDelete) await this.git.deleteBranch(branchToDelete.name, branchToDelete.oid);
      } catch (error) {
        await this.store.log('worktree.remove.failed', taskId, { error: (error as Error).message });
        throw error;
      }
      return this.store.update(taskId, (current) => {
        current.worktreePath = undefined;
        if (branchToDelete) current.branch = undefined;
        return { type: 'worktree.remove.after', detail: { branchDeleted: branchToDelete?.name } };
      });
    });
  }

  /** Deletes the task record only; its branch is kept. A task with a live worktree must lose it first. */
  async deleteTask(taskId: string): Promise<void> {
    validateTaskId(taskId);
    await this.run(async () => {
      const task = await this.store.get(taskId);
      const entry = task.worktreePath ? worktreeAt(await this.git.listWorktrees(), task.worktreePath) : undefined;
      if (entry && !entry.prunable) {
        throw new TaskWorktreesError('TaskHasWorktree', `Task "${taskId}" still has its worktree at ${task.worktreePath}; remove the worktree first.`);
      }
      await this.store.delete(taskId);
    });
  }

  /** `git worktree prune` (only worktrees whose directories are gone; locked ones stay), then unbinds tasks left pointing at them. */
  async prune(): Promise<string[]> {
    return this.run(async () => {
      await this.git.pruneWorktrees();
      const board = await this.board();
      const unbound: string[] = [];
      for (const task of board.tasks.filter((view) => view.worktreeState === 'missing')) {
        await this.store.update(task.id, (current) => {
          current.worktreePath = undefined;
          return { type: 'worktree.pruned', detail: { path: task.worktreePath } };
        });
        unbound.push(task.id);
      }
      return unbound;
    });
  }

  /**
   * Repairs a task whose worktree is missing (deleted by hand, or a crash between git and the
   * store): drops git's stale record of it and, when the task's branch still exists and is checked
   * out nowhere, makes the worktree again at the recorded path from that branch. Nothing with work
   * in it is ever deleted: a present worktree is left alone.
   */
  async repairWorktree(taskId: string): Promise<Task> {
    validateTaskId(taskId);
    return this.run(async () => {
      const task = await this.store.get(taskId);
      const entries = await this.git.listWorktrees();
      const stale = task.worktreePath ? worktreeAt(entries, task.worktreePath) : undefined;
      if (!task.worktreePath || (stale && !stale.prunable)) {
        throw new TaskWorktreesError('InvalidInput', `Task "${taskId}" has no missing worktree to repair.`);
      }
      const path = task.worktreePath;
      refuseIfLocked(stale);
      if (stale) await this.git.removeWorktree(stale.path, false);
      const branchOid = task.branch ? await this.git.branchCommit(task.branch) : undefined;
      const checkedOut = entries.some((entry) => entry !== stale && entry.branch === task.branch);
      if (task.branch && branchOid && !checkedOut && !existsSync(path)) {
        await this.git.addWorktreeForBranch(path, task.branch);
        return this.bind(taskId, path, task.branch, 'worktree.repaired');
      }
      return this.store.update(taskId, (current) => {
        current.worktreePath = undefined;
        return { type: 'worktree.unbound', detail: { path, reason: 'branch gone or checked out elsewhere' } };
      });
    });
  }

  async events(): Promise<ReturnType<TaskStore['events']['read']>> {
    return this.store.events.read();
  }

  // ---- helpers -----------------------------------------------------------------------------

  private run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation, operation);
    this.queue = result.catch(() => undefined);
    return result.finally(() => this.mutationListeners.forEach((listener) => listener()));
  }

  private async bind(taskId: string, path: string, branch: string | undefined, eventType: string): Promise<Task> {
    return this.store.update(taskId, (task) => {
      task.worktreePath = canonicalPath(path);
      task.branch = branch;
      return { type: eventType, detail: { path, branch } };
    });
  }

  /** What removing this worktree would lose: changed, staged, untracked and conflicted files, and commits on no branch. */
  private async unsavedWork(worktreePath: string): Promise<string[]> {
    const status = await this.git.status(worktreePath);
    const lost = [...status.files];
    if (status.detached && status.head && !(await this.git.isOnSomeBranch(status.head))) {
      lost.push(`HEAD ${status.head.slice(0, 12)} (detached, on no branch)`);
    }
    return lost;
  }

  private async heads(options: { withWorktrees?: boolean } = {}): Promise<Map<string, BranchHead>> {
    return new Map((await this.git.branchHeads(options)).map((head) => [head.name, head]));
  }

  private async deletableBranch(task: Task, entries: WorktreeEntry[], own: WorktreeEntry | undefined): Promise<{ name: string; oid: string } | undefined> {
    if (!task.branch) return undefined;
    const oid = await this.git.branchCommit(task.branch);
    if (!oid) return undefined;
    const elsewhere = entries.find((entry) => entry !== own && entry.branch === task.branch);
    if (elsewhere) {
      throw new TaskWorktreesError('BranchCheckedOut', `"${task.branch}" is checked out in ${elsewhere.path}; it was not deleted.`);
    }
    const merged = task.merge?.branchHead === oid || (await this.git.isAncestor(oid, task.baseBranch).catch(() => false));
    if (!merged) {
      const { ahead } = await this.git.aheadBehind(task.baseBranch, task.branch).catch(() => ({ ahead: NaN }));
      throw new TaskWorktreesError('UnmergedWork', `"${task.branch}" has ${Number.isNaN(ahead) ? 'commits' : `${ahead} commit(s)`} not merged into ${task.baseBranch}; nothing was removed.`);
    }
    return { name: task.branch, oid };
  }

  /** Deletes the task's branch of a task without a worktree, only when it is merged into the base. */
  async deleteTaskBranch(taskId: string): Promise<Task> {
    validateTaskId(taskId);
    return this.run(async () => {
      const task = await this.store.get(taskId);
      if (task.worktreePath) {
        throw new TaskWorktreesError('TaskHasWorktree', `Task "${taskId}" still has its worktree; remove the worktree (with its branch) instead.`);
      }
      const branch = await this.deletableBranch(task, await this.git.listWorktrees(), undefined);
      if (!branch) return task;
      await this.git.deleteBranch(branch.name, branch.oid);
      return this.store.update(taskId, (current) => {
        current.branch = undefined;
        return { type: 'branch.deleted', detail: { branch: branch.name } };
      });
    });
  }

  private async rollBackCreatedWorktree(path: string, branch: string, baseOid: string): Promise<void> {
    const entries = await this.git.listWorktrees().catch(() => []);
    if (worktreeAt(entries, path)) {
      // Just created from the base: it holds nothing but a checkout.
      await this.git.removeWorktree(path, true).catch(() => undefined);
    }
    if (existsSync(path)) await fs.rm(path, { recursive: true, force: true });
    await this.git.pruneWorktrees().catch(() => undefined);
    if ((await this.git.branchCommit(branch).catch(() => undefined)) === baseOid) {
      await this.git.deleteBranch(branch, baseOid).catch(() => undefined);
    }
  }

  private worktreeRoot(): string {
    const root = this.settings.worktreeRoot.replace(/\$\{repoName\}/g, basename(this.mainWorktree)) || DEFAULT_SETTINGS.worktreeRoot;
    return resolve(this.mainWorktree, root);
  }

  /** A root inside the main worktree goes into info/exclude, so the main worktree stays clean. */
  private async excludeWorktreeRoot(): Promise<void> {
    const rel = relative(this.mainWorktree, this.worktreeRoot());
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return;
    const pattern = `/${rel.split(sep).join('/')}/`;
    const excludeFile = join(this.commonDir, 'info', 'exclude');
    const current = await fs.readFile(excludeFile, 'utf8').catch(() => '');
    if (current.split('\n').includes(pattern)) return;
    await fs.mkdir(join(this.commonDir, 'info'), { recursive: true });
    await fs.appendFile(excludeFile, `${current && !current.endsWith('\n') ? '\n' : ''}${pattern}\n`);
  }
}

function worktreeAt(entries: WorktreeEntry[], path: string): WorktreeEntry | undefined {
  const key = canonicalPath(path);
  return entries.find((entry) => canonicalPath(entry.path) === key);
}

function refuseIfBound(task: Task): void {
  if (task.worktreePath) {
    throw new TaskWorktreesError('TaskHasWorktree', `Task "${task.id}" already has a worktree at ${task.worktreePath}.`);
  }
}

function refuseIfLocked(entry: WorktreeEntry | undefined): void {
  if (entry?.locked) {
    throw new TaskWorktreesError('WorktreeLocked', `${entry.path} is locked (${entry.locked}); unlock it with "git worktree unlock" first.`);
  }
}

function validateOwner(owner: unknown): string {
  const text = typeof owner === 'string' ? owner.trim() : '';
  if (typeof owner !== 'string' || text.length > 100 || /[\u0000-\u001f\u007f]/.test(text)) {
    throw new TaskWorktreesError('InvalidInput', 'An owner is a name of at most 100 characters without control characters.');
  }
  return text;
}

const canonicalPaths = new Map<string, string>();

/**
 * Git reports real paths; the store and the UI may hold symlinked ones (/tmp on macOS). Cached:
 * the board compares every worktree path on each refresh, and realpath is a syscall per path.
 */
export function canonicalPath(path: string): string {
  let canonical = canonicalPaths.get(path);
  if (canonical === undefined) {
    try {
      canonical = realpathSync.native(path);
    } catch {
      return resolve(path); // not there (yet): not cached, it may appear
    }
    if (canonicalPaths.size > 10_000) canonicalPaths.clear();
    canonicalPaths.set(path, canonical);
  }
  return canonical;
}

function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}
