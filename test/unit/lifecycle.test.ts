import * as assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GitError, TaskService } from '../../src/core/index';
import { rejectsWithCode } from '../fixtures/assertions';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

suite('lifecycle: create, assign, claim, complete, remove, reconcile', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('create task + worktree: .worktrees/<id> on task/<id> from the current branch, main stays clean', async () => {
    const task = await service.createTask({ subject: 'Fix the Login ünïcode 🎉' });
    assert.equal(task.id, 'fix-the-login-unicode');
    assert.equal(task.baseBranch, 'main');
    assert.equal(task.status, 'pending');
    const withWorktree = await service.createWorktree(task.id);
    assert.equal(withWorktree.branch, 'task/fix-the-login-unicode');
    assert.equal(withWorktree.worktreePath, join(repo.dir, '.worktrees', task.id));
    assert.equal(repo.gitIn(withWorktree.worktreePath!, 'rev-parse', 'HEAD'), repo.git('rev-parse', 'main'));
    assert.equal(repo.gitIn(withWorktree.worktreePath!, 'branch', '--show-current').trim(), 'task/fix-the-login-unicode');
    assert.equal(repo.git('status', '--porcelain', '--untracked-files=all'), '', 'store and worktrees never show in git status');
    assert.match(readFileSync(join(repo.dir, '.git', 'info', 'exclude'), 'utf8'), /^\/\.worktrees\/$/m);
    const types = (await service.events()).events.map((event) => event.type);
    assert.deepEqual(types, ['config.set', 'task.created', 'worktree.create.before', 'worktree.create.after'], 'the first task records the repository layout first');
  });

  test('the board is shared by every worktree of the repository', async () => {
    const task = await service.createTask({ subject: 'shared' });
    const { worktreePath } = await service.createWorktree(task.id);
    const fromTaskWindow = await TaskService.open(worktreePath!);
    const board = await fromTaskWindow.board();
    assert.deepEqual(board.tasks.map((view) => [view.id, view.worktreeState]), [['shared', 'present']]);
    assert.equal((await fromTaskWindow.taskAt(join(worktreePath!, 'src')))?.id, 'shared');
  });

  test('base defaults to the branch checked out where the task is created', async () => {
    repo.git('checkout', '-q', '-b', 'develop');
    const task = await service.createTask({ subject: 'on develop' });
    assert.equal(task.baseBranch, 'develop');
  });

  test('missing base branch: clear error, no task', async () => {
    await rejectsWithCode(service.createTask({ subject: 'x', baseBranch: 'nope' }), 'BranchNotFound');
    assert.equal((await service.board()).tasks.length, 0);
  });

  test('branch already exists: refused, nothing changes', async () => {
    const task = await service.createTask({ subject: 'taken' });
    repo.git('branch', 'task/taken');
    const before = repo.snapshot();
    await rejectsWithCode(service.createWorktree(task.id), 'BranchExists');
    assert.equal(repo.snapshot(), before);
  });

  test('a new task skips ids whose branch or path already exist', async () => {
    repo.git('branch', 'task/busy');
    const task = await service.createTask({ subject: 'busy' });
    assert.equal(task.id, 'busy-2');
  });

  test('worktree path already exists: refused, the directory untouched', async () => {
    const task = await service.createTask({ subject: 'path' });
    repo.write('.worktrees/path/mine.txt', 'precious\n');
    const before = repo.snapshot();
    await rejectsWithCode(service.createWorktree(task.id), 'WorktreePathExists');
    assert.equal(repo.snapshot(), before);
    assert.equal(repo.read('.worktrees/path/mine.txt'), 'precious\n');
  });

  test('a failing post-checkout hook fails the create with the hook\'s own error, and the create rolls back completely', async () => {
    const task = await service.createTask({ subject: 'rollback' });
    repo.write('.git/hooks/post-checkout', '#!/bin/sh\necho "post-checkout: checkout vetoed by policy" >&2\nexit 3\n');
    chmodSync(join(repo.dir, '.git/hooks/post-checkout'), 0o755);
    const refsBefore = repo.git('for-each-ref');
    // The caller hears the hook's failure, not something the rollback ran into afterwards.
    const error = await rejectsWithCode(service.createWorktree(task.id), 'GitFailed');
    assert.equal((error as GitError).exitCode, 3, 'git passed on the hook\'s exit status');
    assert.match(error.message, /post-checkout: checkout vetoed by policy/, 'the message carries what the hook printed');
    assert.equal(repo.git('for-each-ref'), refsBefore, 'no branch left behind');
    assert.equal(existsSync(join(repo.dir, '.worktrees', 'rollback')), false, 'no directory left behind');
    assert.equal(repo.git('worktree', 'list', '--porcelain').split('worktree ').length - 1, 1, 'only the main worktree');
    const stored = await service.task(task.id);
    assert.equal(stored.worktreePath, undefined);
    const types = (await service.events()).events.map((event) => event.type);
    assert.ok(types.includes('worktree.create.failed'));
  });

  test('claim, status and complete are recorded with events', async () => {
    const task = await service.createTask({ subject: 'claim me' });
    const claimed = await service.setStatus(task.id, 'in_progress', 'agent-1');
    assert.equal(claimed.owner, 'agent-1');
    assert.equal(claimed.status, 'in_progress');
    assert.equal((await service.completeTask(task.id)).status, 'completed');
    await rejectsWithCode(service.setStatus(task.id, 'done' as never), 'InvalidInput');
    const types = (await service.events()).events.map((event) => event.type);
    assert.deepEqual(types.slice(-2), ['task.claimed', 'task.completed']);
  });

  test('remove refuses uncommitted work and lists it; force removes; branch kept', async () => {
    const task = await service.createWorktree((await service.createTask({ subject: 'dirty' })).id);
    repo.write('work in progress.txt', 'unsaved\n', task.worktreePath);
    const before = repo.snapshot();
    const error = await rejectsWithCode(service.removeWorktree(task.id), 'WorktreeDirty');
    assert.deepEqual((error as unknown as { details: string[] }).details, ['work in progress.txt (untracked)']);
    assert.equal(repo.snapshot(), before);
    const removed = await service.removeWorktree(task.id, { force: true });
    assert.equal(removed.worktreePath, undefined);
    assert.equal(existsSync(task.worktreePath!), false);
    assert.ok(repo.git('branch', '--list', 'task/dirty').includes('task/dirty'), 'the branch is kept');
  });

  test('remove with deleteBranch refuses an unmerged branch before removing anything', async () => {
    const task = await service.createWorktree((await service.createTask({ subject: 'unmerged' })).id);
    repo.write('feature.txt', 'new\n', task.worktreePath);
    repo.commitAll('feature', task.worktreePath);
    const before = repo.snapshot();
    await rejectsWithCode(service.removeWorktree(task.id, { deleteBranch: true }), 'UnmergedWork');
    await rejectsWithCode(service.removeWorktree(task.id, { deleteBranch: true, force: true }), 'UnmergedWork');
    assert.equal(repo.snapshot(), before, 'force covers files, never unmerged commits');
  });

  test('reconcile: a worktree deleted by hand shows missing; prune unbinds it and keeps the branch', async () => {
    const task = await service.createWorktree((await service.createTask({ subject: 'gone' })).id);
    rmSync(task.worktreePath!, { recursive: true, force: true });
    assert.equal((await service.board()).tasks[0].worktreeState, 'missing');
    assert.deepEqual(await service.prune(), ['gone']);
    const board = await service.board();
    assert.equal(board.tasks[0].worktreeState, 'none');
    assert.ok(repo.git('branch', '--list', 'task/gone').includes('task/gone'));
  });

  test('reconcile: a worktree made outside shows unassigned and can be adopted', async () => {
    const outside = join(repo.dir, '..', 'outside wt');
    repo.git('worktree', 'add', '-q', '-b', 'hand-made', outside);
    const board = await service.board();
    assert.deepEqual(board.unassigned.map((entry) => entry.branch), ['hand-made']);
    const task = await service.createTask({ subject: 'adopt' });
    const adopted = await service.assignWorktree(task.id, { worktreePath: outside });
    assert.equal(adopted.branch, 'hand-made');
    assert.equal((await service.board()).unassigned.length, 0);
    await rejectsWithCode(service.assignWorktree((await service.createTask({ subject: 'second' })).id, { worktreePath: outside }), 'WorktreeAssigned');
  });

  test('assign an existing branch that is checked out nowhere: a worktree is made for it', async () => {
    repo.git('branch', 'feature/old-work');
    const task = await service.createTask({ subject: 'old work' });
    const assigned = await service.assignWorktree(task.id, { branch: 'feature/old-work' });
    assert.equal(assigned.worktreePath, join(repo.dir, '.worktrees', 'old-work'));
    assert.equal(repo.gitIn(assigned.worktreePath!, 'branch', '--show-current').trim(), 'feature/old-work');
    await rejectsWithCode(service.assignWorktree((await service.createTask({ subject: 'main one' })).id, { branch: 'main' }), 'BranchProtected');
  });

  test('delete task refuses while its worktree exists, then deletes only the record', async () => {
    const task = await service.createWorktree((await service.createTask({ subject: 'delete me' })).id);
    await rejectsWithCode(service.deleteTask(task.id), 'TaskHasWorktree');
    await service.removeWorktree(task.id);
    await service.deleteTask(task.id);
    await rejectsWithCode(service.task(task.id), 'TaskNotFound');
    assert.ok(repo.git('branch', '--list', 'task/delete-me').includes('task/delete-me'));
  });

  test('worktree root is configurable, e.g. a sibling folder', async () => {
    service.updateSettings({ worktreeRoot: '../${repoName}.worktrees', branchPrefix: 'agent/' });
    const task = await service.createWorktree((await service.createTask({ subject: 'sibling' })).id);
    assert.equal(task.worktreePath, join(repo.dir, '..', 'project.worktrees', 'sibling'));
    assert.equal(task.branch, 'agent/sibling');
  });
});
