import * as assert from 'node:assert/strict';
import { existsSync, realpathSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TaskService } from '../../src/core/index';
import { branchExists, gitExitCode, refusesUnchanged } from '../fixtures/attackHelpers';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/**
 * Attacks on names, input and settings (issue 8, spec cases I, M, N and O): a failed create leaves
 * no task behind and names the conflict; bad input is refused before git runs; the worktree root
 * is expanded, kept out of the repository root and the git dir, and excluded exactly; settings
 * are the repository's.
 */

async function taskIds(service: TaskService): Promise<string[]> {
  return (await service.board()).tasks.map((task) => task.id);
}

suite('attack I: a branch-name prefix conflict fails create cleanly', () => {
  let repo: TestRepo;

  setup(() => (repo = new TestRepo()));
  teardown(() => repo.dispose());

  test('branch task/bar/baz exists: createTask {bar, createWorktree}, tried 4 times → BranchExists naming task/bar/baz each time, nothing changed, no task record left', async () => {
    repo.git('branch', 'task/bar/baz');
    const service = await TaskService.open(repo.dir);
    const idsBefore = await taskIds(service);
    for (let attempt = 1; attempt <= 4; attempt++) {
      const error = await refusesUnchanged(repo, () => service.createTask({ subject: 'bar', createWorktree: true }), ['BranchExists']);
      assert.ok(error.message.includes('task/bar/baz'), `attempt ${attempt}: the message names task/bar/baz: ${error.message}`);
      assert.deepEqual(await taskIds(service), idsBefore, `attempt ${attempt}: no task record left`);
    }
  });

  test('a branch named like the prefix\'s folder exists (feature, prefix feature/): three create-with-worktree calls → BranchExists naming feature, nothing changed, no task record left', async () => {
    repo.git('branch', 'feature');
    const service = await TaskService.open(repo.dir, { branchPrefix: 'feature/' });
    for (const subject of ['one', 'two', 'three']) {
      const error = await refusesUnchanged(repo, () => service.createTask({ subject, createWorktree: true }), ['BranchExists']);
      // "feature" on its own, not as part of feature/<id>.
      assert.match(error.message, /(?<![\w/-])feature(?![\w/-])/, `${subject}: the message names the branch feature: ${error.message}`);
      assert.deepEqual(await taskIds(service), [], `${subject}: no task record left`);
    }
  });
});

suite('attack M: bad input is refused with InvalidInput before any git process', () => {
  let repo: TestRepo;
  let service: TaskService;
  let spawned: string[][];

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
    spawned = [];
    service.git.onSpawn((args) => spawned.push([...args]));
  });
  teardown(() => repo.dispose());

  test('blockedBy "x" (not an array) → InvalidInput, nothing changed, no task record', async () => {
    await refusesUnchanged(repo, () => service.createTask({ subject: 'blocked', blockedBy: 'x' as unknown as string[] }), ['InvalidInput']);
    assert.deepEqual(await taskIds(service), []);
  });

  const FORBIDDEN: Array<[string, string]> = [
    ['U+0085 (next line, C1)', '\u0085'],
    ['U+009B (control sequence introducer, C1)', '\u009b'],
    ['U+202E (right-to-left override)', '\u202e'],
    ['U+2066 (left-to-right isolate)', '\u2066'],
  ];
  for (const [name, character] of FORBIDDEN) {
    test(`subject with ${name} → InvalidInput, no git process, nothing changed, no task record`, async () => {
      spawned = [];
      await refusesUnchanged(repo, () => service.createTask({ subject: `fix${character}this` }), ['InvalidInput']);
      assert.deepEqual(spawned, [], 'no git process ran');
      assert.deepEqual(await taskIds(service), []);
    });

    test(`owner with ${name} → InvalidInput, no git process, nothing changed, task record unchanged`, async () => {
      const task = await service.createTask({ subject: 'claimed' });
      spawned = [];
      await refusesUnchanged(repo, () => service.setStatus(task.id, 'in_progress', `agent${character}one`), ['InvalidInput']);
      assert.deepEqual(spawned, [], 'no git process ran');
      assert.deepEqual(await service.task(task.id), task);
    });
  }
});

suite('attack N: where worktrees go', () => {
  let repo: TestRepo;

  setup(() => (repo = new TestRepo()));
  teardown(() => repo.dispose());

  test('worktreeRoot ~/<name> puts the worktree under the home directory', async () => {
    const name = `tw-attack-${process.pid}-${Date.now()}`;
    try {
      const service = await TaskService.open(repo.dir, { worktreeRoot: `~/${name}` });
      const task = await service.createTask({ subject: 'at home', createWorktree: true });
      assert.equal(realpathSync(task.worktreePath!), join(realpathSync(homedir()), name, task.id));
    } finally {
      rmSync(join(homedir(), name), { recursive: true, force: true });
    }
  });

  const REFUSED_ROOTS: Array<[string, string]> = [
    ['. (the repository root)', '.'],
    ['.git/worktrees-here (inside the git dir)', '.git/worktrees-here'],
  ];
  for (const [name, root] of REFUSED_ROOTS) {
    test(`worktreeRoot ${name}: createTask with a worktree → InvalidInput, nothing changed, no task record`, async () => {
      const service = await TaskService.open(repo.dir, { worktreeRoot: root });
      await refusesUnchanged(repo, () => service.createTask({ subject: 'misplaced', createWorktree: true }), ['InvalidInput']);
      assert.deepEqual(await taskIds(service), []);
    });
  }

  test('worktreeRoot wt[1]: git check-ignore ignores wt[1] and not wt1', async () => {
    const service = await TaskService.open(repo.dir, { worktreeRoot: 'wt[1]' });
    await service.createTask({ subject: 'globbed', createWorktree: true });
    repo.write('wt1/mine.txt', 'not a worktree\n');
    assert.equal(gitExitCode(repo.dir, 'check-ignore', '-q', '--', 'wt[1]'), 0, 'wt[1] is ignored');
    assert.equal(gitExitCode(repo.dir, 'check-ignore', '-q', '--', 'wt1'), 1, 'wt1 is not ignored');
  });
});

suite('attack O: the branch prefix and worktree root are the repository\'s, not a window\'s', () => {
  let repo: TestRepo;

  setup(() => (repo = new TestRepo()));
  teardown(() => repo.dispose());

  test('service A (prefix feat/) creates the first task, service B (prefix x/) the next: both branches are feat/<id>', async () => {
    const first = await (await TaskService.open(repo.dir, { branchPrefix: 'feat/' })).createTask({ subject: 'first', createWorktree: true });
    const second = await (await TaskService.open(repo.dir, { branchPrefix: 'x/' })).createTask({ subject: 'second', createWorktree: true });
    assert.equal(first.branch, 'feat/first');
    assert.equal(second.branch, 'feat/second');
    assert.ok(branchExists(repo, 'feat/second'));
    assert.equal(branchExists(repo, 'x/second'), false);
  });

  test('service A (root .wt-first) creates the first task, service B (root .wt-second) the next: both worktrees are under .wt-first', async () => {
    const first = await (await TaskService.open(repo.dir, { worktreeRoot: '.wt-first' })).createTask({ subject: 'first', createWorktree: true });
    const second = await (await TaskService.open(repo.dir, { worktreeRoot: '.wt-second' })).createTask({ subject: 'second', createWorktree: true });
    assert.equal(first.worktreePath, join(repo.dir, '.wt-first', 'first'));
    assert.equal(second.worktreePath, join(repo.dir, '.wt-first', 'second'));
    assert.equal(existsSync(join(repo.dir, '.wt-second')), false);
  });
});
