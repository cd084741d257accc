import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SETTINGS, Task, TaskService } from '../../src/core/index';
import { Repository } from '../../src/core/repo';
import { WorktreeSnapshots } from '../../src/core/snapshots';
import { rejectsWithCode } from '../fixtures/assertions';
import { filesUnder } from '../fixtures/files';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/** Every file under `root` (`.git` excluded) with its mode bits and content hash: equal listings mean equal bytes. */
function listing(root: string): string[] {
  return filesUnder(root)
    .map((file) => {
      const path = join(root, file);
      const mode = (lstatSync(path).mode & 0o111) !== 0 ? 'x' : '-';
      return `${file} ${mode} ${createHash('sha1').update(readFileSync(path)).digest('hex')}`;
    })
    .sort();
}

const BINARY = Buffer.from([0, 255, 1, 254, 0, 0, 13, 10, 26, 128]);

/** A worktree with every kind of change: staged then edited again, deleted, untracked text and binary, an odd name, an executable bit, an ignored file. */
function makeEveryKindOfChange(repo: TestRepo, worktree: string): void {
  writeFileSync(join(worktree, 'bin.dat'), BINARY);
  writeFileSync(join(worktree, '.gitignore'), 'ignored.log\n');
  repo.commitAll('binary and ignore', worktree);
  repo.write('README.md', '# staged\n', worktree);
  repo.gitIn(worktree, 'add', 'README.md');
  repo.write('README.md', '# staged, then edited\n', worktree);
  rmSync(join(worktree, 'src', 'file-0.txt'));
  repo.write('notes/new [draft] *.txt', 'untracked text\n', worktree);
  writeFileSync(join(worktree, 'notes', 'blob.bin'), Buffer.concat([BINARY, BINARY]));
  writeFileSync(join(worktree, 'bin.dat'), Buffer.from([...BINARY].reverse()));
  repo.write('run.sh', '#!/bin/sh\necho hi\n', worktree);
  chmodSync(join(worktree, 'run.sh'), 0o755);
  repo.write('ignored.log', 'never snapshotted\n', worktree);
}

