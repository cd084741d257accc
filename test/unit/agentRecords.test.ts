import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TaskService } from '../../src/core';
import { rejectsWithCode } from '../fixtures/assertions';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

suite('an agent recorded by one process stops removals and merges in every process', () => {
  let repo: TestRepo;
  teardown(() => repo.dispose());

  /** A fresh repository with a task and its worktree, and the store's folder of agent records made (empty), for records written by hand. */
  const taskWithAgentRecordsFolder = async (subject: string) => {
    const { repo: fresh, service } = await openFreshRepo();
    repo = fresh; // the suite's teardown disposes of it
    const task = await service.createTask({ subject, createWorktree: true });
    const agents = join(service.store.dir, 'agents');
    mkdirSync(agents, { recursive: true });
    return { service, task, agents };
  };

  test('while its process lives, remove (also forced) and merge from another service refuse AgentRunning; after it exits they proceed', async () => {
    repo = new TestRepo();
    const window = await TaskService.open(repo.dir);
    const cli = await TaskService.open(repo.dir); // another process's view: nothing in memory shared
    const task = await window.createTask({ subject: 'agent at work', createWorktree: true });
    repo.write('work.txt', 'committed\n', task.worktreePath);
    repo.commitAll('agent work', task.worktreePath);
    const agent = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await window.agentStarted(task.id, { name: 'Stand-in', command: 'sleep', pid: agent.pid });
      const before = repo.snapshot();
      const removal = await rejectsWithCode(cli.removeWorktree(task.id, { force: true }), 'AgentRunning');
      assert.deepEqual((removal as Error & { details: string[] }).details, [`Stand-in (pid ${agent.pid} on ${hostname()})`]);
      await rejectsWithCode(cli.mergeTask(task.id), 'AgentRunning');
      assert.equal(repo.snapshot(), before, 'nothing changed');
    } finally {
      agent.kill();
      await new Promise((resolve) => agent.once('exit', resolve));
    }
    // A record whose process died blocks nothing, even before the window logs the exit.
    assert.equal((await cli.mergeTask(task.id)).merged, true);
    await window.agentExited(task.id, { name: 'Stand-in', pid: agent.pid, code: null, reason: 'process' });
    assert.deepEqual(window.store.readAgents(), []);
    await cli.removeWorktree(task.id);
    assert.equal(existsSync(task.worktreePath!), false);
    const types = (await cli.events()).events.filter((event) => event.taskId === task.id).map((event) => event.type);
    assert.ok(types.includes('agent.started') && types.includes('agent.exited'), types.join(', '));
  });

  test('damaged agent records never hang, crash or write outside the store: a FIFO, a bad field, a bad pid; an old record from another host blocks nothing', async () => {
    const { service, task, agents } = await taskWithAgentRecordsFolder('records');
    execFileSync('mkfifo', [join(agents, 'fifo.json')]);
    writeFileSync(join(agents, 'object.json'), JSON.stringify({ pid: process.pid, host: hostname(), agent: { toString: 1 }, taskId: task.id, worktreePath: task.worktreePath, startedAt: new Date().toISOString() }));
    const dayAgo = new Date(Date.now() - 25 * 3600_000).toISOString();
    writeFileSync(join(agents, 'elsewhere.json'), JSON.stringify({ pid: 1, host: 'gone-container', agent: 'Old', taskId: task.id, worktreePath: task.worktreePath, startedAt: dayAgo }));
    await rejectsWithCode(service.agentStarted(task.id, { name: 'x', command: 'x', pid: '../../evil' as unknown as number }), 'InvalidInput');
    await rejectsWithCode(service.agentStarted(task.id, { name: 'x', command: 'x', pid: 0.5 }), 'InvalidInput');
    const removed = await service.removeWorktree(task.id);
    assert.equal(removed.worktreePath, undefined, 'none of them blocked the removal');
    assert.deepEqual(readdirSync(agents).sort(), ['elsewhere.json', 'fifo.json', 'object.json']);
  });

  test('a live agent on another host blocks, and the refusal names the record to delete if it is gone', async () => {
    const { service, task, agents } = await taskWithAgentRecordsFolder('remote agent');
    const record = join(agents, '7@other-host.json');
    writeFileSync(record, JSON.stringify({ pid: 7, host: 'other-host', agent: 'Remote', taskId: task.id, worktreePath: task.worktreePath, startedAt: new Date().toISOString() }));
    const refusal = await rejectsWithCode(service.removeWorktree(task.id, { force: true }), 'AgentRunning');
    assert.ok(refusal.message.includes(record), refusal.message);
    rmSync(record);
    assert.equal((await service.removeWorktree(task.id)).worktreePath, undefined);
  });
});
