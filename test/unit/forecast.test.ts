import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { isCoded, Task, TaskService } from '../../src/core/index';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

suite('conflict forecast', () => {
  let repo: TestRepo;
  let service: TaskService;
  let spawns: string[][] = [];

  setup(async () => {
    ({ repo, service } = await openFreshRepo((fresh) => fresh.git('branch', 'integration')));
    service.git.onSpawn((args) => spawns.push([...args]));
  });
  teardown(() => repo.dispose());

  /** A task with its own worktree and one commit writing `files` there. */
  async function taskWith(subject: string, files: Record<string, string>, baseBranch = 'main'): Promise<Task> {
    const task = await service.createWorktree((await service.createTask({ subject, baseBranch })).id);
    commitIn(task, files);
    return task;
  }

  function commitIn(task: Task, files: Record<string, string>): void {
    for (const [file, content] of Object.entries(files)) repo.write(file, content, task.worktreePath);
    repo.commitAll(`${task.subject} work`, task.worktreePath);
  }

  async function spawnsFor(operation: () => Promise<unknown>): Promise<string[][]> {
    spawns = [];
    await operation();
    return [...spawns];
  }

  test('a task adding a new file merges clean; nothing in the repository changes', async () => {
    const task = await taskWith('new file', { 'new.txt': 'new\n' });
    const before = repo.snapshot();
    assert.deepEqual(await service.forecast(), { tasks: [{ taskId: task.id, withBase: { clean: true, files: [] } }], overlaps: [] });
    assert.equal(repo.snapshot(), before);
  });

  test('a task conflicting with what landed on its base since: not clean, the file named', async () => {
    const task = await taskWith('edit readme', { 'README.md': 'theirs\n', 'other.txt': 'o\n' });
    repo.write('README.md', 'ours\n');
    repo.commitAll('base moves on');
    assert.deepEqual((await service.forecast()).tasks, [{ taskId: task.id, withBase: { clean: false, files: ['README.md'] } }]);
  });

  test('two tasks editing the same line overlap with that file; a third on other files is in no overlap', async () => {
    const a = await taskWith('first edit', { 'src/file-0.txt': 'from a\n' });
    const b = await taskWith('second edit', { 'src/file-0.txt': 'from b\n', 'b-only.txt': 'b\n' });
    const c = await taskWith('elsewhere', { 'src/file-1.txt': 'from c\n' });
    const forecast = await service.forecast();
    assert.deepEqual(
      forecast.tasks.map(({ taskId, withBase }) => [taskId, withBase.clean]),
      [a, b, c].map((task) => [task.id, true]),
    );
    assert.deepEqual(forecast.overlaps, [{ a: a.id, b: b.id, files: ['src/file-0.txt'] }]);
  });

  test('a second forecast with nothing moved runs no git process at all; a moved branch re-runs only the merges it is in', async () => {
    const a = await taskWith('one', { 'src/file-0.txt': 'a\n' });
    const b = await taskWith('two', { 'src/file-1.txt': 'b\n' });
    await taskWith('three', { 'src/file-0.txt': 'c\n' });
    const first = await service.forecast();
    const again = await spawnsFor(async () => assert.deepEqual(await service.forecast(), first));
    assert.deepEqual(again, []);

    commitIn(b, { 'src/file-0.txt': 'b too\n' });
    const movedOid = repo.oid(b.branch!);
    let refreshed = first;
    const merges = (await spawnsFor(async () => (refreshed = await service.forecast()))).filter((args) => args[0] === 'merge-tree');
    // b with its base, with a and with the third task: 3 of the 6 merges.
    assert.equal(merges.length, 3);
    for (const args of merges) assert.ok(args.includes(movedOid), `${args.join(' ')} does not involve the moved branch`);
    assert.equal(refreshed.overlaps.length, 3, 'b now overlaps both others on src/file-0.txt');
    assert.ok(refreshed.overlaps.some((overlap) => overlap.a === a.id && overlap.b === b.id));
  });

  test('branch refs are read again when another process packs or deletes them', async () => {
    const a = await taskWith('packed', { 'src/file-0.txt': 'a\n' });
    const b = await taskWith('deleted', { 'src/file-0.txt': 'b\n' });
    assert.equal((await service.forecast()).overlaps.length, 1);
    repo.git('pack-refs', '--all');
    const afterPack = await spawnsFor(async () => assert.equal((await service.forecast()).overlaps.length, 1));
    assert.deepEqual(afterPack.map((args) => args[0]), ['for-each-ref'], 'packing rewrote packed-refs: the heads are read again');
    repo.git('update-ref', '-d', `refs/heads/${b.branch!}`);
    const gone = await service.forecast();
    assert.deepEqual(gone.overlaps, [], 'the deleted branch no longer overlaps');
    assert.deepEqual(gone.tasks.map((task) => task.taskId), [a.id]);
  });

  test('previewMerges answers from the same merges: after a forecast it runs no merge-tree', async () => {
    const clean = await taskWith('clean preview', { 'p.txt': 'p\n' });
    const conflicting = await taskWith('conflicting preview', { 'README.md': 'theirs\n' });
    repo.write('README.md', 'ours\n');
    repo.commitAll('base moves on');
    await service.forecast();
    let preview: Awaited<ReturnType<TaskService['previewMerges']>> = [];
    const ran = await spawnsFor(async () => (preview = await service.previewMerges()));
    assert.deepEqual(ran, [], 'nothing moved since the forecast: no git process');
    assert.deepEqual(preview, [
      { taskId: clean.id, clean: true, conflicts: [] },
      { taskId: conflicting.id, clean: false, conflicts: ['README.md'] },
    ]);
  });

  test('queue order: b is clean alone but conflicts once a has landed before it; nothing is written', async () => {
    const a = await taskWith('lands first', { 'src/file-0.txt': 'a\n' });
    const b = await taskWith('lands second', { 'src/file-0.txt': 'b\n' });
    const c = await taskWith('unrelated', { 'c.txt': 'c\n' });
    const before = repo.snapshot();
    assert.deepEqual(await service.forecastQueue([a.id, b.id, c.id]), [
      { taskId: a.id, clean: true, files: [] },
      { taskId: b.id, clean: false, files: ['src/file-0.txt'] },
      { taskId: c.id, clean: true, files: [] },
    ]);
    assert.deepEqual(await service.forecastQueue([b.id]), [{ taskId: b.id, clean: true, files: [] }]);
    assert.deepEqual(await service.forecastQueue([b.id, a.id]), [
      { taskId: b.id, clean: true, files: [] },
      { taskId: a.id, clean: false, files: ['src/file-0.txt'] },
    ]);
    assert.equal(repo.snapshot(), before);
  });

  test('a conflicting task in a queue is left out of the base the next ones are forecast against', async () => {
    const blocked = await taskWith('conflicts with base', { 'README.md': 'task edit\n', 'src/file-0.txt': 'blocked\n' });
    const next = await taskWith('same file as the blocked one', { 'src/file-0.txt': 'next\n' });
    repo.write('README.md', 'base edit\n');
    repo.commitAll('base moves on');
    assert.deepEqual(await service.forecastQueue([blocked.id, next.id]), [
      { taskId: blocked.id, clean: false, files: ['README.md'] },
      { taskId: next.id, clean: true, files: [] },
    ]);
  });

  test('tasks on different bases are never paired, even editing the same line', async () => {
    const onMain = await taskWith('on main', { 'src/file-0.txt': 'main side\n' });
    const onIntegration = await taskWith('on integration', { 'src/file-0.txt': 'integration side\n' }, 'integration');
    const forecast = await service.forecast();
    assert.deepEqual(forecast.tasks.map((task) => task.taskId).sort(), [onMain.id, onIntegration.id].sort());
    assert.deepEqual(forecast.overlaps, []);
  });

  test('a merged task, and a task with no commits of its own, are not forecast', async () => {
    const merged = await taskWith('merged', { 'src/file-0.txt': 'merged\n' });
    assert.equal((await service.mergeTask(merged.id)).merged, true);
    // Work on the branch after the merge would conflict with `open`: the task is merged all the same.
    commitIn(merged, { 'src/file-1.txt': 'after the merge\n' });
    const open = await taskWith('open', { 'src/file-1.txt': 'open\n' });
    await service.createWorktree((await service.createTask({ subject: 'no commits yet' })).id);
    assert.deepEqual(await service.forecast(), { tasks: [{ taskId: open.id, withBase: { clean: true, files: [] } }], overlaps: [] });
  });

  test('a forecast takes no lock: it completes while another process holds the repository lock', async () => {
    const task = await taskWith('while locked', { 'l.txt': 'l\n' });
    const holder = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'lockHolder.js'), service.store.dir, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (data: Buffer) => data.toString().includes('held') && resolve());
        holder.on('exit', (code) => reject(new Error(`the lock holder exited (${code}) before holding the lock`)));
      });
      const [forecast, queue] = await Promise.all([service.forecast(), service.forecastQueue([task.id])]);
      assert.deepEqual(forecast.tasks.map((entry) => entry.taskId), [task.id]);
      assert.deepEqual(queue, [{ taskId: task.id, clean: true, files: [] }]);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('a branch sharing no commit with its base: UnrelatedHistories naming the task', async () => {
    const orphan = repo.git('commit-tree', repo.oid('main^{tree}'), '-m', 'orphan').trim();
    repo.git('branch', 'orphan', orphan);
    const task = await service.createTask({ subject: 'adopted orphan' });
    await service.assignWorktree(task.id, { branch: 'orphan' });
    await assert.rejects(service.forecast(), (error) => isCoded(error, 'UnrelatedHistories') && error.message.includes(task.id));
  });

  test('queue input is checked before any git process: wrong shape, repeats, unknown, merged, branchless', async () => {
    const merged = await taskWith('merged one', { 'm.txt': 'm\n' });
    await service.mergeTask(merged.id);
    const branchless = await service.createTask({ subject: 'no branch' });
    const cases: Array<[unknown, string]> = [
      ['a-task', 'InvalidInput'],
      [[], 'InvalidInput'],
      [['Not An Id'], 'InvalidInput'],
      [[branchless.id, branchless.id], 'InvalidInput'],
      [['no-such-task'], 'TaskNotFound'],
      [[merged.id], 'InvalidInput'],
      [[branchless.id], 'TaskHasNoWorktree'],
    ];
    for (const [ids, code] of cases) {
      const ran = await spawnsFor(() => assert.rejects(service.forecastQueue(ids as string[]), (error) => isCoded(error, code as never)));
      assert.deepEqual(ran, [], `${JSON.stringify(ids)} ran git`);
    }
  });
});
