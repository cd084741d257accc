import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TaskService } from '../../src/core';
import { parseWorktreeList, WorktreeEntry } from '../../src/core/git/porcelain';
import { readWorktreesUsing } from '../../src/core/git/worktreeFiles';
import { branchesInUse } from '../../src/core/safety';
import { Task } from '../../src/core/tasks/model';
import { taskWithCommit, TestRepo } from '../fixtures/repo';

/**
 * The task merged, and the worktree that has its base checked out followed: clean, with the task's
 * file (a ref moved under a worktree leaves the merge's changes staged in reverse there, and no file).
 */
async function assertMergedAndFollowed(service: TaskService, task: Task, worktree: string): Promise<void> {
  assert.equal((await service.mergeTask(task.id)).merged, true);
  assert.equal(execFileSync('git', ['status', '--porcelain'], { cwd: worktree, encoding: 'utf8' }).trim(), '', `${worktree} is left clean`);
  assert.equal(readFileSync(join(worktree, 'work.txt'), 'utf8'), 'work\n');
}

/**
 * A branch can be a symbolic ref to another (`git symbolic-ref refs/heads/master refs/heads/main`,
 * kept by many repositories after a rename). A worktree with the alias checked out has the target
 * checked out: `git worktree list` resolves HEAD through every symbolic ref and lists the target.
 */
suite('attacks (fifth): a base checked out through a symbolic-ref branch', () => {
  let repo: TestRepo;
  let main: string;
  const linked = (name: string): string => join(dirname(main), name);

  setup(() => {
    repo = new TestRepo();
    main = realpathSync(repo.dir);
    repo.git('branch', 'integration');
    repo.git('symbolic-ref', 'refs/heads/integration-alias', 'refs/heads/integration');
  });
  teardown(() => repo.dispose());

  function fromGit(): WorktreeEntry[] {
    const entries = parseWorktreeList(repo.git('worktree', 'list', '--porcelain', '-z'));
    entries[0] = { ...entries[0], path: main };
    return entries;
  }

  test('a linked worktree on an alias of the branch: the files name the same worktree as git, or leave it to git', async () => {
    repo.git('worktree', 'add', '-q', linked('on alias'), 'integration-alias');
    assert.equal(branchesInUse(fromGit()).get('integration')?.path, linked('on alias'), 'git lists the alias\'s target');
    const files = (await readWorktreesUsing(join(main, '.git'), main, 'integration'));
    if (files) assert.deepEqual(branchesInUse(files).get('integration'), branchesInUse(fromGit()).get('integration'));
  });

  test('the main worktree on an alias of the branch (master -> main): the files name the same worktree as git, or leave it to git', async () => {
    repo.git('symbolic-ref', 'refs/heads/master', 'refs/heads/main');
    repo.git('symbolic-ref', 'HEAD', 'refs/heads/master');
    assert.equal(branchesInUse(fromGit()).get('main')?.path, main, 'git lists main as checked out in the main worktree');
    const files = (await readWorktreesUsing(join(main, '.git'), main, 'main'));
    if (files) assert.deepEqual(branchesInUse(files).get('main'), branchesInUse(fromGit()).get('main'));
  });

  test('merging into a base checked out through an alias in a linked worktree: that worktree follows (clean, has the task\'s file)', async () => {
    const other = linked('on alias');
    repo.git('worktree', 'add', '-q', other, 'integration-alias');
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'through alias', 'work.txt', 'work\n', 'integration');
    await assertMergedAndFollowed(service, task, other);
    assert.equal(repo.gitIn(other, 'rev-parse', 'HEAD').trim(), repo.oid('integration'));
  });

  test('merging into main while the main worktree is on master (a symbolic ref to main): the main worktree follows (clean, has the task\'s file)', async () => {
    repo.git('symbolic-ref', 'refs/heads/master', 'refs/heads/main');
    repo.git('symbolic-ref', 'HEAD', 'refs/heads/master');
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'into main', 'work.txt', 'work\n', 'main');
    await assertMergedAndFollowed(service, task, repo.dir);
  });
});

suite('attacks (fifth): a base that is itself a symbolic ref', () => {
  let repo: TestRepo;
  setup(() => {
    repo = new TestRepo();
    // `master` kept as an alias of `main`, which the main worktree has checked out.
    repo.git('symbolic-ref', 'refs/heads/master', 'refs/heads/main');
  });
  teardown(() => repo.dispose());

  test('merging into master (an alias of main, checked out in the main worktree): either refused or the main worktree follows; it is never left behind its branch', async () => {
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'into the alias', 'work.txt', 'work\n', 'master');
    const before = repo.oid('main');
    const outcome = await service.mergeTask(task.id).then(
      (result) => result.merged,
      () => false,
    );
    if (!outcome) assert.equal(repo.oid('main'), before, 'a refused merge moves nothing');
    assert.equal(repo.git('status', '--porcelain').trim(), '', 'the main worktree is left clean');
  });
});

