import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskService } from '../../src/core';
import { indexHasHiddenEntries } from '../../src/core/git/indexFile';
import { TestRepo } from '../fixtures/repo';

/** What `git ls-files -v` says: some entry is tagged assume-unchanged (lower case) or skip-worktree (S). */
function gitSaysMarked(repo: TestRepo, cwd = repo.dir): boolean {
  return repo.gitIn(cwd, 'ls-files', '-v').split('\n').some((line) => /^([a-z]|S) /.test(line));
}

/** The merge's worktree check reads the index file instead of listing it with git, when it can be sure. */
suite('the index file read for marked entries (assume-unchanged, skip-worktree)', () => {
  let repo: TestRepo;
  setup(() => (repo = new TestRepo({ files: 5 })));
  teardown(() => repo.dispose());
  const index = (cwd = repo.dir): Buffer => readFileSync(join(cwd, '.git', 'index'));

  test('versions 2, 3 and 4: unmarked reads as false, each mark as true, as git lists them', () => {
    for (const version of ['2', '3', '4']) {
      repo.git('update-index', '--index-version', version);
      assert.equal(indexHasHiddenEntries(index()), false, `v${version}, nothing marked`);
      assert.equal(gitSaysMarked(repo), false);
      repo.git('update-index', '--assume-unchanged', 'src/file-3.txt');
      assert.equal(indexHasHiddenEntries(index()), true, `v${version}, assume-unchanged`);
      assert.equal(gitSaysMarked(repo), true);
      repo.git('update-index', '--no-assume-unchanged', 'src/file-3.txt');
      repo.git('update-index', '--skip-worktree', 'src/file-1.txt');
      assert.equal(indexHasHiddenEntries(index()), true, `v${version}, skip-worktree`);
      assert.equal(gitSaysMarked(repo), true);
      repo.git('update-index', '--no-skip-worktree', 'src/file-1.txt');
    }
  });

  test('a path longer than the 12-bit length field and a conflict\'s three stages are walked past', () => {
    const blob = repo.git('hash-object', '-w', 'README.md').trim();
    const long = `${'d'.repeat(200)}/`.repeat(22) + 'last.txt'; // 4,430 bytes
    repo.git('update-index', '--add', '--cacheinfo', `100644,${blob},${long}`);
    for (const version of ['2', '4']) {
      repo.git('update-index', '--index-version', version);
      assert.equal(indexHasHiddenEntries(index()), false, `v${version}`);
    }
    // Stages 1-3 of one path (as a conflicted merge leaves them), then a marked entry after them.
    execStages(repo, blob);
    for (const version of ['2', '4']) {
      repo.git('update-index', '--index-version', version);
      assert.equal(indexHasHiddenEntries(index()), false, `v${version} with stages`);
    }
    repo.git('update-index', '--assume-unchanged', 'src/file-4.txt');
    assert.equal(indexHasHiddenEntries(index()), true, 'the mark after the long path and the stages is found');
  });

  test('unsure means undefined: a split index, a torn or altered file, another format', () => {
    const bytes = index();
    assert.equal(indexHasHiddenEntries(bytes.subarray(0, bytes.length - 7)), undefined, 'torn');
    const altered = Buffer.from(bytes);
    altered[40] ^= 1;
    assert.equal(indexHasHiddenEntries(altered), undefined, 'a byte changed: the checksum does not match');
    assert.equal(indexHasHiddenEntries(Buffer.from('not an index at all')), undefined);
    repo.git('update-index', '--split-index');
    assert.equal(indexHasHiddenEntries(index()), undefined, 'split index: the entries are in another file');
  });

  test('a SHA-256 repository\'s index is read too', () => {
    const sha256 = new TestRepo({ empty: true });
    try {
      sha256.git('init', '-q', '--object-format=sha256', 'inner');
      const inner = join(sha256.dir, 'inner');
      writeFileSync(join(inner, 'a.txt'), 'a\n');
      sha256.gitIn(inner, 'add', 'a.txt');
      assert.equal(indexHasHiddenEntries(index(inner)), false);
      sha256.gitIn(inner, 'update-index', '--assume-unchanged', 'a.txt');
      assert.equal(indexHasHiddenEntries(index(inner)), true);
    } finally {
      sha256.dispose();
    }
  });

  test('the merge\'s worktree check still finds an edit hidden by assume-unchanged, and lists the index with git only then', async () => {
    const service = await TaskService.open(repo.dir);
    const task = await service.createWorktree((await service.createTask({ subject: 'hidden edit' })).id);
    repo.write('work.txt', 'work\n', task.worktreePath);
    repo.commitAll('work', task.worktreePath);
    repo.gitIn(task.worktreePath!, 'update-index', '--assume-unchanged', 'README.md');
    repo.write('README.md', 'edited where git status does not look\n', task.worktreePath);
    const mainBefore = repo.oid('refs/heads/main');
    const spawned: string[] = [];
    service.git.onSpawn((args) => spawned.push(args[0]));
    await assert.rejects(service.mergeTask(task.id), (error: Error & { code?: string; details?: string[] }) => {
      assert.equal(error.code, 'WorktreeDirty');
      assert.ok(error.details?.includes('README.md'), JSON.stringify(error.details));
      return true;
    });
    assert.ok(spawned.includes('ls-files'), 'a marked entry: git lists the index');
    assert.equal(repo.oid('refs/heads/main'), mainBefore, 'nothing landed');
  });
});

/** Replaces src/file-0.txt with three stages of itself, as a conflicted merge leaves it. */
function execStages(repo: TestRepo, blob: string): void {
  repo.git('update-index', '--force-remove', 'src/file-0.txt');
  const stages = [1, 2, 3].map((stage) => `100644 ${blob} ${stage}\tsrc/file-0.txt\n`).join('');
  execFileSync('git', ['update-index', '--index-info'], { cwd: repo.dir, input: stages });
}