suite('snapshots: save and restore a worktree\'s uncommitted work', () => {
  let repo: TestRepo;
  let service: TaskService;
  let task: Task;
  let worktree: string;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
    task = await service.createTask({ subject: 'work', createWorktree: true });
    worktree = task.worktreePath!;
  });
  teardown(() => repo.dispose());

  test('taking a snapshot changes neither the index nor any file; restoring it after a hard reset brings back the same bytes, modes, deletions and untracked files', async () => {
    makeEveryKindOfChange(repo, worktree);
    const indexFile = join(repo.dir, '.git', 'worktrees', task.id, 'index');
    // status first: run by the test (without GIT_OPTIONAL_LOCKS) it refreshes the index itself.
    const status = repo.gitIn(worktree, 'status', '--porcelain=v2', '-z', '--untracked-files=all');
    const before = { index: readFileSync(indexFile), files: listing(worktree), status };

    const snapshot = await service.snapshotWorktree(task.id);

    assert.deepEqual(readFileSync(indexFile), before.index, 'the worktree index is byte-identical');
    assert.deepEqual(listing(worktree), before.files);
    assert.equal(repo.gitIn(worktree, 'status', '--porcelain=v2', '-z', '--untracked-files=all'), before.status);
    assert.equal(snapshot.ref, `refs/task-worktrees/snapshots/${task.id}/1`);
    assert.equal(snapshot.parent, repo.gitIn(worktree, 'rev-parse', 'HEAD').trim());
    assert.equal(repo.git('cat-file', '-p', `${snapshot.commit}:README.md`), '# staged, then edited\n');
    assert.equal(repo.git('cat-file', '-p', `${snapshot.staged}:README.md`), '# staged\n', 'the staged version is kept as the second parent');
    assert.throws(() => repo.git('cat-file', '-e', `${snapshot.commit}:ignored.log`), 'ignored files are not saved');

    repo.gitIn(worktree, 'reset', '-q', '--hard');
    repo.gitIn(worktree, 'clean', '-q', '-fd');
    const restored = await service.restoreSnapshot(snapshot.ref, { into: 'worktree' });

    assert.deepEqual(listing(worktree), before.files);
    assert.ok(restored.deleted.includes('src/file-0.txt'));
    assert.ok(restored.written.includes('notes/new [draft] *.txt'));
    assert.equal(repo.gitIn(worktree, 'diff', '--cached', '--name-only'), '', 'restored changes are unstaged (the staged/unstaged split is flattened)');
  });

  test('restoring refuses, writing nothing, when it would overwrite an uncommitted change', async () => {
    repo.write('src/file-1.txt', 'snapshotted\n', worktree);
    const snapshot = await service.snapshotWorktree(task.id);
    repo.write('src/file-1.txt', 'edited since\n', worktree);
    repo.write('src/file-0.txt', 'other edit\n', worktree);
    const before = listing(worktree);
    const error = await rejectsWithCode(service.restoreSnapshot(snapshot.ref, { into: 'worktree' }), 'SnapshotConflict');
    assert.deepEqual((error as unknown as { details: string[] }).details, ['src/file-1.txt']);
    assert.deepEqual(listing(worktree), before);
  });

  test('a forced removal snapshots first: the event names the ref and the work comes back into the recreated worktree', async () => {
    repo.write('src/file-1.txt', 'unsaved work\n', worktree);
    repo.write('draft.md', 'untracked draft\n', worktree);
    const files = listing(worktree);
    await rejectsWithCode(service.removeWorktree(task.id), 'WorktreeDirty');
    await service.removeWorktree(task.id, { force: true });
    assert.equal(existsSync(worktree), false);
    const [snapshot] = await service.listSnapshots(task.id);
    assert.equal(snapshot.reason, 'forced-removal');
    const removed = (await service.events()).events.find((event) => event.type === 'worktree.remove.after');
    assert.equal((removed as { snapshot?: string } | undefined)?.snapshot, snapshot.ref);

    const restored = await service.restoreSnapshot(snapshot.ref, { into: 'worktree' });
    assert.equal(restored.task.worktreePath, worktree);
    assert.deepEqual(listing(worktree), files);
  });

  test('a forced removal of a clean worktree takes no snapshot', async () => {
    await service.removeWorktree(task.id, { force: true });
    assert.deepEqual(await service.listSnapshots(task.id), []);
  });

  test('a forced removal that is refused for its branch leaves no snapshot and the worktree in place', async () => {
    repo.write('x.txt', 'x\n', worktree);
    repo.commitAll('unmerged', worktree);
    repo.write('y.txt', 'y\n', worktree);
    await rejectsWithCode(service.removeWorktree(task.id, { force: true, deleteBranch: true }), 'UnmergedWork');
    assert.deepEqual(await service.listSnapshots(task.id), []);
    assert.equal(repo.read('y.txt', worktree), 'y\n');
  });

  test('when the snapshot cannot be written, the forced removal does not happen (SnapshotFailed)', async () => {
    repo.write('src/file-1.txt', 'precious\n', worktree);
    // A ref named like the task's snapshot folder: git cannot create refs below it.
    repo.git('update-ref', `refs/task-worktrees/snapshots/${task.id}`, 'HEAD');
    await rejectsWithCode(service.removeWorktree(task.id, { force: true }), 'SnapshotFailed');
    assert.equal(repo.read('src/file-1.txt', worktree), 'precious\n');
    assert.equal((await service.task(task.id)).worktreePath, worktree);
  });

  test('restoring on a HEAD that moved on: files the commits since did not touch are applied, a file they changed differently is a conflict', async () => {
    repo.write('src/file-0.txt', 'snapshotted edit\n', worktree);
    const snapshot = await service.snapshotWorktree(task.id);
    repo.gitIn(worktree, 'checkout', '-q', '--', '.');
    repo.write('other.txt', 'committed since\n', worktree);
    repo.commitAll('unrelated', worktree);
    const restored = await service.restoreSnapshot(snapshot.ref, { into: 'worktree' });
    assert.deepEqual(restored.written, ['src/file-0.txt']);
    assert.equal(repo.read('src/file-0.txt', worktree), 'snapshotted edit\n');

    repo.gitIn(worktree, 'checkout', '-q', '--', '.');
    repo.write('src/file-0.txt', 'committed differently\n', worktree);
    repo.commitAll('clash', worktree);
    const error = await rejectsWithCode(service.restoreSnapshot(snapshot.ref, { into: 'worktree' }), 'SnapshotConflict');
    assert.deepEqual((error as unknown as { details: string[] }).details, ['src/file-0.txt']);
    assert.equal(repo.read('src/file-0.txt', worktree), 'committed differently\n');
  });

  test('taking the changes out of the source leaves a file that changed after the snapshot, and reports it', async () => {
    repo.write('src/file-0.txt', 'moved\n', worktree);
    repo.write('src/file-1.txt', 'snapshotted\n', worktree);
    repo.write('new.txt', 'new\n', worktree);
    const snapshots = new WorktreeSnapshots(await Repository.open(service.git, { ...DEFAULT_SETTINGS }));
    const snapshot = await snapshots.take(task.id, worktree, 'move-changes');
    repo.write('src/file-1.txt', 'edited after the snapshot\n', worktree);
    const { removed, kept } = await snapshots.removeFrom(snapshot, worktree);
    assert.deepEqual(removed.sort(), ['new.txt', 'src/file-0.txt']);
    assert.deepEqual(kept, ['src/file-1.txt']);
    assert.equal(repo.gitIn(worktree, 'status', '--porcelain'), ' M src/file-1.txt\n');
    assert.equal(repo.read('src/file-1.txt', worktree), 'edited after the snapshot\n');
  });

  test('at most maxSnapshots are kept per task, the oldest dropped', async () => {
    service.updateSettings({ maxSnapshots: 3 });
    for (let i = 1; i <= 5; i++) {
      repo.write('counter.txt', `${i}\n`, worktree);
      await service.snapshotWorktree(task.id);
    }
    const kept = await service.listSnapshots(task.id);
    assert.deepEqual(kept.map((snapshot) => snapshot.number), [3, 4, 5]);
    assert.equal(repo.git('cat-file', '-p', `${kept[0].commit}:counter.txt`), '3\n');
    await rejectsWithCode(service.restoreSnapshot(`refs/task-worktrees/snapshots/${task.id}/1`, { into: 'worktree' }), 'SnapshotNotFound');
  });

  test('a snapshot restores into a new task of its own', async () => {
    repo.write('feature.txt', 'feature\n', worktree);
    const snapshot = await service.snapshotWorktree(task.id);
    const restored = await service.restoreSnapshot(snapshot.ref, { into: 'newTask', subject: 'second try' });
    assert.equal(restored.task.id, 'second-try');
    assert.equal(repo.read('feature.txt', restored.task.worktreePath!), 'feature\n');
    assert.equal(repo.read('feature.txt', worktree), 'feature\n', 'the source is left as it is');
  });

  test('bad refs are refused before git runs', async () => {
    await rejectsWithCode(service.restoreSnapshot('refs/heads/main', { into: 'worktree' }), 'InvalidInput');
    await rejectsWithCode(service.restoreSnapshot(`refs/task-worktrees/snapshots/${task.id}/1`, { into: 'elsewhere' as never }), 'InvalidInput');
    await rejectsWithCode(service.listSnapshots('--all'), 'InvalidInput');
  });
});

