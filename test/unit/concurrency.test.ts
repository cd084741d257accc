import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskStore } from '../../src/core/tasks/store';

const WORKER = join(__dirname, '..', 'fixtures', 'storeWorker.js');

function startWorker(args: string[]): { child: ChildProcess; lines: string[]; done: Promise<number> } {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (data: Buffer) => {
    buffered += data.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  const done = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : 0))));
  return { child, lines, done };
}

async function seed(store: TaskStore): Promise<{ shared: string[]; counter: string }> {
  const shared: string[] = [];
  for (let i = 0; i < 12; i++) {
    shared.push((await store.create({ subject: `shared ${i}`, description: '', status: 'pending', owner: '', baseBranch: 'main', blockedBy: [] })).id);
  }
  const counter = (await store.create({ subject: 'counter', description: '0', status: 'pending', owner: '', baseBranch: 'main', blockedBy: [] })).id;
  return { shared, counter };
}

suite('store under concurrent windows and crashes', () => {
  let dir: string;
  setup(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-store-'));
  });
  teardown(() => rmSync(dir, { recursive: true, force: true }));

  test('8 processes × 200 changes at once: every change present, no corrupt file, no id twice', async function () {
    this.timeout(180_000);
    const WORKERS = 8;
    const CHANGES = 200;
    const store = new TaskStore(dir);
    const { shared, counter } = await seed(store);
    const startAt = String(Date.now() + 1500);
    const workers = Array.from({ length: WORKERS }, (_, w) => startWorker([dir, String(w), String(CHANGES), startAt, shared.join(','), counter]));
    const codes = await Promise.all(workers.map((worker) => worker.done));
    assert.deepEqual(codes, Array(WORKERS).fill(0), 'every worker finished');

    const done = workers.flatMap((worker) => worker.lines).map((line) => line.split(' '));
    assert.equal(done.length, WORKERS * CHANGES, 'every change was acknowledged');
    const created = done.filter(([, , kind]) => kind === 'create').map(([, , , id]) => id);
    assert.equal(new Set(created).size, created.length, 'no id given out twice');

    const { tasks, problems } = await store.load();
    assert.deepEqual(problems, [], 'no corrupt task file');
    const ids = new Set(tasks.map((task) => task.id));
    for (const id of created) assert.ok(ids.has(id), `created task ${id} is in the store`);
    assert.equal(tasks.length, shared.length + 1 + created.length);
    assert.equal(readdirSync(store.tasksDir).filter((name) => name.endsWith('.tmp')).length, 0, 'no temp file left');

    const increments = done.filter(([, , kind]) => kind === 'count').length;
    assert.equal(tasks.find((task) => task.id === counter)!.description, String(increments), 'no lost read-modify-write');

    const { events, unreadable } = await store.events.read();
    assert.equal(unreadable, 0);
    const tokens = events.map((event) => event.token ?? event.subject).filter(Boolean);
    const changeTokens = events.filter((event) => typeof event.token === 'string').map((event) => event.token as string);
    assert.equal(new Set(changeTokens).size, changeTokens.length, 'each change logged once');
    assert.equal(changeTokens.length + created.length, WORKERS * CHANGES, `every change logged (${tokens.length} events)`);
    // The store and the log agree on the order: each task's owner is the last claim logged for it.
    for (const task of tasks) {
      const claims = events.filter((event) => event.type === 'task.claimed' && event.taskId === task.id);
      if (claims.length) assert.equal(task.owner, claims[claims.length - 1].owner);
    }
    console.log(`      ${WORKERS} processes × ${CHANGES} changes: ${done.length} acknowledged, ${created.length} ids, counter ${increments}, lost 0`);
  });

  test('a writer killed with SIGKILL at random moments, 100 times: the store always loads, only the change in flight may be missing', async function () {
    this.timeout(300_000);
    const KILLS = 100;
    const store = new TaskStore(dir);
    const { shared, counter } = await seed(store);
    const acknowledgedIds: string[] = [];
    let acknowledgedCount = 0;
    let tornEvents = 0;
    for (let round = 0; round < KILLS; round++) {
      const worker = startWorker([dir, String(round), '100000', '0', shared.join(','), counter]);
      // Once it is working (its first change acknowledged), kill it at a random moment.
      const deadline = Date.now() + 10_000;
      while (worker.lines.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
      worker.child.kill('SIGKILL');
      await worker.done;
      const done = worker.lines.map((line) => line.split(' '));
      acknowledgedIds.push(...done.filter(([, , kind]) => kind === 'create').map(([, , , id]) => id));
      const counts = done.filter(([, , kind]) => kind === 'count').map(([, , , , value]) => Number(value));
      if (counts.length) acknowledgedCount = counts[counts.length - 1];

      const { tasks, problems } = await store.load();
      assert.deepEqual(problems, [], `round ${round}: the store loads without a corrupt file`);
      const ids = new Set(tasks.map((task) => task.id));
      for (const id of acknowledgedIds) assert.ok(ids.has(id), `round ${round}: acknowledged task ${id} survived`);
      const stored = Number(tasks.find((task) => task.id === counter)!.description);
      assert.ok(stored === acknowledgedCount || stored === acknowledgedCount + 1, `round ${round}: counter ${stored} vs acknowledged ${acknowledgedCount} (at most the change in flight differs)`);
      acknowledgedCount = stored;
      tornEvents = (await store.events.read()).unreadable;
    }
    // A torn event line can only be the one being appended when its writer died.
    assert.ok(tornEvents <= KILLS, `unreadable event lines: ${tornEvents}`);
    // The next writer takes over a dead writer's lock at once.
    const after = await store.update(counter, () => ({ type: 'task.status' }));
    assert.ok(after);
    console.log(`      ${KILLS} SIGKILLs survived: ${acknowledgedIds.length} acknowledged creates all present, torn event lines ${tornEvents}, lost 0`);
  });
});
