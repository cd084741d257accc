import * as assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TaskService } from '../../src/core';
import { rejectsWithCode } from '../fixtures/assertions';
import { TestRepo } from '../fixtures/repo';
import { close, openWindowIn } from '../fixtures/windows';

suite('windows: a worktree open in another window is not removed from under it without asking', () => {
  let repo: TestRepo;
  const windows: ChildProcess[] = [];
  teardown(async () => {
    await Promise.all(windows.splice(0).map(close));
    repo.dispose();
  });

  test('a live window of another process refuses remove (also forced) with WorktreeOpenInWindow naming it and its terminals; evenIfOpen removes', async () => {
    repo = new TestRepo();
    const service = await TaskService.open(repo.dir);
    const task = await service.createTask({ subject: 'open elsewhere', createWorktree: true });
    const window = await openWindowIn(repo.dir, { worktreePath: join(task.worktreePath!, 'src'), taskId: task.id, terminals: ['bash', 'npm run dev'] });
    windows.push(window);
    assert.deepEqual(
      service.openWindows([task.worktreePath!]).map((record) => [record.pid, record.terminals]),
      [[window.pid, ['bash', 'npm run dev']]],
    );
    const before = repo.snapshot();
    const refusal = await rejectsWithCode(service.removeWorktree(task.id, { force: true }), 'WorktreeOpenInWindow');
    assert.deepEqual((refusal as Error & { details: string[] }).details, [`the window of task "${task.id}" (pid ${window.pid} on ${hostname()}), terminals: bash, npm run dev`]);
    assert.match(refusal.message, /2 terminal\(s\)/);
    assert.equal(repo.snapshot(), before, 'nothing changed');
    assert.ok(existsSync(task.worktreePath!));
    const removed = await service.removeWorktree(task.id, { evenIfOpen: true });
    assert.equal(removed.worktreePath, undefined);
    assert.equal(existsSync(task.worktreePath!), false);
  });

  test('the calling process\'s own window does not count: it is the one asking', async () => {
    repo = new TestRepo();
    const service = await TaskService.open(repo.dir);
    const task = await service.createTask({ subject: 'my own window', createWorktree: true });
    const own = await service.recordWindow({ worktreePath: task.worktreePath!, taskId: task.id, terminals: ['zsh'] });
    assert.equal(own.pid, process.pid);
    assert.deepEqual(service.openWindows([task.worktreePath!]).map((record) => record.pid), [process.pid], 'it is listed as open');
    assert.equal((await service.removeWorktree(task.id)).worktreePath, undefined);
    await service.clearWindow();
    assert.deepEqual(readdirSync(service.store.windowsDir), []);
  });

  test('a window whose process exited blocks nothing, and the next heartbeat of any window deletes its record', async () => {
    repo = new TestRepo();
    const service = await TaskService.open(repo.dir);
    const task = await service.createTask({ subject: 'closed window', createWorktree: true });
    const other = await service.createTask({ subject: 'other', createWorktree: true });
    const window = await openWindowIn(repo.dir, { worktreePath: task.worktreePath! });
    await close(window);
    assert.deepEqual(readdirSync(service.store.windowsDir), [`${window.pid}@${hostname().replace(/[^\w.-]/g, '_')}.json`], 'its record is still there');
    assert.deepEqual(service.openWindows([task.worktreePath!]), []);
    assert.equal((await service.removeWorktree(task.id)).worktreePath, undefined);
    await service.recordWindow({ worktreePath: other.worktreePath! });
    assert.deepEqual(service.store.readWindows().map((record) => record.pid), [process.pid], 'only the live window is left');
  });

  test('records whose heartbeat is over two minutes old, or from the future, block nothing even with a live pid; another host\'s fresh one blocks', async () => {
    repo = new TestRepo();
    const service = await TaskService.open(repo.dir);
    const task = await service.createTask({ subject: 'stale heartbeat', createWorktree: true });
    const alive = spawn('sleep', ['60'], { stdio: 'ignore' });
    windows.push(alive);
    const dir = service.store.windowsDir;
    mkdirSync(dir, { recursive: true });
    const at = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
    const record = (host: string, seenAt: string) => JSON.stringify({ pid: alive.pid, host, worktreePath: task.worktreePath, terminals: [], seenAt });
    writeFileSync(join(dir, 'stale.json'), record(hostname(), at(-3 * 60_000)));
    writeFileSync(join(dir, 'future.json'), record(hostname(), at(10 * 60_000)));
    writeFileSync(join(dir, 'remote-stale.json'), record('other-host', at(-3 * 60_000)));
    assert.deepEqual(service.openWindows([task.worktreePath!]), []);
    writeFileSync(join(dir, 'remote.json'), record('other-host', at(-60_000)));
    const refusal = await rejectsWithCode(service.removeWorktree(task.id), 'WorktreeOpenInWindow');
    assert.deepEqual((refusal as Error & { details: string[] }).details, [`the window on ${task.worktreePath} (pid ${alive.pid} on other-host)`]);
    writeFileSync(join(dir, 'remote.json'), record('other-host', at(-3 * 60_000)));
    assert.equal((await service.removeWorktree(task.id)).worktreePath, undefined);
  });

  test('damaged window records never hang, crash, block or get deleted: a FIFO, a link, a huge file, a folder, bad fields; bad input to recordWindow is refused', async () => {
    repo = new TestRepo();
    const service = await TaskService.open(repo.dir);
    const task = await service.createTask({ subject: 'damaged records', createWorktree: true });
    const dir = service.store.windowsDir;
    mkdirSync(dir, { recursive: true });
    const live = { pid: process.ppid, host: hostname(), worktreePath: task.worktreePath, taskId: task.id, terminals: ['bash'], seenAt: new Date().toISOString() };
    const valid = join(repo.dir, '..', 'valid-record.json');
    writeFileSync(valid, JSON.stringify(live)); // would block, if read through a link
    execFileSync('mkfifo', [join(dir, 'fifo.json')]);
    symlinkSync(valid, join(dir, 'link.json'));
    symlinkSync('/dev/zero', join(dir, 'zero.json'));
    writeFileSync(join(dir, 'huge.json'), JSON.stringify(live).replace('}', `,"pad":"${'x'.repeat(1 << 20)}"}`));
    mkdirSync(join(dir, 'folder.json'));
    const bad: Record<string, unknown> = {
      'pid-path.json': { ...live, pid: '../../evil' },
      'pid-fraction.json': { ...live, pid: 0.5 },
      'relative.json': { ...live, worktreePath: 'project/.worktrees/x' },
      'terminal-newline.json': { ...live, terminals: ['bash\nrm -rf /'] },
      'terminals-object.json': { ...live, terminals: { length: 1 } },
      'task-id.json': { ...live, taskId: '../x' },
      'seen-at.json': { ...live, seenAt: 'yesterday' },
      'host-object.json': { ...live, host: { toString: 1 } },
      'array.json': [live],
      'not-json.json': '{"pid":',
    };
    for (const [name, value] of Object.entries(bad)) writeFileSync(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
    assert.deepEqual(service.store.readWindows(), []);
    const names = readdirSync(dir).sort();
    await service.recordWindow({ worktreePath: repo.dir }); // a heartbeat: it deletes dead records only
    assert.deepEqual(readdirSync(dir).filter((name) => !name.startsWith(`${process.pid}@`)).sort(), names, 'all are kept as they are');
    assert.equal((await service.removeWorktree(task.id)).worktreePath, undefined, 'none of them blocked the removal');

    await rejectsWithCode(service.recordWindow({ worktreePath: 'relative/path' }), 'InvalidInput');
    await rejectsWithCode(service.recordWindow({ worktreePath: repo.dir, taskId: '../../x' }), 'InvalidInput');
    await rejectsWithCode(service.recordWindow({ worktreePath: repo.dir, terminals: 'bash' as unknown as string[] }), 'InvalidInput');
    await rejectsWithCode(service.removeWorktree(task.id, { evenIfOpen: 'yes' as unknown as boolean }), 'InvalidInput');
    const labelled = await service.recordWindow({ worktreePath: repo.dir, terminals: ['evil\u001b]0;title\u0007\nname', 'x'.repeat(500)] });
    assert.deepEqual(labelled.terminals, ['evil ]0;title  name', 'x'.repeat(100)]);
    assert.deepEqual(service.store.readWindows().map((record) => record.terminals), [labelled.terminals], 'the record written is one that reads back');
  });

  test('merge with removeWorktree lands the merge but keeps a worktree another window has open (cleanupError says why); evenIfOpen removes it', async () => {
    repo = new TestRepo();
    const service = await TaskService.open(repo.dir);
    const task = await service.createTask({ subject: 'merge and clean', createWorktree: true });
    repo.write('feature.txt', 'done\n', task.worktreePath);
    repo.commitAll('feature', task.worktreePath);
    windows.push(await openWindowIn(repo.dir, { worktreePath: task.worktreePath!, taskId: task.id, terminals: ['bash'] }));
    const result = await service.mergeTask(task.id, { removeWorktree: true, deleteBranch: true });
    assert.equal(result.merged, true);
    assert.match(result.cleanupError ?? '', /Another window has .* open, with 1 terminal/);
    assert.ok(existsSync(task.worktreePath!), 'the worktree is kept');
    assert.equal(repo.git('show', 'main:feature.txt'), 'done\n');
    const again = await service.mergeTask(task.id, { removeWorktree: true, deleteBranch: true, evenIfOpen: true });
    assert.equal(again.cleanupError, undefined);
    assert.equal(existsSync(task.worktreePath!), false);
    assert.equal(repo.git('branch', '--list', task.branch!), '');
  });

  test('Clean Up Merged Tasks skips a merged task whose worktree another window has open, naming why, and cleans the others', async () => {
    repo = new TestRepo();
    const service = await TaskService.open(repo.dir);
    const open = await service.createTask({ subject: 'open and merged', createWorktree: true });
    const closed = await service.createTask({ subject: 'closed and merged', createWorktree: true });
    for (const task of [open, closed]) {
      repo.write(`${task.id}.txt`, 'done\n', task.worktreePath);
      repo.commitAll(task.id, task.worktreePath);
      assert.equal((await service.mergeTask(task.id)).merged, true);
    }
    windows.push(await openWindowIn(repo.dir, { worktreePath: open.worktreePath!, taskId: open.id, terminals: ['bash'] }));
    const report = await service.cleanUpMerged();
    assert.deepEqual(report.cleaned, [closed.id]);
    assert.deepEqual(report.skipped.map((skip) => [skip.taskId, skip.reason.split(':')[0]]), [[open.id, 'WorktreeOpenInWindow']]);
    assert.ok(existsSync(open.worktreePath!), 'the open worktree is kept');
    assert.equal(existsSync(closed.worktreePath!), false);
  });
});