suite('snapshots: Move Changes to New Task', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  function changeMain(): string[] {
    repo.write('README.md', '# started too early\n');
    repo.git('add', 'README.md');
    rmSync(join(repo.dir, 'src', 'file-0.txt'));
    writeFileSync(join(repo.dir, 'image.bin'), BINARY);
    return listing(repo.dir).filter((line) => !line.startsWith('.worktrees'));
  }

  test('the main worktree\'s changes move into the new task\'s worktree and leave the main one clean', async () => {
    const changed = changeMain();
    const result = await service.moveChangesToNewTask(repo.dir, { subject: 'early start' });
    assert.equal(repo.git('status', '--porcelain', '--untracked-files=all'), '');
    assert.deepEqual(listing(result.task.worktreePath!), changed);
    assert.deepEqual(result.moved.sort(), ['README.md', 'image.bin', 'src/file-0.txt']);
    assert.deepEqual(result.keptInSource, []);
    assert.equal(result.snapshot.ref, 'refs/task-worktrees/snapshots/early-start/1');
  });

  test('a conflict with the new task\'s base loses nothing: the source is untouched and the snapshot restores', async () => {
    repo.git('checkout', '-q', '-b', 'dev');
    repo.write('README.md', '# dev changed it too\n');
    repo.commitAll('dev readme');
    repo.git('checkout', '-q', 'main');
    const changed = changeMain();
    const status = repo.git('status', '--porcelain=v2', '--untracked-files=all');
    const error = await rejectsWithCode(service.moveChangesToNewTask(repo.dir, { subject: 'clash', baseBranch: 'dev' }), 'SnapshotConflict');
    assert.match(error.message, /refs\/task-worktrees\/snapshots\/clash\/1/);
    assert.equal(repo.git('status', '--porcelain=v2', '--untracked-files=all'), status);
    assert.deepEqual(listing(repo.dir).filter((line) => !line.startsWith('.worktrees')), changed);
    const restored = await service.restoreSnapshot('refs/task-worktrees/snapshots/clash/1', { into: 'newTask', subject: 'clash again', baseBranch: 'main' });
    assert.deepEqual(listing(restored.task.worktreePath!), changed);
  });

  test('a failure after the snapshot (a failing post-checkout hook) leaves the source as it was', async () => {
    const changed = changeMain();
    const status = repo.git('status', '--porcelain=v2', '--untracked-files=all');
    writeFileSync(join(repo.dir, '.git', 'hooks', 'post-checkout'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(repo.dir, '.git', 'hooks', 'post-checkout'), 0o755);
    await assert.rejects(service.moveChangesToNewTask(repo.dir, { subject: 'hooked' }), /untouched, and are saved in refs\/task-worktrees\/snapshots\/hooked\/1/);
    assert.equal(repo.git('status', '--porcelain=v2', '--untracked-files=all'), status);
    assert.deepEqual(listing(repo.dir).filter((line) => !line.startsWith('.worktrees')), changed);
    const [snapshot] = await service.listSnapshots('hooked');
    assert.equal(repo.git('cat-file', '-p', `${snapshot.commit}:README.md`), '# started too early\n');
  });

  test('nothing to move is refused, and no task is made', async () => {
    await rejectsWithCode(service.moveChangesToNewTask(repo.dir, { subject: 'empty' }), 'InvalidInput');
    assert.equal((await service.board()).tasks.length, 0);
  });
});

