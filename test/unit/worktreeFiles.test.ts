import * as assert from 'node:assert/strict';
import { mkdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { worktreeAt } from '../../src/core/board';
import { parseWorktreeList, WorktreeEntry } from '../../src/core/git/porcelain';
import { readWorktreesUsing } from '../../src/core/git/worktreeFiles';
import { branchesInUse } from '../../src/core/safety';
import { TestRepo } from '../fixtures/repo';

/**
 * What a merge reads from git's worktree files must be exactly what it would see in `git worktree
 * list` — where each branch is in use, and the entry at the task's path — or nothing at all.
 */
suite('where a branch is in use, read from git\'s worktree files', () => {
  let repo: TestRepo;
  let main: string;
  let common: string;
  const linked = (name: string): string => join(dirname(main), name);

  setup(() => {
    repo = new TestRepo();
    main = realpathSync(repo.dir);
    common = join(main, '.git');
    for (const branch of ['a', 'b', 'c', 'd']) repo.git('branch', branch);
  });
  teardown(() => repo.dispose());

  function fromGit(): WorktreeEntry[] {
    const entries = parseWorktreeList(repo.git('worktree', 'list', '--porcelain', '-z'));
    entries[0] = { ...entries[0], path: main };
    return entries;
  }

  /**
   * For every branch, with and without each path asked for: the merge's view equals git's. A path
   * without a worktree's .git (none, or deleted) is left to git: the files give no answer for it.
   */
  async function assertSameAsGit(paths: string[], leftToGit: string[] = []): Promise<void> {
    const git = fromGit();
    const branches = repo.git('for-each-ref', '--format=%(refname:short)', 'refs/heads').trim().split('\n');
    for (const branch of branches) {
      for (const path of [undefined, main, ...paths, ...leftToGit]) {
        const files = (await readWorktreesUsing(common, main, branch, path));
        if (path && leftToGit.includes(path)) {
          assert.equal(files, undefined, `left to git: ${path}`);
          continue;
        }
        assert.ok(files, `read from the files (${branch}, ${path})`);
        assert.deepEqual(branchesInUse(files).get(branch), branchesInUse(git).get(branch), `where ${branch} is in use`);
        if (path) assert.deepEqual(worktreeAt(files, path), worktreeAt(git, path), `the entry at ${path}`);
      }
    }
  }

  test('branches checked out in the main and in linked worktrees (paths with spaces and non-ASCII), detached HEADs, loose and packed refs', async () => {
    repo.git('worktree', 'add', '-q', linked('wt a'), 'a');
    repo.git('worktree', 'add', '-q', '--detach', linked('detached'), 'main');
    repo.git('worktree', 'add', '-q', linked('wt ü c'), 'c');
    repo.write('more.txt', 'more\n', linked('wt a'));
    repo.commitAll('more on a', linked('wt a'));
    const paths = [linked('wt a'), linked('detached'), linked('wt ü c')];
    await assertSameAsGit(paths, [linked('not a worktree')]);
    assert.equal(branchesInUse((await readWorktreesUsing(common, main, 'a'))!).get('a')?.head, repo.oid('a'), 'the branch\'s commit');
    repo.git('pack-refs', '--all');
    await assertSameAsGit(paths, [linked('not a worktree')]);
  });

  test('a branch rebased or bisected in a worktree (its HEAD detached) is in use there', async () => {
    repo.git('worktree', 'add', '-q', linked('rebasing'), 'a');
    repo.write('README.md', 'on a\n', linked('rebasing'));
    repo.commitAll('a changes the readme', linked('rebasing'));
    repo.write('README.md', 'on main\n');
    repo.commitAll('main changes the readme');
    assert.throws(() => repo.gitIn(linked('rebasing'), 'rebase', 'main'), 'the rebase stops on its conflict');
    repo.git('worktree', 'add', '-q', linked('bisecting'), 'b');
    repo.gitIn(linked('bisecting'), 'bisect', 'start', 'HEAD', 'HEAD~1');
    await assertSameAsGit([linked('rebasing'), linked('bisecting')]);
    assert.equal(branchesInUse((await readWorktreesUsing(common, main, 'a'))!).get('a')?.path, linked('rebasing'));
    assert.equal(branchesInUse((await readWorktreesUsing(common, main, 'b'))!).get('b')?.path, linked('bisecting'));
  });

  test('locked worktrees (with and without a reason) and prunable ones (folder deleted, folder moved)', async () => {
    for (const name of ['a', 'b', 'c', 'd']) repo.git('worktree', 'add', '-q', linked(`wt-${name}`), name);
    repo.git('worktree', 'lock', linked('wt-a'));
    repo.git('worktree', 'lock', '--reason', 'on a USB disk', linked('wt-b'));
    rmSync(linked('wt-c'), { recursive: true, force: true });
    renameSync(linked('wt-d'), linked('wt-d moved'));
    // A moved folder points to a record that names its old place: git decides what is at either.
    await assertSameAsGit([linked('wt-a'), linked('wt-b')], [linked('wt-c'), linked('wt-d'), linked('wt-d moved')]);
    assert.equal(worktreeAt((await readWorktreesUsing(common, main, 'a', linked('wt-a')))!, linked('wt-a'))?.locked, 'locked');
    assert.equal(worktreeAt((await readWorktreesUsing(common, main, 'b', linked('wt-b')))!, linked('wt-b'))?.locked, 'on a USB disk');
    assert.ok(branchesInUse((await readWorktreesUsing(common, main, 'c'))!).has('c') === false, 'a deleted worktree does not hold its branch');
    assert.ok((await readWorktreesUsing(common, main, 'c'))!.some((entry) => entry.prunable), 'listed as git lists it: prunable');
  });

  test('anything else is left to git: no answer from the files', async () => {
    repo.git('worktree', 'add', '-q', linked('wt-a'), 'a');
    const admin = join(common, 'worktrees', 'wt-a');
    const unanswered = async (what: string, change: () => void, undo: () => void): Promise<void> => {
      change();
      try {
        assert.equal((await readWorktreesUsing(common, main, 'a', linked('wt-a'))), undefined, what);
      } finally {
        undo();
      }
      assert.ok((await readWorktreesUsing(common, main, 'a', linked('wt-a'))), `answered again after: ${what}`);
    };
    const config = repo.read('.git/config');
    for (const line of ['\tbare = true', '\tbare', '\tignorecase = true', '[include]\n\tpath = other', '[extensions]\n\tworktreeConfig = true', '\tworktree = /elsewhere']) {
      await unanswered(`config: ${line.trim()}`, () => writeFileSync(join(common, 'config'), `${config}${line}\n`), () => writeFileSync(join(common, 'config'), config));
    }
    const head = repo.read('.git/worktrees/wt-a/HEAD');
    await unanswered('HEAD on a ref outside refs/heads', () => writeFileSync(join(admin, 'HEAD'), 'ref: refs/remotes/origin/a\n'), () => writeFileSync(join(admin, 'HEAD'), head));
    await unanswered('HEAD on an unborn branch', () => writeFileSync(join(admin, 'HEAD'), 'ref: refs/heads/unborn\n'), () => writeFileSync(join(admin, 'HEAD'), head));
    const gitdir = repo.read('.git/worktrees/wt-a/gitdir');
    await unanswered('a relative gitdir', () => writeFileSync(join(admin, 'gitdir'), '../../../wt-a/.git\n'), () => writeFileSync(join(admin, 'gitdir'), gitdir));
    await unanswered('an empty gitdir', () => writeFileSync(join(admin, 'gitdir'), ''), () => writeFileSync(join(admin, 'gitdir'), gitdir));
    await unanswered('a "locked" that is a folder', () => mkdirSync(join(admin, 'locked')), () => rmSync(join(admin, 'locked'), { recursive: true }));
    await unanswered('a file among the worktree records', () => writeFileSync(join(common, 'worktrees', 'stray'), ''), () => rmSync(join(common, 'worktrees', 'stray')));
    const dotGit = repo.read('.git', linked('wt-a'));
    await unanswered("the task's .git points to another repository's records", () => writeFileSync(join(linked('wt-a'), '.git'), `gitdir: ${join(dirname(main), 'other', '.git', 'worktrees', 'wt-a')}\n`), () => writeFileSync(join(linked('wt-a'), '.git'), dotGit));
  });

  test('a repository whose git dir is not its .git folder (separate git dir) is left to git', async () => {
    const separate = join(dirname(main), 'separate');
    mkdirSync(separate);
    repo.gitIn(separate, 'init', '-q', '--separate-git-dir', join(dirname(main), 'separate.git'));
    assert.equal((await readWorktreesUsing(realpathSync(join(dirname(main), 'separate.git')), realpathSync(separate), 'main')), undefined);
  });
});
