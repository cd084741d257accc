import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { Board, BoardReader, WorktreeDetails, worktreeAt } from './board';
import { DetailsCacheOptions, WorktreeDetailsCache } from './details';
import { branchProtection, inspectWorktree, isWindowOpen, isWindowRecordDead, LossReport, openWindowsIn } from './safety';
import { IdContext } from './tasks/idPreview';
import { TaskWorktreesError } from './errors';
import { Forecast, Forecaster, landable, QueueForecastStep } from './forecast';
import { GitAdapter, GitAdapterOptions } from './git/adapter';
import { branchRefsSignature } from './git/refsSignature';
import { BranchHead, WorktreeEntry } from './git/porcelain';
import { OperationOutcome, Operations } from './operations';
import { DEFAULT_SETTINGS, LifecycleSettings, Repository } from './repo';
import { CreateTaskInput, TaskCreation, validateCreateInput, validateWorktreePathInput, validateWorktreeRootInput } from './tasks/create';
import { checkBlockers, refuseIfBlocked, unblockedBy } from './tasks/dependencies';
import { containsUnsafeText, oneLineLabel, validateBlockedBy, validateBranchName, validateOwner, validateTaskId, validateTaskIdQueue } from './tasks/ids';
import { ConflictResolution, MergeResult, TaskMerge, validateStrategy } from './tasks/merge';
import { validateIncludePatterns } from './tasks/include';
import { AUTO_MERGE_MODES, AutoMergeMode, isTaskStatus, MergeStrategy, SETUP_STATES, SetupState, Task, TaskStatus, WindowRecord } from './tasks/model';
import { validatePortSettings } from './tasks/ports';
import { MergeQueueOptions, MergeQueueReport, runMergeQueue, validateQueueInput } from './tasks/queue';
import { MERGE_ATTEMPT_EVENT, MergeHistory, mergeHistory } from './history';
import { TaskRemoval } from './tasks/remove';
import { TaskStore } from './tasks/store';
import { changedFiles, DiskUsage, DiskUsageCache, MAX_REVIEW_FILE_BYTES, measurableWorktree, TaskChanges } from './review';
import { Snapshot, validateSnapshotRef, WorktreeSnapshots } from './snapshots';
import { CleanUpReport, MergedTask, MoveChangesResult, RestoreResult, TaskRecovery } from './tasks/recovery';
import { MAX_LABEL_LENGTH, MAX_TERMINALS } from './tasks/records';

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
    return new TaskService(await Repository.open(git, validSettings({ ...DEFAULT_SETTINGS, ...settings })));
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
    this.repo.settings = validSettings({ ...this.repo.settings, ...settings });
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
    const [{ tasks }, heads] = await Promise.all([this.store.load(), this.forecastHeads()]);
    const previews = await this.forecaster.withBases(tasks.filter((task) => !wanted || wanted.has(task.id)), heads);
    return previews.map(({ task, forecast }) => ({ taskId: task.id, clean: forecast.clean, conflicts: forecast.files }));
  }

  // ---- operations ------------------------------------------------------------------------

  /** Creates a task on its base (default: the current branch) and, on request, its worktree too. */
  async createTask(input: CreateTaskInput & { createWorktree?: boolean }): Promise<Task> {
    const valid = validateCreateInput(input, this.repo.settings.defaultBaseBranch);
    if (valid.worktreeRoot !== undefined) this.repo.checkWorktreeRoot(valid.worktreeRoot);
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
    await this.retryAutoMergeAfterAgent(taskId);
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

  /** Completes the task; with auto-merge on (the option, else the repository's config), then merges it (see completeAndAutoMerge). */
  async completeTask(taskId: string, given?: { autoMerge?: boolean } | null): Promise<CompletedTask> {
    validateTaskId(taskId);
    return this.completeAndAutoMerge(taskId, validOptions(given, ['autoMerge']));
  }

  /**
   * Merges the task into its base; on request then removes its worktree and branch through the
   * same checks as removeWorktree — all in one operation, so nothing moves in between.
   */
  async mergeTask(
    taskId: string,
    given?: { strategy?: MergeStrategy; removeWorktree?: boolean; deleteBranch?: boolean; evenIfOpen?: boolean; resolvedBy?: { agent: string } } | null,
  ): Promise<MergeResult> {
    validateTaskId(taskId);
    const options = validOptions(given, ['removeWorktree', 'deleteBranch', 'evenIfOpen']);
    const strategy = validateStrategy(options.strategy ?? this.repo.settings.mergeStrategy);
    const resolvedBy = options.resolvedBy === undefined ? undefined : { agent: validateAgentName(options.resolvedBy?.agent, 'resolvedBy.agent') };
    // Started while the lock is taken; used under it only if nothing moved meanwhile.
    const headStart = this.merging.headStart(taskId).catch(() => undefined);
    return this.operations.run('merge', taskId, async () => {
      const result = await this.merging.merge(taskId, { strategy, via: 'merge', resolvedBy, headStart: await headStart });
      if (!result.merged || !options.removeWorktree) return result;
      try {
        const task = result.task.worktreePath
          ? await this.removal.removeWorktree(taskId, { deleteBranch: options.deleteBranch, evenIfOpen: options.evenIfOpen })
          : options.deleteBranch
            ? await this.removal.deleteTaskBranch(taskId)
            : result.task;
        return { ...result, task };
      } catch (error) {
        return { ...result, cleanupError: (error as Error).message };
      }
    });
  }

  async removeWorktree(taskId: string, given?: { force?: boolean; deleteBranch?: boolean; evenIfOpen?: boolean } | null): Promise<Task> {
    validateTaskId(taskId);
    const options = validOptions(given, ['force', 'deleteBranch', 'evenIfOpen']);
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
  // ---- what the interactive flows ask before acting ---------------------------------------

  /**
   * What the Create Task prompt previews ids against: read once, then previewTaskId runs on each
   * keystroke. `worktreeRoot`: the root the create will be given (see CreateTaskInput).
   */
  async idContext(options?: { worktreeRoot?: string }): Promise<IdContext> {
    const worktreeRoot = options?.worktreeRoot === undefined ? undefined : validateWorktreeRootInput(options.worktreeRoot);
    const [{ tasks }, heads] = await Promise.all([this.store.load(), this.reader.heads()]);
    const layout = this.repo.layout(worktreeRoot);
    return { tasks, branches: new Set(heads.keys()), branchPrefix: layout.branchPrefix, worktreeRoot: layout.root };
  }

  /** What removing the task's worktree would lose, file by file; undefined when it has no worktree on disk. */
  async lossReport(taskId: string): Promise<LossReport | undefined> {
    const task = await this.store.get(validateTaskId(taskId));
    const entry = task.worktreePath ? worktreeAt(await this.repo.worktrees(), task.worktreePath) : undefined;
    return entry && !entry.prunable ? inspectWorktree(this.git, entry) : undefined;
  }

  /** For each local branch that may not be bound to `taskId` (or to a new task), the safety inspector's reason. */
  async branchProtections(taskId?: string): Promise<Map<string, string>> {
    if (taskId !== undefined) validateTaskId(taskId);
    const [{ tasks }, heads, entries] = await Promise.all([this.store.load(), this.reader.heads(), this.repo.worktrees()]);
    const mainBranch = worktreeAt(entries, this.repo.mainWorktree)?.branch;
    const reasons = new Map<string, string>();
    for (const branch of heads.keys()) {
      const reason = branchProtection(branch, tasks, mainBranch, taskId);
      if (reason) reasons.set(branch, reason);
    }
    return reasons;
  }

  /** How many commits the task's branch has that its base lacks: what a merge would bring (0 without a branch). */
  async commitsToMerge(taskId: string): Promise<number> {
    const task = await this.store.get(validateTaskId(taskId));
    return task.branch ? (await this.git.aheadBehind(task.baseBranch, task.branch)).ahead : 0;
  }

  /** git's `user.name`: the owner a person claiming a task is proposed. */
  async gitUserName(): Promise<string | undefined> {
    return this.git.userName();
  }

  // ---- setup on create -------------------------------------------------------------------

  /**
   * Records how getting the task's worktree ready goes (a window's setup commands): running, then
   * done, failed or cancelled. The count of copied files is kept unless given.
   */
  async recordSetup(taskId: string, setup: { state: SetupState; message?: string; copied?: number }): Promise<Task> {
    validateTaskId(taskId);
    if (typeof setup !== 'object' || setup === null || !(SETUP_STATES as readonly unknown[]).includes(setup.state)) {
      throw new TaskWorktreesError('InvalidInput', `A setup state is one of ${SETUP_STATES.join(', ')}.`);
    }
    if (setup.message !== undefined && typeof setup.message !== 'string') throw new TaskWorktreesError('InvalidInput', 'A setup message is text.');
    if (setup.copied !== undefined && !(Number.isInteger(setup.copied) && setup.copied >= 0)) throw new TaskWorktreesError('InvalidInput', 'copied is a count of files.');
    const message = setup.message?.slice(0, MAX_SETUP_MESSAGE);
    return this.operations.run('setup', taskId, async () => {
      const task = await this.store.get(taskId);
      if (!task.worktreePath) throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${taskId}" has no worktree to set up.`);
      return this.store.update(taskId, (current) => {
        const copied = setup.copied ?? current.setup?.copied;
        current.setup = { state: setup.state, at: new Date().toISOString(), ...(message && { message }), ...(copied !== undefined && { copied }) };
        return { type: 'worktree.setup', detail: { state: setup.state, message } };
      });
    });
  }
  // ---- snapshots, moving changes, clean-up, review (see snapshots.ts, tasks/recovery.ts, review.ts) ----

  private recoverySteps: TaskRecovery | undefined;
  private readonly diskUsageCache = new DiskUsageCache();

  private get recovery(): TaskRecovery {
    this.recoverySteps ??= new TaskRecovery(this.repo, this.reader);
    return this.recoverySteps;
  }

  /** Saves the task's worktree files (uncommitted, staged, untracked) as its next snapshot; the worktree is not touched. */
  async snapshotWorktree(taskId: string): Promise<Snapshot> {
    validateTaskId(taskId);
    return this.operations.run('snapshot', taskId, () => this.recovery.takeSnapshot(taskId));
  }

  /** The task's snapshots, oldest first. */
  async listSnapshots(taskId: string): Promise<Snapshot[]> {
    return new WorktreeSnapshots(this.repo).list(validateTaskId(taskId));
  }

  /**
   * Puts a snapshot's files back: into its task's worktree (made again when it is gone) or a new
   * task. Refuses (SnapshotConflict) before writing anything that would overwrite uncommitted work.
   */
  async restoreSnapshot(ref: string, given: { into: 'worktree' | 'newTask'; subject?: string; baseBranch?: string }): Promise<RestoreResult> {
    validateSnapshotRef(ref);
    const options = validOptions(given, []);
    if (options.into !== 'worktree' && options.into !== 'newTask') throw new TaskWorktreesError('InvalidInput', 'into must be "worktree" or "newTask".');
    if (options.into === 'worktree') return this.operations.run('restore', undefined, () => this.recovery.restoreIntoWorktree(ref));
    const subject = options.subject ?? `Restored ${ref.slice('refs/task-worktrees/snapshots/'.length)}`;
    const input = validateCreateInput({ subject, baseBranch: options.baseBranch }, '');
    return this.operations.run('restore', undefined, () => this.recovery.restoreIntoNewTask(ref, input));
  }

  /**
   * The uncommitted changes of a worktree (often the main one) become a new task's: snapshot first,
   * then the new task's worktree from the source's branch (or `baseBranch`), then the source is
   * cleaned of exactly the files snapshotted. A failure at any step loses nothing.
   */
  async moveChangesToNewTask(sourcePath: string, input: CreateTaskInput): Promise<MoveChangesResult> {
    validateWorktreePathInput(sourcePath);
    const valid = validateCreateInput(input, '');
    return this.operations.run('moveChanges', undefined, () => this.recovery.moveChanges(sourcePath, valid));
  }

  /** Tasks whose branch is merged into their base, each with what removing its worktree would lose (a snapshot keeps it). */
  async mergedTasks(): Promise<MergedTask[]> {
    return this.recovery.mergedTasks();
  }

  /** Removes the worktree and branch of every merged task (or only `taskIds`), snapshotting first where work would be lost. */
  async cleanUpMerged(given?: { taskIds?: string[] } | null): Promise<CleanUpReport> {
    const options = validOptions(given, []);
    if (options.taskIds !== undefined && !Array.isArray(options.taskIds)) throw new TaskWorktreesError('InvalidInput', 'taskIds is a list of task ids.');
    const only = options.taskIds ? new Set(options.taskIds.map((id) => validateTaskId(id))) : undefined;
    return this.operations.run('cleanUp', undefined, () => this.recovery.cleanUpMerged(only));
  }

  /** The task's files against the merge-base with its base: committed on its branch and uncommitted in its worktree. */
  async changedFiles(taskId: string): Promise<TaskChanges> {
    return changedFiles(this.repo, await this.store.get(validateTaskId(taskId)));
  }

  /** A file's text at a commit (the original side of a review diff); undefined when the commit has no such file. */
  async fileAtCommit(commit: string, path: string): Promise<string | undefined> {
    const size = await this.git.blobSize(commit, path);
    if (size === undefined) return undefined;
    // Beyond this a diff is unreadable anyway, and near 512 MiB text no longer fits one JS string.
    if (size > MAX_REVIEW_FILE_BYTES) {
      throw new TaskWorktreesError('InvalidInput', `${path} at ${commit.slice(0, 12)} is too large to show (${size} bytes; at most ${MAX_REVIEW_FILE_BYTES}).`);
    }
    return this.git.fileAt(commit, path);
  }

  /** The worktree's disk use, measured off the UI's path (asynchronous walk) and cached while HEAD stays. */
  async diskUsage(worktreePath: string): Promise<DiskUsage> {
    validateWorktreePathInput(worktreePath);
    const { root, nested } = await measurableWorktree(this.repo, worktreePath);
    const head = await this.git.headCommit(root).catch(() => '');
    return this.diskUsageCache.measure(root, head, nested);
  }

  // ---- board details (at a glance) -------------------------------------------------------

  /**
   * A cache of each task's at-a-glance details that watches the worktrees and branch refs (see
   * WorktreeDetailsCache); the caller feeds it boards with track() and disposes it.
   */
  createDetailsCache(options: DetailsCacheOptions = {}): WorktreeDetailsCache {
    return new WorktreeDetailsCache(this.git, this.commonDir, options);
  }

  // ---- merge flow: auto-merge on complete, conflict resolution, the merge queue, history ------

  /**
   * After completing: when auto-merge is on and the task has a branch, one merge attempt through
   * the same path as mergeTask (forecast by merge-tree, the safety inspector, the lock). A conflict
   * or a refusal lands nothing and leaves the task completed; the history records the attempt.
   */
  private async completeAndAutoMerge(taskId: string, options: { autoMerge?: boolean }): Promise<CompletedTask> {
    const completed = await this.setStatus(taskId, 'completed');
    if (!(options.autoMerge ?? this.autoMergeMode() === 'onComplete')) return completed;
    if (!completed.branch) return { ...completed, autoMerge: { outcome: 'skipped' } };
    return this.autoMergeTask(taskId);
  }

  private async autoMergeTask(taskId: string): Promise<CompletedTask> {
    const strategy = this.repo.settings.mergeStrategy;
    try {
      const result = await this.operations.run('merge', taskId, () => this.merging.merge(taskId, { strategy, via: 'autoMerge' }));
      if (!result.merged) return { ...result.task, autoMerge: { outcome: 'conflict', files: result.conflicts ?? [] } };
      return { ...result.task, autoMerge: { outcome: result.nothingToMerge ? 'nothingToMerge' : 'merged', commit: result.commit } };
    } catch (error) {
      if (!(error instanceof TaskWorktreesError)) throw error;
      return { ...(await this.store.get(taskId)), autoMerge: { outcome: 'refused', code: error.code, message: error.message } };
    }
  }

  /**
   * An agent that completes its own task still runs, so its auto-merge is refused (AgentRunning):
   * when the last attempt for the task is that refusal, the merge is retried as the agent exits.
   */
  private async retryAutoMergeAfterAgent(taskId: string): Promise<void> {
    const { events } = await this.store.events.read();
    const last = events.filter((event) => event.type === MERGE_ATTEMPT_EVENT && event.taskId === taskId).pop();
    if (last?.outcome !== 'aborted' || last.via !== 'autoMerge' || last.reason !== 'AgentRunning') return;
    if ((await this.store.get(taskId)).status === 'completed') await this.autoMergeTask(taskId);
  }

  /** The repository's auto-merge mode from its store config (what the extension's setting writes): the CLI and agents obey it too. */
  autoMergeMode(): AutoMergeMode {
    return this.store.readConfig()?.autoMerge ?? 'off';
  }

  /** Records the auto-merge mode in the repository's config (recording its layout too, as the first task would). */
  async setAutoMerge(mode: AutoMergeMode): Promise<void> {
    if (!(AUTO_MERGE_MODES as readonly unknown[]).includes(mode)) {
      throw new TaskWorktreesError('InvalidInput', `Unknown auto-merge mode ${JSON.stringify(String(mode))}: use ${AUTO_MERGE_MODES.join(' or ')}.`);
    }
    await this.store.withLock(async () => {
      await this.repo.ensureLayout();
      const config = this.store.readConfig();
      if (config && (config.autoMerge ?? 'off') !== mode) await this.store.writeConfig({ ...config, autoMerge: mode });
    });
  }

  /**
   * Merges the base into the task's branch in its worktree, leaving the conflict markers for an
   * agent or a person to resolve (a clean merge is committed). `agent` names the resolver that
   * will be started, so the next landing is recorded as resolved by it.
   */
  async prepareConflictResolution(taskId: string, given?: { agent?: string } | null): Promise<ConflictResolution> {
    validateTaskId(taskId);
    const options = validOptions(given, []);
    const agent = options.agent === undefined ? undefined : validateAgentName(options.agent, 'agent');
    return this.operations.run('merge', taskId, () => this.merging.prepareResolution(taskId, agent));
  }

  /**
   * Merges the tasks one at a time in the given order, each as its own operation; the gate (a
   * shell command, see src/core/gate.ts) runs on each merge before it lands. Stops at the first
   * conflict, failed gate or refusal, and between tasks when cancelled.
   */
  async mergeQueue(taskIds: string[], given?: MergeQueueOptions | null): Promise<MergeQueueReport> {
    const queue = validateQueueInput(taskIds, given);
    const strategy = this.repo.settings.mergeStrategy;
    return runMergeQueue(queue, {
      merge: (taskId, { gate }) => this.operations.run('merge', taskId, () => this.merging.merge(taskId, { strategy, via: 'queue', gate })),
      recordCancelled: (taskId) => this.operations.run('merge', taskId, () => this.merging.recordCancelled(taskId)),
    });
  }

  /** Every merge attempt with its outcome, and the rates (see src/core/history.ts for the arithmetic). */
  async mergeHistory(): Promise<MergeHistory> {
    return mergeHistory((await this.store.events.read()).events);
  }

  // ---- conflict forecast (reads only: no lock, nothing written but unreferenced git objects) ----

  /**
   * Every active task (not merged, with work its base lacks) merged in memory into its base, and
   * every two active tasks on the same base into each other; `overlaps` lists the pairs that
   * conflict. One `for-each-ref`, then a merge-tree only for each pair of commits not seen before.
   */
  async forecast(): Promise<Forecast> {
    const [{ tasks }, heads] = await Promise.all([this.store.load(), this.forecastHeads()]);
    return this.forecaster.forecast(tasks, heads);
  }

  private lastForecastHeads: { signature: string; heads: Map<string, BranchHead> } | undefined;

  /** The branch heads, read again only when a branch ref changed on disk: a forecast with nothing moved runs no git at all. */
  private async forecastHeads(): Promise<Map<string, BranchHead>> {
    const signature = await branchRefsSignature(this.commonDir);
    if (this.lastForecastHeads?.signature === signature) return this.lastForecastHeads.heads;
    const heads = await this.reader.heads();
    this.lastForecastHeads = { signature, heads };
    return heads;
  }

  /**
   * The tasks merged one after another in this order, each forecast against its base with the
   * earlier clean ones already merged in (in memory). Every task is reported, a conflict stops nothing.
   */
  async forecastQueue(taskIds: string[]): Promise<QueueForecastStep[]> {
    const ids = validateTaskIdQueue(taskIds, 'a queue forecast');
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

  // ---- windows: which VS Code window has which worktree open -------------------------------

  /**
   * Records, or refreshes (the heartbeat, every WINDOW_HEARTBEAT_MS), that this process's window
   * has `worktreePath` open, with its terminals there; then deletes the records of windows that
   * are gone. Removals in every process see it until clearWindow() or until it goes stale.
   */
  async recordWindow(window: { worktreePath: string; taskId?: string; terminals?: string[] }): Promise<WindowRecord> {
    if (typeof window !== 'object' || window === null) throw new TaskWorktreesError('InvalidInput', 'recordWindow needs { worktreePath, taskId?, terminals? }.');
    validateWorktreePathInput(window.worktreePath);
    if (window.taskId !== undefined) validateTaskId(window.taskId);
    const terminals = window.terminals ?? [];
    if (!Array.isArray(terminals) || terminals.some((name) => typeof name !== 'string')) throw new TaskWorktreesError('InvalidInput', 'terminals must be a list of terminal names.');
    const record: WindowRecord = {
      pid: process.pid,
      host: hostname(),
      worktreePath: window.worktreePath,
      ...(window.taskId ? { taskId: window.taskId } : {}),
      // Names are labels people and programs choose: made one safe line, never a reason to leave a window unrecorded.
      terminals: terminals.slice(0, MAX_TERMINALS).map((name) => oneLineLabel(name, MAX_LABEL_LENGTH)),
      seenAt: new Date().toISOString(),
    };
    await this.store.recordWindow(record);
    await this.store.deleteWindowRecords(this.store.readWindows().filter((other) => isWindowRecordDead(other)));
    return record;
  }

  /** This window closes (or no longer has a worktree open): its record goes. */
  async clearWindow(): Promise<void> {
    await this.store.clearWindow(process.pid, hostname());
  }

  /** The live windows (this one included) that have one of `worktreePaths` (default: any) or a folder in it open. */
  openWindows(worktreePaths?: string[]): WindowRecord[] {
    if (worktreePaths !== undefined && (!Array.isArray(worktreePaths) || worktreePaths.some((path) => typeof path !== 'string'))) {
      throw new TaskWorktreesError('InvalidInput', 'openWindows takes a list of worktree paths.');
    }
    const records = this.store.readWindows();
    return worktreePaths ? openWindowsIn(records, worktreePaths) : records.filter((record) => isWindowOpen(record));
  }
}

/** Long command output is for the log, not the task file. */
const MAX_SETUP_MESSAGE = 2000;

/** Settings that reach the disk or git as data are checked once, when given. */
function validSettings(settings: LifecycleSettings): LifecycleSettings {
  return { ...settings, ports: validatePortSettings(settings.ports), includePatterns: validateIncludePatterns(settings.includePatterns) };
}

/** A completed task and, when auto-merge ran or was skipped, what it did. */
export type CompletedTask = Task & { autoMerge?: AutoMergeReport };

export interface AutoMergeReport {
  outcome: 'merged' | 'nothingToMerge' | 'conflict' | 'refused' | 'skipped';
  commit?: string;
  /** The conflicting files: nothing landed. */
  files?: string[];
  /** Why it was refused (an error code and its message): nothing landed. */
  code?: string;
  message?: string;
}

function validateAgentName(name: unknown, what: string): string {
  const text = typeof name === 'string' ? name.trim() : '';
  if (!text || text.length > 100 || containsUnsafeText(text)) {
    throw new TaskWorktreesError('InvalidInput', `${what} is an agent profile name of 1 to 100 characters without control characters.`);
  }
  return text;
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
