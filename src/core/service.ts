import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { Board, BoardReader, WorktreeDetails } from './board';
import { TaskWorktreesError } from './errors';
import { Forecast, Forecaster, landable, QueueForecastStep } from './forecast';
import { GitAdapter, GitAdapterOptions } from './git/adapter';
import { WorktreeEntry } from './git/porcelain';
import { OperationOutcome, Operations } from './operations';
import { DEFAULT_SETTINGS, LifecycleSettings, Repository } from './repo';
import { CreateTaskInput, TaskCreation, validateCreateInput, validateWorktreePathInput } from './tasks/create';
import { checkBlockers, refuseIfBlocked, unblockedBy } from './tasks/dependencies';
import { validateBlockedBy, validateBranchName, validateOwner, validateTaskId } from './tasks/ids';
import { MergeResult, TaskMerge, validateStrategy } from './tasks/merge';
import { isTaskStatus, MergeStrategy, Task, TaskStatus } from './tasks/model';
import { TaskRemoval } from './tasks/remove';
import { TaskStore } from './tasks/store';

/**
 * The task/worktree lifecycle of one repository: a facade over the read model (board), the
 * operations (create, merge, remove) and the safety inspector they all go through. Every argument
 * is validated here, before any git process or lock; every change runs as one operation.
 */
export class TaskService {
  private readonly operations: Operations;
  private readonly reader: BoardReader;
  private readonly creation: TaskCreation;
  private readonly merging: TaskMerge;
  private readonly removal: TaskRemoval;
  private readonly forecaster: Forecaster;

  private constructor(private readonly repo: Repository) {
    this.operations = new Operations(repo.store);
    this.reader = new BoardReader(repo);
    this.creation = new TaskCreation(repo, this.reader);
    this.merging = new TaskMerge(repo, this.reader);
    this.removal = new TaskRemoval(repo, this.reader);
    this.forecaster = new Forecaster(repo.git);
  }

  static async open(repoDir: string, settings: Partial<LifecycleSettings> = {}, gitOptions: GitAdapterOptions = {}): Promise<TaskService> {
    const git = new GitAdapter(repoDir, gitOptions);
    return new TaskService(await Repository.open(git, { ...DEFAULT_SETTINGS, ...settings }));
  }

  get git(): GitAdapter {
    return this.repo.git;
  }

  get store(): TaskStore {
    return this.repo.store;
  }

  get mainWorktree(): string {
    return this.repo.mainWorktree;
  }

  get commonDir(): string {
    return this.repo.commonDir;
  }

  /** A window's settings: they seed the repository's layout until its first task records it. */
  updateSettings(settings: Partial<LifecycleSettings>): void {
    this.repo.settings = { ...this.repo.settings, ...settings };
  }

  /** Called after every operation of this service, failed or not. */
  onDidMutate(listener: (outcome: OperationOutcome) => void): () => void {
    return this.operations.onDidRun(listener);
  }

  // ---- reading (no lock, no writes) ------------------------------------------------------

  async board(): Promise<Board> {
    return this.reader.board();
  }

  async task(taskId: string): Promise<Task> {
    return this.store.get(validateTaskId(taskId));
  }

  async worktreeDetails(task: Task): Promise<WorktreeDetails | undefined> {
    if (typeof task !== 'object' || task === null) throw new TaskWorktreesError('InvalidInput', 'worktreeDetails needs a task object.');
    return this.reader.worktreeDetails(task);
  }

  async currentBranch(): Promise<string | undefined> {
    return this.git.currentBranch();
  }

  /** git's worktree list, with the main worktree's real path. */
  async worktrees(): Promise<WorktreeEntry[]> {
    return this.repo.worktrees();
  }

  async localBranches(): Promise<string[]> {
    return [...(await this.reader.heads()).keys()];
  }

  async taskAt(path: string): Promise<Task | undefined> {
    return this.reader.taskAt(path);
  }

