import * as assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCoded, Task, TaskService, TaskWorktreesError } from '../../src/core/index';
import { DirectoryLock } from '../../src/core/tasks/lock';
import { branchExists, refusesUnchanged, rejectsCoded, taskWithCommit } from '../fixtures/attackHelpers';
import { isReachable, settlesWithin, storeDir, watchGit } from '../fixtures/attackSecondSetups';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/**
 * The second outside attack (issue 8) on input and on the store: options that are not booleans,
 * arguments of the wrong shape, a damaged config.json, a stray lock directory, store entries of
 * the wrong kind, and event lines that are JSON but not events.
 */

suite('second attack: options of the wrong type are refused before any git process', () => {
  let repo: TestRepo;
  let service: TaskService;
  let task: Task;
  let git: ReturnType<typeof watchGit>;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
    task = await taskWithCommit(repo, service, 'work');
    repo.write('unsaved.txt', 'not committed\n', task.worktreePath);
    git = watchGit(service);
  });
  teardown(() => repo.dispose());

  // `as never`: callers in plain JavaScript (keybinding args, agents, other extensions) pass anything.
  const WRONG: Array<[string, (service: TaskService, id: string) => Promise<unknown>]> = [
    ['removeWorktree(id, { force: "false" })', (s, id) => s.removeWorktree(id, { force: 'false' } as never)],
    ['removeWorktree(id, { deleteBranch: 1 })', (s, id) => s.removeWorktree(id, { deleteBranch: 1 } as never)],
    ['removeWorktree(id, 42)', (s, id) => s.removeWorktree(id, 42 as never)],
    ['mergeTask(id, { removeWorktree: "no" })', (s, id) => s.mergeTask(id, { removeWorktree: 'no' } as never)],
    ['mergeTask(id, { deleteBranch: 1 })', (s, id) => s.mergeTask(id, { deleteBranch: 1 } as never)],
    ['mergeTask(id, 42)', (s, id) => s.mergeTask(id, 42 as never)],
  ];
  for (const [call, run] of WRONG) {
    test(`${call} → InvalidInput, no git process, nothing changed`, async () => {
      git.reset();
      await refusesUnchanged(repo, () => run(service, task.id), ['InvalidInput']);
      assert.deepEqual(git.spawned, [], 'no git process ran');
    });
  }

  for (const options of [null, undefined]) {
    test(`removeWorktree(id, ${options}) works like no options: a worktree with an untracked file → WorktreeDirty, nothing changed`, async () => {
      await refusesUnchanged(repo, () => service.removeWorktree(task.id, options as never), ['WorktreeDirty']);
    });

    test(`mergeTask(id, ${options}) works like no options: merged, the task's commit in main, worktree and branch kept`, async () => {
      rmSync(join(task.worktreePath!, 'unsaved.txt'));
      const head = repo.oid(`refs/heads/${task.branch}`);
      const result = await service.mergeTask(task.id, options as never);
      assert.equal(result.merged, true);
      assert.ok(isReachable(repo, head, 'refs/heads/main'), 'the task\'s commit is in main');
      assert.equal((await service.task(task.id)).worktreePath, task.worktreePath);
      assert.ok(branchExists(repo, task.branch!));
    });
  }
});

suite('second attack: arguments of the wrong shape get a coded error', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
    await taskWithCommit(repo, service, 'work');
  });
  teardown(() => repo.dispose());

  for (const [call, run] of [
    ['previewMerges(42)', (s: TaskService) => s.previewMerges(42 as never)],
    ['previewMerges({})', (s: TaskService) => s.previewMerges({} as never)],
    ['worktreeDetails(null)', (s: TaskService) => s.worktreeDetails(null as never)],
  ] as const) {
    test(`${call} → InvalidInput`, async () => {
      assert.equal((await rejectsCoded(run(service))).code, 'InvalidInput');
    });
  }
});

suite('second attack: a damaged config.json', () => {
  let repo: TestRepo;

  setup(() => {
    repo = new TestRepo();
  });
  teardown(() => repo.dispose());

  for (const createWorktree of [false, true]) {
    test(`config.json = "{bad": createTask({ createWorktree: ${createWorktree} }) → StoreCorrupt, nothing changed, the file kept byte for byte, no task created`, async () => {
      const service = await TaskService.open(repo.dir);
      await service.createTask({ subject: 'first' });
      const config = join(storeDir(service), 'config.json');
      writeFileSync(config, '{bad');
      const tasksBefore = readdirSync(join(storeDir(service), 'tasks')).sort();

      await refusesUnchanged(repo, () => service.createTask({ subject: 'second', createWorktree }), ['StoreCorrupt']);

      assert.equal(readFileSync(config, 'utf8'), '{bad');
      assert.deepEqual(readdirSync(join(storeDir(service), 'tasks')).sort(), tasksBefore);
    });
  }
});

