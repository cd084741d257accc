import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Task, TaskService } from '../../src/core/index';
import { branchExists, commitFile, commitOnBranch, nothingToMerge, refusesUnchanged, rejectsCoded, taskWithCommit } from '../fixtures/attackHelpers';
import { isReachable, NET_ZERO, netZeroTask, storeDir } from '../fixtures/attackSecondSetups';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/**
 * The second outside attack (issue 8) on branches: commits that cancel out are still work, a base
 * named in an unreadable task file stays protected, a tag named like the branch, a hook that
 * refuses a deletion, a branch named like an object id, an untracked file in the base's way.
 */

suite('second attack: a branch whose commits cancel out is unmerged work', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  for (const how of NET_ZERO) {
    suite(how.name, () => {
      test('removeWorktree({deleteBranch: true}) → UnmergedWork, nothing changed, the branch kept', async () => {
        const { task } = await netZeroTask(repo, service, how);
        await refusesUnchanged(repo, () => service.removeWorktree(task.id, { deleteBranch: true }), ['UnmergedWork']);
        assert.ok(branchExists(repo, task.branch!));
      });

      test('mergeTask with strategy merge → merged, not nothingToMerge; main is a merge commit of the old main and the branch head, the work commits reachable from main', async () => {
        const { task, commits } = await netZeroTask(repo, service, how);
        const mainBefore = repo.oid('refs/heads/main');
        const result = await service.mergeTask(task.id, { strategy: 'merge' });
        assert.equal(result.merged, true);
        assert.notEqual(nothingToMerge(result), true);
        assert.equal(repo.oid('refs/heads/main^1'), mainBefore);
        assert.equal(repo.oid('refs/heads/main^2'), commits[commits.length - 1]);
        for (const commit of commits) assert.ok(isReachable(repo, commit, 'refs/heads/main'), `${commit} is reachable from main`);
      });

      test('mergeTask with strategy squash → { merged: true, nothingToMerge: true }, main unchanged', async () => {
        const { task } = await netZeroTask(repo, service, how);
        const mainBefore = repo.oid('refs/heads/main');
        const result = await service.mergeTask(task.id, { strategy: 'squash' });
        assert.equal(result.merged, true);
        assert.equal(nothingToMerge(result), true);
        assert.equal(repo.oid('refs/heads/main'), mainBefore);
      });

      test('mergeTask with strategy squash and {removeWorktree, deleteBranch} → cleanupError set, the branch kept at its head', async () => {
        const { task, commits } = await netZeroTask(repo, service, how);
        const result = await service.mergeTask(task.id, { strategy: 'squash', removeWorktree: true, deleteBranch: true });
        assert.equal(result.merged, true);
        assert.equal(typeof result.cleanupError, 'string', 'the answer says the clean-up was refused');
        assert.ok(branchExists(repo, task.branch!), `${task.branch} is kept`);
        assert.equal(repo.oid(`refs/heads/${task.branch}`), commits[commits.length - 1]);
      });
    });
  }
});

suite('second attack: task b is based on task/a, and b\'s file is unreadable (status "blocked")', () => {
  let repo: TestRepo;
  let service: TaskService;
  let a: Task;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
    a = await taskWithCommit(repo, service, 'a');
    const b = await taskWithCommit(repo, service, 'b', a.branch);
    assert.equal(b.baseBranch, a.branch);
  });
  teardown(() => repo.dispose());

  /** A hand edit (or a newer version's status) this version cannot read. */
  function damageB(): void {
    const file = join(storeDir(service), 'tasks', 'b.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), status: 'blocked' }, null, 2));
  }

  test('a merged into main, b damaged: removeWorktree(a, {deleteBranch: true}) → StoreCorrupt, nothing changed, task/a kept', async () => {
    await service.mergeTask(a.id);
    damageB();
    await refusesUnchanged(repo, () => service.removeWorktree(a.id, { deleteBranch: true }), ['StoreCorrupt']);
    assert.ok(branchExists(repo, a.branch!));
  });

  test('a merged into main, its worktree removed, b damaged: deleteTaskBranch(a) → StoreCorrupt, nothing changed, task/a kept', async () => {
    await service.mergeTask(a.id);
    await service.removeWorktree(a.id);
    damageB();
    await refusesUnchanged(repo, () => service.deleteTaskBranch(a.id), ['StoreCorrupt']);
    assert.ok(branchExists(repo, a.branch!));
  });

  test('b damaged: mergeTask(a, {removeWorktree, deleteBranch}) lands a in main, sets cleanupError, keeps task/a at its head', async () => {
    damageB();
    const head = repo.oid(`refs/heads/${a.branch}`);
    const result = await service.mergeTask(a.id, { removeWorktree: true, deleteBranch: true });
    assert.equal(result.merged, true);
    assert.ok(isReachable(repo, head, 'refs/heads/main'), 'a\'s work is in main');
    assert.equal(typeof result.cleanupError, 'string', 'the answer says the clean-up was refused');
    assert.ok(branchExists(repo, a.branch!), `${a.branch} is kept`);
    assert.equal(repo.oid(`refs/heads/${a.branch}`), head);
  });
});