  worktreePathFor(taskId: string): string {
    return this.repo.worktreePathFor(validateTaskId(taskId));
  }

  async events(): Promise<ReturnType<TaskStore['events']['read']>> {
    return this.store.events.read();
  }

  /**
   * Would each task merge cleanly into its base right now? The forecaster's merges with the base
   * (in memory, cached by commit pair): one `for-each-ref` for all heads, then only the merges
   * whose commits moved since the last forecast.
   */
  async previewMerges(taskIds?: string[]): Promise<Array<{ taskId: string; clean: boolean; conflicts: string[] }>> {
    if (taskIds !== undefined && !Array.isArray(taskIds)) throw new TaskWorktreesError('InvalidInput', 'previewMerges takes a list of task ids.');
    const wanted = taskIds ? new Set(taskIds.map((id) => validateTaskId(id))) : undefined;
    const [{ tasks }, heads] = await Promise.all([this.store.load(), this.reader.heads()]);
    const previews = await this.forecaster.withBases(tasks.filter((task) => !wanted || wanted.has(task.id)), heads);
    return previews.map(({ task, forecast }) => ({ taskId: task.id, clean: forecast.clean, conflicts: forecast.files }));
  }

  // ---- operations ------------------------------------------------------------------------

  /** Creates a task on its base (default: the current branch) and, on request, its worktree too. */
  async createTask(input: CreateTaskInput & { createWorktree?: boolean }): Promise<Task> {
    const valid = validateCreateInput(input, this.repo.settings.defaultBaseBranch);
    return this.operations.run('createTask', undefined, () => this.creation.createTask(valid));
  }

  /** Creates `<root>/<id>` on a new branch `<prefix><id>` from the task's base; a failure undoes what it made. */
  async createWorktree(taskId: string): Promise<Task> {
    validateTaskId(taskId);
    return this.operations.run('createWorktree', taskId, () => this.creation.createWorktree(taskId));
  }

  /** Binds an existing worktree, or an existing branch; never the base, the main worktree's branch or another task's. */
  async assignWorktree(taskId: string, target: { worktreePath?: string; branch?: string }): Promise<Task> {
    validateTaskId(taskId);
    if (typeof target !== 'object' || target === null || (target.worktreePath === undefined && target.branch === undefined)) {
      throw new TaskWorktreesError('InvalidInput', 'Give a worktreePath or a branch to assign.');
    }
    if (target.branch !== undefined) validateBranchName(target.branch);
    if (target.worktreePath !== undefined) validateWorktreePathInput(target.worktreePath);
    return this.operations.run('assignWorktree', taskId, () => this.creation.assignWorktree(taskId, target));
  }

  /** Claiming or starting a blocked task is refused (Blocked); completing one logs which tasks it unblocked. */
  async setStatus(taskId: string, status: TaskStatus, owner?: string): Promise<Task> {
    validateTaskId(taskId);
    if (!isTaskStatus(status)) {
      throw new TaskWorktreesError('InvalidInput', `Unknown status ${JSON.stringify(String(status))}: use pending, in_progress or completed.`);
    }
    const newOwner = owner === undefined ? undefined : validateOwner(owner);
    return this.operations.run('setStatus', taskId, async () => {
      const { tasks } = await this.store.load();
      const current = tasks.find((task) => task.id === taskId);
      if (status === 'in_progress' && current) refuseIfBlocked(current, tasks, 'claim or start it');
      // Two agents taking the same task: the second is told, not silently given it.
      if (newOwner && current?.status === 'in_progress' && current.owner && current.owner !== newOwner) {
        throw new TaskWorktreesError('TaskClaimed', `Task "${taskId}" is claimed by ${current.owner}; they hand it back by setting it to pending (without a new owner).`, [current.owner]);
      }
      const updated = await this.store.update(taskId, (task) => {
        task.status = status;
        if (newOwner !== undefined) task.owner = newOwner;
        const type = status === 'completed' ? 'task.completed' : newOwner ? 'task.claimed' : 'task.status';
        return { type, detail: { status, owner: task.owner } };
      });
      if (status === 'completed' && current?.status !== 'completed') {
        const now = tasks.map((task) => (task.id === taskId ? updated : task));
        for (const id of unblockedBy(taskId, now)) await this.store.log('task.unblocked', id, { by: taskId });
      }
      return updated;
    });
  }

