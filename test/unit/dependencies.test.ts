import * as assert from 'node:assert/strict';
import { TaskService } from '../../src/core';
import { rejectsWithCode } from '../fixtures/assertions';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

suite('blockedBy: a task waits for the tasks it names', () => {
  let repo: TestRepo;
  let service: TaskService;
  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('a blocked task cannot be claimed or started; completing its blocker makes it ready and logs task.unblocked', async () => {
    const schema = await service.createTask({ subject: 'schema' });
    const api = await service.createTask({ subject: 'api', blockedBy: [schema.id] });
    const refusal = await rejectsWithCode(service.setStatus(api.id, 'in_progress', 'codex'), 'Blocked');
    assert.deepEqual((refusal as Error & { details: string[] }).details, [schema.id]);
    assert.equal((await service.task(api.id)).status, 'pending', 'nothing changed');
    let board = await service.board();
    assert.deepEqual(board.tasks.find((task) => task.id === api.id)?.blockers, [schema.id]);
    assert.equal(board.tasks.find((task) => task.id === api.id)?.ready, false);
    assert.equal(board.tasks.find((task) => task.id === schema.id)?.ready, true);

    await service.completeTask(schema.id);
    board = await service.board();
    assert.deepEqual(board.tasks.find((task) => task.id === api.id)?.blockers, []);
    assert.equal(board.tasks.find((task) => task.id === api.id)?.ready, true);
    const unblocked = (await service.events()).events.filter((event) => event.type === 'task.unblocked');
    assert.deepEqual(unblocked.map((event) => [event.taskId, event.by]), [[api.id, schema.id]]);
    assert.equal((await service.setStatus(api.id, 'in_progress', 'codex')).owner, 'codex');
  });

  test('unknown blockers, a task waiting on itself and cycles are refused; nothing changes', async () => {
    const a = await service.createTask({ subject: 'a' });
    const b = await service.createTask({ subject: 'b', blockedBy: [a.id] });
    const c = await service.createTask({ subject: 'c', blockedBy: [b.id] });
    await rejectsWithCode(service.createTask({ subject: 'd', blockedBy: ['no-such-task'] }), 'TaskNotFound');
    await rejectsWithCode(service.setBlockedBy(a.id, [a.id]), 'InvalidInput');
    await rejectsWithCode(service.setBlockedBy(a.id, [c.id]), 'InvalidInput');
    await rejectsWithCode(service.setBlockedBy(a.id, ['not an id']), 'InvalidInput');
    assert.deepEqual((await service.task(a.id)).blockedBy, []);
    assert.equal((await service.board()).tasks.length, 3);
    assert.deepEqual((await service.setBlockedBy(c.id, [a.id, b.id, a.id])).blockedBy, [a.id, b.id]);
  });

  test('a deleted blocker blocks nothing', async () => {
    const gone = await service.createTask({ subject: 'gone' });
    const waiting = await service.createTask({ subject: 'waiting', blockedBy: [gone.id] });
    await service.deleteTask(gone.id);
    const view = (await service.board()).tasks.find((task) => task.id === waiting.id);
    assert.deepEqual(view?.blockers, []);
    assert.equal(view?.ready, true);
  });

  test('deleting a task takes it out of every blockedBy, so a new task with the same id is not waited on (no deadlock)', async () => {
    const gone = await service.createTask({ subject: 'e' });
    const waiting = await service.createTask({ subject: 'f', blockedBy: [gone.id] });
    await service.deleteTask(gone.id);
    assert.deepEqual((await service.task(waiting.id)).blockedBy, []);
    const reborn = await service.createTask({ subject: 'e', blockedBy: [waiting.id] });
    assert.equal(reborn.id, gone.id, 'the id is free again');
    assert.equal((await service.setStatus(waiting.id, 'in_progress', 'codex')).status, 'in_progress');
  });

  test('a task claimed by one owner cannot be given to another by any status change (TaskClaimed); handing back works', async () => {
    const task = await service.createTask({ subject: 'held' });
    await service.setStatus(task.id, 'in_progress', 'x');
    for (const status of ['in_progress', 'completed', 'pending'] as const) {
      await rejectsWithCode(service.setStatus(task.id, status, 'y'), 'TaskClaimed');
    }
    assert.equal((await service.task(task.id)).owner, 'x');
    await service.setStatus(task.id, 'pending');
    assert.equal((await service.setStatus(task.id, 'in_progress', 'y')).owner, 'y');
  });
});
