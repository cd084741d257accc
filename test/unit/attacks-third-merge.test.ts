import * as assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isCoded } from '../../src/core/errors';
import { TaskService } from '../../src/core';
import { Task } from '../../src/core/tasks/model';
import { taskWithCommit as commitTask, openFreshRepo, TestRepo } from '../fixtures/repo';

suite('attacks (third round): the gate, conflict preparation and history lose nothing', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  const taskWithCommit = (subject: string, file: string, content: string, baseBranch?: string): Promise<Task> => commitTask(repo, service, subject, file, content, baseBranch);

  function baseMoves(): void {
    repo.write('other.txt', 'base moved\n');
    repo.commitAll('base moves');
  }

  function operationMarkers(worktreePath: string): string[] {
    const gitDir = resolve(worktreePath, repo.gitIn(worktreePath, 'rev-parse', '--git-dir').trim());
    return ['MERGE_HEAD', 'CHERRY_PICK_HEAD', 'REVERT_HEAD', 'rebase-merge', 'rebase-apply', 'BISECT_LOG'].filter((marker) => existsSync(join(gitDir, marker)));
  }

  /** The task worktree has an ignored .env of its own; the base has since started tracking a .env. */
  async function ignoredEnvTheBaseTracks(): Promise<Task> {
    repo.write('.gitignore', '.env\n');
    repo.commitAll('ignore .env');
    const task = await taskWithCommit('env', 'feat.txt', 'v1\n');
    repo.write('.env', 'SECRET=my-own-token\n', task.worktreePath);
    repo.write('.env', 'SECRET=changeme\n');
    repo.git('add', '-f', '.env');
    repo.git('commit', '-q', '-m', 'template env');
    return task;
  }

  test('finding 4: a tracked file changed during a failing gate is kept, carried back onto the task branch', async () => {
    const task = await taskWithCommit('edit', 'feat.txt', 'v1\n');
    baseMoves();
    const report = await service.mergeQueue([task.id], { gate: 'echo "v2: the user typed this" > feat.txt; exit 1' });
    assert.equal(report.stoppedAt?.reason, 'gateFailed');
    assert.equal(repo.read('feat.txt', task.worktreePath), 'v2: the user typed this\n');
    assert.equal(repo.gitIn(task.worktreePath!, 'symbolic-ref', 'HEAD').trim(), `refs/heads/${task.branch}`);
  });

  test('finding 4/14: a change git cannot carry back is not discarded: the queue stops (GitFailed) naming where the worktree is, the change still there', async () => {
    const task = await taskWithCommit('stuck', 'feat.txt', 'v1\n');
    baseMoves();
    const report = await service.mergeQueue([task.id], { gate: 'echo "edited during the gate" > other.txt; exit 1' });
    const head = repo.gitIn(task.worktreePath!, 'rev-parse', 'HEAD').trim();
    assert.deepEqual([report.stoppedAt?.reason, report.stoppedAt?.code], ['refused', 'GitFailed']);
    assert.ok(report.stoppedAt?.message?.includes(`HEAD is ${head.slice(0, 12)}`), report.stoppedAt?.message);
    assert.ok(report.stoppedAt?.message?.includes(task.branch!), report.stoppedAt?.message);
    assert.equal(repo.read('other.txt', task.worktreePath), 'edited during the gate\n');
  });

  test('finding 7: an ignored file the merge would overwrite refuses the gate (failing or passing) before anything moves', async () => {
    const task = await ignoredEnvTheBaseTracks();
    const mainBefore = repo.oid('main');
    for (const gate of ['false', 'true']) {
      const report = await service.mergeQueue([task.id], { gate });
      assert.deepEqual([report.stoppedAt?.reason, report.stoppedAt?.code], ['refused', 'WorktreeDirty']);
      assert.match(report.stoppedAt?.message ?? '', /\.env/);
      assert.equal(repo.read('.env', task.worktreePath), 'SECRET=my-own-token\n');
      assert.equal(repo.oid('main'), mainBefore);
      assert.equal(repo.gitIn(task.worktreePath!, 'symbolic-ref', 'HEAD').trim(), `refs/heads/${task.branch}`);
    }
  });

  test('finding 7: prepareConflictResolution refuses (WorktreeDirty naming .env) rather than overwrite an ignored file', async () => {
    const task = await ignoredEnvTheBaseTracks();
    const headBefore = repo.oid(task.branch!);
    await assert.rejects(service.prepareConflictResolution(task.id), (error: unknown) => isCoded(error, 'WorktreeDirty') && error.details?.some((line) => line.startsWith('.env')) === true);
    assert.equal(repo.read('.env', task.worktreePath), 'SECRET=my-own-token\n');
    assert.equal(repo.oid(task.branch!), headBefore);
    assert.deepEqual(operationMarkers(task.worktreePath!), []);
  });

  test('finding 15: a hook refusing the clean merge of the base leaves no MERGE_HEAD and no staged files', async () => {
    const task = await taskWithCommit('hooked', 't.txt', 't\n');
    baseMoves();
    const hook = join(repo.dir, '.git', 'hooks', 'pre-merge-commit');
    repo.write('.git/hooks/pre-merge-commit', '#!/bin/sh\necho policy: no merge commits >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    await assert.rejects(service.prepareConflictResolution(task.id), (error: unknown) => isCoded(error, 'GitFailed'));
    assert.deepEqual(operationMarkers(task.worktreePath!), []);
    assert.equal(repo.gitIn(task.worktreePath!, 'status', '--porcelain', '--untracked-files=all'), '');
  });

  test('finding 14: the gate puts back exactly what was checked out: another branch, or a detached HEAD while the branch is checked out elsewhere', async () => {
    const task = await taskWithCommit('head', 'f.txt', 'f\n');
    baseMoves();
    repo.gitIn(task.worktreePath!, 'switch', '-q', '-c', 'experiment');
    const first = await service.mergeQueue([task.id], { gate: 'exit 1' });
    assert.equal(first.stoppedAt?.reason, 'gateFailed');
    assert.equal(repo.gitIn(task.worktreePath!, 'symbolic-ref', 'HEAD').trim(), 'refs/heads/experiment');

    repo.gitIn(task.worktreePath!, 'switch', '-q', '--detach', task.branch!);
    const side = join(mkdtempSync(join(tmpdir(), 'tw side-')), 'side');
    try {
      repo.git('worktree', 'add', '-q', side, task.branch!);
      const second = await service.mergeQueue([task.id], { gate: 'exit 1' });
      assert.equal(second.stoppedAt?.reason, 'gateFailed');
      assert.equal(repo.gitIn(task.worktreePath!, 'rev-parse', 'HEAD').trim(), repo.oid(task.branch!));
      assert.throws(() => repo.gitIn(task.worktreePath!, 'symbolic-ref', '-q', 'HEAD'), 'still detached');
    } finally {
      repo.git('worktree', 'remove', '--force', side);
      rmSync(resolve(side, '..'), { recursive: true, force: true });
    }
  });

  test('finding 8: a gate whose shell exits 0 passes though background children (same group, own session) still hold its output', async () => {
    const pidDir = mkdtempSync(join(tmpdir(), 'tw gate pids-'));
    try {
      const a = await taskWithCommit('bg a', 'a.txt', 'a\n');
      const b = await taskWithCommit('bg b', 'b.txt', 'b\n');
      const first = await service.mergeQueue([a.id], { gate: `sleep 100 & echo $! > '${pidDir}/a'; echo started; exit 0`, gateTimeoutMs: 60_000 });
      assert.deepEqual([first.stoppedAt, first.merged.map((entry) => entry.taskId)], [undefined, [a.id]]);
      const second = await service.mergeQueue([b.id], { gate: `setsid sleep 100 & echo $! > '${pidDir}/b'; echo started; exit 0`, gateTimeoutMs: 60_000 });
      assert.deepEqual([second.stoppedAt, second.merged.map((entry) => entry.taskId)], [undefined, [b.id]]);
    } finally {
      for (const name of ['a', 'b']) {
        const file = join(pidDir, name);
        if (!existsSync(file)) continue;
        try {
          process.kill(Number(readFileSync(file, 'utf8').trim()), 'SIGKILL');
        } catch {
          // stopped with the gate's process group already
        }
      }
      rmSync(pidDir, { recursive: true, force: true });
    }
  });

  test('finding 11: gateTimeoutMs above 2^31-1 is refused (InvalidInput) before anything runs; 2^31-1 itself is a working limit', async () => {
    const task = await taskWithCommit('limit', 'l.txt', 'l\n');
    await assert.rejects(service.mergeQueue([task.id], { gate: 'true', gateTimeoutMs: 2 ** 31 }), (error: unknown) => isCoded(error, 'InvalidInput'));
    assert.equal((await service.mergeHistory()).entries.length, 0);
    const report = await service.mergeQueue([task.id], { gate: 'sleep 1; exit 0', gateTimeoutMs: 2 ** 31 - 1 });
    assert.deepEqual(report.merged.map((entry) => entry.taskId), [task.id]);
  });

  suite('finding 13: an operation the gate leaves in progress is aborted and the worktree put back', () => {
    const gates: Record<string, (conflict: string) => string> = {
      'merge --no-commit': (conflict) => `git merge --no-commit --no-ff ${conflict}; exit 1`,
      'conflicting cherry-pick': (conflict) => `git cherry-pick ${conflict}; exit 1`,
      'conflicting rebase': (conflict) => `git rebase ${conflict}; exit 1`,
      bisect: () => 'git bisect start; exit 1',
    };
    for (const [name, gate] of Object.entries(gates)) {
      test(`${name}: gateFailed, back on the task branch, no operation left, base and branch unmoved`, async () => {
        repo.git('switch', '-q', '-c', 'conflict');
        repo.write('src/file-0.txt', 'conflict side\n');
        const conflict = repo.commitAll('conflict side');
        repo.git('switch', '-q', 'main');
        const task = await taskWithCommit('op', 'src/file-0.txt', 'task side\n');
        baseMoves();
        const [mainBefore, branchBefore] = [repo.oid('main'), repo.oid(task.branch!)];
        const report = await service.mergeQueue([task.id], { gate: gate(conflict) });
        assert.equal(report.stoppedAt?.reason, 'gateFailed', JSON.stringify(report.stoppedAt));
        assert.equal(repo.gitIn(task.worktreePath!, 'symbolic-ref', 'HEAD').trim(), `refs/heads/${task.branch}`);
        assert.deepEqual(operationMarkers(task.worktreePath!), []);
        assert.deepEqual([repo.oid('main'), repo.oid(task.branch!)], [mainBefore, branchBefore]);
        assert.equal(repo.gitIn(task.worktreePath!, 'status', '--porcelain', '--untracked-files=all'), '');
      });
    }
  });

  test('finding 16: no-op landings are recorded as nothingToMerge and left out of the rates; a reused task id starts without the old trouble', async () => {
    const clash = await taskWithCommit('conflicting', 'src/file-0.txt', 'task\n');
    repo.write('src/file-0.txt', 'base\n');
    repo.commitAll('base edits');
    assert.equal((await service.mergeTask(clash.id)).outcome, 'conflict');
    const empty = await service.createWorktree((await service.createTask({ subject: 'nothing done' })).id);
    for (let i = 0; i < 3; i++) {
      const result = await service.mergeTask(empty.id);
      assert.deepEqual([result.merged, result.nothingToMerge, result.outcome], [true, true, 'nothingToMerge']);
    }
    const history = await service.mergeHistory();
    assert.deepEqual([history.attempts, history.firstTryClean, history.successRate, history.nothingToMerge], [1, 0, 0, 3]);

    await service.removeWorktree(clash.id, { force: true, deleteBranch: false });
    await service.deleteTask(clash.id);
    repo.git('branch', '-D', clash.branch!);
    const again = await taskWithCommit('conflicting', 'fresh.txt', 'x\n');
    assert.equal(again.id, clash.id);
    assert.equal((await service.mergeTask(again.id)).outcome, 'clean');
  });
});