suite('second attack: a lock directory without an owner file', () => {
  let repo: TestRepo;
  let service: TaskService;
  let lock: string;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
    await service.createTask({ subject: 'first' });
    lock = join(storeDir(service), 'lock');
    mkdirSync(lock);
    writeFileSync(join(lock, 'owner.swp'), 'left by an editor\n');
  });
  teardown(() => repo.dispose());

  // The bounds are generous on purpose: they tell a lock taken over from one waited on for ever.
  test('holding only another file, 60 s old: the next createTask succeeds within 10 s', async () => {
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(join(lock, 'owner.swp'), minuteAgo, minuteAgo);
    utimesSync(lock, minuteAgo, minuteAgo);
    const { value: task, elapsedMs } = await settlesWithin(service.createTask({ subject: 'after' }), 10_000, () => rmSync(lock, { recursive: true, force: true }));
    assert.equal((await service.task(task.id)).subject, 'after', `created after ${elapsedMs} ms`);
  });

  test('holding only another file, made just now: the next createTask succeeds within 20 s', async () => {
    const { value: task, elapsedMs } = await settlesWithin(service.createTask({ subject: 'after' }), 20_000, () => rmSync(lock, { recursive: true, force: true }));
    assert.equal((await service.task(task.id)).subject, 'after', `created after ${elapsedMs} ms`);
  });

  test('holding only another file, made just now, a lock waiting at most 2 s that calls a holder stale after 60 s: run() settles within 10 s, running or refused with StoreLocked', async () => {
    const shortWait = new DirectoryLock(lock, { timeoutMs: 2_000, staleAfterMs: 60_000 });
    const outcome = shortWait.run(async () => 'ran').catch((error: unknown) => {
      if (isCoded(error, 'StoreLocked')) return 'StoreLocked';
      throw error;
    });
    const { value } = await settlesWithin(outcome, 10_000, () => rmSync(lock, { recursive: true, force: true }));
    assert.ok(['ran', 'StoreLocked'].includes(value), value);
  });
});

suite('second attack: store entries of the wrong kind', () => {
  let repo: TestRepo;
  let service: TaskService;
  let store: string;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
    await service.createTask({ subject: 'first' });
    store = storeDir(service);
  });
  teardown(() => repo.dispose());

  /** The call fails with the core's own error and a code, never a bare Node error. */
  async function failsCoded(call: Promise<unknown>, what: string): Promise<TaskWorktreesError> {
    let failure: unknown;
    try {
      await call;
    } catch (error) {
      failure = error;
    }
    assert.ok(failure !== undefined, `${what} should fail, but it succeeded`);
    assert.ok(isCoded(failure), `${what} should fail with a coded TaskWorktreesError, not ${String(failure)} (code ${(failure as { code?: unknown }).code})`);
    return failure;
  }

  test('tasks is a file: createTask, task(), setStatus fail with a code; board() answers with a problem', async () => {
    rmSync(join(store, 'tasks'), { recursive: true });
    writeFileSync(join(store, 'tasks'), '');
    await failsCoded(service.createTask({ subject: 'second' }), 'createTask');
    await failsCoded(service.task('first'), 'task()');
    await failsCoded(service.setStatus('first', 'in_progress'), 'setStatus');
    assert.ok((await service.board()).problems.length > 0, 'the board lists a problem');
  });

  test('events.jsonl is a directory: events() and setStatus fail with a code, the status unchanged; board() answers with the task', async () => {
    rmSync(join(store, 'events.jsonl'));
    mkdirSync(join(store, 'events.jsonl'));
    await failsCoded(service.events(), 'events()');
    await failsCoded(service.setStatus('first', 'completed'), 'setStatus');
    assert.equal((await service.task('first')).status, 'pending');
    assert.deepEqual((await service.board()).tasks.map((task) => task.id), ['first']);
  });

  test('lock is a file: setStatus and createTask fail with a code; board() answers with the task', async () => {
    writeFileSync(join(store, 'lock'), 'pid 1');
    await failsCoded(service.setStatus('first', 'in_progress'), 'setStatus');
    await failsCoded(service.createTask({ subject: 'second' }), 'createTask');
    assert.deepEqual((await service.board()).tasks.map((task) => task.id), ['first']);
  });

  test('a task file that is a directory: task(), setStatus and deleteTask on it fail with a code; board() answers with the good task and a problem naming the file', async () => {
    const file = join(store, 'tasks', 'folder.json');
    mkdirSync(file);
    await failsCoded(service.task('folder'), 'task()');
    await failsCoded(service.setStatus('folder', 'in_progress'), 'setStatus');
    await failsCoded(service.deleteTask('folder'), 'deleteTask');
    const board = await service.board();
    assert.deepEqual(board.tasks.map((task) => task.id), ['first']);
    assert.ok(board.problems.some((problem) => problem.file === file), `a problem names ${file}: ${JSON.stringify(board.problems)}`);
  });

  test('events.jsonl lines [1,2], null and "str" beside one event: events() returns only objects and counts those three as unreadable', async () => {
    writeFileSync(join(store, 'events.jsonl'), '{"at":"2026-01-01T00:00:00.000Z","type":"task.created","pid":1}\n[1,2]\nnull\n"str"\n');
    const { events, unreadable } = await service.events();
    const notObjects = events.filter((event: unknown) => typeof event !== 'object' || event === null || Array.isArray(event));
    assert.deepEqual(notObjects, [], 'every event returned is an object');
    assert.deepEqual(events.map((event) => event.type), ['task.created']);
    assert.equal(unreadable, 3);
  });
});
