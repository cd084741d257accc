import { worktreeAt } from '../board';
import { isCoded, TaskWorktreesError } from '../errors';
import { canonicalPath } from '../repo';
import { describeLoss, hasLoss, inspectWorktree, isMergedInto, refuseIfBusy, refuseRunningAgents } from '../safety';
import { AppliedSnapshot, Snapshot, WorktreeSnapshots } from '../snapshots';
import { TaskCreation, ValidCreateInput } from './create';
import { Task } from './model';
import { TaskRemoval } from './remove';
import { OperationSteps } from './steps';

export interface RestoreResult extends AppliedSnapshot {
  task: Task;
  snapshot: Snapshot;
}

export interface MoveChangesResult {
  task: Task;
  snapshot: Snapshot;
  /** Paths now changed in the new task's worktree. */
  moved: string[];
  /** Paths that stayed in the source: changed again after the snapshot (or HEAD moved), so not taken out. */
  keptInSource: string[];
}

/** A task whose branch its base holds entirely, with what removing its worktree would lose. */
export interface MergedTask {
  taskId: string;
  branch: string;
  worktreePath?: string;
  /** One line per thing a snapshot will keep (empty: nothing would be lost). */
  wouldLose: string[];
}

export interface CleanUpReport {
  cleaned: string[];
  skipped: Array<{ taskId: string; reason: string }>;
  snapshots: Snapshot[];
}

/**
 * Restore, move and clean up: the operations that lean on snapshots. Each runs inside one
 * operation (the lock is held) and never destroys work it has not saved first.
 */
export class TaskRecovery extends OperationSteps {
  private readonly snapshots = new WorktreeSnapshots(this.repo);
  private readonly creation = new TaskCreation(this.repo, this.reader);
  private readonly removal = new TaskRemoval(this.repo, this.reader);

  async takeSnapshot(taskId: string): Promise<Snapshot> {
    const task = await this.store.get(taskId);
    const entry = task.worktreePath ? worktreeAt(await this.repo.worktrees(), task.worktreePath) : undefined;
    if (!entry || entry.prunable) throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${taskId}" has no worktree to snapshot.`);
    const snapshot = await this.snapshots.take(taskId, entry.path, 'manual');
    await this.store.log('snapshot.created', taskId, { ref: snapshot.ref, reason: snapshot.reason });
    return snapshot;
  }

  /** Back into the task's worktree (made again from its branch, or from its base, when it is gone). */
  async restoreIntoWorktree(ref: string): Promise<RestoreResult> {
    const snapshot = await this.snapshots.get(ref);
    let task = await this.store.get(snapshot.taskId).catch((error: unknown) => {
      if (isCoded(error, 'TaskNotFound')) {
        throw new TaskWorktreesError('TaskNotFound', `Task "${snapshot.taskId}" no longer exists: restore ${ref} into a new task instead.`);
      }
      throw error;
    });
    if (snapshot.earlierTask) {
      throw new TaskWorktreesError('TaskNotFound', `${ref} was taken of an earlier task named "${snapshot.taskId}", deleted since: restore it into a new task instead.`);
    }
    const entries = await this.repo.worktrees();
    const entry = task.worktreePath ? worktreeAt(entries, task.worktreePath) : undefined;
    if (!entry || entry.prunable) {
      // Checked before a worktree is made for it: a refusal leaves nothing new behind.
      await this.refuseConflicts(snapshot, await this.startOf(task));
      task = task.branch || task.worktreePath ? await this.removal.repairWorktree(task.id) : await this.creation.createWorktree(task.id);
      if (!task.worktreePath) task = await this.creation.createWorktree(task.id);
    } else {
      refuseIfBusy(entry, 'restoring a snapshot into it');
    }
    const applied = await this.snapshots.applyTo(snapshot, task.worktreePath!);
    await this.store.log('snapshot.restored', task.id, { ref, into: 'worktree', written: applied.written.length, deleted: applied.deleted.length });
    return { task, snapshot, ...applied };
  }

