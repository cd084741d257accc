import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isCoded, TaskService } from '../../src/core/index';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/**
 * Attacks on the task store (issue 8, spec cases L and P): damaged task files never crash the
 * board nor make a write land outside the store; reading the board creates nothing.
 */

const GOOD_SUBJECTS = ['good one', 'good two'];
const GOOD_IDS = ['good-one', 'good-two'];

function record(id: string): Record<string, unknown> {
  const at = new Date().toISOString();
  return { id, subject: id, description: '', status: 'pending', owner: '', baseBranch: 'main', blockedBy: [], createdAt: at, updatedAt: at };
}

function withoutCreatedAt(task: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...task };
  delete copy.createdAt;
  return copy;
}

/** What is wrong, the file's name (the id it claims by its name), its content. */
const DAMAGED: Array<[string, string, Record<string, unknown>]> = [
  ['worktreePath: 42', 'numeric-path', { ...record('numeric-path'), worktreePath: 42 }],
  ['no createdAt', 'no-created-at', withoutCreatedAt(record('no-created-at'))],
  ['an id that differs from the file name', 'renamed-file', record('another-id')],
  ['an id containing ../', 'escaping', record('../../../escaped')],
];

suite('attack L: damaged task files', () => {
  let repo: TestRepo;
  let service: TaskService;
  let tasksDir: string;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
    for (const subject of GOOD_SUBJECTS) await service.createTask({ subject });
    tasksDir = join(repo.dir, '.git', 'task-worktrees', 'tasks');
  });
  teardown(() => repo.dispose());

  function writeDamaged(fileId: string, content: Record<string, unknown>): string {
    const file = join(tasksDir, `${fileId}.json`);
    writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`);
    return file;
  }

  /** The names in the store, its parents up to the repository's parent: where a stray write would land. */
  function listings(): string {
    const dirs = [tasksDir, dirname(tasksDir), join(repo.dir, '.git'), repo.dir, dirname(repo.dir)];
    return dirs.map((dir) => `${dir}: ${readdirSync(dir).sort().join(', ')}`).join('\n');
  }

  test('all four damaged files present: board() loads, lists a problem for each, shows exactly the good tasks', async () => {
    for (const [, fileId, content] of DAMAGED) writeDamaged(fileId, content);
    const board = await service.board();
    for (const [, fileId] of DAMAGED) {
      assert.ok(board.problems.some((problem) => problem.file.endsWith(`${fileId}.json`)), `a problem names ${fileId}.json: ${JSON.stringify(board.problems)}`);
    }
    assert.deepEqual(board.tasks.map((task) => task.id).sort(), GOOD_IDS);
  });

  test('all four damaged files present: setStatus on a good task works', async () => {
    for (const [, fileId, content] of DAMAGED) writeDamaged(fileId, content);
    assert.equal((await service.setStatus('good-one', 'in_progress')).status, 'in_progress');
    assert.equal((await service.task('good-one')).status, 'in_progress');
  });

  for (const [name, fileId, content] of DAMAGED) {
    test(`a file with ${name}: setStatus and task() on its id → StoreCorrupt; no file appears or goes in the store or its parent dirs, the file is kept as it is, snapshot equal`, async () => {
      const file = writeDamaged(fileId, content);
      const bytes = readFileSync(file, 'utf8');
      const before = listings();
      const snapshot = repo.snapshot();
      const outcomes: unknown[] = [];
      for (const call of [() => service.setStatus(fileId, 'completed'), () => service.task(fileId)]) {
        outcomes.push(await call().then(() => 'accepted', (error: unknown) => error));
      }
      assert.equal(listings(), before, 'no file appeared or went, in the store or around it');
      assert.equal(readFileSync(file, 'utf8'), bytes, 'the damaged file is kept as it is');
      assert.equal(repo.snapshot(), snapshot, 'the repository is unchanged');
      for (const outcome of outcomes) assert.ok(isCoded(outcome, 'StoreCorrupt'), `StoreCorrupt, got ${String(outcome)}`);
    });
  }
});

suite('attack P: reading creates nothing', () => {
  test('TaskService.open + board() on a fresh repository leave no task-worktrees dir under the git dir', async () => {
    const repo = new TestRepo();
    try {
      const service = await TaskService.open(repo.dir);
      await service.board();
      assert.equal(existsSync(join(repo.dir, '.git', 'task-worktrees')), false);
    } finally {
      repo.dispose();
    }
  });
});