suite('snapshots: Clean Up Merged Tasks', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  async function mergedTask(subject: string): Promise<Task> {
    const task = await service.createTask({ subject, createWorktree: true });
    repo.write(`${task.id}.txt`, `${subject}\n`, task.worktreePath!);
    repo.commitAll(subject, task.worktreePath!);
    repo.git('merge', '-q', '--no-ff', '-m', `merge ${subject}`, task.branch!);
    return service.completeTask(task.id);
  }

  test('merged tasks lose worktree and branch, uncommitted work is snapshotted first, unmerged and locked ones stay and are reported', async () => {
    const clean = await mergedTask('clean');
    const dirty = await mergedTask('dirty');
    repo.write('leftover.txt', 'not committed\n', dirty.worktreePath!);
    const locked = await mergedTask('locked');
    repo.git('worktree', 'lock', locked.worktreePath!);
    const open = await service.createTask({ subject: 'open', createWorktree: true });
    repo.write('wip.txt', 'wip\n', open.worktreePath!);
    repo.commitAll('wip', open.worktreePath!);

    const planned = await service.mergedTasks();
    assert.deepEqual(planned.map((task) => [task.taskId, task.wouldLose]), [['clean', []], ['dirty', ['leftover.txt (untracked)']], ['locked', []]]);

    const report = await service.cleanUpMerged();
    assert.deepEqual(report.cleaned, ['clean', 'dirty']);
    assert.deepEqual(report.skipped.map((skip) => skip.taskId), ['locked']);
    assert.match(report.skipped[0].reason, /^WorktreeLocked/);
    assert.deepEqual(report.snapshots.map((snapshot) => snapshot.ref), ['refs/task-worktrees/snapshots/dirty/1']);
    assert.equal(repo.git('cat-file', '-p', `${report.snapshots[0].commit}:leftover.txt`), 'not committed\n');
    assert.equal(existsSync(clean.worktreePath!), false);
    assert.equal(existsSync(dirty.worktreePath!), false);
    assert.equal(repo.git('branch', '--list', 'task/clean', 'task/dirty'), '');
    assert.equal(existsSync(locked.worktreePath!), true);
    assert.equal(repo.read('wip.txt', open.worktreePath!), 'wip\n');
    assert.notEqual(repo.git('branch', '--list', 'task/open'), '');
  });

  test('only the named tasks are cleaned; a named one that is not merged is skipped', async () => {
    await mergedTask('one');
    const two = await mergedTask('two');
    await service.createTask({ subject: 'three', createWorktree: true });
    const report = await service.cleanUpMerged({ taskIds: ['one', 'three'] });
    assert.deepEqual(report.cleaned, ['one']);
    assert.deepEqual(report.skipped.map((skip) => skip.taskId), ['three']);
    assert.equal(existsSync(two.worktreePath!), true);
  });

  test('a task nobody committed on yet (its branch is its base\'s commit) is not taken for merged', async () => {
    const fresh = await service.createTask({ subject: 'fresh', createWorktree: true });
    assert.deepEqual(await service.mergedTasks(), []);
    assert.deepEqual((await service.cleanUpMerged()).cleaned, []);
    assert.equal(existsSync(fresh.worktreePath!), true);
  });
});

