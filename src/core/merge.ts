import { TaskWorktreesError } from './errors';
import { GitAdapter } from './git/adapter';
import { MergeTreeResult } from './git/porcelain';
import { MergeStrategy } from './tasks/model';

export interface MergeRequest {
  base: string;
  baseOid: string;
  branch: string;
  branchOid: string;
  strategy: MergeStrategy;
  message: string;
  /** The worktree that has the base checked out, if any. */
  baseWorktree?: string;
}

/**
 * Merges a task branch into its base in two steps. preview() merges in memory (`merge-tree
 * --write-tree`): a conflict changes nothing anywhere. land() then puts a clean result either into
 * the worktree that has the base checked out, or, when none has, into a commit written without any
 * checkout and a ref update guarded by the base's old value.
 */
export class MergeEngine {
  constructor(private readonly git: GitAdapter) {}

  preview(baseOid: string, branchOid: string): Promise<MergeTreeResult> {
    return this.git.mergeTree(baseOid, branchOid);
  }

  /** Lands a merge preview() found clean; returns the new commit of the base. */
  land(request: MergeRequest, tree: string): Promise<string> {
    return request.baseWorktree ? this.mergeInWorktree(request, request.baseWorktree) : this.mergeWithoutCheckout(request, tree);
  }

  private async mergeInWorktree(request: MergeRequest, worktreePath: string): Promise<string> {
    const status = await this.git.status(worktreePath);
    const tracked = status.staged + status.unstaged + status.unmerged;
    if (tracked > 0) {
      throw new TaskWorktreesError(
        'BaseDirty',
        `${request.base} is checked out in ${worktreePath} with uncommitted changes; commit or stash them before merging.`,
        status.files,
      );
    }
    try {
      await this.git.merge(worktreePath, request.branch, request.message, request.strategy === 'squash');
    } catch (error) {
      // Leave the base worktree as we found it (merge-tree said clean, but hooks or untracked files can still fail it).
      await this.git.abortMerge(worktreePath).catch(() => undefined);
      throw error;
    }
    return this.git.headCommit(worktreePath);
  }

  private async mergeWithoutCheckout(request: MergeRequest, tree: string): Promise<string> {
    const parents = request.strategy === 'squash' ? [request.baseOid] : [request.baseOid, request.branchOid];
    const commit = await this.git.commitTree(tree, parents, request.message);
    await this.git.updateBranch(request.base, commit, request.baseOid, `task-worktrees: ${request.message}`);
    return commit;
  }
}
