import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { worktreeAt } from '../board';
import { TaskWorktreesError } from '../errors';
import { WorktreeEntry } from '../git/porcelain';
import { canonicalPath, isInside, Layout } from '../repo';
import { branchesInUse, branchProtection, describeLoss, hasLoss, inspectWorktree, isMergedInto, refuseIfBusy, refuseOpenWindows, refuseRunningAgents, worktreeGitDir } from '../safety';
import { Snapshot, SnapshotReason, WorktreeSnapshots } from '../snapshots';
import { bind } from './create';
import { Task } from './model';
import { OperationSteps } from './steps';
import { StoreSnapshot } from './store';

/**
 * Everything that removes or relinks: worktrees, branches, task records. Each step goes through
 * the safety inspector first. Runs inside an operation (the repository lock is held).
 */
export class TaskRemoval extends OperationSteps {
  /**
   * Removes the task's worktree. Refuses (WorktreeDirty, with the files) when anything would be
   * lost, unless `force`; never a locked worktree or one with a git operation in progress. The
   * branch goes only on request, only when the base holds all of it, and never a protected one.
   * Another live window with the worktree open refuses it (WorktreeOpenInWindow) unless `evenIfOpen`.
   */
  async removeWorktree(taskId: string, options: { force?: boolean; deleteBranch?: boolean; evenIfOpen?: boolean }): Promise<Task> {
    return (await this.removeWorktreeKeepingWork(taskId, options)).task;
  }

  /**
   * removeWorktree, and with `force` what would be lost is first saved as a snapshot (named in the
   * result and in the events); when it cannot be saved (SnapshotFailed), nothing is removed.
   */
  async removeWorktreeKeepingWork(
    taskId: string,
    options: { force?: boolean; deleteBranch?: boolean; evenIfOpen?: boolean; reason?: SnapshotReason },
  ): Promise<{ task: Task; snapshot?: Snapshot }> {
    const [task, entries, snapshot] = await Promise.all([this.store.get(taskId), this.repo.worktrees(), this.store.load()]);
    if (!task.worktreePath) throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${taskId}" has no worktree.`);
    const entry = worktreeAt(entries, task.worktreePath);
    const present = entry !== undefined && !entry.prunable;
    refuseIfBusy(entry, 'removing it');
    if (present) refuseNested(entry, entries);
    refuseRunningAgents(this.store.readAgents(), [task.worktreePath], 'removing its worktree');
    if (present && !options.evenIfOpen) refuseOpenWindows(this.store.readWindows(), [task.worktreePath], 'removing it');
    const loss = present ? await inspectWorktree(this.git, entry) : undefined;
    if (loss && hasLoss(loss) && !options.force) {
      throw new TaskWorktreesError('WorktreeDirty', `The worktree of "${taskId}" has work that removing it would lose.`, describeLoss(loss));
    }
    // `force` covers the worktree's files only: a branch with commits the base lacks is never deleted.
    const branchToDelete = options.deleteBranch ? await this.deletableBranch(task, entries, entry, snapshot) : undefined;
    // Git is asked first whether it will delete the branch (hooks included), so a refusal comes
    // before the worktree is gone, not after.
    if (branchToDelete) await this.git.deleteBranch(branchToDelete.name, branchToDelete.oid, { checkOnly: true });
    // Saved last, after every refusal: a removal that does not happen leaves no snapshot behind.
    const saved = loss && hasLoss(loss) ? await this.saveBeforeLoss(taskId, entry!.path, options.reason ?? 'forced-removal') : undefined;
    await this.store.log('worktree.remove.before', taskId, { path: task.worktreePath, force: !!options.force, snapshot: saved?.ref });
    try {
      // A worktree whose directory is gone: git drops its record; there is nothing on disk to lose.
      if (entry) await this.git.removeWorktree(entry.path, present && !!options.force);
    } catch (error) {
      await this.store.log('worktree.remove.failed', taskId, { error: (error as Error).message, snapshot: saved?.ref });
      throw error;
    }
    const branchError = branchToDelete ? await this.git.deleteBranch(branchToDelete.name, branchToDelete.oid).then(() => undefined, (error: Error) => error) : undefined;
    const removed = await this.store.update(taskId, (current) => {
      current.worktreePath = undefined;
      freeWorktreeState(current);
      if (branchToDelete && !branchError) current.branch = undefined;
      return { type: 'worktree.remove.after', detail: { branchDeleted: branchError ? undefined : branchToDelete?.name, snapshot: saved?.ref } };
    });
    if (branchError) {
      // Checked with git just before, yet refused now: another program moved the branch in between.
      const code = branchError instanceof TaskWorktreesError ? branchError.code : 'GitFailed';
      throw new TaskWorktreesError(code, `The worktree of "${taskId}" was removed, but git kept the branch ${branchToDelete!.name}: ${branchError.message}`);
    }
    return { task: removed, snapshot: saved };
  }