suite('review: changedFiles and diskUsage', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('changedFiles: committed and uncommitted changes against the merge-base, with status letters and where each comes from', async () => {
    const task = await service.createTask({ subject: 'review me', createWorktree: true });
    const worktree = task.worktreePath!;
    repo.write('src/file-0.txt', 'changed on the branch\n', worktree);
    repo.write('added.txt', 'new\n', worktree);
    repo.commitAll('branch work', worktree);
    repo.write('README.md', '# base moved on\n');
    repo.commitAll('base work');
    repo.write('src/file-1.txt', 'uncommitted\n', worktree);
    repo.write('untracked.txt', 'untracked\n', worktree);
    rmSync(join(worktree, 'added.txt'));

    const changes = await service.changedFiles(task.id);
    assert.equal(changes.base, repo.git('merge-base', 'main', task.branch!).trim());
    assert.equal(changes.worktreePath, worktree);
    assert.deepEqual(
      changes.files.map((file) => [file.status, file.path, file.committed, file.uncommitted]),
      [
        ['M', 'src/file-0.txt', true, false],
        ['M', 'src/file-1.txt', false, true],
        ['A', 'untracked.txt', false, true],
      ],
      'README.md changed on the base only; added.txt was added and deleted again',
    );
    assert.equal(await service.fileAtCommit(changes.base, 'src/file-0.txt'), 'line 0\n');
    assert.equal(await service.fileAtCommit(changes.base, 'untracked.txt'), undefined);
  });

  test('diskUsage counts the worktree\'s files (not .git) and serves the same measurement while HEAD stays', async () => {
    const task = await service.createTask({ subject: 'disk', createWorktree: true });
    const first = await service.diskUsage(task.worktreePath!);
    assert.equal(first.files, 3);
    assert.ok(first.bytes > 0);
    repo.write('more.txt', 'x'.repeat(10_000), task.worktreePath!);
    assert.equal(await service.diskUsage(task.worktreePath!), first, 'cached while HEAD is unchanged');
    repo.commitAll('more', task.worktreePath!);
    const after = await service.diskUsage(task.worktreePath!);
    assert.equal(after.files, 4);
  });
});
