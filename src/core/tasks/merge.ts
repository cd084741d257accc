import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { BoardReader, worktreeAt } from '../board';
import { TaskWorktreesError } from '../errors';
import { GateRun, runGate } from '../gate';
import { GitError } from '../git/errors';
import { readLooseCommitTree } from '../git/objectFiles';
import { mainWorktreeOn } from '../git/worktreeFiles';
import { isBranchAlias, readBranchOids } from '../git/refFiles';
import { MergeTreeResult, WorktreeEntry } from '../git/porcelain';
import { landingOutcome, lastAgentOf, MERGE_ATTEMPT_EVENT, MergeOutcome, MergeTrigger, RESOLUTION_PREPARED_EVENT } from '../history';
import { MergeEngine, MergeRequest, RefLanding } from '../merge';
import { Repository } from '../repo';
import { branchesInUse, describeLoss, hasLoss, inspectWorktree, LossReport, operationInProgress, refuseOperationInProgress, refuseRunningAgents } from '../safety';
import { TaskEvent } from './events';
import { MergeStrategy, Task } from './model';
import { OperationSteps } from './steps';

export interface MergeResult {
  merged: boolean;
  commit?: string;
  conflicts?: string[];
  /** The base already had everything the branch has: nothing was committed. */
  nothingToMerge?: boolean;
  task: Task;
  /** Set when the merge landed but removing the worktree or branch afterwards was refused. */
  cleanupError?: string;
  /** How the attempt is recorded in the merge history (clean, conflict, gateFailed, resolvedBy…). */
  outcome: MergeOutcome;
  /** The gate's run, when a gate was given and it failed: nothing landed. */
  gate?: GateRun;
}

export interface MergeOptions {
  strategy: MergeStrategy;
  via: MergeTrigger;
  /** The caller knows an agent resolved the conflicts this landing follows. */
  resolvedBy?: { agent: string };
  /** Run this command on the merge before it lands (the merge queue's gate). */
  gate?: { command: string; timeoutMs: number };
  /** What was started before the repository lock was held (see TaskMerge.headStart); used only if still the same. */
  headStart?: HeadStart;
}

/** A merge's reads started before it holds the repository lock: the in-memory merge and the task worktree's inspection. */
export interface HeadStart {
  task: Task;
  oids: Map<string, string>;
  preview: Promise<MergeTreeResult>;
  inspection?: Promise<LossReport | Error>;
  startedAt: number;
}

// A head start this old is not used: the worktree it inspected may have changed while the lock was waited for.
const HEAD_START_FRESH_MS = 1000;

export interface ConflictResolution {
  worktreePath: string;
  /** The files left with conflict markers; empty when the base merged in cleanly (and was committed). */
  files: string[];
  /** When the base merged in cleanly: the task branch's head after it (a new merge commit, or the same head if the base had nothing new). */
  commit?: string;
  /** Subjects of the task's own commits (since the merge base), newest first. */
  ours: string[];
  /** Subjects of the base's commits since the merge base, newest first. */
  theirs: string[];
}

function mergeMessage(task: Task, strategy: MergeStrategy): string {
  return strategy === 'squash' ? `${task.subject} (task ${task.id})` : `Merge task ${task.id}: ${task.subject}`;
}

export function validateStrategy(strategy: unknown): MergeStrategy {
  if (strategy !== 'merge' && strategy !== 'squash') {
    throw new TaskWorktreesError('InvalidInput', `Unknown merge strategy ${JSON.stringify(String(strategy))}: use merge or squash.`);
  }
  return strategy;
}

/** Merging a task into its base. Runs inside an operation (the repository lock is held). */
export class TaskMerge extends OperationSteps {
  private readonly engine: MergeEngine;

  constructor(repo: Repository, reader: BoardReader) {
    super(repo, reader);
    this.engine = new MergeEngine(repo.git);
  }

  /**
   * Starts what a merge of the task can before the repository lock is held: both only read (the
   * in-memory merge writes objects nothing points at). merge() uses them only when the task's branch, base
   * and worktree path and both commits are still the same under the lock, and they are under a second old.
   */
  async headStart(taskId: string): Promise<HeadStart | undefined> {
    const startedAt = Date.now();
    const task = await this.store.get(taskId).catch(() => undefined);
    const oids = task?.branch ? readBranchOids(this.repo.commonDir, [task.baseBranch, task.branch]) : undefined;
    if (!task?.branch || !oids) return undefined;
    const preview = this.engine.preview(oids.get(task.baseBranch)!, oids.get(task.branch)!);
    preview.catch(() => undefined);
    return { task, oids, preview, inspection: this.inspectIfThere(task), startedAt };
  }

