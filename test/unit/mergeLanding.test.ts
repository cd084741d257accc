import * as assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskService } from '../../src/core';
import { TaskWorktreesError } from '../../src/core/errors';
import { TaskMerge } from '../../src/core/tasks/merge';
import { Task } from '../../src/core/tasks/model';
import { TestRepo } from '../fixtures/repo';

/**
 * A merge into a base checked out nowhere starts its guarded ref update (`update-ref --stdin`) while
 * its checks still run. Whatever the checks decide, that process ends, and it moves the base only
 * from the commit the merge read.
 */
suite('the ref update of a merge, started before its checks end', () => {
  let repo: TestRepo;
  let service: TaskService;
  let task: Task;
  let scripts: string;

  setup(async () => {
    repo = new TestRepo();
    scripts = mkdtempSync(join(tmpdir(), 'tw-git-wrapper-'));
    repo.git('branch', 'integration');
    service = await TaskService.open(repo.dir);
    task = await service.createWorktree((await service.createTask({ subject: 'landing', baseBranch: 'integration' })).id);
    repo.write('work.txt', 'work\n', task.worktreePath!);
    repo.commitAll('work', task.worktreePath!);
  });
  teardown(() => {
    repo.dispose();
    rmSync(scripts, { recursive: true, force: true });
  });

  /** Runs `merge` counting git processes; resolves once every one started has ended (fails after 5 s). */
  async function allProcessesEnd(on: TaskService, merge: () => Promise<unknown>): Promise<string[]> {
    const started: string[] = [];
    let ended = 0;
    on.git.onSpawn((args) => started.push(args[0]));
    on.git.onExit(() => ended++);
    await merge().catch(() => undefined);
    for (const deadline = Date.now() + 5000; ended < started.length; ) {
      assert.ok(Date.now() < deadline, `${started.length - ended} git process(es) still running after the merge: ${started.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return started;
  }

  test('refused by a check after the update started (uncommitted work in the task): nothing lands, and the update ends', async () => {
    const before = repo.oid('integration');
    repo.write('uncommitted.txt', 'not yet committed\n', task.worktreePath!);
    let refusal: unknown;
    const started = await allProcessesEnd(service, () => service.mergeTask(task.id).catch((error) => (refusal = error)));
    assert.equal((refusal as TaskWorktreesError).code, 'WorktreeDirty');
    assert.ok(started.includes('update-ref'), 'the update had started');
    assert.equal(repo.oid('integration'), before);
  });

  test('a conflict: nothing lands, and the update ends', async () => {
    repo.write('work.txt', 'other work\n');
    repo.git('switch', '-q', 'integration');
    repo.commitAll('integration writes the same file');
    repo.git('switch', '-q', 'main');
    const before = repo.oid('integration');
    let result: Awaited<ReturnType<TaskService['mergeTask']>> | undefined;
    const started = await allProcessesEnd(service, async () => (result = await service.mergeTask(task.id)));
    assert.equal(result?.merged, false);
    assert.deepEqual(result?.conflicts, ['work.txt']);
    assert.ok(started.includes('update-ref'), 'the update had started');
    assert.equal(repo.oid('integration'), before);
  });

  test('the base moved by another process during the merge (at its merge-tree): nothing of the merge lands, the other commit stays, RefChanged', async () => {
    const moved = repo.git('commit-tree', `${repo.oid('integration')}^{tree}`, '-p', repo.oid('integration'), '-m', 'moved meanwhile').trim();
    const wrapper = join(scripts, 'git-moving-the-base');
    writeFileSync(wrapper, `#!/bin/bash\nif [[ " $* " == *" merge-tree "* ]]; then git -C '${repo.dir}' update-ref refs/heads/integration ${moved}; fi\nexec git "$@"\n`);
    chmodSync(wrapper, 0o755);
    const raced = await TaskService.open(repo.dir, {}, { gitPath: wrapper });
    let refusal: unknown;
    await allProcessesEnd(raced, () => raced.mergeTask(task.id).catch((error) => (refusal = error)));
    assert.equal((refusal as TaskWorktreesError).code, 'RefChanged');
    assert.equal(repo.oid('integration'), moved);
    assert.notEqual((await service.task(task.id)).status, 'completed');
  });
});

/** What a merge starts before it holds the lock (TaskMerge.headStart) is used only if nothing it read has moved. */
suite('a merge\'s head start, taken before the lock', () => {
  let repo: TestRepo;
  let service: TaskService;
  let task: Task;
  const merging = (): TaskMerge => (service as unknown as { merging: TaskMerge }).merging;

  setup(async () => {
    repo = new TestRepo();
    repo.git('branch', 'integration');
    service = await TaskService.open(repo.dir);
    task = await service.createWorktree((await service.createTask({ subject: 'head start', baseBranch: 'integration' })).id);
    repo.write('work.txt', 'work\n', task.worktreePath!);
    repo.commitAll('work', task.worktreePath!);
  });
  teardown(() => repo.dispose());

  test('the base moved after the head start: the merge is of the new base (its first parent), not the one read first', async () => {
    const headStart = await merging().headStart(task.id);
    assert.ok(headStart, 'a head start was taken');
    repo.git('switch', '-q', 'integration');
    repo.write('later.txt', 'later\n');
    const moved = repo.commitAll('the base moves on');
    repo.git('switch', '-q', 'main');
    const result = await merging().merge(task.id, { strategy: 'merge', via: 'merge', headStart });
    assert.equal(result.merged, true);
    assert.equal(repo.git('log', '-1', '--format=%P', 'integration').trim().split(' ')[0], moved);
    assert.equal(repo.git('show', 'integration:later.txt'), 'later\n');
  });

  test('a head start older than a second is not used: uncommitted work made since refuses the merge', async () => {
    const headStart = await merging().headStart(task.id);
    repo.write('uncommitted.txt', 'made after the head start\n', task.worktreePath!);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = repo.oid('integration');
    await assert.rejects(merging().merge(task.id, { strategy: 'merge', via: 'merge', headStart }), (error: TaskWorktreesError) => error.code === 'WorktreeDirty');
    assert.equal(repo.oid('integration'), before);
  });
});
