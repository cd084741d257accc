import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { worktreeAt } from '../board';
import { isCoded, TaskWorktreesError } from '../errors';
import { BranchHead, WorktreeEntry } from '../git/porcelain';
import { canonicalPath, Layout, Repository } from '../repo';
import { branchesInUse, branchProtection } from '../safety';
import { containsUnsafeText, validateBlockedBy, validateBranchName, validateSubject, validateTaskId } from './ids';
import { checkBlockers } from './dependencies';
import { copyIncludedFiles } from './include';
import { SetupRecord, Task } from './model';
import { portBlockFor } from './ports';
import { OperationSteps } from './steps';

export interface CreateTaskInput {
  subject: string;
  description?: string;
  baseBranch?: string;
  blockedBy?: string[];
  /** The id to use instead of the one made from the subject (it names the branch and the folder); refused when taken. */
  id?: string;
  /**
   * Where the repository's worktrees go if this is its first create (a person's answer to the
   * location question), in place of the `worktreeRoot` setting; a recorded layout wins.
   */
  worktreeRoot?: string;
}

export interface ValidCreateInput {
  subject: string;
  description: string;
  requestedBase: string;
  blockedBy: string[];
  createWorktree: boolean;
  id?: string;
  worktreeRoot?: string;
}

/** Checked before the operation starts, so bad input never reaches git nor waits for the lock. */
export function validateCreateInput(input: CreateTaskInput & { createWorktree?: boolean }, defaultBase: string): ValidCreateInput {
  if (typeof input !== 'object' || input === null) throw new TaskWorktreesError('InvalidInput', 'createTask needs an object with a subject.');
  const subject = validateSubject(input.subject);
  if (input.description !== undefined && typeof input.description !== 'string') {
    throw new TaskWorktreesError('InvalidInput', 'A task description is text.');
  }
  const requestedBase = input.baseBranch || defaultBase;
  if (requestedBase) validateBranchName(requestedBase, 'base branch');
  const id = input.id === undefined ? undefined : validateTaskId(input.id);
  const worktreeRoot = input.worktreeRoot === undefined ? undefined : validateWorktreeRootInput(input.worktreeRoot);
  return { subject, description: input.description ?? '', requestedBase, blockedBy: validateBlockedBy(input.blockedBy ?? []), createWorktree: input.createWorktree === true, id, worktreeRoot };
}

/** The same rule as a recorded root's (one line of text); where it points is checked against the repository (Repository.checkWorktreeRoot). */
export function validateWorktreeRootInput(worktreeRoot: unknown): string {
  if (typeof worktreeRoot !== 'string' || !worktreeRoot.trim() || containsUnsafeText(worktreeRoot)) {
    throw new TaskWorktreesError('InvalidInput', 'worktreeRoot is a folder path: one line of text, relative to the repository, absolute, or under ~.');
  }
  return worktreeRoot;
}

/** Task creation and binding. Every function here runs inside an operation (the lock is held). */
export class TaskCreation extends OperationSteps {
  /** Creates a task on its base (default: the current branch) and, on request, its worktree; a failure leaves no task behind. */
  async createTask(input: ValidCreateInput): Promise<Task> {
    if (input.blockedBy.length > 0) checkBlockers(undefined, input.blockedBy, (await this.store.load()).tasks);
    const layout = await this.repo.ensureLayout(input.worktreeRoot);
    const [currentBranch, heads] = await Promise.all([input.requestedBase ? undefined : this.git.currentBranch(), this.reader.heads()]);
    // No branch has a commit yet (an unborn HEAD names a branch that does not exist).
    if (heads.size === 0) {
      throw new TaskWorktreesError('NoCommits', 'The repository has no commits yet: make a first commit, then create tasks.');
    }
    const baseBranch = input.requestedBase || currentBranch;
    if (!baseBranch) throw new TaskWorktreesError('InvalidInput', 'HEAD is detached: choose a base branch for the task.');
    if (!heads.has(baseBranch)) throw new TaskWorktreesError('BranchNotFound', `The base branch "${baseBranch}" does not exist.`);
    const isTaken = (id: string): boolean => heads.has(`${layout.branchPrefix}${id}`) || existsSync(this.repo.worktreePathFor(id, layout));
    if (input.id !== undefined && isTaken(input.id)) {
      throw new TaskWorktreesError('TaskIdTaken', `The id "${input.id}" is taken: the branch ${layout.branchPrefix}${input.id} or the folder ${this.repo.worktreePathFor(input.id, layout)} exists.`);
    }
    if (input.createWorktree) {
      // Checked before the record is written: git could not make this branch, whatever the id.
      const id = input.id ?? (await this.store.nextId(input.subject, isTaken));
      refuseRefConflict(this.repo.branchFor(id, layout), heads);
    }
    const task = await this.store.create(
      { subject: input.subject, description: input.description, status: 'pending', owner: '', baseBranch, blockedBy: input.blockedBy },
      isTaken,
      input.id,
    );
    if (!input.createWorktree) return task;
    try {
      // The heads just read serve the worktree too: one git call fewer than two separate steps.
      return await this.addWorktreeFor(task, heads, layout);
    } catch (error) {
      await this.store.delete(task.id);
      throw error;
    }
  }

