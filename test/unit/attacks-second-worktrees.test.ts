import * as assert from 'node:assert/strict';
import { realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TaskService } from '../../src/core/index';
import { commitFile, refusesUnchanged, repairWorktree } from '../fixtures/attackHelpers';
import { bareWithTwoWorktrees, BareWithTwoWorktrees, copyFolder, NESTED_WORKTREE } from '../fixtures/attackSecondSetups';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/**
 * The second outside attack (issue 8) on where worktrees are and what they hold: a worktree nested
 * inside a task's worktree, a bare repository opened in two of its worktrees, a copy of a task's
 * worktree folder beside it, and repairs pointed at the wrong folder.
 */

/** `git worktree list --porcelain` as path → branch (short name, or undefined when detached). */
function worktreeBranches(repo: TestRepo, cwd = repo.dir): Map<string, string | undefined> {
  const listed = new Map<string, string | undefined>();
  for (const block of repo.gitIn(cwd, 'worktree', 'list', '--porcelain').trim().split('\n\n')) {
    const path = /^worktree (.*)$/m.exec(block)![1];
    listed.set(path, /^branch refs\/heads\/(.*)$/m.exec(block)?.[1]);
  }
  return listed;
}

suite('second attack: a worktree nested inside a task\'s worktree', () => {
  let repo: TestRepo;
  let service: TaskService;
  let taskId: string;
  let inner: string;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
    const task = await service.createTask({ subject: 'outer', createWorktree: true });
    taskId = task.id;
    // The habit of the main worktree, repeated inside the task's: .worktrees/ is excluded there too.
    repo.gitIn(task.worktreePath!, 'worktree', 'add', '-q', '-b', 'experiment', '.worktrees/experiment');
    inner = join(task.worktreePath!, '.worktrees', 'experiment');
    repo.write('README.md', 'edited in the inner worktree\n', inner);
    repo.write('untracked.txt', 'new work\n', inner);
  });
  teardown(() => repo.dispose());

  for (const [name, options] of [['no options', undefined], ['{ force: true }', { force: true }]] as const) {
    test(`removeWorktree with ${name} → NestedWorktree, nothing changed, the inner worktree's changed and untracked files intact`, async () => {
      await refusesUnchanged(repo, () => service.removeWorktree(taskId, options), [NESTED_WORKTREE]);
      assert.equal(repo.read('README.md', inner), 'edited in the inner worktree\n');
      assert.equal(repo.read('untracked.txt', inner), 'new work\n');
    });
  }
});

suite('second attack: a bare repository opened in two of its worktrees (r.git, main/, dev/)', () => {
  let repo: TestRepo;
  let layout: BareWithTwoWorktrees;
  let inMain: TaskService;
  let inDev: TaskService;

  setup(async () => {
    repo = new TestRepo();
    layout = bareWithTwoWorktrees(repo);
    inMain = await TaskService.open(layout.main);
    inDev = await TaskService.open(layout.dev);
  });
  teardown(() => repo.dispose());

  test('a task created from main/ and one from dev/ both get <folder of r.git>/.worktrees/<id>; worktreePathFor agrees in both services', async () => {
    const fromMain = await inMain.createTask({ subject: 'from main', createWorktree: true });
    const fromDev = await inDev.createTask({ subject: 'from dev', createWorktree: true });
    const root = join(realpathSync(layout.parent), '.worktrees');
    assert.equal(realpathSync(fromMain.worktreePath!), join(root, fromMain.id));
    assert.equal(realpathSync(fromDev.worktreePath!), join(root, fromDev.id));
    for (const id of [fromMain.id, fromDev.id]) assert.equal(inMain.worktreePathFor(id), inDev.worktreePathFor(id), `both services place ${id} alike`);
  });

  test('neither service lists a task worktree made by the other as unassigned', async () => {
    const fromMain = await inMain.createTask({ subject: 'from main', createWorktree: true });
    const fromDev = await inDev.createTask({ subject: 'from dev', createWorktree: true });
    const unassignedIn = async (service: TaskService): Promise<string[]> => (await service.board()).unassigned.map((entry) => realpathSync(entry.path));
    assert.ok(!(await unassignedIn(inDev)).includes(realpathSync(fromMain.worktreePath!)), 'dev/ does not offer the task worktree made from main/');
    assert.ok(!(await unassignedIn(inMain)).includes(realpathSync(fromDev.worktreePath!)), 'main/ does not offer the task worktree made from dev/');
  });
});

suite('second attack: a copy of a task\'s worktree folder inside the root', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('cp -a .worktrees/x .worktrees/x.bak, original in place: prune leaves git\'s record on the original, the task bound to it, its uncommitted file seen by git status there', async () => {
    const task = await service.createTask({ subject: 'x', createWorktree: true });
    const original = task.worktreePath!;
    commitFile(repo, original, 'x1.txt', '1\n');
    copyFolder(original, `${original}.bak`);
    repo.write('wip.txt', 'the agent keeps working here\n', original);

    await service.prune();

    const listed = worktreeBranches(repo);
    assert.equal(listed.get(original), task.branch, `git lists the original on ${task.branch}`);
    assert.ok(!listed.has(`${original}.bak`), 'git does not list the copy');
    assert.equal((await service.task(task.id)).worktreePath, original);
    assert.equal(repo.gitIn(original, 'status', '--porcelain'), '?? wip.txt\n');
  });
});

suite('second attack: repairWorktree({path}) pointed at the wrong folder', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('a task whose worktree is present, path = its own worktree → InvalidInput, nothing changed, its record unchanged', async () => {
    const task = await service.createTask({ subject: 'present', createWorktree: true });
    await refusesUnchanged(repo, () => repairWorktree(service, task.id, { path: task.worktreePath! }), ['InvalidInput']);
    assert.deepEqual(await service.task(task.id), task);
  });

  test('a task whose worktree is present, path = a copy of it in the root → InvalidInput, nothing changed, its record unchanged', async () => {
    const task = await service.createTask({ subject: 'present', createWorktree: true });
    const copy = join(repo.dir, '.worktrees', 'present-copy');
    copyFolder(task.worktreePath!, copy);
    await refusesUnchanged(repo, () => repairWorktree(service, task.id, { path: copy }), ['InvalidInput']);
    assert.deepEqual(await service.task(task.id), task);
  });

  test('task "other" lost its folder, path = a copy of task x\'s worktree → InvalidInput or WorktreeAssigned, nothing changed, "other" not bound there, x\'s record and git record unchanged', async () => {
    const x = await service.createTask({ subject: 'x', createWorktree: true });
    const other = await service.createTask({ subject: 'other', createWorktree: true });
    commitFile(repo, x.worktreePath!, 'x1.txt', '1\n');
    rmSync(other.worktreePath!, { recursive: true });
    const restored = join(repo.dir, '.worktrees', 'restored');
    copyFolder(x.worktreePath!, restored);

    await refusesUnchanged(repo, () => repairWorktree(service, other.id, { path: restored }), ['InvalidInput', 'WorktreeAssigned']);

    const otherNow = await service.task(other.id);
    assert.notEqual(otherNow.worktreePath, restored, '"other" is not bound to the copy');
    assert.equal(otherNow.branch, other.branch, '"other" keeps its own branch');
    assert.deepEqual(await service.task(x.id), x);
    assert.equal(worktreeBranches(repo).get(x.worktreePath!), x.branch, 'git still lists x at its own folder');
  });
});
