import * as assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isCoded, MergeResult, Task, TaskService } from '../../src/core/index';
import { rejectsWithCode } from '../fixtures/assertions';
import { TestRepo } from '../fixtures/repo';

/**
 * The destructive-path matrix ("What is safe" in the README): every situation × every operation.
 * A refusal (or a conflict) must leave refs, worktree list, every worktree's status and every file
 * byte-identical; a "proceed" must do what the table says without losing anything the user had.
 */

/** What the task commits on its branch before each cell's situation is arranged. */
const TASK_WORK = 'the task\'s work\n';

type Operation = 'remove' | 'removeAndDeleteBranch' | 'merge' | 'deleteTask' | 'prune';
type Outcome = { refuse: string } | 'proceed' | 'conflict';

interface Context {
  repo: TestRepo;
  service: TaskService;
  task: Task;
}

interface Situation {
  name: string;
  arrange(context: Context): void;
  expect: Record<Operation, Outcome>;
}

const DIRTY: Record<Operation, Outcome> = {
  remove: { refuse: 'WorktreeDirty' },
  removeAndDeleteBranch: { refuse: 'WorktreeDirty' },
  merge: { refuse: 'WorktreeDirty' },
  deleteTask: { refuse: 'TaskHasWorktree' },
  prune: 'proceed',
};

/** Clean worktree, one commit on the task branch that the base does not have. */
const UNMERGED_CLEAN: Record<Operation, Outcome> = {
  remove: 'proceed',
  removeAndDeleteBranch: { refuse: 'UnmergedWork' },
  merge: 'proceed',
  deleteTask: { refuse: 'TaskHasWorktree' },
  prune: 'proceed',
};