  /** Into a new task with its own worktree, on the snapshot's task's base (or `input`'s). */
  async restoreIntoNewTask(ref: string, input: ValidCreateInput): Promise<RestoreResult> {
    const snapshot = await this.snapshots.get(ref);
    const original = await this.store.get(snapshot.taskId).catch(() => undefined);
    const requestedBase = input.requestedBase || original?.baseBranch || '';
    const baseOid = requestedBase ? await this.git.branchCommit(requestedBase) : undefined;
    if (baseOid) await this.refuseConflicts(snapshot, baseOid);
    const task = await this.creation.createTask({ ...input, requestedBase, createWorktree: true });
    const applied = await this.snapshots.applyTo(snapshot, task.worktreePath!);
    await this.store.log('snapshot.restored', task.id, { ref, into: 'newTask', written: applied.written.length, deleted: applied.deleted.length });
    return { task, snapshot, ...applied };
  }

  /**
   * The uncommitted changes of a worktree become a new task's: snapshot, new task and worktree from
   * the source's branch (or `input`'s base), snapshot applied there, and only then each snapshotted
   * file taken out of the source. A failure at any step leaves the source as it was, the snapshot kept.
   */
  async moveChanges(sourcePath: string, input: ValidCreateInput): Promise<MoveChangesResult> {
    const source = worktreeAt(await this.repo.worktrees(), sourcePath);
    if (!source || source.prunable || source.bare) throw new TaskWorktreesError('WorktreeNotFound', `${sourcePath} is not a worktree of this repository.`);
    refuseIfBusy(source, 'moving its changes');
    // Only agents in the source itself: task worktrees nested in the main one are not touched.
    const root = canonicalPath(source.path);
    refuseRunningAgents(this.store.readAgents().filter((record) => canonicalPath(record.worktreePath) === root), [source.path], 'moving its changes');
    if ((await this.git.uncommittedPaths(source.path)).length === 0) {
      throw new TaskWorktreesError('InvalidInput', `${source.path} has no uncommitted changes to move.`);
    }
    const requestedBase = input.requestedBase || source.branch;
    if (!requestedBase) throw new TaskWorktreesError('InvalidInput', `HEAD is detached in ${source.path}: choose a base branch for the new task.`);
    const created = await this.creation.createTask({ ...input, requestedBase, createWorktree: false });
    let snapshot: Snapshot;
    try {
      snapshot = await this.snapshots.take(created.id, source.path, 'move-changes');
      await this.store.log('snapshot.created', created.id, { ref: snapshot.ref, reason: snapshot.reason });
    } catch (error) {
      await this.store.delete(created.id);
      throw new TaskWorktreesError('SnapshotFailed', `Nothing was moved: the changes in ${source.path} could not be saved as a snapshot (${(error as Error).message}).`);
    }
    let task: Task;
    let applied: AppliedSnapshot;
    try {
      await this.refuseConflicts(snapshot, (await this.git.branchCommit(requestedBase)) ?? snapshot.parent);
      task = await this.creation.createWorktree(created.id);
      applied = await this.snapshots.applyTo(snapshot, task.worktreePath!);
    } catch (error) {
      const code = error instanceof TaskWorktreesError ? error.code : 'GitFailed';
      const details = error instanceof TaskWorktreesError ? error.details : [];
      throw new TaskWorktreesError(code, `${(error as Error).message} The changes stay in ${source.path}, untouched, and are saved in ${snapshot.ref} (task "${created.id}").`, details);
    }
    const { removed, kept } = await this.snapshots.removeFrom(snapshot, source.path);
    await this.store.log('changes.moved', task.id, { from: source.path, ref: snapshot.ref, moved: applied.written.length + applied.deleted.length, keptInSource: kept.length });
    return { task, snapshot, moved: [...applied.written, ...applied.deleted], keptInSource: kept.filter((path) => !removed.includes(path)) };
  }

  /** Tasks whose branch is entirely in their base, judged from git now (see isMergedInto). */
  async mergedTasks(): Promise<MergedTask[]> {
    return (await this.findMerged()).merged;
  }