  async createWorktree(taskId: string): Promise<Task> {
    const layout = await this.repo.ensureLayout();
    const [task, heads] = await Promise.all([this.store.get(taskId), this.reader.heads()]);
    return this.addWorktreeFor(task, heads, layout);
  }

  /** `<root>/<id>` on a new branch `<prefix><id>` from the base. A failure undoes only what this call made. */
  private async addWorktreeFor(task: Task, heads: Map<string, BranchHead>, layout: Layout): Promise<Task> {
    refuseIfBound(task);
    const branch = this.repo.branchFor(task.id, layout);
    const baseOid = heads.get(task.baseBranch)?.oid;
    if (!baseOid) throw new TaskWorktreesError('BranchNotFound', `The task's base branch "${task.baseBranch}" does not exist.`);
    if (heads.has(branch)) {
      throw new TaskWorktreesError('BranchExists', `A branch "${branch}" already exists. Use "Assign Existing Worktree/Branch" to bind it to this task.`);
    }
    refuseRefConflict(branch, heads);
    const path = this.repo.worktreePathFor(task.id, layout);
    if (existsSync(path)) throw new TaskWorktreesError('WorktreePathExists', `${path} already exists; move it away or choose another worktree root.`);
    await this.store.assertHeld();
    await this.repo.excludeWorktreeRoot(layout);
    // The "before" event is written while git works; both settle before "after" or "failed" is logged.
    const [logged, added] = await Promise.allSettled([
      this.store.log('worktree.create.before', task.id, { branch, path, base: task.baseBranch }),
      this.git.addWorktreeWithNewBranch(path, branch, baseOid),
    ]);
    let bound: Task;
    try {
      if (added.status === 'rejected') throw added.reason;
      if (logged.status === 'rejected') throw logged.reason;
      bound = await bind(this.repo, task.id, path, branch, 'worktree.create.after');
    } catch (error) {
      // git refused before creating anything (someone else made this branch or folder): nothing of ours to undo.
      const gitMadeNothing = added.status === 'rejected' && (isCoded(added.reason, 'BranchExists') || isCoded(added.reason, 'WorktreePathExists'));
      const leftBehind = gitMadeNothing ? [] : await this.undoCreatedWorktree(path, branch, baseOid);
      await this.store.log('worktree.create.failed', task.id, { branch, path, error: (error as Error).message, leftBehind });
      throw error;
    }
    // After the worktree is bound: nothing that goes wrong while copying undoes or fails the create.
    return this.copyIgnoredFiles(bound);
  }

  /** Copies the included ignored files from the main worktree; the outcome is recorded on the task. */
  private async copyIgnoredFiles(task: Task): Promise<Task> {
    let setup: SetupRecord;
    let detail: Record<string, unknown>;
    try {
      const result = await copyIncludedFiles(this.git, this.repo.mainWorktree, task.worktreePath!, this.repo.settings.includePatterns);
      if (!result) return task;
      const { copied, skipped, failed } = result;
      const message = failed.length > 0 ? `${failed.length} ignored file(s) not copied: ${failed.slice(0, 5).map((item) => `${item.path} (${item.error})`).join('; ')}` : undefined;
      setup = { state: failed.length > 0 ? 'failed' : 'done', at: new Date().toISOString(), copied, ...(message && { message }) };
      detail = { copied, skipped: skipped.length, failed: failed.map((item) => item.path) };
    } catch (error) {
      setup = { state: 'failed', at: new Date().toISOString(), copied: 0, message: `Ignored files were not copied: ${(error as Error).message}` };
      detail = { error: (error as Error).message };
    }
    return this.store
      .update(task.id, (current) => {
        current.setup = setup;
        return { type: 'worktree.files.copied', detail };
      })
      .catch(() => task);
  }

  /**
   * Removes the worktree and branch a failed create made — only while they are exactly what it
   * made (the branch at the base commit, the worktree clean on it), never with force. Returns what
   * it had to leave.
   */
  private async undoCreatedWorktree(path: string, branch: string, baseOid: string): Promise<string[]> {
    const leftBehind: string[] = [];
    const entry = worktreeAt(await this.repo.worktrees(), path);
    if (entry) {
      const status = entry.branch === branch && entry.head === baseOid ? await this.git.status(entry.path).catch(() => undefined) : undefined;
      if (status && status.files.length === 0) await this.git.removeWorktree(entry.path, false).catch(() => leftBehind.push(path));
      else leftBehind.push(path);
    }
    const stillCheckedOut = entry !== undefined && leftBehind.includes(path);
    if (!stillCheckedOut && (await this.git.branchCommit(branch)) === baseOid) {
      await this.git.deleteBranch(branch, baseOid).catch(() => leftBehind.push(branch));
    }
    return leftBehind;
  }