  /** A snapshot of the worktree, or SnapshotFailed: the caller must then not destroy anything. */
  private async saveBeforeLoss(taskId: string, worktreePath: string, reason: SnapshotReason): Promise<Snapshot> {
    try {
      const saved = await new WorktreeSnapshots(this.repo).take(taskId, worktreePath, reason);
      await this.store.log('snapshot.created', taskId, { ref: saved.ref, reason });
      return saved;
    } catch (error) {
      throw new TaskWorktreesError('SnapshotFailed', `The worktree of "${taskId}" was not removed: its work could not be saved as a snapshot first (${(error as Error).message}).`);
    }
  }

  /** Deletes the task record only; its branch is kept. A task with a live worktree must lose it first. */
  async deleteTask(taskId: string): Promise<void> {
    const task = await this.store.get(taskId);
    const entry = task.worktreePath ? worktreeAt(await this.repo.worktrees(), task.worktreePath) : undefined;
    if (entry && !entry.prunable) {
      throw new TaskWorktreesError('TaskHasWorktree', `Task "${taskId}" still has its worktree at ${task.worktreePath}; remove the worktree first.`);
    }
    await this.store.delete(taskId);
    // A later task may get this id again: nothing must go on waiting on it by name.
    const { tasks } = await this.store.load();
    for (const waiting of tasks.filter((other) => other.blockedBy.includes(taskId))) {
      await this.store.update(waiting.id, (current) => {
        current.blockedBy = current.blockedBy.filter((id) => id !== taskId);
        return { type: 'task.blockedBy', detail: { blockedBy: current.blockedBy, removed: taskId } };
      });
    }
  }

  /** Deletes the branch of a task without a worktree, only when its base holds all of it. */
  async deleteTaskBranch(taskId: string): Promise<Task> {
    const [task, entries, snapshot] = await Promise.all([this.store.get(taskId), this.repo.worktrees(), this.store.load()]);
    if (task.worktreePath) {
      throw new TaskWorktreesError('TaskHasWorktree', `Task "${taskId}" still has its worktree; remove the worktree (with its branch) instead.`);
    }
    const branch = await this.deletableBranch(task, entries, undefined, snapshot);
    if (!branch) return task;
    await this.store.assertHeld();
    await this.git.deleteBranch(branch.name, branch.oid);
    return this.store.update(taskId, (current) => {
      current.branch = undefined;
      return { type: 'branch.deleted', detail: { branch: branch.name } };
    });
  }

  /**
   * Relinks worktrees moved inside the root, then `git worktree prune` (only worktrees whose
   * directories are gone; locked ones stay), then unbinds the tasks left pointing at them.
   */
  async prune(): Promise<string[]> {
    const layout = this.repo.layout();
    await this.relinkMovedWorktrees(layout);
    await this.git.pruneWorktrees();
    const [board, entries] = await Promise.all([this.reader.board(), this.repo.worktrees()]);
    const unbound: string[] = [];
    for (const task of board.tasks.filter((view) => view.worktreeState === 'missing')) {
      if (await this.rebindMoved(task, entries, board.tasks, layout)) continue;
      await this.store.update(task.id, (current) => {
        current.worktreePath = undefined;
        freeWorktreeState(current);
        return { type: 'worktree.pruned', detail: { path: task.worktreePath } };
      });
      unbound.push(task.id);
    }
    return unbound;
  }

