import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { isCoded } from '../../src/core/errors';
import { TaskService } from '../../src/core';
import { Task } from '../../src/core/tasks/model';
import { taskWithCommit as commitTask, openFreshRepo, TestRepo } from '../fixtures/repo';

suite('merge into the base', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  const taskWithCommit = (subject: string, file: string, content: string, baseBranch?: string): Promise<Task> => commitTask(repo, service, subject, file, content, baseBranch);

  test('base checked out and clean: a --no-ff merge in that worktree; task completed and recorded', async () => {
    const task = await taskWithCommit('feature a', 'a.txt', 'a\n');
    const branchHead = repo.oid('task/feature-a');
    const result = await service.mergeTask(task.id);
    assert.equal(result.merged, true);
    assert.equal(result.commit, repo.oid('main'));
    assert.deepEqual(repo.git('log', '-1', '--format=%P', 'main').trim().split(' ').length, 2);
    assert.equal(repo.read('a.txt'), 'a\n', 'the base worktree has the merged file');
    assert.equal(result.task.status, 'completed');
    assert.equal(result.task.merge?.branchHead, branchHead);
    assert.equal(repo.git('status', '--porcelain'), '');
  });

  test('base checked out and dirty: refused, nothing changes', async () => {
    const task = await taskWithCommit('feature b', 'b.txt', 'b\n');
    repo.write('README.md', 'my edit\n');
    const before = repo.snapshot();
    await assert.rejects(service.mergeTask(task.id), (error) => isCoded(error, 'BaseDirty'));
    assert.equal(repo.snapshot(), before);
  });

  test('base checked out nowhere: merge commit written without checkout, ref moved', async () => {
    repo.git('checkout', '-q', '-b', 'release');
    const task = await service.createWorktree((await service.createTask({ subject: 'hotfix', baseBranch: 'main' })).id);
    repo.write('fix.txt', 'fix\n', task.worktreePath);
    repo.commitAll('fix', task.worktreePath);
    const mainBefore = repo.oid('main');
    const statusBefore = repo.git('status', '--porcelain=v2');
    const result = await service.mergeTask(task.id);
    assert.equal(result.merged, true);
    assert.equal(repo.oid('main'), result.commit);
    assert.deepEqual(repo.git('log', '-1', '--format=%P', 'main').trim().split(' '), [mainBefore, repo.oid('task/hotfix')]);
    assert.equal(repo.git('show', 'main:fix.txt'), 'fix\n');
    assert.equal(repo.git('status', '--porcelain=v2'), statusBefore, 'the checked-out worktree is untouched');
  });

  test('squash: one parent, the task\'s changes in one commit; branch deletable afterwards', async () => {
    const task = await taskWithCommit('squash me', 's.txt', 's\n');
    const result = await service.mergeTask(task.id, { strategy: 'squash', removeWorktree: true, deleteBranch: true });
    assert.equal(result.merged, true, result.cleanupError);
    assert.equal(repo.git('log', '-1', '--format=%P', 'main').trim().split(' ').length, 1);
    assert.equal(repo.read('s.txt'), 's\n');
    assert.equal(result.cleanupError, undefined);
    assert.equal(existsSync(task.worktreePath!), false);
    assert.equal(repo.git('branch', '--list', 'task/squash-me'), '');
  });

  test('conflict: the files are listed and refs, status, worktrees and files stay byte-identical', async () => {
    const task = await taskWithCommit('conflict', 'README.md', 'theirs\n');
    repo.write('README.md', 'ours\n');
    repo.commitAll('ours');
    const before = repo.snapshot();
    const result = await service.mergeTask(task.id);
    assert.equal(result.merged, false);
    assert.deepEqual(result.conflicts, ['README.md']);
    assert.equal(repo.snapshot(), before);
    assert.equal((await service.task(task.id)).status, 'pending');
  });

  test('base moved on since the task began (no conflict): merges both', async () => {
    const task = await taskWithCommit('parallel', 'p.txt', 'p\n');
    repo.write('other.txt', 'o\n');
    repo.commitAll('base moves on');
    const result = await service.mergeTask(task.id, { removeWorktree: true, deleteBranch: true });
    assert.equal(result.merged, true);
    assert.equal(repo.read('p.txt'), 'p\n');
    assert.equal(repo.read('other.txt'), 'o\n');
    assert.equal(repo.git('branch', '--list', 'task/parallel'), '', 'merged branch deleted on request');
  });

  test('a task whose worktree is already gone: merged, then only its branch is deleted on request', async () => {
    const task = await taskWithCommit('no worktree left', 'n.txt', 'n\n');
    await service.removeWorktree(task.id);
    const result = await service.mergeTask(task.id, { removeWorktree: true, deleteBranch: true });
    assert.equal(result.merged, true);
    assert.equal(result.cleanupError, undefined);
    assert.equal(result.task.branch, undefined);
    assert.equal(repo.git('branch', '--list', 'task/no-worktree-left'), '');
    assert.equal(repo.read('n.txt'), 'n\n');
  });

  test('a task with nothing the base lacks: merged without any new commit, base checked out or not', async () => {
    const idle = await service.createWorktree((await service.createTask({ subject: 'idle' })).id);
    const mainBefore = repo.oid('main');
    const here = await service.mergeTask(idle.id);
    assert.deepEqual([here.merged, here.commit, repo.oid('main')], [true, mainBefore, mainBefore]);
    repo.git('branch', 'integration');
    const elsewhere = await service.createWorktree((await service.createTask({ subject: 'idle elsewhere', baseBranch: 'integration' })).id);
    const result = await service.mergeTask(elsewhere.id);
    assert.deepEqual([result.merged, result.commit, repo.oid('integration')], [true, mainBefore, mainBefore]);
    assert.equal(result.task.status, 'completed');
  });

  test('preview: which tasks would merge cleanly, without changing anything', async () => {
    const clean = await taskWithCommit('clean one', 'c.txt', 'c\n');
    const conflicting = await taskWithCommit('conflicting one', 'README.md', 'theirs\n');
    repo.write('README.md', 'ours\n');
    repo.commitAll('ours');
    const before = repo.snapshot();
    const preview = await service.previewMerges();
    assert.deepEqual(
      preview.map(({ taskId, clean: isClean, conflicts }) => [taskId, isClean, conflicts]).sort(),
      [[clean.id, true, []], [conflicting.id, false, ['README.md']]].sort(),
    );
    assert.equal(repo.snapshot(), before);
  });

  test('uncommitted work in the task worktree: refused before merging', async () => {
    const task = await taskWithCommit('half done', 'h.txt', 'h\n');
    repo.write('h.txt', 'more\n', task.worktreePath);
    const before = repo.snapshot();
    await assert.rejects(service.mergeTask(task.id), (error) => isCoded(error, 'WorktreeDirty'));
    assert.equal(repo.snapshot(), before);
  });
});