/**
 * git still reads a HEAD that is a symbolic link (`core.preferSymlinkRefs`, or a repository made by
 * an old git): a link to refs/heads/<branch> is that branch checked out, not a detached HEAD.
 */
suite('attacks (fifth): a main worktree whose HEAD is a symbolic link', () => {
  let repo: TestRepo;
  let main: string;
  setup(() => {
    repo = new TestRepo();
    main = realpathSync(repo.dir);
    repo.git('-c', 'core.preferSymlinkRefs=true', 'symbolic-ref', 'HEAD', 'refs/heads/main');
  });
  teardown(() => repo.dispose());

  test('HEAD -> refs/heads/main (a link): the files name the main worktree as git does, or leave it to git', async () => {
    const git = parseWorktreeList(repo.git('worktree', 'list', '--porcelain', '-z'));
    assert.equal(git[0].branch, 'main', 'git lists main checked out');
    const files = (await readWorktreesUsing(join(main, '.git'), main, 'main'));
    if (files) assert.equal(branchesInUse(files).get('main')?.path, main);
  });

  test('merging into main with HEAD a link to it: the main worktree follows (clean, has the task\'s file)', async () => {
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'linked head', 'work.txt', 'work\n', 'main');
    await assertMergedAndFollowed(service, task, repo.dir);
  });
});