  /** Binds an existing worktree, or an existing branch (where it is checked out, or in a new worktree). */
  async assignWorktree(taskId: string, target: { worktreePath?: string; branch?: string }): Promise<Task> {
    const [task, { tasks }, entries, heads] = await Promise.all([this.store.get(taskId), this.store.load(), this.repo.worktrees(), this.reader.heads()]);
    refuseIfBound(task);
    const main = worktreeAt(entries, this.repo.mainWorktree);
    const inUse = branchesInUse(entries);
    const claimedBy = (entry: WorktreeEntry): Task | undefined =>
      tasks.find((other) => other.worktreePath && canonicalPath(other.worktreePath) === canonicalPath(entry.path));
    const refuseProtected = (branch: string): void => {
      const reason = branchProtection(branch, tasks, main?.branch, taskId);
      if (reason) throw new TaskWorktreesError('BranchProtected', `${reason}; a task's branch must be its own.`);
    };

    if (target.worktreePath !== undefined) {
      const entry = worktreeAt(entries, target.worktreePath);
      if (!entry || entry === main || entry.bare) {
        throw new TaskWorktreesError('WorktreeNotFound', `${target.worktreePath} is not a linked worktree of this repository.`);
      }
      const owner = claimedBy(entry);
      if (owner) throw new TaskWorktreesError('WorktreeAssigned', `${target.worktreePath} already belongs to task "${owner.id}".`);
      // A worktree whose directory is gone cannot be worked in: it is pruned, not adopted.
      if (entry.prunable) throw new TaskWorktreesError('WorktreeNotFound', `${target.worktreePath} is gone (${entry.prunable}); prune it instead.`);
      if (target.branch !== undefined && entry.branch !== target.branch) {
        throw new TaskWorktreesError('InvalidInput', `${entry.path} has ${entry.branch ?? 'a detached HEAD'} checked out, not ${target.branch}.`);
      }
      // Also a branch being rebased or bisected there.
      for (const [branch, where] of inUse) if (where === entry) refuseProtected(branch);
      return bind(this.repo, taskId, entry.path, entry.branch, 'worktree.assigned');
    }

    const branch = target.branch!;
    refuseProtected(branch);
    if (!heads.has(branch)) throw new TaskWorktreesError('BranchNotFound', `There is no branch "${branch}".`);
    const where = inUse.get(branch);
    if (where) {
      if (where.branch === branch && !claimedBy(where) && where !== main) return bind(this.repo, taskId, where.path, branch, 'worktree.assigned');
      throw new TaskWorktreesError('BranchCheckedOut', `"${branch}" is in use in ${where.path}.`);
    }
    const layout = await this.repo.ensureLayout();
    const path = this.repo.worktreePathFor(taskId, layout);
    if (existsSync(path)) throw new TaskWorktreesError('WorktreePathExists', `${path} already exists.`);
    await this.store.assertHeld();
    await this.repo.excludeWorktreeRoot(layout);
    await this.git.addWorktreeForBranch(path, branch);
    try {
      return await bind(this.repo, taskId, path, branch, 'worktree.assigned');
    } catch (error) {
      const entry = worktreeAt(await this.repo.worktrees(), path);
      const clean = entry && (await this.git.status(entry.path)).files.length === 0;
      if (clean) await this.git.removeWorktree(path, false);
      throw error;
    }
  }
}

/** Binds the worktree and gives the task its port block, read and written under one hold of the store lock. */
export async function bind(repo: Repository, taskId: string, path: string, branch: string | undefined, eventType: string): Promise<Task> {
  return repo.store.withLock(async () => {
    const ports = portBlockFor(taskId, (await repo.store.load()).tasks, repo.portSettings());
    return repo.store.update(taskId, (task) => {
      task.worktreePath = canonicalPath(path);
      task.branch = branch;
      task.ports = ports;
      return { type: eventType, detail: { path, branch, ports } };
    });
  });
}

export function refuseIfBound(task: Task): void {
  if (task.worktreePath) {
    throw new TaskWorktreesError('TaskHasWorktree', `Task "${task.id}" already has a worktree at ${task.worktreePath}.`);
  }
}

/** Git stores refs as files: `task/bar` cannot exist beside `task/bar/baz`, nor `task/x` beside `task`. */
function refuseRefConflict(branch: string, heads: Map<string, BranchHead>): void {
  for (const name of heads.keys()) {
    if (name.startsWith(`${branch}/`) || branch.startsWith(`${name}/`)) {
      throw new TaskWorktreesError('BranchExists', `Git cannot create the branch "${branch}" because a branch "${name}" exists; rename that branch or change the branch prefix.`, [name]);
    }
  }
}

export function validateWorktreePathInput(path: unknown): string {
  if (typeof path !== 'string' || !isAbsolute(path)) {
    throw new TaskWorktreesError('InvalidInput', 'worktreePath must be an absolute path of one of the repository\'s worktrees.');
  }
  return path;
}


