import * as assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskService } from '../../src/core/index';
import { MAX_REVIEW_FILE_BYTES } from '../../src/core/review';
import { rejectsWithCode } from '../fixtures/assertions';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

suite('attacks (third round): snapshots, recovery and review lose nothing', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
  });
  teardown(() => repo.dispose());

  test('a forced removal refuses (SnapshotFailed naming the folder) when the worktree holds a git repository of its own, and keeps its files', async () => {
    const task = await service.createTask({ subject: 'vendor work', createWorktree: true });
    const lib = join(task.worktreePath!, 'vendor', 'lib');
    repo.write('code.js', 'v1\n', lib);
    repo.gitIn(lib, 'init', '-q');
    repo.gitIn(lib, 'add', '-A');
    repo.gitIn(lib, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '-m', 'lib');
    repo.write('code.js', 'uncommitted edit\n', lib);

    const error = await rejectsWithCode(service.removeWorktree(task.id, { force: true }), 'SnapshotFailed');
    assert.match(error.message, /vendor\/lib/);
    assert.equal(readFileSync(join(lib, 'code.js'), 'utf8'), 'uncommitted edit\n');
    assert.deepEqual(await service.listSnapshots(task.id), []);
  });

  for (const mark of ['--skip-worktree', '--assume-unchanged']) {
    test(`an edit of a file marked ${mark} is reported as loss and kept by the forced removal's snapshot; the worktree's own index keeps the mark`, async () => {
      const task = await service.createTask({ subject: 'local config', createWorktree: true });
      const worktree = task.worktreePath!;
      repo.gitIn(worktree, 'update-index', mark, 'README.md');
      repo.write('README.md', 'local override\n', worktree);

      const refused = await rejectsWithCode(service.removeWorktree(task.id), 'WorktreeDirty');
      assert.deepEqual((refused as unknown as { details: string[] }).details, ['README.md']);
      const manual = await service.snapshotWorktree(task.id);
      assert.equal(repo.git('show', `${manual.ref}:README.md`), 'local override\n');
      const flag = repo.gitIn(worktree, 'ls-files', '-v', 'README.md')[0];
      assert.equal(flag, mark === '--skip-worktree' ? 'S' : 'h');

      await service.removeWorktree(task.id, { force: true });
      const forced = (await service.listSnapshots(task.id)).find((snapshot) => snapshot.reason === 'forced-removal');
      assert.ok(forced);
      assert.equal(repo.git('show', `${forced.ref}:README.md`), 'local override\n');
    });
  }

  test('unchanged files marked --skip-worktree, present or absent from disk (sparse), are no loss: removal needs no force', async () => {
    const task = await service.createTask({ subject: 'sparse', createWorktree: true });
    const worktree = task.worktreePath!;
    repo.gitIn(worktree, 'update-index', '--skip-worktree', 'README.md', 'src/file-0.txt');
    rmSync(join(worktree, 'src', 'file-0.txt'));
    await service.removeWorktree(task.id);
    assert.equal(existsSync(worktree), false);
    assert.deepEqual(await service.listSnapshots(task.id), []);
  });

  test('a snapshot of a worktree with a skip-worktree file absent from disk (sparse) does not record it as deleted', async () => {
    const task = await service.createTask({ subject: 'sparse snap', createWorktree: true });
    const worktree = task.worktreePath!;
    repo.gitIn(worktree, 'update-index', '--skip-worktree', 'src/file-0.txt');
    rmSync(join(worktree, 'src', 'file-0.txt'));
    repo.write('new.txt', 'n\n', worktree);
    const snapshot = await service.snapshotWorktree(task.id);
    assert.equal(repo.git('show', `${snapshot.ref}:src/file-0.txt`), 'line 0\n');
  });

  for (const kind of ['file', 'symlink']) {
    test(`a restore refuses (SnapshotConflict) when an untracked ${kind} stands where the snapshot has a folder, and writes nothing`, async () => {
      const task = await service.createTask({ subject: 'notes', createWorktree: true });
      const worktree = task.worktreePath!;
      repo.write('notes/todo.md', 'old todo\n', worktree);
      const snapshot = await service.snapshotWorktree(task.id);
      rmSync(join(worktree, 'notes'), { recursive: true });
      if (kind === 'file') repo.write('notes', 'new work\n', worktree);
      else {
        mkdirSync(join(repo.dir, 'elsewhere'));
        symlinkSync(join(repo.dir, 'elsewhere'), join(worktree, 'notes'));
      }

      const error = await rejectsWithCode(service.restoreSnapshot(snapshot.ref, { into: 'worktree' }), 'SnapshotConflict');
      assert.deepEqual((error as unknown as { details: string[] }).details, ['notes']);
      const stat = lstatSync(join(worktree, 'notes'));
      assert.equal(kind === 'file' ? stat.isFile() : stat.isSymbolicLink(), true);
      if (kind === 'file') assert.equal(readFileSync(join(worktree, 'notes'), 'utf8'), 'new work\n');
      else assert.equal(existsSync(join(repo.dir, 'elsewhere', 'todo.md')), false);
    });
  }

  test('a restore refuses when a folder with other files stands where the snapshot writes a file', async () => {
    const task = await service.createTask({ subject: 'plan', createWorktree: true });
    const worktree = task.worktreePath!;
    repo.write('plan', 'a plan\n', worktree);
    const snapshot = await service.snapshotWorktree(task.id);
    rmSync(join(worktree, 'plan'));
    repo.write('plan/step.md', 'new step\n', worktree);
    const error = await rejectsWithCode(service.restoreSnapshot(snapshot.ref, { into: 'worktree' }), 'SnapshotConflict');
    assert.deepEqual((error as unknown as { details: string[] }).details, ['plan']);
    assert.equal(readFileSync(join(worktree, 'plan', 'step.md'), 'utf8'), 'new step\n');
  });

  for (const change of ['folder became a file', 'file became a folder']) {
    test(`a snapshot in which a tracked ${change} restores into its re-created worktree and into a new task`, async () => {
      const task = await service.createTask({ subject: 'reshape', createWorktree: true });
      const worktree = task.worktreePath!;
      if (change === 'folder became a file') {
        rmSync(join(worktree, 'src'), { recursive: true });
        repo.write('src', 'one file now\n', worktree);
      } else {
        rmSync(join(worktree, 'README.md'));
        repo.write('README.md/part.md', 'a folder now\n', worktree);
      }
      await service.removeWorktree(task.id, { force: true });
      const [snapshot] = await service.listSnapshots(task.id);
      const restored = await service.restoreSnapshot(snapshot.ref, { into: 'worktree' });
      const intoNew = await service.restoreSnapshot(snapshot.ref, { into: 'newTask' });
      for (const root of [restored.task.worktreePath!, intoNew.task.worktreePath!]) {
        if (change === 'folder became a file') assert.equal(readFileSync(join(root, 'src'), 'utf8'), 'one file now\n');
        else assert.equal(readFileSync(join(root, 'README.md', 'part.md'), 'utf8'), 'a folder now\n');
      }
    });
  }

  test('manual snapshots never push out a forced-removal snapshot; a task made again under the same id lists none of the earlier one\'s and cannot restore them into its worktree', async () => {
    const first = await service.createTask({ subject: 'spike', createWorktree: true });
    repo.write('idea.txt', 'a day of work\n', first.worktreePath!);
    await service.removeWorktree(first.id, { force: true });
    const [forced] = await service.listSnapshots(first.id);
    await service.deleteTask(first.id);
    repo.git('branch', '-D', first.branch!);

    const again = await service.createTask({ subject: 'spike', createWorktree: true });
    assert.equal(again.id, first.id);
    assert.deepEqual(await service.listSnapshots(again.id), []);
    await rejectsWithCode(service.restoreSnapshot(forced.ref, { into: 'worktree' }), 'TaskNotFound');

    repo.write('other.txt', 'x\n', again.worktreePath!);
    for (let i = 0; i < 21; i++) await service.snapshotWorktree(again.id);
    assert.equal(repo.git('for-each-ref', forced.ref).trim() !== '', true);
    const mine = await service.listSnapshots(again.id);
    assert.equal(mine.length, 20);
    assert.ok(mine.every((snapshot) => snapshot.reason === 'manual'));

    const restored = await service.restoreSnapshot(forced.ref, { into: 'newTask' });
    assert.equal(readFileSync(join(restored.task.worktreePath!, 'idea.txt'), 'utf8'), 'a day of work\n');
  });

  test('a forced-removal snapshot outlives the bound of manual snapshots of its own task', async () => {
    const task = await service.createTask({ subject: 'long', createWorktree: true });
    repo.write('work.txt', 'work\n', task.worktreePath!);
    await service.removeWorktree(task.id, { force: true });
    await service.restoreSnapshot((await service.listSnapshots(task.id))[0].ref, { into: 'worktree' });
    for (let i = 0; i < 21; i++) await service.snapshotWorktree(task.id);
    const reasons = (await service.listSnapshots(task.id)).map((snapshot) => snapshot.reason);
    assert.equal(reasons[0], 'forced-removal');
    assert.equal(reasons.filter((reason) => reason === 'manual').length, 20);
  });
  test('clean-up skips, with a reason, an in-progress task whose commit was cherry-picked onto its base, and mergedTasks does not list it', async () => {
    const task = await service.createTask({ subject: 'login fix', createWorktree: true });
    await service.setStatus(task.id, 'in_progress', 'alice');
    repo.write('fix.txt', 'hotfix part\n', task.worktreePath!);
    repo.commitAll('hotfix part', task.worktreePath!);
    repo.write('unrelated.txt', 'u\n');
    repo.commitAll('unrelated');
    repo.git('cherry-pick', task.branch!);
    repo.write('rest.txt', 'still typing\n', task.worktreePath!);

    assert.deepEqual(await service.mergedTasks(), []);
    const report = await service.cleanUpMerged();
    assert.deepEqual(report.cleaned, []);
    assert.deepEqual(report.skipped.map((skip) => skip.taskId), [task.id]);
    assert.match(report.skipped[0].reason, /in progress/);
    assert.equal(existsSync(join(task.worktreePath!, 'rest.txt')), true);
    assert.equal((await service.task(task.id)).branch, task.branch);
  });

  test('diskUsage measures only worktrees of the repository (InvalidInput for another folder, WorktreeNotFound for a missing path) and leaves nested task worktrees out of the main one', async () => {
    const task = await service.createTask({ subject: 'big', createWorktree: true });
    repo.write('big.bin', 'x'.repeat(1 << 20), task.worktreePath!);
    await rejectsWithCode(service.diskUsage(join(repo.dir, 'src')), 'InvalidInput');
    await rejectsWithCode(service.diskUsage(join(repo.dir, 'no such folder')), 'WorktreeNotFound');
    const main = await service.diskUsage(repo.dir);
    const own = await service.diskUsage(task.worktreePath!);
    assert.ok(own.bytes >= 1 << 20);
    assert.ok(main.bytes < own.bytes, `main ${main.bytes} bytes, task ${own.bytes}`);
  });

  test('changedFiles lists a file removed from the index but still on disk once', async () => {
    const task = await service.createTask({ subject: 'untrack', createWorktree: true });
    repo.gitIn(task.worktreePath!, 'rm', '-q', '--cached', 'README.md');
    const { files } = await service.changedFiles(task.id);
    assert.deepEqual(files.filter((file) => file.path === 'README.md').map((file) => file.status), ['M']);
  });
  test('a CRLF file under `* text=auto` comes back byte for byte after a forced removal and a restore', async () => {
    repo.write('.gitattributes', '* text=auto\n');
    repo.commitAll('attributes');
    const task = await service.createTask({ subject: 'windows file', createWorktree: true });
    const original = Buffer.from('line one\r\nline two\r\n');
    writeFileSync(join(task.worktreePath!, 'notes.txt'), original);
    await service.removeWorktree(task.id, { force: true });
    const [snapshot] = await service.listSnapshots(task.id);
    const restored = await service.restoreSnapshot(snapshot.ref, { into: 'worktree' });
    assert.deepEqual(readFileSync(join(restored.task.worktreePath!, 'notes.txt')), original);
  });

  test('a forced removal refuses (SnapshotFailed naming the file) when a changed file has the ident attribute and a $Id, and removes nothing', async () => {
    repo.write('.gitattributes', '*.c ident\n');
    repo.commitAll('attributes');
    const task = await service.createTask({ subject: 'ident', createWorktree: true });
    repo.write('main.c', '/* $Id: 0123456789012345678901234567890123456789 $ */\n', task.worktreePath!);
    const error = await rejectsWithCode(service.removeWorktree(task.id, { force: true }), 'SnapshotFailed');
    assert.match(error.message, /main\.c/);
    assert.equal(existsSync(join(task.worktreePath!, 'main.c')), true);
  });
  test('fileAtCommit refuses (InvalidInput) a file larger than a review reads, instead of returning an empty text', async () => {
    writeFileSync(join(repo.dir, 'disk.img'), Buffer.alloc(MAX_REVIEW_FILE_BYTES + 1));
    const commit = repo.commitAll('image');
    const error = await rejectsWithCode(service.fileAtCommit(commit, 'disk.img'), 'InvalidInput');
    assert.match(error.message, /too large/);
    assert.equal(await service.fileAtCommit(commit, 'README.md'), '# demo\n');
  });
});
