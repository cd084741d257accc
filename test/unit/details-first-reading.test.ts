import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskService, TrackedTask, WorktreeDetailsCache } from '../../src/core';
import { TestRepo } from '../fixtures/repo';

/** Worktrees made by git alone, each on its own branch from main, as the cache is given them. */
function worktrees(repo: TestRepo, count: number): TrackedTask[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `task-${String(i + 1).padStart(2, '0')}`;
    const worktreePath = join(repo.dir, '..', 'trees', id);
    repo.git('worktree', 'add', '-q', '-b', `task/${id}`, worktreePath, 'main');
    return { id, baseBranch: 'main', branch: `task/${id}`, worktreePath, worktreeState: 'present' };
  });
}

suite('details cache: the first reading of a board', () => {
  let repo: TestRepo;
  let service: TaskService;
  let cache: WorktreeDetailsCache;
  let started: string[];
  let running: number;
  let mostAtOnce: number;
  let ended: number;

  setup(async () => {
    repo = new TestRepo();
    service = await TaskService.open(repo.dir);
    started = [];
    running = mostAtOnce = ended = 0;
    service.git.onSpawn((args) => {
      started.push(args[0]);
      mostAtOnce = Math.max(mostAtOnce, ++running);
    });
    service.git.onExit(() => {
      running--;
      ended++;
    });
    cache = service.createDetailsCache({ watch: false });
  });
  teardown(() => {
    cache.dispose();
    repo.dispose();
  });

  test('tasks still at their base commit are level with it without a count: one tips reading and one status per worktree', async () => {
    const tasks = worktrees(repo, 3);
    writeFileSync(join(tasks[1].worktreePath!, 'new.txt'), 'new\n');
    cache.track(tasks);
    await cache.settled();
    assert.deepEqual(started.sort(), ['for-each-ref', 'status', 'status', 'status']);
    for (const task of tasks) assert.deepEqual([cache.get(task.id)!.ahead, cache.get(task.id)!.behind], [0, 0]);
    assert.equal(cache.get(tasks[1].id)!.dirty!.untracked, 1);
  });

  test('a task reads as "reading" until its worktree status is first read, and not after', async () => {
    const [task] = worktrees(repo, 1);
    assert.equal(cache.reading(task.id), true, 'not tracked yet');
    cache.track([task]);
    assert.equal(cache.reading(task.id), true, 'tracked, status not read yet');
    await cache.settled();
    assert.equal(cache.reading(task.id), false);
    assert.equal(cache.get(task.id)!.dirty!.changed, 0);
  });

  test('30 worktrees are read at most 2 git processes at a time, their rows reported in batches before the reading ends', async () => {
    const tasks = worktrees(repo, 30);
    const events: Array<{ ids: string[]; endedBefore: number }> = [];
    cache.onDidChange((ids) => events.push({ ids, endedBefore: ended }));
    cache.track(tasks);
    await cache.settled();
    assert.equal(mostAtOnce, 2);
    assert.equal(started.filter((command) => command === 'status').length, 30);
    assert.ok(events.length >= 2, `${events.length} change event(s)`);
    assert.ok(events[0].endedBefore < 31, 'the first rows were reported while statuses were still running');
    assert.deepEqual([...new Set(events.flatMap((event) => event.ids))].sort(), tasks.map((task) => task.id));
    for (const task of tasks) assert.equal(cache.reading(task.id), false);
  });
});