  /**
   * An agent started in the task's worktree: logged, and recorded while its process lives, so a
   * removal or merge from any window or process refuses (AgentRunning) until it exits.
   */
  async agentStarted(taskId: string, agent: { name: string; command: string; pid?: number }): Promise<void> {
    validateTaskId(taskId);
    if (agent.pid !== undefined && (!Number.isInteger(agent.pid) || agent.pid <= 0)) {
      throw new TaskWorktreesError('InvalidInput', `An agent's pid is a positive integer, not ${JSON.stringify(agent.pid)}.`);
    }
    await this.operations.run('agent', taskId, async () => {
      const task = await this.store.get(taskId);
      if (agent.pid && task.worktreePath) {
        await this.store.recordAgent({ pid: agent.pid, host: hostname(), agent: agent.name, taskId, worktreePath: task.worktreePath, startedAt: new Date().toISOString() });
      }
      await this.store.log('agent.started', taskId, { agent: agent.name, command: agent.command, pid: agent.pid });
    });
  }

  async agentExited(taskId: string, agent: { name: string; pid?: number; code: number | null; reason: string }): Promise<void> {
    validateTaskId(taskId);
    await this.operations.run('agent', taskId, async () => {
      if (agent.pid) await this.store.clearAgent(agent.pid, hostname());
      await this.store.log('agent.exited', taskId, { agent: agent.name, code: agent.code, reason: agent.reason, pid: agent.pid });
    });
  }

  /** What the task waits on; unknown ids, itself and cycles are refused. */
  async setBlockedBy(taskId: string, blockedBy: string[]): Promise<Task> {
    validateTaskId(taskId);
    const ids = validateBlockedBy(blockedBy);
    return this.operations.run('setStatus', taskId, async () => {
      checkBlockers(taskId, ids, (await this.store.load()).tasks);
      return this.store.update(taskId, (task) => {
        task.blockedBy = [...new Set(ids)];
        return { type: 'task.blockedBy', detail: { blockedBy: task.blockedBy } };
      });
    });
  }

  async completeTask(taskId: string): Promise<Task> {
    return this.setStatus(taskId, 'completed');
  }

  /**
   * Merges the task into its base; on request then removes its worktree and branch through the
   * same checks as removeWorktree — all in one operation, so nothing moves in between.
   */
  async mergeTask(taskId: string, given?: { strategy?: MergeStrategy; removeWorktree?: boolean; deleteBranch?: boolean } | null): Promise<MergeResult> {
    validateTaskId(taskId);
    const options = validOptions(given, ['removeWorktree', 'deleteBranch']);
    const strategy = validateStrategy(options.strategy ?? this.repo.settings.mergeStrategy);
    return this.operations.run('merge', taskId, async () => {
      const result = await this.merging.merge(taskId, strategy);
      if (!result.merged || !options.removeWorktree) return result;
      try {
        const task = result.task.worktreePath
          ? await this.removal.removeWorktree(taskId, { deleteBranch: options.deleteBranch })
          : options.deleteBranch
            ? await this.removal.deleteTaskBranch(taskId)
            : result.task;
        return { ...result, task };
      } catch (error) {
        return { ...result, cleanupError: (error as Error).message };
      }
    });
  }

  async removeWorktree(taskId: string, given?: { force?: boolean; deleteBranch?: boolean } | null): Promise<Task> {
    validateTaskId(taskId);
    const options = validOptions(given, ['force', 'deleteBranch']);
    return this.operations.run('removeWorktree', taskId, () => this.removal.removeWorktree(taskId, options));
  }