suite('second attack: names, hooks and the base\'s worktree', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('a tag named like the current branch (git tag main): currentBranch() is "main", createTask without a base gets base "main"', async () => {
    repo.git('tag', 'main');
    assert.equal(await service.currentBranch(), 'main');
    assert.equal((await service.createTask({ subject: 'tagged' })).baseBranch, 'main');
  });

  test('a reference-transaction hook refuses deleting the task\'s branch: removeWorktree({deleteBranch}) fails with the hook\'s words, not RefChanged nor "moved meanwhile"; the record keeps its branch', async () => {
    const task = await taskWithCommit(repo, service, 'hooked');
    await service.mergeTask(task.id);
    const words = 'policy: task branches are kept';
    writeFileSync(
      join(repo.dir, '.git', 'hooks', 'reference-transaction'),
      [
        '#!/bin/sh',
        '[ "$1" = prepared ] || exit 0',
        'while read old new ref; do',
        `  case "$new:$ref" in 0000000000000000000000000000000000000000:refs/heads/task/*) echo "${words}" >&2; exit 1;; esac`,
        'done',
        'exit 0',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const error = await rejectsCoded(service.removeWorktree(task.id, { deleteBranch: true }));
    assert.ok(error.message.includes(words), `the message carries the hook's words: ${error.message}`);
    assert.notEqual(error.code, 'RefChanged');
    assert.ok(!error.message.includes('moved meanwhile'), `the message does not claim the branch moved: ${error.message}`);
    assert.equal((await service.task(task.id)).branch, task.branch);
  });

  test('a branch named with 40 hex digits, assigned to a task: worktreeDetails ahead/behind equal git rev-list --left-right --count on refs/heads', async () => {
    const initial = repo.oid('HEAD');
    commitOnBranch(repo, 'main', 'm1.txt', '1\n');
    commitOnBranch(repo, 'main', 'm2.txt', '2\n');
    // The branch's name is the id of main's first commit; the branch itself starts at main's tip.
    repo.git('branch', initial, 'main');
    const task = await service.createTask({ subject: 'hex named' });
    const assigned = await service.assignWorktree(task.id, { branch: initial });
    commitFile(repo, assigned.worktreePath!, 'w.txt', 'w\n');
    commitOnBranch(repo, 'main', 'm3.txt', '3\n');

    const details = await service.worktreeDetails(await service.task(task.id));
    const [behind, ahead] = repo.git('rev-list', '--left-right', '--count', `refs/heads/main...refs/heads/${initial}`).trim().split(/\s+/).map(Number);
    assert.deepEqual({ ahead: details?.ahead, behind: details?.behind }, { ahead, behind });
  });

  test('an untracked file in main\'s worktree where the task adds the same path: mergeTask → BaseDirty listing that file, nothing changed', async () => {
    const task = await service.createTask({ subject: 'docs', createWorktree: true });
    commitFile(repo, task.worktreePath!, 'docs/new.md', 'from the task\n');
    repo.write('docs/new.md', 'mine, not committed\n');
    const error = await refusesUnchanged(repo, () => service.mergeTask(task.id), ['BaseDirty']);
    assert.ok(error.details.some((detail) => detail.includes('docs/new.md')), `details list docs/new.md: ${JSON.stringify(error.details)}`);
    assert.equal(repo.read('docs/new.md'), 'mine, not committed\n');
  });
});