export const SITUATIONS: Situation[] = [
  {
    name: 'uncommitted change',
    arrange: ({ repo, task }) => repo.write('feature.txt', 'edited, not committed\n', task.worktreePath),
    expect: DIRTY,
  },
  {
    name: 'staged change',
    arrange: ({ repo, task }) => {
      repo.write('staged.txt', 'staged\n', task.worktreePath);
      repo.gitIn(task.worktreePath!, 'add', 'staged.txt');
    },
    expect: DIRTY,
  },
  {
    name: 'untracked file',
    arrange: ({ repo, task }) => repo.write('notes/untracked.md', 'new\n', task.worktreePath),
    expect: DIRTY,
  },
  {
    name: 'commits not merged into the base',
    arrange: () => undefined,
    expect: UNMERGED_CLEAN,
  },
  {
    name: 'locked worktree',
    arrange: ({ repo, task }) => repo.git('worktree', 'lock', '--reason', 'agent at work', task.worktreePath!),
    expect: { ...UNMERGED_CLEAN, remove: { refuse: 'WorktreeLocked' }, removeAndDeleteBranch: { refuse: 'WorktreeLocked' } },
  },
  {
    name: 'worktree directory deleted by hand',
    arrange: ({ task }) => rmSync(task.worktreePath!, { recursive: true, force: true }),
    expect: { ...UNMERGED_CLEAN, deleteTask: 'proceed' },
  },
  {
    name: 'base branch checked out and dirty',
    arrange: ({ repo }) => repo.write('README.md', 'my own edit in the main worktree\n'),
    expect: { ...UNMERGED_CLEAN, merge: { refuse: 'BaseDirty' } },
  },
  {
    name: 'base moved on since the task began',
    arrange: ({ repo }) => {
      repo.write('other.txt', 'someone else\n');
      repo.commitAll('base moves on');
    },
    expect: UNMERGED_CLEAN,
  },
  {
    name: 'merge conflict',
    arrange: ({ repo }) => {
      repo.write('feature.txt', 'the base wrote this file too\n');
      repo.commitAll('conflicting change on the base');
    },
    expect: { ...UNMERGED_CLEAN, merge: 'conflict' },
  },
  {
    name: 'task branch checked out in another worktree',
    arrange: ({ repo, task }) => repo.git('worktree', 'add', '-q', '--force', join(repo.dir, '..', 'second checkout'), task.branch!),
    expect: { ...UNMERGED_CLEAN, removeAndDeleteBranch: { refuse: 'BranchCheckedOut' } },
  },
  {
    name: 'detached HEAD in the task worktree with a commit on no branch',
    arrange: ({ repo, task }) => {
      repo.gitIn(task.worktreePath!, 'checkout', '-q', '--detach');
      repo.write('orphan.txt', 'only reachable from HEAD\n', task.worktreePath);
      repo.commitAll('commit on no branch', task.worktreePath);
    },
    expect: DIRTY,
  },
  {
    name: 'submodule inside the worktree',
    arrange: ({ repo, task }) => {
      const library = new TestRepo();
      try {
        repo.gitIn(task.worktreePath!, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', library.dir, 'vendor/lib');
        repo.commitAll('add a submodule', task.worktreePath);
      } finally {
        library.dispose();
      }
    },
    expect: { ...UNMERGED_CLEAN, remove: { refuse: 'WorktreeHasSubmodules' } },
  },
];

const OPERATIONS: Record<Operation, (context: Context) => Promise<unknown>> = {
  remove: ({ service, task }) => service.removeWorktree(task.id),
  removeAndDeleteBranch: ({ service, task }) => service.removeWorktree(task.id, { deleteBranch: true }),
  merge: ({ service, task }) => service.mergeTask(task.id),
  deleteTask: ({ service, task }) => service.deleteTask(task.id),
  prune: ({ service }) => service.prune(),
};

interface Proceeded extends Context {
  /** Taken just before the operation: the task branch's and the base's commits, every ref, git's worktree list, the snapshot. */
  branchHead: string;
  baseBefore: string;
  refsBefore: string;
  worktreesBefore: string[];
  before: string;
  /** The situation deleted the task's worktree directory. */
  worktreeGone: boolean;
}

/** What each operation must have done when its cell says *proceed* — the README table's words, checked. */
const PROCEEDED: Record<Operation, (context: Proceeded, result: unknown) => Promise<void>> = {
  remove: async (context) => {
    await assertWorktreeRemoved(context);
    assertRefsUnchanged(context, 'removing a worktree keeps its branch and touches no ref');
  },
  removeAndDeleteBranch: async (context) => {
    await assertWorktreeRemoved(context);
    assert.equal(context.repo.git('branch', '--list', context.task.branch!), '', 'the task branch was deleted');
  },
  merge: async ({ repo, task, branchHead, baseBefore }, result) => {
    const { merged, commit } = result as MergeResult;
    assert.equal(merged, true);
    assert.equal(commit, repo.oid('main'), 'the reported commit is the base\'s new head');
    assert.equal(repo.oid('main^1'), baseBefore, 'a merge commit on top of the base');
    assert.equal(repo.oid('main^2'), branchHead, 'whose second parent is the task\'s work');
    assert.equal(repo.git('show', 'main:feature.txt'), TASK_WORK, 'the base contains the task\'s file');
    assert.equal(repo.read('feature.txt'), TASK_WORK, 'the main worktree (base checked out) shows it');
    assert.equal(repo.git('status', '--porcelain'), '', 'the main worktree is clean after the merge');
    assert.equal(repo.oid(task.branch!), branchHead, 'the task branch is kept');
  },
  deleteTask: async (context) => {
    await rejectsWithCode(context.service.task(context.task.id), 'TaskNotFound');
    assert.ok(!(await context.service.board()).tasks.some((view) => view.id === context.task.id), 'the task is gone from the board');
    assertRefsUnchanged(context, 'deleting the task record keeps its branch and touches no ref');
  },
  prune: async (context) => {
    if (!context.worktreeGone) {
      assert.equal(context.repo.snapshot(), context.before, 'prune changes nothing when nothing is missing');
      return;
    }
    assert.ok(!worktreePaths(context.repo).includes(context.task.worktreePath!), 'git\'s record of the missing worktree is pruned');
    assert.equal((await context.service.task(context.task.id)).worktreePath, undefined, 'the task is unbound');
    assertRefsUnchanged(context, 'prune keeps the task branch and touches no ref');
  },
};

async function assertWorktreeRemoved({ repo, service, task, worktreesBefore }: Proceeded): Promise<void> {
  assert.equal(existsSync(task.worktreePath!), false, 'the worktree directory is gone');
  assert.deepEqual(
    worktreePaths(repo),
    worktreesBefore.filter((path) => path !== task.worktreePath),
    'git no longer lists the worktree; every other worktree is still listed',
  );
  assert.equal((await service.task(task.id)).worktreePath, undefined, 'the task is unbound');
}

function assertRefsUnchanged({ repo, refsBefore }: Proceeded, message: string): void {
  assert.equal(refs(repo), refsBefore, message);
}

function refs(repo: TestRepo): string {
  return repo.git('for-each-ref', '--format=%(refname) %(objectname)');
}

function worktreePaths(repo: TestRepo): string[] {
  return repo
    .git('worktree', 'list', '--porcelain', '-z')
    .split('\0')
    .filter((field) => field.startsWith('worktree '))
    .map((field) => field.slice('worktree '.length));
}

suite('What is safe: every situation × every destructive operation', () => {
  for (const situation of SITUATIONS) {
    for (const [operation, outcome] of Object.entries(situation.expect) as Array<[Operation, Outcome]>) {
      const label = typeof outcome === 'string' ? outcome : `refuse (${outcome.refuse})`;
      test(`${situation.name} × ${operation} → ${label}`, async () => {
        const repo = new TestRepo();
        try {
          const service = await TaskService.open(repo.dir);
          const task = await service.createWorktree((await service.createTask({ subject: 'guarded work' })).id);
          repo.write('feature.txt', TASK_WORK, task.worktreePath);
          repo.commitAll('task work', task.worktreePath);
          const context = { repo, service, task };
          situation.arrange(context);
          const branchHead = repo.oid(task.branch!);
          const before = repo.snapshot();

          if (outcome === 'proceed') {
            const proceeded: Proceeded = {
              ...context,
              branchHead,
              baseBefore: repo.oid('main'),
              refsBefore: refs(repo),
              worktreesBefore: worktreePaths(repo),
              before,
              worktreeGone: !existsSync(task.worktreePath!),
            };
            await PROCEEDED[operation](proceeded, await OPERATIONS[operation](context));
            return;
          }
          if (outcome === 'conflict') {
            const result = await service.mergeTask(task.id);
            assert.equal(result.merged, false);
            assert.deepEqual(result.conflicts, ['feature.txt']);
          } else {
            await assert.rejects(OPERATIONS[operation](context), (error) => {
              assert.ok(isCoded(error), `a coded error, got ${error}`);
              assert.equal(error.code, outcome.refuse, error.message);
              assert.ok(error.message.length > 20, 'the message says what is wrong');
              return true;
            });
          }
          assert.equal(repo.snapshot(), before, 'the repository is byte-identical after the refusal');
          assert.ok(existsSync(task.worktreePath!) || situation.name.includes('deleted by hand'));
        } finally {
          repo.dispose();
        }
      });
    }
  }

  test('repository with no commits × create task → refuse (NoCommits); prune → proceed, nothing changes', async () => {
    const repo = new TestRepo({ empty: true });
    try {
      const service = await TaskService.open(repo.dir);
      const before = repo.snapshot();
      await assert.rejects(service.createTask({ subject: 'too early' }), (error) => isCoded(error, 'NoCommits'));
      await service.prune();
      assert.equal(repo.snapshot(), before);
    } finally {
      repo.dispose();
    }
  });

  test('a forced remove of a dirty worktree is the only way its files go, and only that worktree', async () => {
    const repo = new TestRepo();
    try {
      const service = await TaskService.open(repo.dir);
      const keep = await service.createWorktree((await service.createTask({ subject: 'keep me' })).id);
      const drop = await service.createWorktree((await service.createTask({ subject: 'drop me' })).id);
      repo.write('mine.txt', 'keep\n', keep.worktreePath);
      repo.write('scratch.txt', 'drop\n', drop.worktreePath);
      await service.removeWorktree(drop.id, { force: true });
      assert.equal(existsSync(drop.worktreePath!), false);
      assert.equal(repo.read('mine.txt', keep.worktreePath), 'keep\n');
    } finally {
      repo.dispose();
    }
  });
});