  /** One merge attempt, recorded in the merge history whatever its outcome (a refusal as `aborted`). */
  async merge(taskId: string, options: MergeOptions): Promise<MergeResult> {
    const task = await this.store.get(taskId);
    // Read alongside git: only the history's record of this attempt depends on it.
    const events = this.readEvents(taskId);
    let landed = false;
    try {
      return await this.attempt(task, options, events, () => (landed = true));
    } catch (error) {
      if (!landed) await this.logAttempt(task, options.via, events, 'aborted', { reason: reasonOf(error) }).catch(() => undefined);
      throw error;
    }
  }

  private async attempt(task: Task, options: MergeOptions, events: Promise<TaskEvent[]>, onLanded: () => void): Promise<MergeResult> {
    const { git, store } = this;
    const { strategy } = options;
    const taskId = task.id;
    if (!task.branch) throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${taskId}" has no branch to merge.`);
    // Started in this order, as a process started first answers first: the longest chain first (the
    // in-memory merge, then its commit, and the guarded ref update that will land it), then git
    // status (the slowest read: the task's worktree is inspected while the rest runs), the worktree
    // list, and the base's tree, needed last. The branches' commits come from git's ref files when
    // those are plain (no process; the landing's guarded ref update catches one gone stale), else
    // from git before the merge can start.
    const fromFiles = readBranchOids(this.repo.commonDir, [task.baseBranch, task.branch]);
    const started = fromFiles && stillTheSame(options.headStart, task, fromFiles) ? options.headStart : undefined;
    const mergingEarly = fromFiles && (started?.preview ?? this.engine.preview(fromFiles.get(task.baseBranch)!, fromFiles.get(task.branch)!));
    mergingEarly?.catch(() => undefined); // awaited below unless a check refuses first
    let refLanding = fromFiles && this.startRefLanding(task, fromFiles.get(task.baseBranch)!, options);
    try {
      const fromGit = fromFiles ? undefined : git.branchTips([task.baseBranch, task.branch]);
      const early = started ? started.inspection : this.inspectIfThere(task);
      const listing = this.repo.worktreesUsing(task.baseBranch, task.worktreePath);
      listing.catch(() => undefined); // its failure counts when it is awaited below, after the refs'
      const baseOidOfFile = fromFiles?.get(task.baseBranch);
      const baseTreeOfFile = baseOidOfFile === undefined ? undefined : this.treeOf(baseOidOfFile);
      baseTreeOfFile?.catch(() => undefined);
      const heads = fromGit ? ((await fromGit) ?? (await this.reader.heads())) : undefined;
      // Another name for a branch (a symbolic ref): moving it would move that branch under whoever has it checked out.
      if (fromGit && isBranchAlias(this.repo.commonDir, task.baseBranch)) {
        throw new TaskWorktreesError('InvalidInput', `The base "${task.baseBranch}" is a symbolic ref, another name for a branch; merge into that branch instead. Nothing was changed.`);
      }
      const branchOid = fromFiles ? fromFiles.get(task.branch) : heads?.get(task.branch)?.oid;
      const baseOid = fromFiles ? fromFiles.get(task.baseBranch) : heads?.get(task.baseBranch)?.oid;
      if (!branchOid) throw new TaskWorktreesError('BranchNotFound', `The task's branch "${task.branch}" does not exist any more.`);
      if (!baseOid) throw new TaskWorktreesError('BranchNotFound', `The task's base branch "${task.baseBranch}" does not exist.`);
      const baseTree = baseTreeOfFile ?? Promise.resolve(heads!.get(task.baseBranch)!.tree);
      const landing: MergeRequest = {
        base: task.baseBranch,
        baseOid,
        branch: task.branch,
        branchOid,
        strategy,
        message: mergeMessage(task, strategy),
      };
      // The in-memory merge and its commit write nothing but objects (nothing points at them until the
      // landing): they run while the worktree list and the inspection still do; a refusal below, or a
      // merge that turns out to bring nothing, leaves them unused. The commit is skipped only when the
      // list has already said that the base is checked out (a merge there makes its own) and no gate needs it.
      let baseCheckedOut: boolean | undefined;
      const previewing = mergingEarly || this.engine.preview(baseOid, branchOid);
      const committing = previewing.then(({ conflicts, tree }) =>
        conflicts.length === 0 && (options.gate || !baseCheckedOut) ? this.engine.mergeCommit(landing, tree) : undefined,
      );
      committing.catch(() => undefined); // awaited below unless a check refuses first
      const entries = await listing;

      // Where the base is in use decides how it may move; a rebase or bisect of it, or any operation
      // stopped in its worktree, means it must not move at all.
      const baseEntry = branchesInUse(entries).get(task.baseBranch);
      baseCheckedOut = baseEntry !== undefined;
      if (baseEntry && baseEntry.branch !== task.baseBranch) {
        throw new TaskWorktreesError('OperationInProgress', `${task.baseBranch} is being rebased or bisected in ${baseEntry.path}; finish or abort that first.`, [baseEntry.path]);
      }
      refuseOperationInProgress(baseEntry, `merging into ${task.baseBranch}, which is checked out there`);
      const taskEntry = task.worktreePath ? worktreeAt(entries, task.worktreePath) : undefined;
      const taskWorktree = taskEntry && !taskEntry.prunable ? taskEntry : undefined;
      refuseOperationInProgress(taskWorktree, `merging task "${taskId}"`);

      refuseRunningAgents(this.store.readAgents(), [taskWorktree?.path, baseEntry?.path].filter((path): path is string => path !== undefined), 'merging');
      if (options.gate && !taskWorktree) {
        throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${taskId}" has no worktree for the gate to run in.`);
      }
      const request: MergeRequest = { ...landing, baseWorktree: baseEntry?.path };
      if (baseEntry) {
        refLanding?.cancel(); // the merge happens where the base is checked out
        refLanding = undefined;
      } else refLanding ??= this.startRefLanding(task, baseOid, options);
      const [preview, treeOfBase, loss, prepared] = await Promise.all([
        previewing,
        baseTree,
        taskWorktree ? (early ?? this.inspect(taskWorktree.path)).then((result) => withEntry(result, taskWorktree)) : undefined,
        committing,
      ]);
      if (loss && hasLoss(loss)) {
        throw new TaskWorktreesError('WorktreeDirty', `Task "${taskId}" has work that is not on its branch (uncommitted, untracked or on a detached HEAD); commit it to ${task.branch} first, so that the merge leaves nothing behind.`, describeLoss(loss));
      }
      await store.log('merge.before', taskId, { base: task.baseBranch, branch: task.branch, strategy });
      if (preview.conflicts.length > 0) {
        await store.log('merge.conflict', taskId, { conflicts: preview.conflicts });
        await this.logAttempt(task, options.via, events, 'conflict', { files: preview.conflicts });
        return { merged: false, conflicts: preview.conflicts, task, outcome: 'conflict' };
      }
      // Nothing the base lacks: an ancestor, or — for a squash — a tree the base already has. A plain
      // merge of such a branch still lands, as a merge commit: it keeps the branch's commits reachable.
      // Only a tree equal to the base's can mean an ancestor, so only then is git asked.
      const sameTree = preview.tree === treeOfBase;
      const nothingToMerge = sameTree && (strategy === 'squash' || (await git.isAncestor(branchOid, baseOid)));
      let commit = baseOid;
      if (!nothingToMerge) {
        // A merge in the base's worktree makes its own commit (with git's hooks): a commit written ahead serves only a gate.
        const written = options.gate || !request.baseWorktree ? prepared : undefined;
        const tested = written ?? (options.gate ? await this.engine.mergeCommit(request, preview.tree) : undefined);
        if (options.gate && tested && taskWorktree) {
          const gate = await this.gateOn(task, taskWorktree, request, tested, options.gate);
          if (!gate.passed) {
            const reason = gate.timedOut ? 'timeout' : `exit ${gate.exitCode}`;
            await this.logAttempt(task, options.via, events, 'gateFailed', { reason });
            return { merged: false, task, outcome: 'gateFailed', gate };
          }
        }
        commit = await this.landMerge(request, preview.tree, tested, refLanding).catch(async (error: Error) => {
          await store.log('merge.failed', taskId, { error: error.message });
          throw error;
        });
      }
      onLanded();
      // A landing that merged nothing is no first-try success: recorded apart, outside the rates.
      const { outcome, agent } = nothingToMerge
        ? { outcome: 'nothingToMerge' as const, agent: undefined }
        : landingOutcome(await events, taskId, options.resolvedBy, task.createdAt);
      const attempt = await this.attemptEvent(task, options.via, events, outcome, { commit }, agent);
      // The task's record and both events in one store write: merge.after, then the attempt.
      const merged = await store.update(taskId, (current) => {
        current.status = 'completed';
        current.merge = { commit, branchHead: branchOid, strategy, at: new Date().toISOString() };
        return { type: 'merge.after', detail: { commit, base: current.baseBranch, strategy, nothingToMerge }, then: [attempt] };
      });
      return { merged: true, commit, task: merged, outcome, ...(nothingToMerge ? { nothingToMerge } : {}) };
    } finally {
      refLanding?.cancel();
    }
  }

