import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Task, TaskService } from '../../src/core';
import { worktreeAt } from '../../src/core/board';
import { parseWorktreeList, WorktreeEntry } from '../../src/core/git/porcelain';
import { RefFileCache, STABLE_MS } from '../../src/core/git/refFiles';
import { readWorktreesUsing } from '../../src/core/git/worktreeFiles';
import { branchesInUse } from '../../src/core/safety';
import { TestRepo } from '../fixtures/repo';

/** Longer than the cache's rule (a file must have been unchanged for STABLE_MS before it is kept). */
const settle = (): Promise<void> => new Promise((done) => setTimeout(done, STABLE_MS + 100));

/**
 * Attacks on the merge's worktree scan and its file cache (RefFileCache): after a scan that kept
 * every settled HEAD and branch file, the repository is changed behind the cache's back, and the
 * next scan must still say what `git worktree list` says (or leave the answer to git).
 */
suite('attacks (seventh): the worktree scan\'s file cache', () => {
  let repo: TestRepo;
  let main: string;
  let common: string;
  let cache: RefFileCache;
  const sibling = (name: string): string => join(dirname(main), name);
  const adminDir = (id: string): string => join(common, 'worktrees', id);

  setup(() => {
    repo = new TestRepo();
    main = realpathSync(repo.dir);
    common = join(main, '.git');
    cache = new RefFileCache();
    // "side" is as long a name as "main": a HEAD switched between them keeps its size.
    repo.git('branch', 'side');
    repo.git('checkout', '-q', '--detach'); // the base is checked out nowhere unless a test says so
  });
  teardown(() => repo.dispose());

  /** Tasks made while the base is checked out (they start from it), each with a commit; then the base is checked out nowhere. */
  async function committedTasks(service: TaskService, subjects: string[]): Promise<Task[]> {
    repo.git('checkout', '-q', 'main');
    const tasks: Task[] = [];
    for (const subject of subjects) {
      const task = await service.createTask({ subject, createWorktree: true });
      repo.write(`${subject}.txt`, `${subject}\n`, task.worktreePath);
      repo.commitAll(subject, task.worktreePath);
      tasks.push(task);
    }
    repo.git('checkout', '-q', '--detach');
    return tasks;
  }

  function fromGit(): WorktreeEntry[] {
    const entries = parseWorktreeList(repo.git('worktree', 'list', '--porcelain', '-z'));
    entries[0] = { ...entries[0], path: main };
    return entries;
  }

  /** Two scans with the cache, the second answered from it: what follows happens behind a kept scan. */
  async function keptScan(branch = 'main', path?: string): Promise<void> {
    await settle();
    assert.ok(await readWorktreesUsing(common, main, branch, path, cache), 'the files answer before the attack');
    const reads = cache.reads;
    assert.ok(await readWorktreesUsing(common, main, branch, path, cache));
    assert.equal(cache.reads, reads, 'the second scan was answered from the cache');
  }

  /** The scan (with the cache) answers, and says where `branch` is in use and what is at `path` as git does. */
  async function assertScanIsGits(branch: string, path?: string): Promise<WorktreeEntry[]> {
    const files = await readWorktreesUsing(common, main, branch, path, cache);
    assert.ok(files, `the files answer (${branch}, ${path})`);
    const git = fromGit();
    assert.deepEqual(branchesInUse(files).get(branch), branchesInUse(git).get(branch), `where ${branch} is in use`);
    if (path) assert.deepEqual(worktreeAt(files, path), worktreeAt(git, path), `the entry at ${path}`);
    return files;
  }

  /** What the merge would act on: the scan's answer, or git's list when the scan leaves it to git. */
  async function mergesView(branch: string, path?: string): Promise<WorktreeEntry[]> {
    return (await readWorktreesUsing(common, main, branch, path, cache)) ?? fromGit();
  }

  test('a worktree removed and added again under the same name, on the base, its HEAD the same size with its old modification time', async () => {
    const worktree = sibling('w');
    repo.git('worktree', 'add', '-q', worktree, 'side');
    const head = join(adminDir('w'), 'HEAD');
    const before = statSync(head);
    await keptScan('main', worktree);

    const times = keepTimes(head, sibling('times'));
    repo.git('worktree', 'remove', worktree);
    repo.git('worktree', 'add', '-q', worktree, 'main');
    times.restore(head); // only the change time can tell the new HEAD from the old
    assert.equal(statSync(head).size, before.size);
    assert.equal(statSync(head).mtimeMs, before.mtimeMs);
    const files = await assertScanIsGits('main', worktree);
    assert.equal(branchesInUse(files).get('main')?.path, worktree);
  });

  test('a HEAD deleted and written again at once (the inode likely reused), same size, old modification time', async () => {
    const worktree = sibling('w');
    repo.git('worktree', 'add', '-q', worktree, 'side');
    const head = join(adminDir('w'), 'HEAD');
    const before = statSync(head);
    await keptScan();

    const times = keepTimes(head, sibling('times'));
    unlinkSync(head);
    writeFileSync(head, 'ref: refs/heads/main\n');
    times.restore(head);
    assert.deepEqual([statSync(head).size, statSync(head).mtimeMs], [before.size, before.mtimeMs]);
    assert.equal(branchesInUse((await assertScanIsGits('main', worktree))).get('main')?.path, worktree);
  });

  test('two worktrees\' records swapped by renaming their folders (each worktree\'s .git pointed at its record\'s new name)', async () => {
    repo.git('worktree', 'add', '-q', sibling('a'), 'main');
    repo.git('worktree', 'add', '-q', '--detach', sibling('b'));
    await keptScan('main', sibling('b'));

    renameSync(adminDir('a'), adminDir('swap'));
    renameSync(adminDir('b'), adminDir('a'));
    renameSync(adminDir('swap'), adminDir('b'));
    writeFileSync(join(sibling('a'), '.git'), `gitdir: ${adminDir('b')}\n`);
    writeFileSync(join(sibling('b'), '.git'), `gitdir: ${adminDir('a')}\n`);
    assert.equal(repo.gitIn(sibling('a'), 'symbolic-ref', 'HEAD').trim(), 'refs/heads/main', 'git still sees a on main');
    for (const path of [undefined, sibling('a'), sibling('b')]) await assertScanIsGits('main', path);
    assert.equal(branchesInUse((await mergesView('main')))?.get('main')?.path, sibling('a'));
  });

  test('a HEAD replaced by a link to a file on the base, or by a folder, after a kept scan: the scan leaves it to git', async () => {
    const worktree = sibling('w');
    repo.git('worktree', 'add', '-q', worktree, 'side');
    const head = join(adminDir('w'), 'HEAD');
    await keptScan();

    const elsewhere = join(dirname(main), 'HEAD-elsewhere');
    writeFileSync(elsewhere, 'ref: refs/heads/main\n');
    renameSync(head, `${head}.old`);
    symlinkSync(elsewhere, head);
    assert.equal(await readWorktreesUsing(common, main, 'main', undefined, cache), undefined, 'a linked HEAD: git says');

    unlinkSync(head);
    mkdirSync(head);
    assert.equal(await readWorktreesUsing(common, main, 'main', undefined, cache), undefined, 'a folder for a HEAD: git says');
    rmSync(head, { recursive: true });
    renameSync(`${head}.old`, head);
    await assertScanIsGits('main', worktree);
  });

  test('a kept worktree then detached by a rebase of the base that stops, or by a bisect of it: the base is in use there', async () => {
    const worktree = sibling('w');
    repo.git('worktree', 'add', '-q', worktree, 'side');
    repo.git('branch', 'topic');
    repo.write('README.md', 'topic\n', worktree);
    repo.gitIn(worktree, 'checkout', '-q', 'topic');
    repo.commitAll('topic changes the readme', worktree);
    repo.gitIn(worktree, 'checkout', '-q', 'side');
    repo.git('checkout', '-q', 'main');
    for (const step of ['one', 'two']) {
      repo.write(`${step}.txt`, `${step}\n`);
      repo.commitAll(step); // a bisect with steps to take
    }
    repo.write('README.md', 'main\n');
    repo.commitAll('main changes the readme');
    repo.git('checkout', '-q', '--detach');
    await keptScan('main', worktree);

    repo.gitIn(worktree, 'checkout', '-q', 'main');
    assert.throws(() => repo.gitIn(worktree, 'rebase', 'topic'), 'the rebase stops on its conflict');
    const rebasing = branchesInUse(await assertScanIsGits('main', worktree)).get('main');
    assert.equal(rebasing?.path, worktree);
    assert.equal(rebasing?.branch, undefined, 'rebased, not checked out: the merge refuses');
    repo.gitIn(worktree, 'rebase', '--abort');
    repo.gitIn(worktree, 'checkout', '-q', 'side');
    await keptScan('main', worktree);

    repo.gitIn(worktree, 'checkout', '-q', 'main');
    repo.gitIn(worktree, 'bisect', 'start', 'HEAD', 'HEAD~3');
    const bisecting = branchesInUse(await assertScanIsGits('main', worktree)).get('main');
    assert.equal(bisecting?.path, worktree);
    assert.equal(bisecting?.branch, undefined);
  });

  test('branches packed after a kept scan, then a packed branch made another name of the base', async () => {
    const worktree = sibling('w');
    repo.git('worktree', 'add', '-q', worktree, 'side');
    await keptScan();

    repo.git('pack-refs', '--all');
    assert.equal(lstatSync(join(common, 'refs', 'heads', 'side'), { throwIfNoEntry: false }), undefined, 'no loose file left');
    await assertScanIsGits('main', worktree);
    await keptScan();
    repo.git('symbolic-ref', 'refs/heads/side', 'refs/heads/main');
    assert.equal(branchesInUse(await mergesView('main')).get('main')?.path, worktree, 'git: the worktree on the alias has the base');
  });

  test('a branch file turned into another name of the base in place (same inode, same size, old modification time)', async () => {
    const worktree = sibling('w');
    repo.git('worktree', 'add', '-q', worktree, 'side');
    const file = join(common, 'refs', 'heads', 'side');
    const before = statSync(file);
    await keptScan();

    const times = keepTimes(file, sibling('times'));
    writeFileSync(file, `${'ref: refs/heads/main'.padEnd(before.size - 1, ' ')}\n`);
    times.restore(file);
    const after = statSync(file);
    assert.deepEqual([after.ino, after.size, after.mtimeMs], [before.ino, before.size, before.mtimeMs], 'only the change time differs');
    assert.equal(repo.git('rev-parse', '--symbolic-full-name', 'side').trim(), 'refs/heads/main', 'git reads it as an alias');
    assert.equal(await readWorktreesUsing(common, main, 'main', undefined, cache), undefined, 'an alias: git says');
    assert.equal(branchesInUse(await mergesView('main')).get('main')?.path, worktree);
  });

  test('`git worktree move` after a kept scan: the base and the entry are at the new place', async () => {
    repo.git('worktree', 'add', '-q', sibling('before'), 'main');
    await keptScan('main', sibling('before'));

    repo.git('worktree', 'move', sibling('before'), sibling('after'));
    assert.equal(await readWorktreesUsing(common, main, 'main', sibling('before'), cache), undefined, 'nothing at the old place: git says');
    const files = await assertScanIsGits('main', sibling('after'));
    assert.equal(branchesInUse(files).get('main')?.path, sibling('after'));
  });

  test('the repository moved away and another, settled, moved into its place (a worktree of the same name, on the base)', async () => {
    const other = new TestRepo();
    try {
      other.git('branch', 'side');
      other.git('checkout', '-q', '--detach');
      const otherMain = realpathSync(other.dir);
      other.git('worktree', 'add', '-q', join(dirname(otherMain), 'w'), 'main');
      repo.git('worktree', 'add', '-q', sibling('w'), 'side');
      await keptScan(); // both repositories' files are now settled
      const otherBase = other.oid('main');

      renameSync(main, `${main}-moved`);
      renameSync(otherMain, main);
      const files = await readWorktreesUsing(common, main, 'main', undefined, cache);
      assert.ok(files);
      assert.equal(branchesInUse(files).get('main')?.path, join(dirname(otherMain), 'w'), 'the other repository\'s worktree has its base');
      assert.equal(branchesInUse(files).get('main')?.head, otherBase);
    } finally {
      other.dispose();
    }
  });

  test('two windows on one repository: the base checked out by hand after both merged, then each merges there', async () => {
    const first = await TaskService.open(repo.dir);
    const second = await TaskService.open(repo.dir);
    const tasks = await committedTasks(first, ['one', 'two', 'three', 'four']);
    const bystander = sibling('bystander');
    repo.git('worktree', 'add', '-q', bystander, 'side');
    await settle();
    assert.equal((await first.mergeTask(tasks[0].id)).merged, true);
    assert.equal((await second.mergeTask(tasks[1].id)).merged, true);

    repo.gitIn(bystander, 'checkout', '-q', 'main');
    for (const [service, task] of [[first, tasks[2]], [second, tasks[3]]] as const) {
      assert.equal((await service.mergeTask(task.id)).merged, true);
      assert.equal(repo.gitIn(bystander, 'rev-parse', 'HEAD').trim(), repo.oid('main'), 'the worktree that has the base moved with it');
      assert.equal(repo.gitIn(bystander, 'status', '--porcelain').trim(), '', 'and its files are the merge\'s');
    }
  });

  test('a merge after the base started a rebase in a kept worktree refuses, leaving the base where it was', async () => {
    const service = await TaskService.open(repo.dir);
    const tasks = await committedTasks(service, ['one', 'two']);
    const bystander = sibling('bystander');
    repo.git('worktree', 'add', '-q', bystander, 'side');
    repo.write('README.md', 'side\n', bystander);
    repo.commitAll('side changes the readme', bystander);
    await settle();
    assert.equal((await service.mergeTask(tasks[0].id)).merged, true);

    repo.gitIn(bystander, 'checkout', '-q', 'main');
    repo.write('README.md', 'main\n', bystander);
    repo.commitAll('main changes the readme', bystander);
    assert.throws(() => repo.gitIn(bystander, 'rebase', 'side'), 'the rebase stops on its conflict');
    const base = repo.oid('main');
    await assert.rejects(service.mergeTask(tasks[1].id), { code: 'OperationInProgress' });
    assert.equal(repo.oid('main'), base, 'the base did not move under the rebase');
  });

  test('a task worktree detached with a commit on it after a kept scan: the merge sees the work a detached HEAD holds', async () => {
    const service = await TaskService.open(repo.dir);
    const tasks = await committedTasks(service, ['one', 'two']);
    await settle();
    assert.equal((await service.mergeTask(tasks[0].id)).merged, true);

    const path = tasks[1].worktreePath!;
    repo.gitIn(path, 'checkout', '-q', '--detach');
    repo.write('detached.txt', 'only on the detached HEAD\n', path);
    repo.commitAll('work on a detached HEAD', path);
    await assert.rejects(service.mergeTask(tasks[1].id), { code: 'WorktreeDirty' });
  });

  test('a HEAD or a branch file that is a named pipe: the reads give an answer (or leave it to git) instead of blocking the process', async () => {
    const worktree = sibling('w');
    repo.git('worktree', 'add', '-q', worktree, 'side');
    const head = join(adminDir('w'), 'HEAD');
    unlinkSync(head);
    assert.equal(spawnSync('mkfifo', [head]).status, 0);
    assert.equal(spawnSync('mkfifo', [join(common, 'refs', 'heads', 'piped')]).status, 0);
    // In a child: a read that blocks would block this process too, and no test timeout could end it.
    const script = [
      `const { readWorktreesUsing } = require(${JSON.stringify(resolve(__dirname, '../../src/core/git/worktreeFiles'))});`,
      `const { RefFileCache, readBranchOids } = require(${JSON.stringify(resolve(__dirname, '../../src/core/git/refFiles'))});`,
      'const said = (r) => (r === undefined ? \'left to git\' : \'answered\');',
      `const scan = (cache) => readWorktreesUsing(${JSON.stringify(common)}, ${JSON.stringify(main)}, 'main', undefined, cache);`,
      `Promise.all([scan(new RefFileCache()), scan(undefined)]).then(([cached, plain]) => console.log([said(cached), said(plain), said(readBranchOids(${JSON.stringify(common)}, ['piped']))].join(',')));`,
    ].join('\n');
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(child.signal, null, 'the reads returned (they were not stopped while blocked on a pipe)');
    assert.equal(child.stdout.trim(), 'left to git,left to git,left to git', 'the scan with and without the cache, and the branch commits');
  });
});

/** A file's access and modification times, to the nanosecond (`touch -r`, kept on `reference`; JS numbers lose the last digits). */
function keepTimes(file: string, reference: string): { restore(to: string): void } {
  execFileSync('touch', ['-r', file, reference]);
  return {
    restore(to: string): void {
      execFileSync('touch', ['-r', reference, to]);
      unlinkSync(reference);
    },
  };
}
