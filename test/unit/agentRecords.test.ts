import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TaskService } from '../../src/core';
import { rejectsWithCode } from '../fixtures/assertions';
import { TestRepo } from '../fixtures/repo';

suite('an agent recorded by one process stops removals and merges in every process', () => {
  let repo: TestRepo;
  teardown(() => repo.dispose());

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
      assert.deepEqual((removal as Error & { details: string[] }).details, [`Stand-in (pid ${agent.pid})`]);
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
});