  /**
   * A base checked out nowhere moves by a guarded ref update: its git starts at once and waits for
   * the commit while the checks run; every path out of the merge cancels it unless it landed. Not
   * started where it would go unused — a gate's merge, a base checked out in the main worktree (a
   * linked worktree that has it is found by the checks, which cancel it) — nor where it would take
   * the process slot the commit it waits for needs.
   */
  private startRefLanding(task: Task, baseOid: string, options: MergeOptions): RefLanding | undefined {
    if (options.gate || this.git.freeProcessSlots() < 2 || mainWorktreeOn(this.repo.commonDir, task.baseBranch)) return undefined;
    return this.engine.startRefLanding({ base: task.baseBranch, baseOid, message: mergeMessage(task, options.strategy) });
  }

  /** A prepared commit lands exactly (the one the gate tested, or written ahead; by the started ref update if any); else the engine merges. */
  private async landMerge(request: MergeRequest, tree: string, prepared: string | undefined, refLanding: RefLanding | undefined): Promise<string> {
    if (!prepared) return this.engine.land(request, tree);
    await (refLanding ? refLanding.land(prepared) : this.engine.landCommit(request, prepared));
    return prepared;
  }

  /**
   * Runs the gate in the task's worktree on the merge about to land: the (clean) worktree is
   * detached at the merge commit, the gate runs there, and the worktree goes back to exactly what it
   * had checked out. Nothing in it is thrown away: an untracked or ignored file the merge would
   * write over refuses the gate before anything moves, an operation the gate left is aborted with
   * git's own abort, and the way back is a plain switch, which carries over any change made during
   * the gate (by the gate or by a person) or, when it cannot, stops and says where the worktree is.
   */
  private async gateOn(task: Task, worktree: WorktreeEntry, request: MergeRequest, commit: string, gate: { command: string; timeoutMs: number }): Promise<GateRun> {
    const { path } = worktree;
    if (!worktree.head) throw new TaskWorktreesError('GitFailed', `git lists no HEAD for ${path}; the gate did not run.`, [path]);
    await this.refuseFilesInTheWay(path, worktree.head, commit, `Testing the merge of task "${task.id}" in ${path}`);
    await this.store.log('merge.gate', task.id, { command: gate.command, commit });
    let run: GateRun | undefined;
    let failure: unknown;
    try {
      await this.git.detachAt(path, commit);
      run = await runGate(
        gate.command,
        path,
        {
          TASK_ID: task.id,
          TASK_SUBJECT: task.subject,
          TASK_BRANCH: request.branch,
          TASK_BASE: request.base,
          TASK_BASE_COMMIT: request.baseOid,
          TASK_MERGE_COMMIT: commit,
          TASK_WORKTREE: path,
        },
        gate.timeoutMs,
      );
    } catch (error) {
      failure = error;
    }
    // Even when the detach failed: a failing post-checkout hook leaves the worktree detached all the same.
    await this.putBackAfterGate(worktree, commit);
    if (failure !== undefined || !run) throw failure;
    return run;
  }