  /**
   * Repairs a task whose worktree is missing: moved (the whole repository, or the folder within the
   * worktree root: relinked with `git worktree repair`; or to `path`, given), or deleted (made again
   * from the branch, inside the root). Nothing with work in it is ever deleted or shared.
   */
  async repairWorktree(taskId: string, path?: string): Promise<Task> {
    const layout = this.repo.layout();
    const [task, { tasks }] = await Promise.all([this.store.get(taskId), this.store.load()]);
    if (path !== undefined) return this.relinkAt(task, path, tasks, layout);
    const entries = await this.relinkMovedWorktrees(layout);
    const own = task.worktreePath ? worktreeAt(entries, task.worktreePath) : undefined;
    if (own && !own.prunable) throw new TaskWorktreesError('InvalidInput', `Task "${taskId}" has no missing worktree to repair.`);
    const moved = await this.rebindMoved(task, entries, tasks, layout);
    if (moved) return moved;
    if (!task.worktreePath && !task.branch) throw new TaskWorktreesError('InvalidInput', `Task "${taskId}" has no worktree or branch to repair.`);
    refuseIfBusy(own, 'repairing it');
    await this.store.assertHeld();
    if (own) await this.git.removeWorktree(own.path, false); // only git's record: the folder is gone
    const target = this.repo.worktreePathFor(taskId, layout);
    const inUse = task.branch ? branchesInUse(entries.filter((entry) => entry !== own)).get(task.branch) : undefined;
    const branchOid = task.branch ? await this.git.branchCommit(task.branch) : undefined;
    if (task.branch && branchOid && !inUse && !existsSync(target)) {
      await this.recreate(target, task.branch, layout);
      return bind(this.repo, taskId, target, task.branch, 'worktree.repaired');
    }
    return this.store.update(taskId, (current) => {
      current.worktreePath = undefined;
      freeWorktreeState(current);
      return { type: 'worktree.unbound', detail: { path: task.worktreePath, reason: 'branch gone or in use elsewhere' } };
    });
  }

  /**
   * Makes the worktree in a scratch folder and moves it into place, so git gives it a fresh record
   * name: a folder someone moved away by hand keeps pointing at its old record, never at this one.
   */
  private async recreate(target: string, branch: string, layout: Layout): Promise<void> {
    await this.repo.excludeWorktreeRoot(layout);
    const scratch = `${target}.repair-${process.pid}-${Date.now().toString(36)}`;
    await this.git.addWorktreeForBranch(scratch, branch);
    await this.git.moveWorktree(scratch, target);
  }

  private async relinkAt(task: Task, path: string, tasks: Task[], layout: Layout): Promise<Task> {
    if (!this.repo.isInsideRoot(path, layout)) {
      throw new TaskWorktreesError('InvalidInput', `${path} is not inside the worktree root ${layout.root}; move the folder into it first.`);
    }
    const own = task.worktreePath ? worktreeAt(await this.repo.worktrees(), task.worktreePath) : undefined;
    if (own && !own.prunable) throw new TaskWorktreesError('InvalidInput', `Task "${task.id}" has its worktree at ${own.path}; there is nothing to repair.`);
    const folder = readWorktreeLink(path, this.repo.commonDir);
    if (!folder) throw new TaskWorktreesError('WorktreeNotFound', `${path} is not a worktree folder of this repository.`);
    if (folder.registeredElsewhere) {
      throw new TaskWorktreesError('WorktreeAssigned', `${path} is a copy: git's record for it belongs to ${folder.registeredElsewhere}, which still exists.`);
    }
    if (task.branch && folder.branch !== task.branch) {
      throw new TaskWorktreesError('InvalidInput', `${path} has ${folder.branch ?? 'a detached HEAD'} checked out, not the task's branch ${task.branch}.`);
    }
    await this.git.repairWorktrees([path]);
    const entry = worktreeAt(await this.repo.worktrees(), path);
    if (!entry || entry.prunable) throw new TaskWorktreesError('WorktreeNotFound', `${path} is not a worktree of this repository.`);
    const owner = tasks.find((other) => other.id !== task.id && other.worktreePath && canonicalPath(other.worktreePath) === canonicalPath(path));
    if (owner) throw new TaskWorktreesError('WorktreeAssigned', `${path} already belongs to task "${owner.id}".`);
    return bind(this.repo, task.id, entry.path, entry.branch, 'worktree.relocated');
  }

  /** Binds a task whose folder moved to the worktree git now knows for its branch, inside the root. */
  private async rebindMoved(task: Task, entries: WorktreeEntry[], tasks: readonly Task[], layout: Layout): Promise<Task | undefined> {
    if (!task.branch) return undefined;
    const claimed = new Set(tasks.filter((other) => other.id !== task.id && other.worktreePath).map((other) => canonicalPath(other.worktreePath!)));
    const moved = entries.find(
      (entry) => entry.branch === task.branch && !entry.prunable && this.repo.isInsideRoot(entry.path, layout) && !claimed.has(canonicalPath(entry.path)),
    );
    return moved && bind(this.repo, task.id, moved.path, moved.branch, 'worktree.relocated');
  }

  /**
   * Folders in the root that hold a worktree's `.git` file but that git does not list there were
   * moved (with the repository or on their own): `git worktree repair` links both sides again.
   */
  private async relinkMovedWorktrees(layout: Layout): Promise<WorktreeEntry[]> {
    const entries = await this.repo.worktrees();
    const listed = new Set(entries.filter((entry) => !entry.prunable).map((entry) => canonicalPath(entry.path)));
    // A copy of a live worktree is not a move: relinking it would take the record from the original.
    const moved = findUnlistedWorktreeFolders(layout.root, listed).filter((folder) => {
      const link = readWorktreeLink(folder, this.repo.commonDir);
      return link !== undefined && !link.registeredElsewhere;
    });
    if (moved.length === 0) return entries;
    await this.git.repairWorktrees(moved);
    return this.repo.worktrees();
  }