suite('attacks (fifth): the started ref update and the process limit', () => {
  let repo: TestRepo;
  setup(() => {
    repo = new TestRepo();
    repo.git('branch', 'integration');
  });
  teardown(() => repo.dispose());

  /** The merge's outcome, or 'hung' when it has not settled after `ms` (no git process left waiting on a slot it holds). */
  async function settledWithin<T>(work: Promise<T>, ms: number): Promise<T | 'hung'> {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
    try {
      return await Promise.race([work, hung]);
    } finally {
      clearTimeout(timer);
    }
  }

  test('with one git process at a time (maxConcurrentProcesses: 1) a merge into a base checked out nowhere still lands', async () => {
    const service = await TaskService.open(repo.dir, {}, { maxConcurrentProcesses: 1 });
    const task = await taskWithCommit(repo, service, 'one slot', 'work.txt', 'work\n', 'integration');
    const merging = service.mergeTask(task.id);
    merging.catch(() => undefined);
    const outcome = await settledWithin(merging, 30_000);
    if (outcome === 'hung') {
      // This process's own waiting `git update-ref` (by pid), ended so that the run can finish.
      for (const line of execFileSync('ps', ['--ppid', String(process.pid), '-o', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
        if (line.includes('update-ref')) process.kill(Number(line.trim().split(' ')[0]));
      }
      await merging.catch(() => undefined);
    }
    assert.notEqual(outcome, 'hung', 'the merge waits forever: the started update-ref holds the only slot');
    assert.equal(outcome === 'hung' ? undefined : outcome.merged, true);
    assert.equal(repo.read('work.txt', task.worktreePath!), 'work\n');
    assert.equal(repo.git('show', 'integration:work.txt'), 'work\n');
  });
});

/**
 * `git replace` makes git read another commit in place of one: merge-tree and rev-parse see the
 * replacement. The base's tree read from the base's own loose object file does not.
 */
suite('attacks (fifth): a base commit replaced with `git replace`', () => {
  let repo: TestRepo;
  setup(() => {
    repo = new TestRepo();
    repo.git('branch', 'integration');
  });
  teardown(() => repo.dispose());

  test('a squash whose result differs from the base as git reads it (replaced) lands; it is not "nothing to merge"', async () => {
    const base = repo.oid('integration');
    // The replacement: the base without src/file-1.txt.
    repo.git('read-tree', base);
    repo.git('rm', '-q', '--cached', 'src/file-1.txt');
    const replacementTree = repo.git('write-tree').trim();
    repo.git('read-tree', 'HEAD');
    const replacement = repo.git('commit-tree', replacementTree, '-m', 'replacement').trim();
    repo.git('replace', base, replacement);
    const service = await TaskService.open(repo.dir);
    const task = await service.createWorktree((await service.createTask({ subject: 'restores a file', baseBranch: 'integration' })).id);
    // git checked the replacement out: the task brings the file back (the base's own tree, as it happens).
    repo.write('src/file-1.txt', 'line 1\n', task.worktreePath!);
    repo.commitAll('bring file-1 back', task.worktreePath!);
    assert.notEqual(repo.git('rev-parse', 'integration^{tree}').trim(), repo.git('rev-parse', `${task.branch}^{tree}`).trim(), 'git sees a change to land');
    const result = await service.mergeTask(task.id, { strategy: 'squash' });
    assert.equal(result.nothingToMerge, undefined, 'reported as nothing to merge');
    assert.notEqual(repo.oid('integration'), base, 'the squash landed');
    assert.equal(repo.git('show', 'integration:src/file-1.txt'), 'line 1\n');
  });
});

suite('attacks (fifth): hand-written HEAD forms git still reads as the branch', () => {
  let repo: TestRepo;
  let main: string;
  setup(() => {
    repo = new TestRepo();
    main = realpathSync(repo.dir);
    repo.git('branch', 'integration');
    repo.git('branch', 'parking');
  });
  teardown(() => repo.dispose());

  test('ref: without a space, with a tab, two spaces, trailing spaces, CRLF: where integration is in use, the files agree with git or leave it to git', async () => {
    const other = join(dirname(main), 'hand written');
    repo.git('worktree', 'add', '-q', other, 'parking');
    const headFile = join(repo.gitIn(other, 'rev-parse', '--absolute-git-dir').trim(), 'HEAD');
    for (const form of ['ref:refs/heads/integration\n', 'ref:\trefs/heads/integration\n', 'ref:  refs/heads/integration\n', 'ref: refs/heads/integration   \n', 'ref: refs/heads/integration\r\n']) {
      writeFileSync(headFile, form);
      const git = parseWorktreeList(repo.git('worktree', 'list', '--porcelain', '-z'));
      assert.equal(branchesInUse(git).get('integration')?.path, other, `git reads ${JSON.stringify(form)} as integration`);
      const files = (await readWorktreesUsing(join(main, '.git'), main, 'integration'));
      if (files) assert.equal(branchesInUse(files).get('integration')?.path, other, JSON.stringify(form));
    }
  });
});

suite('attacks (fifth): merges racing from two services, and no git left behind', () => {
  let repo: TestRepo;
  setup(() => {
    repo = new TestRepo();
    repo.git('branch', 'integration');
  });
  teardown(() => repo.dispose());

  /** This process's git children still running (after a short while for exits to be reaped). */
  async function gitChildren(): Promise<string[]> {
    let found: string[] = [];
    for (let tries = 0; tries < 50; tries++) {
      found = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'args='], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => /\bgit\b/.test(line) && !line.includes('<defunct>'));
      if (found.length === 0) return found;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return found;
  }

  test('two services merge two tasks into one base at once: each merge that says it landed is on the base, none is lost, and no git process is left', async () => {
    const first = await TaskService.open(repo.dir);
    const second = await TaskService.open(repo.dir);
    const tasks = [];
    for (const name of ['one', 'two']) {
      const task = await first.createWorktree((await first.createTask({ subject: name, baseBranch: 'integration' })).id);
      repo.write(`${name}.txt`, `${name}\n`, task.worktreePath!);
      repo.commitAll(name, task.worktreePath!);
      tasks.push(task);
    }
    const outcomes = await Promise.allSettled([first.mergeTask(tasks[0].id), second.mergeTask(tasks[1].id)]);
    for (const [index, outcome] of outcomes.entries()) {
      const name = index === 0 ? 'one' : 'two';
      if (outcome.status === 'fulfilled' && outcome.value.merged) {
        assert.equal(repo.git('show', `integration:${name}.txt`), `${name}\n`, `${name} said it landed`);
      } else if (outcome.status === 'rejected') {
        assert.ok((outcome.reason as { code?: string }).code, `a coded refusal, not ${String(outcome.reason)}`);
      }
    }
    assert.ok(outcomes.some((outcome) => outcome.status === 'fulfilled' && outcome.value.merged), 'at least one landed');
    assert.deepEqual(await gitChildren(), []);
  });

  test('eight merges in a row (landed, refused as dirty, conflicting): no git process is left after any of them', async () => {
    const service = await TaskService.open(repo.dir);
    for (let round = 0; round < 8; round++) {
      const task = await service.createWorktree((await service.createTask({ subject: `round ${round}`, baseBranch: 'integration' })).id);
      repo.write(round % 3 === 2 ? 'shared.txt' : `r${round}.txt`, `round ${round}\n`, task.worktreePath!);
      repo.commitAll(`round ${round}`, task.worktreePath!);
      if (round % 3 === 1) repo.write('dirty.txt', 'not committed\n', task.worktreePath!);
      const before = repo.oid('integration');
      const result = await service.mergeTask(task.id).catch((error: { code?: string }) => error.code);
      if (round % 3 === 1) {
        assert.equal(result, 'WorktreeDirty');
        assert.equal(repo.oid('integration'), before);
      }
      assert.deepEqual(await gitChildren(), [], `round ${round}`);
    }
  });
});

suite('attacks (fifth): a dirty task worktree reached through a symbolic link', () => {
  let repo: TestRepo;
  let outside: string;
  setup(() => {
    repo = new TestRepo();
    repo.git('branch', 'integration');
    outside = mkdtempSync(join(tmpdir(), 'tw-attack5-'));
    mkdirSync(join(outside, 'real'));
    symlinkSync(join(outside, 'real'), join(outside, 'link'));
  });
  teardown(() => {
    repo.dispose();
    rmSync(outside, { recursive: true, force: true });
  });

  test('worktrees under a root that is a symbolic link: uncommitted work in the task refuses the merge (WorktreeDirty), the base stays', async () => {
    const service = await TaskService.open(repo.dir, { worktreeRoot: join(outside, 'link') });
    const task = await taskWithCommit(repo, service, 'via link', 'work.txt', 'work\n', 'integration');
    repo.write('uncommitted.txt', 'not yet\n', task.worktreePath!);
    const before = repo.oid('integration');
    const refusal = await service.mergeTask(task.id).then(
      () => undefined,
      (error: { code?: string }) => error.code,
    );
    assert.equal(refusal, 'WorktreeDirty');
    assert.equal(repo.oid('integration'), before);
  });
});

suite('attacks (fifth): two worktree folders swapped by hand (no `git worktree repair`)', () => {
  let repo: TestRepo;
  let main: string;
  setup(() => {
    repo = new TestRepo();
    main = realpathSync(repo.dir);
    repo.git('branch', 'one');
    repo.git('branch', 'two');
  });
  teardown(() => repo.dispose());

  test('the entry at a swapped path: the files give git\'s entry there, or leave it to git', async () => {
    const [one, two, parked] = ['wt one', 'wt two', 'parked'].map((name) => join(dirname(main), name));
    repo.git('worktree', 'add', '-q', one, 'one');
    repo.git('worktree', 'add', '-q', two, 'two');
    renameSync(one, parked);
    renameSync(two, one);
    renameSync(parked, two);
    const git = parseWorktreeList(repo.git('worktree', 'list', '--porcelain', '-z'));
    assert.equal(git.find((entry) => entry.path === one)?.branch, 'one', 'git lists the record of "wt one" at its path');
    const files = (await readWorktreesUsing(join(main, '.git'), main, 'main', one));
    if (files) assert.deepEqual(files.find((entry) => entry.path === one), git.find((entry) => entry.path === one));
  });

  test('merging a task whose folder was swapped with another task\'s, with uncommitted work at the task\'s path: refused (WorktreeDirty) as with git\'s list, the base stays', async () => {
    const service = await TaskService.open(repo.dir);
    const tasks = [];
    for (const name of ['first', 'second']) {
      const task = await service.createWorktree((await service.createTask({ subject: name, baseBranch: 'one' })).id);
      repo.write(`${name}.txt`, `${name}\n`, task.worktreePath!);
      repo.commitAll(name, task.worktreePath!);
      tasks.push(task);
    }
    const [first, second] = tasks.map((task) => task.worktreePath!);
    const parked = `${first}-parked`;
    renameSync(first, parked);
    renameSync(second, first);
    renameSync(parked, second);
    repo.write('uncommitted.txt', 'not yet\n', first);
    const before = repo.oid('one');
    const refusal = await service.mergeTask(tasks[0].id).then(
      () => undefined,
      (error: { code?: string }) => error.code,
    );
    assert.equal(refusal, 'WorktreeDirty');
    assert.equal(repo.oid('one'), before);
  });
});

suite('attacks (fifth): a sha256 repository', () => {
  let repo: TestRepo;
  setup(() => {
    repo = new TestRepo({ empty: true });
    // Started over as sha256 (the fixture's init is sha1).
    rmSync(join(repo.dir, '.git'), { recursive: true, force: true });
    repo.git('init', '-q', '-b', 'main', '--object-format=sha256');
    repo.git('config', 'user.name', 'Test User');
    repo.git('config', 'user.email', 'test@example.com');
    repo.write('README.md', '# demo\n');
    repo.commitAll('initial commit');
    repo.git('branch', 'integration');
  });
  teardown(() => repo.dispose());

  test('a merge into a base checked out nowhere lands the task (64-digit ids), and a dirty task is refused', async () => {
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'sha256', 'work.txt', 'work\n', 'integration');
    repo.write('later.txt', 'later\n', task.worktreePath!);
    const before = repo.oid('integration');
    assert.equal(await service.mergeTask(task.id).then(() => undefined, (error: { code?: string }) => error.code), 'WorktreeDirty');
    assert.equal(repo.oid('integration'), before);
    rmSync(join(task.worktreePath!, 'later.txt'));
    const result = await service.mergeTask(task.id);
    assert.equal(result.merged, true);
    assert.equal(result.commit?.length, 64);
    assert.equal(repo.oid('integration'), result.commit);
    assert.equal(repo.git('show', 'integration:work.txt'), 'work\n');
  });
});
