import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortBlock, Task, TaskService } from '../../src/core/index';
import { taskEnvironment } from '../../src/ui/taskEnvironment';
import { rejectsWithCode } from '../fixtures/assertions';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

const CORE = join(__dirname, '..', '..', 'src', 'core', 'index.js');

/** A separate process (another window, the CLI, an agent) creating tasks with worktrees, starting at `startAt`. */
const CREATOR = `
const { TaskService } = require(process.argv[1]);
const [dir, worker, count, startAt] = process.argv.slice(2);
(async () => {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
  const service = await TaskService.open(dir);
  for (let i = 0; i < Number(count); i++) await service.createTask({ subject: 'worker ' + worker + ' task ' + i, createWorktree: true });
})().catch((error) => { console.error(error); process.exit(1); });
`;

function runCreator(dir: string, worker: number, count: number, startAt: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', CREATOR, CORE, dir, String(worker), String(count), String(startAt)], { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
}

function overlap(a: PortBlock, b: PortBlock): boolean {
  return a.first < b.first + b.count && b.first < a.first + a.count;
}

suite('ports: a block per task with a worktree, unique across the repository', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('each new worktree gets the lowest free block (3100, 3110, …), recorded in its task file; a task without a worktree has none', async () => {
    const tasks: Task[] = [];
    for (const subject of ['one', 'two', 'three']) tasks.push(await service.createTask({ subject, createWorktree: true }));
    const bare = await service.createTask({ subject: 'no worktree' });
    assert.deepEqual(tasks.map((task) => task.ports), [
      { first: 3100, count: 10 },
      { first: 3110, count: 10 },
      { first: 3120, count: 10 },
    ]);
    assert.equal(bare.ports, undefined);
    const file = JSON.parse(readFileSync(join(service.store.tasksDir, 'two.json'), 'utf8')) as Task;
    assert.deepEqual(file.ports, { first: 3110, count: 10 });
  });

  test('removing a worktree frees its block (also a worktree pruned after its folder was deleted); the next worktree takes the freed one', async () => {
    const [one, two, three] = [await service.createTask({ subject: 'one', createWorktree: true }), await service.createTask({ subject: 'two', createWorktree: true }), await service.createTask({ subject: 'three', createWorktree: true })];
    const removed = await service.removeWorktree(two.id);
    assert.equal(removed.ports, undefined);
    const four = await service.createTask({ subject: 'four', createWorktree: true });
    assert.deepEqual(four.ports, two.ports);

    rmSync(three.worktreePath!, { recursive: true, force: true });
    assert.deepEqual(await service.prune(), ['three']);
    assert.equal((await service.task('three')).ports, undefined);
    const five = await service.createTask({ subject: 'five', createWorktree: true });
    assert.deepEqual(five.ports, three.ports);
    assert.deepEqual((await service.task(one.id)).ports, { first: 3100, count: 10 }, 'the others keep theirs');
  });

  test('the port settings seed the repository record: a later window or the CLI with other settings allocates from the recorded ones', async () => {
    const custom = await TaskService.open(repo.dir, { ports: { base: 4000, blockSize: 5 } });
    const first = await custom.createTask({ subject: 'first', createWorktree: true });
    assert.deepEqual(first.ports, { first: 4000, count: 5 });
    assert.deepEqual((JSON.parse(readFileSync(custom.store.configFile, 'utf8')) as { ports: unknown }).ports, { base: 4000, blockSize: 5 });
    const second = await service.createTask({ subject: 'second', createWorktree: true });
    assert.deepEqual(second.ports, { first: 4005, count: 5 });
  });

  test('bad port settings are refused before anything runs; a task file with a bad port block is reported, not used', async () => {
    for (const ports of [{ base: 80, blockSize: 10 }, { base: 3100, blockSize: 0 }, { base: 65530, blockSize: 10 }, { base: '3100', blockSize: 10 }]) {
      await rejectsWithCode(TaskService.open(repo.dir, { ports: ports as never }), 'InvalidInput');
      assert.throws(() => service.updateSettings({ ports: ports as never }), /Invalid port settings/);
    }
    const task = await service.createTask({ subject: 'tampered', createWorktree: true });
    const file = join(service.store.tasksDir, `${task.id}.json`);
    writeFileSync(file, JSON.stringify({ ...task, ports: { first: -1, count: 10 } }));
    const { problems } = await service.store.load();
    assert.match(problems.map((problem) => problem.message).join('\n'), /ports .* is not a block of ports/);
  });

  test('4 processes creating 3 worktrees each at once: every task gets a block, no two blocks overlap, and none is skipped', async function () {
    this.timeout(180_000);
    const startAt = Date.now() + 1500;
    const codes = await Promise.all([0, 1, 2, 3].map((worker) => runCreator(repo.dir, worker, 3, startAt)));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const { tasks, problems } = await service.store.load();
    assert.deepEqual(problems, []);
    assert.equal(tasks.length, 12);
    const blocks = tasks.map((task) => task.ports!);
    assert.ok(blocks.every(Boolean), 'every task has ports');
    for (let i = 0; i < blocks.length; i++) for (let j = i + 1; j < blocks.length; j++) assert.ok(!overlap(blocks[i], blocks[j]), `${tasks[i].id} and ${tasks[j].id} share ports`);
    assert.deepEqual(blocks.map((block) => block.first).sort(), Array.from({ length: 12 }, (_, k) => 3100 + 10 * k));
  });

  test('TASK_PORT is the first port of the block and TASK_PORTS the range; a task without ports has neither', async () => {
    const task = await service.createTask({ subject: 'env', createWorktree: true });
    const env = taskEnvironment(task);
    assert.deepEqual([env.TASK_PORT, env.TASK_PORTS, env.TASK_ID, env.TASK_WORKTREE], ['3100', '3100-3109', 'env', task.worktreePath]);
    const without = taskEnvironment(await service.createTask({ subject: 'bare' }));
    assert.ok(!('TASK_PORT' in without) && !('TASK_PORTS' in without));
  });
});

