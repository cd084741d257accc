import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { TaskService } from '../../src/core/index';
import { refusesUnchanged, repairWorktree, taskWithCommit } from '../fixtures/attackHelpers';
import { Layout, LAYOUTS } from '../fixtures/attackLayouts';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/**
 * Attacks on repository layouts and places (issue 8, spec cases F, G and K): a separate git dir,
 * a submodule, a bare repository; folders moved with `mv`; a newline in the repository's path.
 */

/** The `worktree <path>` lines of `git worktree list --porcelain`, run in `cwd`. */
function listedWorktrees(repo: TestRepo, cwd: string): string[] {
  return repo
    .gitIn(cwd, 'worktree', 'list', '--porcelain', '-z')
    .split('\0')
    .filter((field) => field.startsWith('worktree '))
    .map((field) => field.slice('worktree '.length));
}

function isInside(path: string, dir: string): boolean {
  return path.startsWith(dir + sep);
}

suite('attack F: a separate git dir, a submodule, a bare repository', () => {
  for (const { name, build } of LAYOUTS) {
    suite(name, () => {
      let repo: TestRepo;
      let layout: Layout;

      // Each test opens the service itself: opening is part of what a layout can break.
      setup(() => {
        repo = new TestRepo();
        layout = build(repo);
      });
      teardown(() => repo.dispose());

      test('createTask with a worktree puts it under the working folder\'s .worktrees/ (a bare repository\'s: beside it), not inside the git dir, and git lists it', async () => {
        const service = await TaskService.open(layout.folder);
        const task = await service.createTask({ subject: 'laid out', createWorktree: true });
        const path = realpathSync(task.worktreePath!);
        assert.equal(path, join(realpathSync(layout.taskRootParent ?? layout.folder), '.worktrees', task.id));
        assert.ok(!isInside(path, realpathSync(layout.commonDir)), `${path} is outside the git dir`);
        assert.ok(listedWorktrees(repo, layout.folder).includes(path), 'git lists the worktree');
      });

      test('mergeTask into the base checked out in the working folder lands; the folder has the file and is clean', async () => {
        const service = await TaskService.open(layout.folder);
        const task = await taskWithCommit(repo, service, 'into main');
        assert.equal((await service.mergeTask(task.id)).merged, true);
        assert.equal(repo.gitIn(layout.folder, 'show', `refs/heads/main:${task.id}.txt`), `work of ${task.id}\n`);
        assert.equal(repo.read(`${task.id}.txt`, layout.folder), `work of ${task.id}\n`);
        assert.equal(repo.gitIn(layout.folder, 'status', '--porcelain'), '');
      });

      test('mergeTask into a base checked out nowhere lands', async () => {
        const service = await TaskService.open(layout.folder);
        const task = await taskWithCommit(repo, service, 'into develop', 'develop');
        assert.equal((await service.mergeTask(task.id)).merged, true);
        assert.equal(repo.gitIn(layout.folder, 'show', `refs/heads/develop:${task.id}.txt`), `work of ${task.id}\n`);
      });
    });
  }
});