  /** The merged tasks, and those whose branch the base holds but that someone is still working on. */
  private async findMerged(): Promise<{ merged: MergedTask[]; inProgress: Array<{ taskId: string; reason: string }> }> {
    const [{ tasks }, heads, entries] = await Promise.all([this.store.load(), this.reader.heads(), this.repo.worktrees()]);
    const merged: MergedTask[] = [];
    const inProgress: Array<{ taskId: string; reason: string }> = [];
    for (const task of tasks) {
      const branchOid = task.branch ? heads.get(task.branch)?.oid : undefined;
      const baseOid = heads.get(task.baseBranch)?.oid;
      if (!branchOid || !baseOid || !(await isMergedInto(this.git, branchOid, baseOid))) continue;
      // A branch its base contains may also be one nobody committed on yet: git cannot tell them
      // apart, so such a branch counts only once the task is recorded as merged or completed.
      if (!task.merge && task.status !== 'completed' && (await this.git.isAncestor(branchOid, baseOid))) continue;
      // Its commits may have been picked onto the base (a hotfix) while its owner goes on: only its
      // completion or a recorded merge says the task is done.
      if (!task.merge && task.status === 'in_progress') {
        inProgress.push({ taskId: task.id, reason: `in progress${task.owner ? ` (${task.owner})` : ''}: its branch is in its base, but it is not completed nor recorded as merged` });
        continue;
      }
      const entry = task.worktreePath ? worktreeAt(entries, task.worktreePath) : undefined;
      const present = entry && !entry.prunable ? entry : undefined;
      const loss = present ? await inspectWorktree(this.git, present) : undefined;
      merged.push({ taskId: task.id, branch: task.branch!, worktreePath: present?.path, wouldLose: loss && hasLoss(loss) ? describeLoss(loss) : [] });
    }
    return { merged, inProgress };
  }

  /**
   * Removes the worktree and branch of every merged task (or of those named), through the removal
   * path and its safety checks; work that would be lost is saved as a snapshot first. A task the
   * checks refuse is skipped with the reason; the others go on.
   */
  async cleanUpMerged(onlyTaskIds?: ReadonlySet<string>): Promise<CleanUpReport> {
    const { merged, inProgress } = await this.findMerged();
    const report: CleanUpReport = { cleaned: [], skipped: inProgress.filter((skip) => !onlyTaskIds || onlyTaskIds.has(skip.taskId)), snapshots: [] };
    for (const candidate of merged) {
      if (onlyTaskIds && !onlyTaskIds.has(candidate.taskId)) continue;
      try {
        const task = await this.store.get(candidate.taskId);
        if (task.worktreePath) {
          const { snapshot } = await this.removal.removeWorktreeKeepingWork(task.id, { force: true, deleteBranch: true, reason: 'clean-up' });
          if (snapshot) report.snapshots.push(snapshot);
        } else {
          await this.removal.deleteTaskBranch(task.id);
        }
        report.cleaned.push(task.id);
      } catch (error) {
        const code = error instanceof TaskWorktreesError ? `${error.code}: ` : '';
        report.skipped.push({ taskId: candidate.taskId, reason: `${code}${(error as Error).message}` });
      }
    }
    if (onlyTaskIds) {
      const seen = new Set([...report.cleaned, ...report.skipped.map((skip) => skip.taskId)]);
      for (const taskId of [...onlyTaskIds].filter((id) => !seen.has(id))) report.skipped.push({ taskId, reason: 'not merged into its base (any more)' });
    }
    return report;
  }

  /** The commit a task's new worktree would start on: its branch, else its base. */
  private async startOf(task: Task): Promise<string> {
    const oid = (task.branch && (await this.git.branchCommit(task.branch))) || (await this.git.branchCommit(task.baseBranch));
    if (!oid) throw new TaskWorktreesError('BranchNotFound', `Neither the branch nor the base of task "${task.id}" exists.`);
    return oid;
  }

  private async refuseConflicts(snapshot: Snapshot, head: string): Promise<void> {
    const { conflicts } = await this.snapshots.conflicts(snapshot, undefined, head);
    if (conflicts.length > 0) {
      throw new TaskWorktreesError('SnapshotConflict', `${snapshot.ref} changes ${conflicts.length} file(s) that commits since changed too; nothing was created. Restore it into a worktree at the snapshot's commit instead.`, conflicts);
    }
  }
}
