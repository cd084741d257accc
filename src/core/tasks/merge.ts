import { BoardReader, worktreeAt } from '../board';
import { TaskWorktreesError } from '../errors';
import { MergeEngine } from '../merge';
import { Repository } from '../repo';
import { branchesInUse, describeLoss, hasLoss, inspectWorktree, refuseOperationInProgress, refuseRunningAgents } from '../safety';
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

  async merge(taskId: string, strategy: MergeStrategy): Promise<MergeResult> {
    const { git, store } = this;
    const [task, entries, heads] = await Promise.all([store.get(taskId), this.repo.worktrees(), this.reader.heads()]);
    if (!task.branch) throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${taskId}" has no branch to merge.`);
    const branchOid = heads.get(task.branch)?.oid;
    const base = heads.get(task.baseBranch);
    const baseOid = base?.oid;
    if (!branchOid) throw new TaskWorktreesError('BranchNotFound', `The task's branch "${task.branch}" does not exist any more.`);
    if (!base || !baseOid) throw new TaskWorktreesError('BranchNotFound', `The task's base branch "${task.baseBranch}" does not exist.`);

    // Where the base is in use decides how it may move; a rebase or bisect of it, or any operation
    // stopped in its worktree, means it must not move at all.
    const baseEntry = branchesInUse(entries).get(task.baseBranch);
    if (baseEntry && baseEntry.branch !== task.baseBranch) {
      throw new TaskWorktreesError('OperationInProgress', `${task.baseBranch} is being rebased or bisected in ${baseEntry.path}; finish or abort that first.`, [baseEntry.path]);
    }
    refuseOperationInProgress(baseEntry, `merging into ${task.baseBranch}, which is checked out there`);
    const taskEntry = task.worktreePath ? worktreeAt(entries, task.worktreePath) : undefined;
    const taskWorktree = taskEntry && !taskEntry.prunable ? taskEntry : undefined;
    refuseOperationInProgress(taskWorktree, `merging task "${taskId}"`);

    refuseRunningAgents(this.store.readAgents(), [taskWorktree?.path, baseEntry?.path].filter((path): path is string => path !== undefined), 'merging');

    // The in-memory merge writes nothing but objects: it runs while the task's worktree is inspected.
    const [preview, loss, isAncestor] = await Promise.all([
      this.engine.preview(baseOid, branchOid),
      taskWorktree ? inspectWorktree(git, taskWorktree) : undefined,
      git.isAncestor(branchOid, baseOid),
    ]);
    if (loss && hasLoss(loss)) {
      throw new TaskWorktreesError('WorktreeDirty', `Task "${taskId}" has work that is not on its branch (uncommitted, untracked or on a detached HEAD); commit it to ${task.branch} first, so that the merge leaves nothing behind.`, describeLoss(loss));
    }
    await store.log('merge.before', taskId, { base: task.baseBranch, branch: task.branch, strategy });
    if (preview.conflicts.length > 0) {
      await store.log('merge.conflict', taskId, { conflicts: preview.conflicts });
      return { merged: false, conflicts: preview.conflicts, task };
    }
    // Nothing the base lacks: an ancestor, or — for a squash — a tree the base already has. A plain
    // merge of such a branch still lands, as a merge commit: it keeps the branch's commits reachable.
    const nothingToMerge = isAncestor || (strategy === 'squash' && preview.tree === base.tree);
    const commit = nothingToMerge
      ? baseOid
      : await this.engine
          .land(
            {
              base: task.baseBranch,
              baseOid,
              branch: task.branch,
              branchOid,
              strategy,
              message: strategy === 'squash' ? `${task.subject} (task ${task.id})` : `Merge task ${task.id}: ${task.subject}`,
              baseWorktree: baseEntry?.path,
            },
            preview.tree,
          )
          .catch(async (error: Error) => {
            await store.log('merge.failed', taskId, { error: error.message });
            throw error;
          });
    const merged = await store.update(taskId, (current) => {
      current.status = 'completed';
      current.merge = { commit, branchHead: branchOid, strategy, at: new Date().toISOString() };
      return { type: 'merge.after', detail: { commit, base: current.baseBranch, strategy, nothingToMerge } };
    });
    return { merged: true, commit, task: merged, ...(nothingToMerge ? { nothingToMerge } : {}) };
  }
}