suite('attack G: folders moved with mv, then repaired', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('the whole repository folder moved: repairWorktree at the new place rebinds the task there (git lists it, status works, uncommitted file kept), nothing made at the old place', async () => {
    const task = await service.createTask({ subject: 'moving house', createWorktree: true });
    repo.write('unsaved.txt', 'not committed\n', task.worktreePath);
    const moved = join(dirname(repo.dir), 'moved project');
    renameSync(repo.dir, moved);

    const atNewPlace = await TaskService.open(moved);
    await repairWorktree(atNewPlace, task.id);
    const newPath = join(moved, '.worktrees', task.id);
    assert.equal(existsSync(repo.dir), false, 'no folder recreated at the old place');
    assert.ok(listedWorktrees(repo, moved).includes(newPath), `git lists ${newPath}`);
    assert.equal(repo.gitIn(newPath, 'status', '--porcelain'), '?? unsaved.txt\n');
    assert.equal(repo.read('unsaved.txt', newPath), 'not committed\n');
    assert.equal((await atNewPlace.task(task.id)).worktreePath, newPath);
  });

  /** Moves the task's worktree folder with mv to `to`; returns the task. */
  async function taskMovedTo(to: string): Promise<{ id: string; branch: string; oldPath: string }> {
    const task = await service.createTask({ subject: 'moved by hand', createWorktree: true });
    repo.write('unsaved.txt', 'not committed\n', task.worktreePath);
    mkdirSync(dirname(to), { recursive: true });
    renameSync(task.worktreePath!, to);
    return { id: task.id, branch: task.branch!, oldPath: task.worktreePath! };
  }

  test('a task\'s worktree moved inside the root: repairWorktree({path}) rebinds it there (git lists it, status works, uncommitted file kept), nothing made at the old place', async () => {
    const newPath = join(repo.dir, '.worktrees', 'parked', 'moved-by-hand');
    const task = await taskMovedTo(newPath);
    await repairWorktree(service, task.id, { path: newPath });
    assert.equal(existsSync(task.oldPath), false, 'no folder recreated at the old place');
    assert.ok(listedWorktrees(repo, repo.dir).includes(newPath), `git lists ${newPath}`);
    assert.equal(repo.gitIn(newPath, 'status', '--porcelain'), '?? unsaved.txt\n');
    assert.equal(repo.read('unsaved.txt', newPath), 'not committed\n');
    assert.equal((await service.task(task.id)).worktreePath, newPath);
  });

  test('a task\'s worktree moved inside the root: repairWorktree without a path finds it (one worktree on the branch, at the new place) or refuses with a code changing nothing; never a second folder at the old place', async () => {
    const newPath = join(repo.dir, '.worktrees', 'parked', 'moved-by-hand');
    const task = await taskMovedTo(newPath);
    const before = repo.snapshot();
    let refusal: unknown;
    try {
      await repairWorktree(service, task.id);
    } catch (error) {
      refusal = error;
    }
    assert.equal(existsSync(task.oldPath), false, 'no folder created at the old place');
    assert.equal(repo.read('unsaved.txt', newPath), 'not committed\n');
    if (refusal !== undefined) {
      assert.ok(typeof (refusal as { code?: unknown }).code === 'string', `a refusal has a code: ${String(refusal)}`);
      assert.equal(repo.snapshot(), before, 'the refusal changed nothing');
      return;
    }
    const onBranch = repo
      .git('worktree', 'list', '--porcelain')
      .split('\n\n')
      .filter((entry) => entry.includes(`branch refs/heads/${task.branch}\n`) || entry.endsWith(`branch refs/heads/${task.branch}`));
    assert.equal(onBranch.length, 1, `one worktree has ${task.branch}: ${JSON.stringify(onBranch)}`);
    assert.ok(onBranch[0].startsWith(`worktree ${newPath}\n`), `it is the moved folder: ${onBranch[0]}`);
    assert.equal(repo.gitIn(newPath, 'status', '--porcelain'), '?? unsaved.txt\n');
  });

  test('a task\'s worktree moved outside the root: repairWorktree({path: there}) → InvalidInput, nothing changed, nothing made at the old place', async () => {
    const outside = join(dirname(repo.dir), 'outside the root', 'moved-by-hand');
    const task = await taskMovedTo(outside);
    await refusesUnchanged(repo, () => repairWorktree(service, task.id, { path: outside }), ['InvalidInput']);
    assert.equal(existsSync(task.oldPath), false, 'no folder created at the old place');
    assert.equal(repo.read('unsaved.txt', outside), 'not committed\n');
  });
});

suite('attack K: a newline in the repository path', () => {
  test('createTask works, the store is under that repository\'s git dir, nothing appears in process.cwd()', async () => {
    const repo = new TestRepo();
    const secondLine = `nl-${process.pid}-${Date.now()}`;
    const dir = join(dirname(repo.dir), `first line\n${secondLine}`);
    renameSync(repo.dir, dir);
    const cwdBefore = readdirSync(process.cwd()).sort();
    try {
      const service = await TaskService.open(dir);
      const task = await service.createTask({ subject: 'new line' });
      assert.ok(existsSync(join(dir, '.git', 'task-worktrees', 'tasks', `${task.id}.json`)), 'the task file is in the repository\'s store');
      assert.deepEqual(readdirSync(process.cwd()).sort(), cwdBefore, 'nothing new in the working directory');
    } finally {
      // A core that reads the path's second line as its git dir writes its store there, relative to cwd.
      rmSync(join(process.cwd(), secondLine), { recursive: true, force: true });
      repo.dispose();
    }
  });
});