  /** Back to what `worktree` had checked out before the gate, as described in gateOn(). */
  private async putBackAfterGate(worktree: WorktreeEntry, commit: string): Promise<void> {
    const { path } = worktree;
    const previous = worktree.branch ?? (worktree.head as string);
    const whereNow = async (): Promise<string> => {
      const head = await this.git.headCommit(path).catch(() => undefined);
      return head ? `its HEAD is ${head.slice(0, 12)}` : 'its HEAD is unreadable';
    };
    // None was in progress before the gate (refused otherwise), so one now is the gate's own.
    const operation = operationInProgress(path);
    if (operation) {
      const aborted = await this.git.abortOperation(path, operation).then(
        () => undefined,
        (error: Error) => error.message,
      );
      if (aborted !== undefined || operationInProgress(path)) {
        throw new TaskWorktreesError(
          'OperationInProgress',
          `The gate left a ${operation} in progress in ${path} and git could not abort it${aborted ? ` (${aborted})` : ''}; ${await whereNow()} (the tested merge is ${commit.slice(0, 12)}). Finish or abort the ${operation} there, then check out ${previous} again.`,
          [path],
        );
      }
    }
    const back = worktree.branch ? this.git.switchTo(path, worktree.branch) : this.git.detachAt(path, previous);
    await back.catch(async (error: Error) => {
      throw new TaskWorktreesError(
        'GitFailed',
        `After the gate, ${path} could not be put back on ${previous} (${error.message}); ${await whereNow()} (the tested merge is ${commit.slice(0, 12)}), with every change made during the gate still there. Keep what you need, then run "git switch ${worktree.branch ?? `--detach ${previous}`}" there.`,
        [path],
      );
    });
  }

