import * as assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCoded } from '../../src/core/errors';
import { DirectoryLock } from '../../src/core/tasks/lock';
import { TaskStore } from '../../src/core/tasks/store';

const HOLDER = join(__dirname, '..', 'fixtures', 'lockHolder.js');

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Another process (see test/fixtures/lockHolder.ts); `line(text)` resolves once it has printed that line. */
function startHolder(args: string[]): { child: ChildProcess; lines: string[]; line: (text: string) => Promise<void>; exited: Promise<void> } {
  const child = spawn(process.execPath, [HOLDER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  child.stdout!.on('data', (data: Buffer) => lines.push(...data.toString().split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const line = async (text: string): Promise<void> => {
    while (!lines.includes(text)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`holder ended without printing "${text}" (${lines.join(' | ')})`);
      await sleep(5);
    }
  };
  return { child, lines, line, exited };
}

/** Places a lock directory as another process would, with `token` in it. */
function placeLock(path: string, token: string): void {
  mkdirSync(path);
  writeFileSync(join(path, 'owner'), token);
}

/** Runs one acquisition per lock at once; the most that were ever inside together. */
async function mostInsideAtOnce(locks: DirectoryLock[]): Promise<number> {
  let inside = 0;
  let most = 0;
  await Promise.all(
    locks.map((lock) =>
      lock.run(async () => {
        most = Math.max(most, ++inside);
        await sleep(3);
        inside--;
      }),
    ),
  );
  return most;
}

suite('the task store lock', () => {
  let dir: string;
  let lockPath: string;
  setup(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-lock-'));
    lockPath = join(dir, 'lock');
  });
  teardown(() => rmSync(dir, { recursive: true, force: true }));

  test('many breakers of one stale lock at once (dead owner, or a heartbeat too old): one holder at a time, every round', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    for (let round = 0; round < 20; round++) {
      if (round % 2 === 0) {
        placeLock(lockPath, `${deadPid}@${hostname()}#dead`);
      } else {
        // A holder on another host whose heartbeat stopped a minute ago: only its age tells.
        placeLock(lockPath, `1@another-host#stalled`);
        const minuteAgo = new Date(Date.now() - 60_000);
        utimesSync(join(lockPath, 'owner'), minuteAgo, minuteAgo);
      }
      const contenders = Array.from({ length: 8 }, () => new DirectoryLock(lockPath, { staleAfterMs: 10_000 }));
      assert.equal(await mostInsideAtOnce(contenders), 1, `round ${round}: two holders at once`);
      assert.equal(existsSync(lockPath), false, `round ${round}: the lock is released`);
    }
  });

  test('a live holder keeps the lock however long it holds it (far past the stale age): the other waits', async () => {
    const options = { staleAfterMs: 600, heartbeatMs: 50, timeoutMs: 10_000 };
    const holder = new DirectoryLock(lockPath, options);
    const waiter = new DirectoryLock(lockPath, options);
    const order: string[] = [];
    const holding = holder.run(async () => {
      order.push('holder in');
      await sleep(3_000); // five stale ages, the event loop free: the heartbeat keeps the lock fresh
      order.push('holder out');
    });
    await sleep(50);
    await waiter.run(async () => {
      order.push('waiter in');
    });
    await holding;
    assert.deepEqual(order, ['holder in', 'holder out', 'waiter in']);
  });

  test('a dead owner\'s lock is taken over at once, not after the stale age (10 s): under 2 s', async function () {
    this.timeout(30_000);
    const holder = startHolder([dir, 'hold']);
    await holder.line('held');
    holder.child.kill('SIGKILL');
    await holder.exited;
    assert.ok(existsSync(lockPath), 'the dead owner left its lock');
    const store = new TaskStore(dir);
    const started = Date.now();
    await store.withLock(async () => undefined);
    const takeoverMs = Date.now() - started;
    assert.ok(takeoverMs < 2_000, `taken over after ${takeoverMs} ms`);
  });

  test('a holder that stalls past the stale age loses the lock: its write fails with LockLost and changes nothing, and its release leaves the new holder\'s lock', async function () {
    this.timeout(30_000);
    const store = new TaskStore(dir, { staleAfterMs: 300, heartbeatMs: 50 });
    const task = await store.create({ subject: 'watched', description: '', status: 'pending', owner: '', baseBranch: 'main', blockedBy: [] });
    const file = join(store.tasksDir, `${task.id}.json`);
    const before = readFileSync(file, 'utf8');
    const eventsBefore = (await store.events.read()).events.length;

    const stalled = startHolder([dir, 'stall', task.id, '3000']); // ten stale ages
    await stalled.line('held');
    await store.withLock(async () => {
      await stalled.exited; // it wakes up, tries to write and releases while this holds the lock
      await store.assertHeld(); // still ours: its release did not remove it
      await store.log('after.stall', task.id);
    });

    assert.deepEqual(stalled.lines, ['held', 'failed LockLost']);
    assert.equal(readFileSync(file, 'utf8'), before, 'the stalled change was not written');
    const events = (await store.events.read()).events.slice(eventsBefore);
    assert.deepEqual(events.map((event) => event.type), ['after.stall'], 'no event of the stalled change');
    assert.equal(existsSync(join(dir, 'lock')), false);
  });

  test('a lock taken from its holder: assertHeld reports LockLost and the release leaves the other lock in place', async () => {
    const lock = new DirectoryLock(lockPath);
    const thief = `1@another-host#thief`;
    await lock.run(async () => {
      await lock.assertHeld();
      // What a breaker does: the lock moved aside in one step, another holder's put in its place.
      renameSync(lockPath, `${lockPath}.broken`);
      placeLock(lockPath, thief);
      await assert.rejects(lock.assertHeld(), (error) => isCoded(error, 'LockLost'));
    });
    assert.equal(readFileSync(join(lockPath, 'owner'), 'utf8'), thief);
  });

  test('re-entrant within one call chain; two unrelated calls in one process still exclude each other', async () => {
    const lock = new DirectoryLock(lockPath, { timeoutMs: 500 });
    // Not re-entrant, the inner runs would wait for the outer one and fail with StoreLocked.
    const result = await lock.run(() => lock.run(() => new DirectoryLock(lockPath, { timeoutMs: 500 }).run(async () => 'inner ran')));
    assert.equal(result, 'inner ran');
    assert.equal(await mostInsideAtOnce([lock, lock, lock, new DirectoryLock(lockPath)]), 1);
    // Outside any hold, assertHeld says so.
    await assert.rejects(lock.assertHeld(), (error) => isCoded(error, 'LockLost'));
  });
});
