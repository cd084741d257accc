import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCoded } from '../../src/core/errors';
import { TaskService } from '../../src/core';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/** `git config --global --get-all safe.directory`, or '' when there is none (git exits 1 then). */
function globalSafeDirectories(): string {
  try {
    return execFileSync('git', ['config', '--global', '--get-all', 'safe.directory'], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

function storeFiles(service: TaskService): string {
  return readdirSync(service.store.tasksDir)
    .sort()
    .map((name) => `${name}\n${readFileSync(join(service.store.tasksDir, name), 'utf8')}`)
    .join('\n');
}

suite('reconcile after a crash, and repositories git refuses', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('the store names a worktree git does not have: shown missing, nothing touched, repair recreates it from the branch', async () => {
    const task = await service.createWorktree((await service.createTask({ subject: 'lost dir' })).id);
    repo.write('work.txt', 'committed work\n', task.worktreePath);
    repo.commitAll('work', task.worktreePath);
    repo.git('worktree', 'remove', '--force', task.worktreePath!); // as if removed behind our back
    const before = repo.snapshot();
    const storeBefore = storeFiles(service);
    const board = await service.board();
    assert.equal(board.tasks[0].worktreeState, 'missing');
    assert.equal(repo.snapshot(), before, 'reading the board changes nothing in the repository');
    assert.equal(storeFiles(service), storeBefore, 'nor in the store');
    const repaired = await service.repairWorktree(task.id);
    assert.equal(repaired.worktreePath, task.worktreePath);
    assert.equal((await service.board()).tasks[0].worktreeState, 'present');
    assert.equal(repo.read('work.txt', task.worktreePath), 'committed work\n', 'the branch\'s work is checked out again');
  });

  test('git has a worktree the store does not know (crash between git and the store): shown unassigned, adopted on request', async () => {
    const task = await service.createTask({ subject: 'half made' });
    const path = join(repo.dir, '.worktrees', task.id);
    repo.git('worktree', 'add', '-q', '-b', `task/${task.id}`, path);
    repo.write('agent.txt', 'an agent already started\n', path);
    const before = repo.snapshot();
    const board = await service.board();
    assert.deepEqual(board.unassigned.map((entry) => entry.path), [path]);
    assert.equal(board.tasks[0].worktreeState, 'none');
    assert.equal(repo.snapshot(), before, 'nothing is deleted automatically');
    await assert.rejects(service.createWorktree(task.id), (error) => isCoded(error, 'BranchExists'));
    assert.equal(repo.snapshot(), before);
    const adopted = await service.assignWorktree(task.id, { worktreePath: path });
    assert.equal(adopted.branch, `task/${task.id}`);
    assert.equal(repo.read('agent.txt', path), 'an agent already started\n');
  });

  test('a malformed task file is reported, kept, and never overwritten', async () => {
    const task = await service.createTask({ subject: 'fine' });
    const broken = join(service.store.tasksDir, 'broken.json');
    writeFileSync(broken, '{ "id": "broken", ');
    const { tasks, problems } = await service.store.load();
    assert.deepEqual(tasks.map((candidate) => candidate.id), [task.id]);
    assert.equal(problems.length, 1);
    assert.match(problems[0].message, /not valid JSON/);
    await assert.rejects(service.setStatus('broken', 'completed'), (error) => isCoded(error, 'StoreCorrupt'));
    const again = await service.createTask({ subject: 'broken' });
    assert.equal(again.id, 'broken-2', 'the broken file\'s id is not reused');
    assert.equal(readFileSync(broken, 'utf8'), '{ "id": "broken", ');
  });

  test('a repository git refuses ("dubious ownership"): a clear message, safe.directory never edited', async function () {
    if (process.getuid?.() !== 0) this.skip(); // only root can hand the repository to another user here
    const globalBefore = globalSafeDirectories();
    execFileSync('chown', ['-R', '65534:65534', repo.dir]);
    try {
      await assert.rejects(TaskService.open(repo.dir), (error) => {
        assert.ok(isCoded(error, 'UnsafeRepository'), String(error));
        assert.match(error.message, /safe\.directory/);
        return true;
      });
      assert.equal(globalSafeDirectories(), globalBefore);
    } finally {
      execFileSync('chown', ['-R', '0:0', repo.dir]);
    }
  });
});