suite('setup state on the task', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('recordSetup: running, then failed with a message; the copied count is kept; each change is logged', async () => {
    const task = await service.createTask({ subject: 'setup', createWorktree: true });
    const running = await service.recordSetup(task.id, { state: 'running', copied: 3 });
    assert.deepEqual([running.setup?.state, running.setup?.copied, running.setup?.message], ['running', 3, undefined]);
    const failed = await service.recordSetup(task.id, { state: 'failed', message: 'npm ci exited with 1' });
    assert.deepEqual([failed.setup?.state, failed.setup?.copied, failed.setup?.message], ['failed', 3, 'npm ci exited with 1']);
    assert.deepEqual((await service.task(task.id)).setup, failed.setup);
    const logged = (await service.events()).events.filter((event) => event.type === 'worktree.setup').map((event) => event.state);
    assert.deepEqual(logged, ['running', 'failed']);
  });

  test('recordSetup refuses an unknown state or a bad count before writing, and a task without a worktree', async () => {
    const task = await service.createTask({ subject: 'setup', createWorktree: true });
    await rejectsWithCode(service.recordSetup(task.id, { state: 'finished' as never }), 'InvalidInput');
    await rejectsWithCode(service.recordSetup(task.id, { state: 'done', copied: -1 }), 'InvalidInput');
    await rejectsWithCode(service.recordSetup('../x', { state: 'done' }), 'InvalidInput');
    assert.equal((await service.task(task.id)).setup, undefined);
    const bare = await service.createTask({ subject: 'bare' });
    await rejectsWithCode(service.recordSetup(bare.id, { state: 'done' }), 'TaskHasNoWorktree');
  });

  test('removing the worktree clears its setup state with its ports', async () => {
    const task = await service.createTask({ subject: 'setup', createWorktree: true });
    await service.recordSetup(task.id, { state: 'cancelled' });
    const removed = await service.removeWorktree(task.id);
    assert.deepEqual([removed.setup, removed.ports], [undefined, undefined]);
  });
});
