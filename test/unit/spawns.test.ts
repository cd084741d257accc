import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskService } from '../../src/core';
import { TestRepo } from '../fixtures/repo';

/** The benchmark's correctness side, which belongs in npm test: git process counts, not timings. */
suite('git processes: a constant number per board refresh, and every call logged', () => {
  let repo: TestRepo;
  let service: TaskService;
  const log: string[] = [];
  let spawns: string[][] = [];

  setup(async () => {
    repo = new TestRepo();
    service = await TaskService.open(repo.dir, {}, { log: (line) => log.push(line) });
    service.git.onSpawn((args) => spawns.push([...args]));
  });
  teardown(() => repo.dispose());

  async function spawnsFor(operation: () => Promise<unknown>): Promise<string[][]> {
    spawns = [];
    await operation();
    return [...spawns];
  }

  test('listing the board takes the same git processes with 1 and 12 worktrees (at most 3)', async () => {
    await service.createWorktree((await service.createTask({ subject: 'first' })).id);
    const withOne = await spawnsFor(() => service.board());
    for (let i = 0; i < 11; i++) await service.createWorktree((await service.createTask({ subject: `more ${i}` })).id);
    const withTwelve = await spawnsFor(() => service.board());
    assert.equal((await service.board()).tasks.length, 12);
    assert.deepEqual(withTwelve.map((args) => args[0]), withOne.map((args) => args[0]));
    assert.ok(withTwelve.length <= 3, `${withTwelve.length} git processes per refresh`);
  });

  test('a merge into a base checked out nowhere: worktree check (status), merge-tree, commit-tree, update-ref; the two commits, the base\'s tree (a loose commit) and the worktrees that use the base come from git\'s files (the index file read for entries git is told not to look at); no ancestry check when the trees differ', async () => {
    repo.git('branch', 'integration');
    const task = await service.createWorktree((await service.createTask({ subject: 'merge me', baseBranch: 'integration' })).id);
    writeFileSync(join(task.worktreePath!, 'new.txt'), 'new\n');
    repo.commitAll('work', task.worktreePath);
    await service.git.version(); // asked once per adapter; not part of a merge's cost
    const merge = await spawnsFor(() => service.mergeTask(task.id));
    assert.deepEqual(merge.map((args) => args[0]).sort(), ['commit-tree', 'merge-tree', 'status', 'update-ref']);
  });

  test('the same merge with the base\'s commit packed: git is asked for its tree, and only that', async () => {
    repo.git('branch', 'integration');
    const task = await service.createWorktree((await service.createTask({ subject: 'merge me', baseBranch: 'integration' })).id);
    writeFileSync(join(task.worktreePath!, 'new.txt'), 'new\n');
    repo.commitAll('work', task.worktreePath);
    repo.git('gc', '--quiet', '--prune=now');
    await service.git.version();
    const merge = await spawnsFor(() => service.mergeTask(task.id));
    assert.deepEqual(merge.map((args) => args[0]).sort(), ['commit-tree', 'merge-tree', 'rev-parse', 'status', 'update-ref']);
    assert.match(merge.find((args) => args[0] === 'rev-parse')!.join(' '), /\^\{tree\}$/, 'git is asked for the tree only');
    assert.equal((await service.task(task.id)).status, 'completed');
  });

  test('every git call is logged once as "> git <args> [Nms]"', async () => {
    log.length = 0;
    const calls = await spawnsFor(() => service.createTask({ subject: 'logged' }));
    assert.equal(log.length, calls.length);
    for (const line of log) assert.match(line, /^> git [a-z-]+ .*\[\d+ms\]/);
  });
});
