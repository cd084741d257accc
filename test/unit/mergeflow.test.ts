import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isCoded } from '../../src/core/errors';
import { MergeAttempt, TaskService } from '../../src/core';
import { Task } from '../../src/core/tasks/model';
import { taskWithCommit as commitTask, openFreshRepo, TestRepo } from '../fixtures/repo';

suite('merge flow: auto-merge, resolver preparation, queue with a gate', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  const taskWithCommit = (subject: string, file: string, content: string, baseBranch?: string): Promise<Task> => commitTask(repo, service, subject, file, content, baseBranch);

  async function attempts(): Promise<MergeAttempt[]> {
    return (await service.mergeHistory()).entries;
  }

  /** The base checked out nowhere: the main worktree moves to another branch. */
  function baseCheckedOutNowhere(): void {
    repo.git('checkout', '-q', '-b', 'elsewhere');
  }

  suite('auto-merge on complete', () => {
    test('clean: completing lands the task in its base and records a clean attempt by auto-merge', async () => {
      const task = await taskWithCommit('auto clean', 'a.txt', 'a\n');
      const completed = await service.completeTask(task.id, { autoMerge: true });
      assert.equal(completed.autoMerge?.outcome, 'merged');
      assert.equal(completed.autoMerge?.commit, repo.oid('main'));
      assert.equal(repo.read('a.txt'), 'a\n');
      assert.equal(completed.status, 'completed');
      assert.equal(completed.merge?.commit, repo.oid('main'));
      const [attempt] = await attempts();
      assert.deepEqual([attempt.taskId, attempt.outcome, attempt.via, attempt.base, attempt.commit], [task.id, 'clean', 'autoMerge', 'main', repo.oid('main')]);
    });

    test('conflict: nothing lands, the task stays completed, the attempt says conflict with the files', async () => {
      const task = await taskWithCommit('auto conflict', 'README.md', 'theirs\n');
      repo.write('README.md', 'ours\n');
      repo.commitAll('ours');
      const before = repo.snapshot();
      const completed = await service.completeTask(task.id, { autoMerge: true });
      assert.deepEqual(completed.autoMerge, { outcome: 'conflict', files: ['README.md'] });
      assert.equal(repo.snapshot(), before, 'refs, worktrees and files unchanged');
      assert.equal((await service.task(task.id)).status, 'completed');
      assert.equal((await service.task(task.id)).merge, undefined);
      const [attempt] = await attempts();
      assert.deepEqual([attempt.outcome, attempt.via, attempt.files], ['conflict', 'autoMerge', ['README.md']]);
    });

    test('refused by the safety inspector: nothing lands, the refusal is reported and recorded as aborted', async () => {
      const task = await taskWithCommit('auto dirty', 'd.txt', 'd\n');
      repo.write('left.txt', 'uncommitted\n', task.worktreePath);
      const mainBefore = repo.oid('main');
      const completed = await service.completeTask(task.id, { autoMerge: true });
      assert.equal(completed.autoMerge?.outcome, 'refused');
      assert.equal(completed.autoMerge?.code, 'WorktreeDirty');
      assert.equal(repo.oid('main'), mainBefore);
      const history = await service.mergeHistory();
      assert.deepEqual([history.entries[0].outcome, history.entries[0].reason, history.attempts, history.aborted], ['aborted', 'WorktreeDirty', 0, 1]);
    });

    test('completed by its own running agent: refused while it runs, merged when it exits', async () => {
      const task = await taskWithCommit('agent done', 'g.txt', 'g\n');
      await service.agentStarted(task.id, { name: 'claude', command: 'claude', pid: process.pid });
      const completed = await service.completeTask(task.id, { autoMerge: true });
      assert.equal(completed.autoMerge?.code, 'AgentRunning');
      assert.equal(repo.git('ls-tree', '--name-only', 'main', 'g.txt'), '');
      await service.agentExited(task.id, { name: 'claude', pid: process.pid, code: 0, reason: 'exited' });
      assert.equal(repo.git('show', 'main:g.txt'), 'g\n');
      const history = await service.mergeHistory();
      assert.deepEqual(history.entries.map((entry) => [entry.outcome, entry.via, entry.agent]), [['aborted', 'autoMerge', 'claude'], ['clean', 'autoMerge', 'claude']]);
    });

    test('from the repository config: a second process completing (as the CLI does) merges; off leaves it', async () => {
      const first = await taskWithCommit('by config', 'c.txt', 'c\n');
      const second = await taskWithCommit('config off', 'e.txt', 'e\n');
      assert.equal(service.autoMergeMode(), 'off');
      await service.setAutoMerge('onComplete');
      const cli = await TaskService.open(repo.dir);
      assert.equal(cli.autoMergeMode(), 'onComplete');
      const completed = await cli.completeTask(first.id);
      assert.equal(completed.autoMerge?.outcome, 'merged');
      assert.equal(repo.git('show', 'main:c.txt'), 'c\n');

      await service.setAutoMerge('off');
      const mainBefore = repo.oid('main');
      const left = await cli.completeTask(second.id);
      assert.equal(left.autoMerge, undefined);
      assert.equal(repo.oid('main'), mainBefore);
      await assert.rejects(service.setAutoMerge('always' as never), (error) => isCoded(error, 'InvalidInput'));
    });

    test('the option overrides the config; a task without a branch is skipped', async () => {
      await service.setAutoMerge('onComplete');
      const task = await taskWithCommit('override', 'o.txt', 'o\n');
      const mainBefore = repo.oid('main');
      assert.equal((await service.completeTask(task.id, { autoMerge: false })).autoMerge, undefined);
      assert.equal(repo.oid('main'), mainBefore);
      const plain = await service.createTask({ subject: 'no branch' });
      assert.deepEqual((await service.completeTask(plain.id)).autoMerge, { outcome: 'skipped' });
      await assert.rejects(service.completeTask(task.id, { autoMerge: 'yes' as never }), (error) => isCoded(error, 'InvalidInput'));
    });
  });

  suite('conflict resolution', () => {
    async function conflicted(): Promise<Task> {
      const task = await service.createWorktree((await service.createTask({ subject: 'clash' })).id);
      repo.write('README.md', 'task side\n', task.worktreePath);
      repo.commitAll('task edits readme', task.worktreePath);
      repo.write('other.txt', 'task\n', task.worktreePath);
      repo.commitAll('task adds other', task.worktreePath);
      repo.write('README.md', 'base side\n');
      repo.commitAll('base edits readme');
      return task;
    }

    test('prepare leaves conflict markers in the task worktree and names the files and both sides\' subjects', async () => {
      const task = await conflicted();
      const mainBefore = repo.oid('main');
      const prepared = await service.prepareConflictResolution(task.id, { agent: 'resolver' });
      assert.equal(prepared.worktreePath, task.worktreePath);
      assert.deepEqual(prepared.files, ['README.md']);
      assert.deepEqual(prepared.ours, ['task adds other', 'task edits readme']);
      assert.deepEqual(prepared.theirs, ['base edits readme']);
      assert.equal(prepared.commit, undefined);
      assert.match(repo.read('README.md', task.worktreePath), /^<<<<<<< [^]*task side[^]*=======[^]*base side[^]*>>>>>>> /);
      assert.ok(existsSync(join(repo.git('rev-parse', '--path-format=absolute', '--git-common-dir').trim(), 'worktrees', task.id, 'MERGE_HEAD')));
      assert.equal(repo.oid('main'), mainBefore, 'the base does not move');
      await assert.rejects(service.prepareConflictResolution(task.id), (error) => isCoded(error, 'OperationInProgress'));
    });

    test('after prepare and a resolving commit, the landing is recorded as resolved by the named agent', async () => {
      const task = await conflicted();
      assert.equal((await service.mergeTask(task.id)).outcome, 'conflict');
      await service.prepareConflictResolution(task.id, { agent: 'resolver' });
      repo.write('README.md', 'both sides\n', task.worktreePath);
      repo.commitAll('resolve', task.worktreePath);
      const result = await service.mergeTask(task.id);
      assert.equal(result.merged, true);
      assert.equal(result.outcome, 'resolvedByAgent');
      assert.equal(repo.read('README.md'), 'both sides\n');
      const history = await service.mergeHistory();
      assert.deepEqual(history.entries.map((entry) => [entry.outcome, entry.agent]), [['conflict', undefined], ['resolvedByAgent', 'resolver']]);
      assert.deepEqual([history.attempts, history.firstTryClean, history.resolved, history.successRate, history.resolvedRate], [2, 0, 1, 0, 0.5]);
    });

    test('without an agent named anywhere, the landing after a conflict is resolved by hand; resolvedBy names one', async () => {
      const task = await conflicted();
      await service.prepareConflictResolution(task.id);
      repo.write('README.md', 'by hand\n', task.worktreePath);
      repo.commitAll('resolve by hand', task.worktreePath);
      assert.equal((await service.mergeTask(task.id)).outcome, 'resolvedByHand');

      const again = await service.createWorktree((await service.createTask({ subject: 'clash again' })).id);
      repo.write('README.md', 'again\n', again.worktreePath);
      repo.commitAll('again', again.worktreePath);
      repo.write('README.md', 'base again\n');
      repo.commitAll('base again');
      assert.equal((await service.mergeTask(again.id)).outcome, 'conflict');
      repo.gitIn(again.worktreePath!, 'merge', '-q', '-X', 'ours', 'main');
      assert.equal((await service.mergeTask(again.id, { resolvedBy: { agent: 'fixer' } })).outcome, 'resolvedByAgent');
      assert.equal((await service.mergeHistory()).perAgent.fixer?.resolved, 1);
      await assert.rejects(service.mergeTask(again.id, { resolvedBy: { agent: '' } }), (error) => isCoded(error, 'InvalidInput'));
    });

    test('prepare: a base that merges in cleanly is committed and said so; a dirty worktree is refused', async () => {
      const task = await taskWithCommit('smooth', 's.txt', 's\n');
      repo.write('base.txt', 'base\n');
      repo.commitAll('base adds a file');
      repo.write('wip.txt', 'wip\n', task.worktreePath);
      await assert.rejects(service.prepareConflictResolution(task.id), (error) => isCoded(error, 'WorktreeDirty'));
      repo.commitAll('wip', task.worktreePath);
      const prepared = await service.prepareConflictResolution(task.id);
      assert.deepEqual(prepared.files, []);
      assert.equal(prepared.commit, repo.oid(`task/${task.id}`));
      assert.equal(repo.read('base.txt', task.worktreePath), 'base\n');
      assert.equal(repo.gitIn(task.worktreePath!, 'status', '--porcelain'), '');
    });
  });

  suite('merge queue', () => {
    test('merges in the given order into a base checked out nowhere; the gate sees the merge with the current base', async () => {
      baseCheckedOutNowhere();
      const a = await taskWithCommit('queue a', 'a.txt', 'a\n', 'main');
      const b = await taskWithCommit('queue b', 'b.txt', 'b\n', 'main');
      const c = await taskWithCommit('queue c', 'c.txt', 'c\n', 'main');
      const progress: string[] = [];
      // Each gate checks that every task queued before it is already in what it tests.
      const report = await service.mergeQueue([c.id, a.id, b.id], {
        gate: 'test -f c.txt && { [ "$TASK_ID" != queue-b ] || test -f a.txt; } && test "$(git rev-parse HEAD)" = "$TASK_MERGE_COMMIT"',
        onProgress: ({ taskId, state }) => progress.push(`${state} ${taskId}`),
      });
      assert.equal(report.stoppedAt, undefined, JSON.stringify(report.stoppedAt));
      assert.deepEqual(report.merged.map((entry) => entry.taskId), [c.id, a.id, b.id]);
      assert.deepEqual(report.notRun, []);
      assert.equal(report.merged[2].commit, repo.oid('main'));
      assert.deepEqual(repo.git('log', '--first-parent', '--format=%s', '-3', 'main').trim().split('\n'), ['Merge task queue-b: queue b', 'Merge task queue-a: queue a', 'Merge task queue-c: queue c']);
      assert.deepEqual(progress, ['merging queue-c', 'merged queue-c', 'merging queue-a', 'merged queue-a', 'merging queue-b', 'merged queue-b']);
      for (const task of [a, b, c]) assert.equal(repo.gitIn(task.worktreePath!, 'symbolic-ref', 'HEAD').trim(), `refs/heads/task/${task.id}`);
      assert.deepEqual((await attempts()).map((entry) => [entry.taskId, entry.outcome, entry.via]), [c, a, b].map((task) => [task.id, 'clean', 'queue']));
    });

    test('a failing gate stops the queue: earlier tasks stay landed, nothing of that task lands, its worktree is back on its branch', async () => {
      const a = await taskWithCommit('gate a', 'a.txt', 'a\n');
      const b = await taskWithCommit('gate b', 'b.txt', 'b\n');
      const c = await taskWithCommit('gate c', 'c.txt', 'c\n');
      const report = await service.mergeQueue([a.id, b.id, c.id], { gate: 'echo "checking $TASK_ID on $TASK_BASE"; test "$TASK_ID" != gate-b' });
      assert.deepEqual(report.merged.map((entry) => entry.taskId), [a.id]);
      assert.equal(report.stoppedAt?.taskId, b.id);
      assert.equal(report.stoppedAt?.reason, 'gateFailed');
      assert.equal(report.stoppedAt?.gateExitCode, 1);
      assert.equal(report.stoppedAt?.gateOutput?.trim(), 'checking gate-b on main');
      assert.deepEqual(report.notRun, [c.id]);
      assert.equal(repo.oid('main'), report.merged[0].commit);
      assert.equal(repo.read('a.txt'), 'a\n', 'the base worktree has the landed task');
      assert.equal(existsSync(join(repo.dir, 'b.txt')), false);
      assert.equal(repo.gitIn(b.worktreePath!, 'symbolic-ref', 'HEAD').trim(), 'refs/heads/task/gate-b');
      assert.equal(repo.gitIn(b.worktreePath!, 'status', '--porcelain=v2', '--untracked-files=all'), '');
      assert.deepEqual((await attempts()).map((entry) => [entry.taskId, entry.outcome]), [[a.id, 'clean'], [b.id, 'gateFailed']]);
    });

    test('a failing gate on the only task leaves refs, worktrees, status and files byte-identical', async () => {
      const task = await taskWithCommit('lonely', 'l.txt', 'l\n');
      const before = repo.snapshot();
      const report = await service.mergeQueue([task.id], { gate: 'echo no >&2; exit 3' });
      assert.deepEqual([report.stoppedAt?.reason, report.stoppedAt?.gateExitCode, report.stoppedAt?.gateOutput?.trim()], ['gateFailed', 3, 'no']);
      assert.equal(repo.snapshot(), before);
    });

    test('a gate that runs out of time fails and is stopped', async () => {
      const task = await taskWithCommit('slow', 'slow.txt', 'slow\n');
      const mainBefore = repo.oid('main');
      const report = await service.mergeQueue([task.id], { gate: 'sleep 30', gateTimeoutMs: 300 });
      assert.deepEqual([report.stoppedAt?.reason, report.stoppedAt?.gateTimedOut], ['gateFailed', true]);
      assert.equal(repo.oid('main'), mainBefore);
    });

    test('a conflict stops the queue with the files; the tasks after it are not run', async () => {
      const a = await taskWithCommit('first', 'a.txt', 'a\n');
      const clash = await taskWithCommit('clash', 'README.md', 'task\n');
      const c = await taskWithCommit('after', 'c.txt', 'c\n');
      repo.write('README.md', 'base\n');
      repo.commitAll('base edits readme');
      const report = await service.mergeQueue([a.id, clash.id, c.id]);
      assert.deepEqual(report.merged.map((entry) => entry.taskId), [a.id]);
      assert.deepEqual(report.stoppedAt, { taskId: clash.id, reason: 'conflict', files: ['README.md'] });
      assert.deepEqual(report.notRun, [c.id]);
      assert.equal(existsSync(join(repo.dir, 'c.txt')), false);
    });

    test('cancelled between tasks: the landed ones stay, the rest is not run, the cancel is recorded', async () => {
      baseCheckedOutNowhere();
      const a = await taskWithCommit('cancel a', 'a.txt', 'a\n', 'main');
      const b = await taskWithCommit('cancel b', 'b.txt', 'b\n', 'main');
      const c = await taskWithCommit('cancel c', 'c.txt', 'c\n', 'main');
      let landed = 0;
      const report = await service.mergeQueue([a.id, b.id, c.id], {
        onProgress: ({ state }) => (landed += state === 'merged' ? 1 : 0),
        isCancelled: () => landed >= 1,
      });
      assert.deepEqual(report.merged.map((entry) => entry.taskId), [a.id]);
      assert.deepEqual(report.stoppedAt, { taskId: b.id, reason: 'cancelled' });
      assert.deepEqual(report.notRun, [b.id, c.id]);
      assert.equal(repo.oid('main'), report.merged[0].commit);
      const last = (await attempts()).at(-1);
      assert.deepEqual([last?.taskId, last?.outcome, last?.reason], [b.id, 'aborted', 'cancelled']);
    });

    test('a refusal (uncommitted work) stops the queue with its code; bad input is refused before anything runs', async () => {
      const a = await taskWithCommit('dirty one', 'a.txt', 'a\n');
      repo.write('scratch.txt', 'x\n', a.worktreePath);
      const report = await service.mergeQueue([a.id]);
      assert.deepEqual([report.stoppedAt?.reason, report.stoppedAt?.code], ['refused', 'WorktreeDirty']);
      for (const bad of [[], [a.id, a.id], ['../x']]) {
        await assert.rejects(service.mergeQueue(bad), (error) => isCoded(error, 'InvalidInput'));
      }
      await assert.rejects(service.mergeQueue([a.id], { gate: '' }), (error) => isCoded(error, 'InvalidInput'));
      await assert.rejects(service.mergeQueue([a.id], { gateTimeoutMs: -1 }), (error) => isCoded(error, 'InvalidInput'));
    });
  });
});
