import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TaskService } from '../../src/core/index';
import { branchExists, commitFile, refusesUnchanged, taskWithCommit } from '../fixtures/attackHelpers';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/**
 * Attacks on "a base branch is never deleted" and "merged is a fact about the base now" (issue 8,
 * spec cases A, C and J). Each test is a situation that lost work or answered wrongly before.
 */

suite('attack A: a task is never bound to a protected branch, a base branch is never deleted', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo((fresh) => fresh.git('branch', 'develop'))));
  teardown(() => repo.dispose());

  test('assign {branch: the task\'s own base} (checked out nowhere) → BranchProtected, nothing changed', async () => {
    const task = await service.createTask({ subject: 'on develop', baseBranch: 'develop' });
    await refusesUnchanged(repo, () => service.assignWorktree(task.id, { branch: 'develop' }), ['BranchProtected']);
    assert.deepEqual(await service.task(task.id), task, 'the task record is unchanged');
  });

  test('assign {worktreePath: a linked worktree that has the task\'s base checked out} → BranchProtected, nothing changed', async () => {
    const checkout = join(dirname(repo.dir), 'develop checkout');
    repo.git('worktree', 'add', '-q', checkout, 'develop');
    const task = await service.createTask({ subject: 'on develop', baseBranch: 'develop' });
    await refusesUnchanged(repo, () => service.assignWorktree(task.id, { worktreePath: checkout }), ['BranchProtected']);
    assert.deepEqual(await service.task(task.id), task, 'the task record is unchanged');
  });

  test('assign {branch: the branch checked out in the main worktree} → BranchProtected, nothing changed', async () => {
    const task = await service.createTask({ subject: 'on develop', baseBranch: 'develop' });
    await refusesUnchanged(repo, () => service.assignWorktree(task.id, { branch: 'main' }), ['BranchProtected']);
    assert.deepEqual(await service.task(task.id), task, 'the task record is unchanged');
  });

  test('assign {branch: another task\'s branch} (its worktree removed, branch kept) → BranchProtected, nothing changed', async () => {
    const other = await taskWithCommit(repo, service, 'other work');
    await service.removeWorktree(other.id);
    assert.equal((await service.task(other.id)).branch, other.branch, 'the other task still owns its branch');
    const task = await service.createTask({ subject: 'thief' });
    await refusesUnchanged(repo, () => service.assignWorktree(task.id, { branch: other.branch! }), ['BranchProtected']);
    assert.deepEqual(await service.task(task.id), task, 'the task record is unchanged');
  });

  test('removeWorktree(a, {deleteBranch}) where a\'s branch is task b\'s base → BranchProtected, nothing changed', async () => {
    const a = await service.createTask({ subject: 'feature a', createWorktree: true });
    await service.createTask({ subject: 'built on a', baseBranch: a.branch });
    await refusesUnchanged(repo, () => service.removeWorktree(a.id, { deleteBranch: true }), ['BranchProtected']);
  });

  test('deleteTaskBranch(a) where a\'s branch is task b\'s base → BranchProtected, nothing changed', async () => {
    const a = await service.createTask({ subject: 'feature a', createWorktree: true });
    await service.removeWorktree(a.id);
    await service.createTask({ subject: 'built on a', baseBranch: a.branch });
    await refusesUnchanged(repo, () => service.deleteTaskBranch(a.id), ['BranchProtected']);
  });

  test('mergeTask(a, {removeWorktree, deleteBranch}) where a\'s branch is task b\'s base → merged, cleanupError names the branch, branch kept', async () => {
    const a = await taskWithCommit(repo, service, 'feature a');
    await service.createTask({ subject: 'built on a', baseBranch: a.branch });
    const head = repo.oid(a.branch!);
    const result = await service.mergeTask(a.id, { removeWorktree: true, deleteBranch: true });
    assert.equal(result.merged, true);
    assert.ok(result.cleanupError, 'the clean-up reports that the branch was kept');
    assert.ok(result.cleanupError.includes(a.branch!), `cleanupError names ${a.branch}: ${result.cleanupError}`);
    assert.ok(branchExists(repo, a.branch!), `${a.branch} still exists`);
    assert.equal(repo.oid(`refs/heads/${a.branch}`), head, `${a.branch} still points at its work`);
  });
});

