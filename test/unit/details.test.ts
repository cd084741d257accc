import * as assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Task, TaskService, WorktreeDetailsCache } from '../../src/core';
import { TestRepo } from '../fixtures/repo';

suite('details cache: each task at a glance, recomputed only where something changed', () => {
  let repo: TestRepo;
  let service: TaskService;
  let cache: WorktreeDetailsCache;
  let tasks: Task[];
  let spawns: string[][] = [];

  setup(async () => {
    repo = new TestRepo();
    service = await TaskService.open(repo.dir);
    tasks = [];
    for (const subject of ['alpha', 'beta', 'gamma']) tasks.push(await service.createWorktree((await service.createTask({ subject })).id));
    cache = service.createDetailsCache({ debounceMs: 50 });
    cache.track((await service.board()).tasks);
    await cache.settled();
    service.git.onSpawn((args) => spawns.push([...args]));
    spawns = [];
  });
  teardown(() => {
    cache.dispose();
    repo.dispose();
  });

  /** The next change event, once the recomputation that fired it is over. */
  async function nextChange(): Promise<string[]> {
    const ids = await new Promise<string[]>((resolve) => {
      const stop = cache.onDidChange((changed) => {
        stop();
        resolve(changed);
      });
    });
    await cache.settled();
    return ids;
  }

  const commands = (): string[] => spawns.map((args) => args[0]).sort();

  test('a first reading gives every task clean, level with its base, with its branch tip', () => {
    for (const task of tasks) {
      const details = cache.get(task.id)!;
      assert.equal(details.worktree, 'present');
      assert.deepEqual({ ...details.dirty, files: details.dirty?.files.length }, { changed: 0, untracked: 0, conflicted: 0, files: 0 });
      assert.deepEqual([details.ahead, details.behind], [0, 0]);
      assert.equal(details.lastCommit?.subject, 'initial commit');
    }
  });

  test('staging a file in one worktree reads the status of that worktree only', async () => {
    const [, beta] = tasks;
    writeFileSync(join(beta.worktreePath!, 'staged.txt'), 'new\n');
    writeFileSync(join(beta.worktreePath!, 'loose.txt'), 'new\n');
    const changed = nextChange();
    repo.gitIn(beta.worktreePath!, 'add', 'staged.txt');
    assert.deepEqual(await changed, [beta.id]);
    assert.deepEqual(commands(), ['status']);
    const dirty = cache.get(beta.id)!.dirty!;
    assert.deepEqual([dirty.changed, dirty.untracked, dirty.conflicted], [1, 1, 0]);
    assert.deepEqual(dirty.files.map((file) => `${file.kind}:${file.path}`).sort(), ['changed:staged.txt', 'untracked:loose.txt']);
    assert.equal(cache.get(tasks[0].id)!.dirty!.changed, 0);
  });

  test('a commit on the base moves every task behind, without track() or a refresh', async () => {
    const changed = nextChange();
    repo.write('base.txt', 'base\n');
    repo.commitAll('base moves on');
    assert.deepEqual((await changed).sort(), tasks.map((task) => task.id).sort());
    for (const task of tasks) assert.deepEqual([cache.get(task.id)!.ahead, cache.get(task.id)!.behind], [0, 1]);
    // One reading of the branch tips, one count per task; no worktree status (none of them changed).
    assert.deepEqual(commands(), ['for-each-ref', 'rev-list', 'rev-list', 'rev-list']);
  });

  test('a commit on a task branch moves that task ahead and gives its last commit', async () => {
    const [alpha] = tasks;
    writeFileSync(join(alpha.worktreePath!, 'work.txt'), 'work\n');
    const settledOnCommit = (async () => {
      for (;;) if ((await nextChange()).includes(alpha.id) && cache.get(alpha.id)!.ahead === 1) return;
    })();
    repo.commitAll('alpha does its work', alpha.worktreePath);
    await settledOnCommit;
    const details = cache.get(alpha.id)!;
    assert.deepEqual([details.ahead, details.behind], [1, 0]);
    assert.equal(details.lastCommit?.subject, 'alpha does its work');
    assert.equal(details.dirty?.changed, 0);
    assert.equal(cache.get(tasks[1].id)!.ahead, 0);
    assert.equal(commands().filter((command) => command === 'rev-list').length, 1);
  });

  test('a worktree folder deleted by hand shows missing, from the watcher alone', async () => {
    const [, , gamma] = tasks;
    const changed = nextChange();
    rmSync(gamma.worktreePath!, { recursive: true, force: true });
    assert.deepEqual(await changed, [gamma.id]);
    assert.equal(cache.get(gamma.id)!.worktree, 'missing');
    assert.equal(cache.get(gamma.id)!.dirty, undefined);
    // The board agrees once read again, and reading it changes nothing more in the cache.
    const board = await service.board();
    assert.equal(board.tasks.find((task) => task.id === gamma.id)!.worktreeState, 'missing');
    spawns = [];
    cache.track(board.tasks);
    await cache.settled();
    assert.deepEqual(spawns, []);
  });

  test('a lock taken with git shows with its reason', async () => {
    const [alpha] = tasks;
    const changed = nextChange();
    repo.git('worktree', 'lock', '--reason', 'on a USB disk', alpha.worktreePath!);
    assert.deepEqual(await changed, [alpha.id]);
    assert.equal(cache.get(alpha.id)!.locked, 'on a USB disk');
  });

  test('reading an unchanged board again runs no git process in the cache', async () => {
    const board = await service.board();
    spawns = [];
    cache.track(board.tasks);
    await cache.settled();
    cache.track(board.tasks);
    await cache.settled();
    assert.deepEqual(spawns, []);
  });

  test('a task created after the first reading gets its details; the others are not read again', async () => {
    const delta = await service.createWorktree((await service.createTask({ subject: 'delta' })).id);
    await cache.settled();
    spawns = [];
    cache.track((await service.board()).tasks.filter((task) => task.id !== tasks[0].id));
    await cache.settled();
    // The board's own two processes, then one status for the new worktree (its branch tip came with the ref event).
    assert.deepEqual(commands().filter((command) => command === 'status').length, 1);
    assert.equal(cache.get(delta.id)!.dirty?.changed, 0);
    assert.equal(cache.get(delta.id)!.ahead, 0);
    assert.equal(cache.get(tasks[0].id), undefined, 'a task no longer on the board is dropped');
  });

  test('a task whose base branch was deleted costs no git process on each board read', async () => {
    repo.git('branch', 'doomed');
    const orphan = await service.createWorktree((await service.createTask({ subject: 'orphan', baseBranch: 'doomed' })).id);
    repo.git('branch', '-D', 'doomed');
    cache.track((await service.board()).tasks);
    await cache.settled();
    assert.equal(cache.get(orphan.id)!.ahead, undefined, 'no count against a base that is gone');
    const board = await service.board();
    spawns = [];
    cache.track(board.tasks);
    await cache.settled();
    assert.deepEqual(spawns, []);
  });
});