  /**
   * Checking out `to` over `from` writes every path `to` adds, and git overwrites an ignored file
   * there (it counts ignored files as expendable): such a file (`.env`, a local config) is refused
   * here, before anything moves, with the paths named.
   */
  private async refuseFilesInTheWay(worktreePath: string, from: string, to: string, what: string): Promise<void> {
    const occupied = (await this.git.addedPaths(from, to)).filter((file) => isOccupied(worktreePath, file));
    if (occupied.length > 0) {
      throw new TaskWorktreesError(
        'WorktreeDirty',
        `${what} would write over ${occupied.length === 1 ? 'a file' : `${occupied.length} files`} there that git does not track (ignored or untracked), e.g. ${occupied[0]}; move ${occupied.length === 1 ? 'it' : 'them'} out of the way first. Nothing was changed.`,
        occupied.map((file) => `${file} (untracked or ignored)`),
      );
    }
  }

  /**
   * Merges the base into the task's branch in the task's worktree, leaving conflict markers for
   * whoever resolves them (an agent, a person with the merge editor). The worktree must be on its
   * branch, clean, with no operation under way and no agent running; a clean merge is committed.
   */
  async prepareResolution(taskId: string, agent: string | undefined): Promise<ConflictResolution> {
    const { git, store } = this;
    const [task, entries, heads] = await Promise.all([store.get(taskId), this.repo.worktrees(), this.reader.heads()]);
    const entry = task.worktreePath ? worktreeAt(entries, task.worktreePath) : undefined;
    if (!task.branch || !entry || entry.prunable) throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${taskId}" has no worktree to resolve conflicts in.`);
    if (!heads.has(task.baseBranch)) throw new TaskWorktreesError('BranchNotFound', `The task's base branch "${task.baseBranch}" does not exist.`);
    refuseOperationInProgress(entry, 'preparing a conflict resolution');
    if (entry.branch !== task.branch) {
      throw new TaskWorktreesError('WorktreeDirty', `${entry.path} is not on the task's branch ${task.branch}; check it out there first.`, [entry.path]);
    }
    refuseRunningAgents(store.readAgents(), [entry.path], 'preparing a conflict resolution');
    const loss = await inspectWorktree(git, entry);
    if (hasLoss(loss)) {
      throw new TaskWorktreesError('WorktreeDirty', `Task "${taskId}" has uncommitted or untracked work; commit it to ${task.branch} first, so that the conflicts are only the merge's.`, describeLoss(loss));
    }
    const baseOid = heads.get(task.baseBranch)?.oid;
    if (!entry.head || !baseOid) throw new TaskWorktreesError('GitFailed', `git lists no HEAD for ${entry.path} or no commit for ${task.baseBranch}; nothing was changed.`, [entry.path]);
    const head = entry.head;
    const [ours, theirs, merged] = await Promise.all([
      git.commitSubjects(task.baseBranch, task.branch),
      git.commitSubjects(task.branch, task.baseBranch),
      this.engine.preview(head, baseOid),
    ]);
    await this.refuseFilesInTheWay(entry.path, head, merged.tree, `Merging ${task.baseBranch} into task "${taskId}"`);
    let files: string[] = [];
    try {
      await git.merge(entry.path, task.baseBranch, `Merge ${task.baseBranch} into task ${task.id}`, false);
    } catch (error) {
      try {
        if (!(error instanceof GitError && error.code === 'MergeConflict')) throw error;
        files = (await git.status(entry.path)).entries.filter((file) => file.kind === 'conflicted').map((file) => file.path);
      } catch (failure) {
        // A hook that refused, a failed read: the worktree goes back as it was (it was clean), no MERGE_HEAD left.
        await this.engine.restoreAfterFailedMerge(entry.path, head, failure as Error);
        throw failure;
      }
    }
    const commit = files.length === 0 ? await git.headCommit(entry.path) : undefined;
    await store.log(RESOLUTION_PREPARED_EVENT, taskId, { base: task.baseBranch, files, ...(agent ? { agent } : {}), ...(commit ? { commit } : {}) });
    return { worktreePath: entry.path, files, ours, theirs, ...(commit ? { commit } : {}) };
  }