  /** Deletes the task record only; its branch is kept. A task with a live worktree must lose it first. */
  async deleteTask(taskId: string): Promise<void> {
    validateTaskId(taskId);
    await this.operations.run('deleteTask', taskId, () => this.removal.deleteTask(taskId));
  }

  /** Deletes the branch of a task without a worktree, only when its base holds all of it. */
  async deleteTaskBranch(taskId: string): Promise<Task> {
    validateTaskId(taskId);
    return this.operations.run('deleteBranch', taskId, () => this.removal.deleteTaskBranch(taskId));
  }

  /** Relinks moved worktrees, prunes git's records of deleted ones, unbinds tasks left without one. */
  async prune(): Promise<string[]> {
    return this.operations.run('prune', undefined, () => this.removal.prune());
  }

  /** Relinks a moved worktree (found in the root, or at `path`) or makes a deleted one again from its branch. */
  async repairWorktree(taskId: string, given?: { path?: string } | null): Promise<Task> {
    validateTaskId(taskId);
    const options = validOptions(given, []);
    if (options.path !== undefined && (typeof options.path !== 'string' || !isAbsolute(options.path))) {
      throw new TaskWorktreesError('InvalidInput', 'path must be the absolute path of the moved worktree folder.');
    }
    return this.operations.run('repair', taskId, () => this.removal.repairWorktree(taskId, options.path));
  }

  // ---- conflict forecast (reads only: no lock, nothing written but unreferenced git objects) ----

  /**
   * Every active task (not merged, with work its base lacks) merged in memory into its base, and
   * every two active tasks on the same base into each other; `overlaps` lists the pairs that
   * conflict. One `for-each-ref`, then a merge-tree only for each pair of commits not seen before.
   */
  async forecast(): Promise<Forecast> {
    const [{ tasks }, heads] = await Promise.all([this.store.load(), this.reader.heads()]);
    return this.forecaster.forecast(tasks, heads);
  }

  /**
   * The tasks merged one after another in this order, each forecast against its base with the
   * earlier clean ones already merged in (in memory). Every task is reported, a conflict stops nothing.
   */
  async forecastQueue(taskIds: string[]): Promise<QueueForecastStep[]> {
    if (!Array.isArray(taskIds) || taskIds.length === 0) throw new TaskWorktreesError('InvalidInput', 'forecastQueue takes a non-empty list of task ids.');
    const ids = taskIds.map((id) => validateTaskId(id));
    const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
    if (repeated) throw new TaskWorktreesError('InvalidInput', `Task "${repeated}" is in the queue twice.`);
    const { tasks } = await this.store.load();
    const queue = ids.map((id) => {
      const task = tasks.find((candidate) => candidate.id === id);
      if (!task) throw new TaskWorktreesError('TaskNotFound', `There is no task "${id}".`);
      if (task.merge) throw new TaskWorktreesError('InvalidInput', `Task "${id}" is merged already; a queue forecast takes tasks still to merge.`);
      if (!task.branch) throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${id}" has no branch to merge.`);
      return task;
    });
    const heads = await this.reader.heads();
    const gone = queue.find((task) => !landable(task, heads));
    if (gone) throw new TaskWorktreesError('BranchNotFound', `Task "${gone.id}": its branch "${gone.branch}" or its base "${gone.baseBranch}" does not exist.`);
    return this.forecaster.queue(queue, heads);
  }
}

/**
 * An options object: absent (undefined or null) means none; the named flags must be booleans —
 * a string "false" must never count as true for `force`.
 */
function validOptions<T extends object>(options: T | null | undefined, flags: readonly string[]): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new TaskWorktreesError('InvalidInput', 'Options must be an object.');
  for (const flag of flags) {
    const value = (options as Record<string, unknown>)[flag];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new TaskWorktreesError('InvalidInput', `"${flag}" must be true or false, not ${JSON.stringify(value)}.`);
    }
  }
  return options;
}