suite('attack C: a stale merge record never lets an unmerged branch be deleted', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  for (const strategy of ['merge', 'squash'] as const) {
    test(`${strategy}-merged, then undone on the base (reset --hard HEAD~1) → removeWorktree({deleteBranch}) refuses UnmergedWork, branch and worktree kept`, async () => {
      const task = await taskWithCommit(repo, service, 'undone later');
      const result = await service.mergeTask(task.id, { strategy });
      assert.equal(result.merged, true);
      repo.git('reset', '-q', '--hard', 'HEAD~1');
      await refusesUnchanged(repo, () => service.removeWorktree(task.id, { deleteBranch: true }), ['UnmergedWork']);
      assert.ok(existsSync(task.worktreePath!), 'the worktree is kept');
      assert.ok(branchExists(repo, task.branch!), 'the branch is kept');
    });
  }

  test('squash-merged and not undone → removeWorktree({deleteBranch}) deletes the branch and the worktree', async () => {
    const task = await taskWithCommit(repo, service, 'squashed');
    assert.equal((await service.mergeTask(task.id, { strategy: 'squash' })).merged, true);
    await service.removeWorktree(task.id, { deleteBranch: true });
    assert.equal(branchExists(repo, task.branch!), false, 'the branch is gone');
    assert.equal(existsSync(task.worktreePath!), false, 'the worktree is gone');
  });
});

suite('attack J: a tag named like the base changes neither ahead/behind nor the merged check', () => {
  let repo: TestRepo;
  let service: TaskService;
  let initial: string;

  setup(async () => {
    ({ repo, service } = await openFreshRepo((fresh) => {
      initial = fresh.oid('HEAD');
      commitFile(fresh, fresh.dir, 'second.txt', 'second\n');
    }));
  });
  teardown(() => repo.dispose());

  test('tag main at an old commit: worktreeDetails ahead/behind equal rev-list --count on refs/heads', async () => {
    const task = await taskWithCommit(repo, service, 'counted');
    commitFile(repo, repo.dir, 'base-moves.txt', 'on\n');
    repo.git('tag', 'main', initial);
    const branchRef = `refs/heads/${task.branch}`;
    const ahead = Number(repo.git('rev-list', '--count', `refs/heads/main..${branchRef}`).trim());
    const behind = Number(repo.git('rev-list', '--count', `${branchRef}..refs/heads/main`).trim());
    assert.deepEqual([ahead, behind], [1, 1], 'the situation: one commit each way');
    const details = await service.worktreeDetails(await service.task(task.id));
    assert.ok(details, 'the task has details');
    assert.deepEqual([details.ahead, details.behind], [ahead, behind]);
  });

  test('tag main at an old commit, task merged → removeWorktree({deleteBranch}) deletes the branch', async () => {
    const task = await taskWithCommit(repo, service, 'merged');
    assert.equal((await service.mergeTask(task.id)).merged, true);
    repo.git('tag', 'main', initial);
    await service.removeWorktree(task.id, { deleteBranch: true });
    assert.equal(branchExists(repo, task.branch!), false, 'the merged branch was deleted');
  });

  test('tag main at the task\'s own head, task not merged → removeWorktree({deleteBranch}) refuses UnmergedWork, nothing changed', async () => {
    const task = await taskWithCommit(repo, service, 'not merged');
    repo.git('tag', 'main', task.branch!);
    await refusesUnchanged(repo, () => service.removeWorktree(task.id, { deleteBranch: true }), ['UnmergedWork']);
  });
});