  private async deletableBranch(task: Task, entries: WorktreeEntry[], own: WorktreeEntry | undefined, { tasks, problems }: StoreSnapshot): Promise<{ name: string; oid: string } | undefined> {
    if (!task.branch) return undefined;
    if (problems.length > 0) {
      // An unreadable task file may name this branch as its base.
      throw new TaskWorktreesError('StoreCorrupt', `${task.branch} was not deleted: ${problems.length} task file(s) cannot be read, and one may build on it (${problems.map((problem) => problem.file).join(', ')}).`);
    }
    const [oid, baseOid] = await Promise.all([this.git.branchCommit(task.branch), this.git.branchCommit(task.baseBranch)]);
    if (!oid) return undefined;
    const protection = branchProtection(task.branch, tasks, worktreeAt(entries, this.repo.mainWorktree)?.branch, task.id);
    if (protection) throw new TaskWorktreesError('BranchProtected', `${protection}; it was not deleted.`);
    const elsewhere = branchesInUse(entries).get(task.branch);
    if (elsewhere && elsewhere !== own) {
      throw new TaskWorktreesError('BranchCheckedOut', `"${task.branch}" is in use in ${elsewhere.path}; it was not deleted.`);
    }
    if (!baseOid || !(await isMergedInto(this.git, oid, baseOid))) {
      const { ahead } = baseOid ? await this.git.aheadBehind(task.baseBranch, task.branch).catch(() => ({ ahead: NaN })) : { ahead: NaN };
      throw new TaskWorktreesError('UnmergedWork', `"${task.branch}" has ${Number.isNaN(ahead) ? 'commits' : `${ahead} commit(s)`} not merged into ${task.baseBranch}; nothing was removed.`);
    }
    return { name: task.branch, oid };
  }
}

/**
 * Folders under `dir` (a few levels down, not inside worktrees) holding a worktree's `.git` file
 * that git does not list at that place: worktrees moved there by hand.
 */
function findUnlistedWorktreeFolders(dir: string, listed: ReadonlySet<string>, depth = 3): string[] {
  let children: string[];
  try {
    children = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name));
  } catch {
    return [];
  }
  return children.flatMap((child) => {
    if (listed.has(canonicalPath(child))) return [];
    if (isFile(join(child, '.git'))) return [child];
    return depth > 1 ? findUnlistedWorktreeFolders(child, listed, depth - 1) : [];
  });
}

/**
 * What a worktree folder's `.git` file links to, read without git: the record in this repository
 * (by name: a moved repository's folders still name the old path), the branch checked out there,
 * and whether the record's registered folder is another one that still exists (then this is a copy).
 */
function readWorktreeLink(folder: string, commonDir: string): { branch?: string; registeredElsewhere?: string } | undefined {
  const gitDir = worktreeGitDir(folder);
  if (!gitDir) return undefined;
  const record = join(commonDir, 'worktrees', basename(gitDir));
  const head = readText(join(record, 'HEAD'));
  if (head === undefined) return undefined;
  const registered = readText(join(record, 'gitdir'));
  const registeredFolder = registered ? dirname(registered) : undefined;
  const elsewhere = registeredFolder && existsSync(registered!) && canonicalPath(registeredFolder) !== canonicalPath(folder) ? registeredFolder : undefined;
  const branch = head.startsWith('ref: refs/heads/') ? head.slice('ref: refs/heads/'.length) : undefined;
  return { branch, registeredElsewhere: elsewhere };
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Removing a worktree deletes everything under it, including any worktree someone made inside it. */
function refuseNested(entry: WorktreeEntry, entries: readonly WorktreeEntry[]): void {
  const root = canonicalPath(entry.path);
  const nested = entries.filter((other) => other !== entry && !other.bare && !other.prunable && canonicalPath(other.path) !== root && isInside(canonicalPath(other.path), root));
  if (nested.length > 0) {
    throw new TaskWorktreesError('NestedWorktree', `${entry.path} contains other worktrees; removing it would delete them and their work. Remove or move them first.`, nested.map((other) => other.path));
  }
}

/** What belongs to a worktree goes with it: its ports are free for the next task. */
function freeWorktreeState(task: Task): void {
  task.ports = undefined;
  task.setup = undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
