import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TaskWorktreesError } from './errors';
import { GitAdapter } from './git/adapter';
import { GitError } from './git/errors';
import { MergeTreeResult } from './git/porcelain';
import { worktreeGitDir } from './safety';
import { MergeStrategy } from './tasks/model';

export interface RefLanding {
  land(commit: string): Promise<void>;
  cancel(): void;
}

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
  async land(request: MergeRequest, tree: string): Promise<string> {
    if (request.baseWorktree) return this.mergeInWorktree(request, request.baseWorktree);
    const commit = await this.mergeCommit(request, tree);
    await this.landCommit(request, commit);
    return commit;
  }

  /**
   * The commit the merge would make, written without any checkout. Only an object: nothing points
   * at it until landCommit(), so it may be written before the safety checks have answered.
   */
  mergeCommit(request: MergeRequest, tree: string): Promise<string> {
    const parents = request.strategy === 'squash' ? [request.baseOid] : [request.baseOid, request.branchOid];
    return this.git.commitTree(tree, parents, request.message);
  }

  /**
   * The guarded ref update that lands a merge into a base checked out nowhere, its git process
   * started now: git starts while the merge still checks, and waits. land(commit) moves the base
   * only if it is still at the commit the merge read; cancel() stops the process with nothing
   * changed. Every caller cancels on its way out (a cancel after land changes nothing).
   */
  startRefLanding(request: Pick<MergeRequest, 'base' | 'baseOid' | 'message'>): RefLanding {
    let give: (commit: string) => void = () => undefined;
    let withdraw: (why: Error) => void = () => undefined;
    const commit = new Promise<string>((resolve, reject) => {
      give = resolve;
      withdraw = reject;
    });
    const updated = this.git.updateBranchOnceKnown(request.base, request.baseOid, `task-worktrees: ${request.message}`, commit);
    updated.catch(() => undefined); // awaited by land()
    return {
      land: (landed) => {
        give(landed);
        return updated;
      },
      // git is stopped before it reads anything: no transaction, so no hook sees one.
      cancel: () => withdraw(new Error('The merge did not land.')),
    };
  }

  /**
   * Moves the base to exactly `commit` (a mergeCommit(), e.g. the one a gate tested): a fast-forward
   * in the worktree that has the base checked out, else a ref update guarded by the base's old value.
   */
  async landCommit(request: MergeRequest, commit: string): Promise<void> {
    if (!request.baseWorktree) {
      await this.git.updateBranch(request.base, commit, request.baseOid, `task-worktrees: ${request.message}`);
      return;
    }
    const worktreePath = request.baseWorktree;
    await this.refuseUnlessClean(request, worktreePath);
    try {
      await this.git.fastForward(worktreePath, commit);
    } catch (error) {
      await this.restoreAfterFailedMerge(worktreePath, request.baseOid, error as Error);
      throw inTheWay(error as Error, request.base, worktreePath);
    }
  }

  private async mergeInWorktree(request: MergeRequest, worktreePath: string): Promise<string> {
    await this.refuseUnlessClean(request, worktreePath);
    try {
      // The commit read and checked, not the branch's name: one committed meanwhile is not merged unseen.
      await this.git.merge(worktreePath, request.branchOid, request.message, request.strategy === 'squash');
    } catch (error) {
      // merge-tree said clean, but hooks or untracked files can still stop git half way.
      await this.restoreAfterFailedMerge(worktreePath, request.baseOid, error as Error);
      throw inTheWay(error as Error, request.base, worktreePath);
    }
    return this.git.headCommit(worktreePath);
  }

  private async refuseUnlessClean(request: MergeRequest, worktreePath: string): Promise<void> {
    const [status, head] = await Promise.all([this.git.status(worktreePath), this.git.headCommit(worktreePath)]);
    if (head !== request.baseOid) {
      throw new TaskWorktreesError('RefChanged', `${request.base} moved in ${worktreePath} while the merge was prepared; nothing was changed. Try again.`);
    }
    const tracked = status.staged + status.unstaged + status.unmerged;
    if (tracked > 0) {
      throw new TaskWorktreesError(
        'BaseDirty',
        `${request.base} is checked out in ${worktreePath} with uncommitted changes; commit or stash them before merging.`,
        status.files,
      );
    }
  }

  /**
   * Puts the base worktree back exactly as it was (it had no tracked changes and no operation in
   * progress, both checked before), and checks that it is: a half-done merge left behind would let
   * the next commit there silently revert other work.
   */
  async restoreAfterFailedMerge(worktreePath: string, baseOid: string, cause: Error): Promise<void> {
    const problems: string[] = [];
    await this.git.abortMerge(worktreePath).catch((error: Error) => problems.push(`git reset --merge failed: ${error.message}`));
    const [head, status] = await Promise.all([
      this.git.headCommit(worktreePath).catch(() => undefined),
      this.git.status(worktreePath).catch(() => undefined),
    ]);
    const gitDir = worktreeGitDir(worktreePath);
    if (head !== baseOid) problems.push(`HEAD is ${head ?? 'unreadable'}, not ${baseOid}`);
    if (!status || status.staged + status.unstaged + status.unmerged > 0) problems.push(`tracked files differ from ${baseOid.slice(0, 12)}`);
    for (const marker of ['MERGE_HEAD', 'SQUASH_MSG']) {
      if (gitDir && existsSync(join(gitDir, marker))) problems.push(`${marker} is still there`);
    }
    if (problems.length > 0) {
      throw new TaskWorktreesError(
        'GitFailed',
        `The merge failed (${cause.message}) and ${worktreePath} could not be put back as it was: ${problems.join('; ')}. Check it with "git status" before committing there.`,
        problems,
      );
    }
  }

}

/** git refuses to overwrite untracked files in the base's worktree: say which, as the base's dirt. */
function inTheWay(error: Error, base: string, worktreePath: string): Error {
  const stderr = error instanceof GitError ? error.stderr : '';
  if (!/untracked working tree files would be (overwritten|removed) by merge/.test(stderr)) return error;
  const files = stderr.split('\n').filter((line) => line.startsWith('\t')).map((line) => `${line.trim()} (untracked)`);
  return new TaskWorktreesError('BaseDirty', `Untracked files in ${worktreePath}, where ${base} is checked out, are in the merge's way; move them or commit them first. Nothing was changed.`, files);
}
