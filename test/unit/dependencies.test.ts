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
});