  /** A queue cancelled before this task: an aborted attempt in the history. */
  async recordCancelled(taskId: string): Promise<void> {
    await this.logAttempt(await this.store.get(taskId), 'queue', this.readEvents(taskId), 'aborted', { reason: 'cancelled' });
  }

  /** The task's events (all the history's rules look at), read alongside git. */
  private readEvents(taskId: string): Promise<TaskEvent[]> {
    return this.store.events.readOf(taskId).catch(() => []);
  }

  /** A commit's tree: from its loose object file when it has one (a base moved by the last merge has), else from git. */
  private treeOf(commit: string): Promise<string> {
    const tree = readLooseCommitTree(this.repo.commonDir, commit);
    return tree === undefined ? this.git.treeOf(commit) : Promise.resolve(tree);
  }

  /** The task worktree's inspection, started now, when its folder is there (git's list confirms it later). */
  private inspectIfThere(task: Task): Promise<LossReport | Error> | undefined {
    return task.worktreePath && existsSync(task.worktreePath) ? this.inspect(task.worktreePath) : undefined;
  }

  private inspect(worktreePath: string): Promise<LossReport | Error> {
    const entry: WorktreeEntry = { path: worktreePath, detached: false, bare: false };
    return inspectWorktree(this.git, entry).catch((error: Error) => error);
  }

  private async logAttempt(task: Task, via: MergeTrigger, events: Promise<TaskEvent[]>, outcome: MergeOutcome, detail: Record<string, unknown>): Promise<void> {
    const { type, detail: attempt } = await this.attemptEvent(task, via, events, outcome, detail);
    await this.store.log(type, task.id, attempt);
  }

  private async attemptEvent(
    task: Task,
    via: MergeTrigger,
    events: Promise<TaskEvent[]>,
    outcome: MergeOutcome,
    detail: Record<string, unknown>,
    agent?: string,
  ): Promise<{ type: string; detail: Record<string, unknown> }> {
    const credited = agent ?? lastAgentOf(await events, task.id, task.createdAt);
    return { type: MERGE_ATTEMPT_EVENT, detail: { outcome, base: task.baseBranch, via, ...(credited ? { agent: credited } : {}), ...detail } };
  }
}

/** A head start is used only for the same branch, base and worktree path, the same two commits, and while fresh. */
function stillTheSame(start: HeadStart | undefined, task: Task, oids: Map<string, string>): boolean {
  if (!start || Date.now() - start.startedAt > HEAD_START_FRESH_MS) return false;
  const then = start.task;
  return (
    then.branch === task.branch &&
    then.baseBranch === task.baseBranch &&
    then.worktreePath === task.worktreePath &&
    start.oids.get(task.baseBranch) === oids.get(task.baseBranch) &&
    start.oids.get(task.branch!) === oids.get(task.branch!)
  );
}

/** The inspection started before git's worktree list confirmed the worktree: its failure counts only now. */
function withEntry(result: LossReport | Error, entry: WorktreeEntry): LossReport {
  if (result instanceof Error) throw result;
  return { ...result, worktreePath: entry.path, locked: entry.locked };
}

function reasonOf(error: unknown): string {
  return error instanceof TaskWorktreesError ? error.code : 'failed';
}

/** Something is on disk at `file` (relative, '/'-separated) or in its way: a non-directory where one of its folders would be. */
function isOccupied(root: string, file: string): boolean {
  const parts = file.split('/');
  for (let depth = 1; depth <= parts.length; depth++) {
    let stat;
    try {
      stat = lstatSync(join(root, ...parts.slice(0, depth)));
    } catch {
      return false;
    }
    if (depth === parts.length || !stat.isDirectory()) return true;
  }
  return false;
}
