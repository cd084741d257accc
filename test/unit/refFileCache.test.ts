import * as assert from 'node:assert/strict';
// The module object itself (not an import copy), so the test can see which files the merge opens.
import fs = require('node:fs');
import { readFileSync, realpathSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readWorktreesUsing } from '../../src/core/git/worktreeFiles';
import { RefFileCache, STABLE_MS } from '../../src/core/git/refFiles';
import { TaskService } from '../../src/core';
import { branchesInUse } from '../../src/core/safety';
import { TestRepo } from '../fixtures/repo';

/** Longer than the cache's rule (a file must have been unchanged for STABLE_MS before it is kept). */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, STABLE_MS + 100));

/**
 * The worktree scan a merge runs reads each worktree's HEAD (and its branch's file) again only when
 * an lstat shows a change. A change right after a kept read — in place, the same size, the same
 * inode; or by rename — must always be seen: a stale HEAD would let a merge move a branch that is
 * checked out.
 */
suite('ref files read again only when they change (the worktree scan\'s cache)', () => {
  let repo: TestRepo;
  setup(() => {
    repo = new TestRepo();
  });
  teardown(() => repo.dispose());

  test('a settled file is read once; a change in place (same size, same inode) or by rename right after is read', async () => {
    const file = join(repo.dir, '.git', 'refs', 'heads', 'side');
    writeFileSync(file, `${repo.oid('main')}\n`);
    await settle();
    const cache = new RefFileCache();
    cache.startScan();
    assert.equal(cache.read(file), `${repo.oid('main')}\n`);
    cache.startScan();
    assert.equal(cache.read(file), `${repo.oid('main')}\n`);
    assert.equal(cache.reads, 1, 'the second scan answered from the cache');

    const inode = statSync(file).ino;
    const other = 'f'.repeat(40);
    writeFileSync(file, `${other}\n`); // in place: same inode, same size
    assert.equal(statSync(file).ino, inode);
    cache.startScan();
    assert.equal(cache.read(file), `${other}\n`, 'a change in place, at once');

    writeFileSync(`${file}.lock`, `ref: refs/heads/main\n`.padEnd(40, ' ') + '\n');
    renameSync(`${file}.lock`, file); // as git writes: by rename
    cache.startScan();
    assert.equal(cache.read(file).trim(), 'ref: refs/heads/main', 'a change by rename, at once');
    assert.equal(cache.reads, 3);
  });

  test('a file changed within STABLE_MS before its read is read on every scan; a missing file and a link are not read (ENOENT, ELOOP as without the cache)', () => {
    const file = join(repo.dir, '.git', 'refs', 'heads', 'fresh');
    writeFileSync(file, `${repo.oid('main')}\n`);
    const cache = new RefFileCache();
    for (let scan = 0; scan < 3; scan++) {
      cache.startScan();
      cache.read(file);
    }
    assert.equal(cache.reads, 3);
    assert.throws(() => cache.read(join(repo.dir, '.git', 'refs', 'heads', 'none')), { code: 'ENOENT' });
    const link = join(repo.dir, '.git', 'refs', 'heads', 'link');
    symlinkSync(file, link);
    assert.throws(() => cache.read(link), { code: 'ELOOP' }, 'a link (core.preferSymlinkRefs) is left to git, as without the cache');
    assert.equal(cache.reads, 3, 'neither was read');
  });

  test('only on a local file system: where an lstat may answer from a cache of its own, there is no cache', () => {
    assert.ok(RefFileCache.forFilesUnder(repo.dir), 'this repository\'s (ext4 or tmpfs here)');
    assert.equal(RefFileCache.forFilesUnder('/proc'), undefined, 'a file system not on the list (procfs)');
  });

  test('a worktree switched to the base in place after a kept scan: the next scan sees the base in use there', async () => {
    const main = realpathSync(repo.dir);
    const common = join(main, '.git');
    repo.git('branch', 'side'); // as long a name as "main": its HEAD file keeps its size
    const worktree = join(dirname(main), 'side-worktree');
    repo.git('worktree', 'add', '-q', worktree, 'side');
    repo.git('worktree', 'add', '-q', '--detach', join(dirname(main), 'other'), 'main');
    repo.git('checkout', '-q', '--detach');
    await settle();
    const cache = new RefFileCache();
    assert.equal(branchesInUse((await readWorktreesUsing(common, main, 'main', undefined, cache))!).get('main'), undefined);
    const readsBefore = cache.reads;
    assert.equal(branchesInUse((await readWorktreesUsing(common, main, 'main', undefined, cache))!).get('main'), undefined);
    assert.equal(cache.reads, readsBefore, 'nothing changed: nothing read again');

    const head = join(common, 'worktrees', 'side-worktree', 'HEAD');
    const inode = statSync(head).ino;
    writeFileSync(head, readFileSync(head, 'utf8').replace('refs/heads/side', 'refs/heads/main'));
    assert.equal(statSync(head).ino, inode, 'edited in place');
    assert.equal(branchesInUse((await readWorktreesUsing(common, main, 'main', undefined, cache))!).get('main')?.path, worktree);
  });

  test('a branch made another name of the base after a kept scan: the scan leaves the answer to git', async () => {
    const main = realpathSync(repo.dir);
    const common = join(main, '.git');
    repo.git('branch', 'side');
    repo.git('worktree', 'add', '-q', join(dirname(main), 'side-worktree'), 'side');
    repo.git('checkout', '-q', '--detach');
    await settle();
    const cache = new RefFileCache();
    assert.ok(await readWorktreesUsing(common, main, 'main', undefined, cache));
    assert.ok(await readWorktreesUsing(common, main, 'main', undefined, cache));
    repo.git('symbolic-ref', 'refs/heads/side', 'refs/heads/main');
    assert.equal(await readWorktreesUsing(common, main, 'main', undefined, cache), undefined);
  });

  test('a merge after a worktree\'s HEAD was switched to the base by hand (in place, after a kept scan) merges there, not by moving the branch under it', async () => {
    const service = await TaskService.open(repo.dir);
    const first = await service.createTask({ subject: 'first', createWorktree: true });
    const second = await service.createTask({ subject: 'second', createWorktree: true });
    for (const task of [first, second]) {
      const path = task.worktreePath!;
      repo.write(`${task.id}.txt`, `${task.id}\n`, path);
      repo.commitAll(task.id, path);
    }
    repo.git('checkout', '-q', '--detach'); // the base is checked out nowhere
    const bystander = join(dirname(realpathSync(repo.dir)), 'bystander');
    repo.git('branch', 'mian'); // as long a name as the base's
    repo.git('worktree', 'add', '-q', bystander, 'mian');
    await settle();
    assert.equal((await service.mergeTask(first.id)).merged, true); // its scan keeps every settled HEAD

    const head = join(repo.dir, '.git', 'worktrees', 'bystander', 'HEAD');
    writeFileSync(head, 'ref: refs/heads/main\n'); // in place, same size
    repo.gitIn(bystander, 'reset', '-q', '--hard', 'main'); // its files now the base's, as after a checkout
    const opened: string[] = [];
    const open = fs.openSync;
    fs.openSync = (...args: Parameters<typeof fs.openSync>) => {
      opened.push(String(args[0]));
      return open(...args);
    };
    let result;
    try {
      result = await service.mergeTask(second.id);
    } finally {
      fs.openSync = open;
    }
    assert.ok(opened.includes(head), 'the changed HEAD was read again');
    const settledHead = join(repo.dir, '.git', 'worktrees', basename(second.worktreePath!), 'HEAD');
    assert.ok(!opened.includes(settledHead), 'an unchanged HEAD was not: the merge\'s scan uses the cache');
    assert.equal(result.merged, true);
    assert.equal(repo.gitIn(bystander, 'rev-parse', 'HEAD').trim(), repo.oid('main'), 'the worktree that has the base moved with it');
    assert.equal(repo.gitIn(bystander, 'status', '--porcelain').trim(), '', 'and its files are the merge\'s: nothing looks changed there');
  });
});
