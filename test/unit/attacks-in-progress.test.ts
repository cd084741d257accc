import * as assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { Task, TaskService } from '../../src/core/index';
import { commitFile, commitOnBranch, gitExitCode, hasGitFile, refusesUnchanged, taskWithCommit } from '../fixtures/attackHelpers';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/**
 * Attacks on "operations in progress are never trampled" (issue 8, spec case D): a rebase, bisect,
 * cherry-pick, merge or revert stopped half-way in some worktree must survive every call.
 */

/** A branch `side` from main that writes `file` with `content`. */
function sideBranch(repo: TestRepo, file: string, content: string): void {
  repo.git('branch', 'side', 'main');
  commitOnBranch(repo, 'side', file, content);
}

interface StoppedOperation {
  name: string;
  /** The per-worktree file git keeps while the operation is under way. */
  marker: string;
  /** Stops the operation half-way in `worktree` (the task's). */
  stop(repo: TestRepo, worktree: string): void;
}

/**
 * `command` (applying side) stopped in the task's worktree, after side and the task each wrote
 * shared.txt: a conflict when the contents differ, an emptied pick when they are the same.
 */
function stoppedApplyingSide(name: string, marker: string, command: string[], onSide: string, inTask: string): StoppedOperation {
  return {
    name,
    marker,
    stop: (repo, worktree) => {
      sideBranch(repo, 'shared.txt', onSide);
      commitFile(repo, worktree, 'shared.txt', inTask);
      assert.notEqual(gitExitCode(worktree, ...command), 0);
    },
  };
}

const STOPPED_IN_TASK_WORKTREE: StoppedOperation[] = [
  stoppedApplyingSide('cherry-pick stopped on a conflict', 'CHERRY_PICK_HEAD', ['cherry-pick', 'side'], 'side\n', 'task\n'),
  stoppedApplyingSide('cherry-pick stopped because it became empty (status clean)', 'CHERRY_PICK_HEAD', ['cherry-pick', 'side'], 'same\n', 'same\n'),
  stoppedApplyingSide('merge stopped on a conflict', 'MERGE_HEAD', ['merge', '--no-edit', 'side'], 'side\n', 'task\n'),
  {
    name: 'merge stopped before committing (--no-commit -s ours, status clean)',
    marker: 'MERGE_HEAD',
    stop: (repo, worktree) => {
      sideBranch(repo, 'shared.txt', 'side\n');
      repo.gitIn(worktree, 'merge', '-q', '--no-commit', '-s', 'ours', 'side');
    },
  },
  {
    name: 'revert stopped on a conflict',
    marker: 'REVERT_HEAD',
    stop: (repo, worktree) => {
      commitFile(repo, worktree, 'shared.txt', 'one\n');
      commitFile(repo, worktree, 'shared.txt', 'two\n');
      assert.notEqual(gitExitCode(worktree, 'revert', '--no-edit', 'HEAD~1'), 0);
    },
  },
  {
    name: 'revert --no-commit with its changes put back (status clean)',
    marker: 'REVERT_HEAD',
    stop: (repo, worktree) => {
      repo.gitIn(worktree, 'revert', '--no-commit', 'HEAD');
      repo.gitIn(worktree, 'restore', '--staged', '--worktree', '--', '.');
    },
  },
];

const CALLS: Array<[string, (service: TaskService, task: Task) => Promise<unknown>]> = [
  ['mergeTask', (service, task) => service.mergeTask(task.id)],
  ['removeWorktree', (service, task) => service.removeWorktree(task.id)],
  ['removeWorktree {force}', (service, task) => service.removeWorktree(task.id, { force: true })],
];

suite('attack D: operations in progress are refused, never trampled', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  for (const operation of STOPPED_IN_TASK_WORKTREE) {
    for (const [callName, call] of CALLS) {
      test(`task worktree with a ${operation.name}: ${callName} → OperationInProgress, nothing changed, ${operation.marker} still there`, async () => {
        const task = await taskWithCommit(repo, service, 'interrupted');
        operation.stop(repo, task.worktreePath!);
        assert.ok(hasGitFile(repo, task.worktreePath!, operation.marker), `the situation: ${operation.marker} present`);
        await refusesUnchanged(repo, () => call(service, task), ['OperationInProgress']);
        assert.ok(hasGitFile(repo, task.worktreePath!, operation.marker), `${operation.marker} is still there`);
      });
    }
  }

  test('a linked worktree rebasing the base, stopped on a conflict: mergeTask → OperationInProgress or BranchCheckedOut, nothing changed, base ref unchanged, rebase --abort works', async () => {
    const rebasing = join(dirname(repo.dir), 'rebasing develop');
    repo.git('worktree', 'add', '-q', '-b', 'develop', rebasing, 'main');
    commitFile(repo, rebasing, 'shared.txt', 'develop\n');
    commitFile(repo, repo.dir, 'shared.txt', 'main\n');
    const task = await taskWithCommit(repo, service, 'onto develop', 'develop');
    const developBefore = repo.oid('refs/heads/develop');
    assert.notEqual(gitExitCode(rebasing, 'rebase', 'main'), 0, 'the situation: the rebase stops on a conflict');

    await refusesUnchanged(repo, () => service.mergeTask(task.id), ['OperationInProgress', 'BranchCheckedOut']);
    assert.equal(repo.oid('refs/heads/develop'), developBefore, 'the base ref did not move');
    assert.equal(gitExitCode(rebasing, 'rebase', '--abort'), 0, 'the rebase can still be aborted');
    assert.equal(repo.gitIn(rebasing, 'symbolic-ref', '--short', 'HEAD').trim(), 'develop');
    assert.equal(repo.gitIn(rebasing, 'rev-parse', 'HEAD').trim(), developBefore);
  });

  test('a linked worktree bisecting the base: mergeTask → OperationInProgress or BranchCheckedOut, nothing changed, base ref unchanged, bisect reset works', async () => {
    const bisecting = join(dirname(repo.dir), 'bisecting develop');
    repo.git('worktree', 'add', '-q', '-b', 'develop', bisecting, 'main');
    commitFile(repo, bisecting, 'one.txt', '1\n');
    commitFile(repo, bisecting, 'two.txt', '2\n');
    const task = await taskWithCommit(repo, service, 'onto develop', 'develop');
    const developBefore = repo.oid('refs/heads/develop');
    repo.gitIn(bisecting, 'bisect', 'start', 'develop', 'develop~2');
    assert.equal(repo.gitIn(bisecting, 'rev-parse', 'HEAD').trim(), repo.oid('develop~1'), 'the situation: bisect checked out a commit');

    await refusesUnchanged(repo, () => service.mergeTask(task.id), ['OperationInProgress', 'BranchCheckedOut']);
    assert.equal(repo.oid('refs/heads/develop'), developBefore, 'the base ref did not move');
    assert.equal(gitExitCode(bisecting, 'bisect', 'reset'), 0, 'the bisect can still be reset');
    assert.equal(repo.gitIn(bisecting, 'symbolic-ref', '--short', 'HEAD').trim(), 'develop');
    assert.equal(repo.gitIn(bisecting, 'rev-parse', 'HEAD').trim(), developBefore);
  });

  const BASE_MERGES: Array<[string, (repo: TestRepo) => void]> = [
    ['stopped on a conflict', (repo) => {
      sideBranch(repo, 'shared.txt', 'side\n');
      commitFile(repo, repo.dir, 'shared.txt', 'main\n');
      assert.notEqual(gitExitCode(repo.dir, 'merge', '--no-edit', 'side'), 0);
    }],
    ['stopped before committing (--no-commit -s ours, status clean)', (repo) => {
      sideBranch(repo, 'shared.txt', 'side\n');
      repo.git('merge', '-q', '--no-commit', '-s', 'ours', 'side');
    }],
  ];
  for (const [name, stop] of BASE_MERGES) {
    test(`the base's worktree (main) with a merge ${name}: mergeTask → OperationInProgress, nothing changed, MERGE_HEAD still there`, async () => {
      const task = await taskWithCommit(repo, service, 'into a busy base');
      stop(repo);
      assert.ok(hasGitFile(repo, repo.dir, 'MERGE_HEAD'), 'the situation: MERGE_HEAD present');
      await refusesUnchanged(repo, () => service.mergeTask(task.id), ['OperationInProgress']);
      assert.ok(hasGitFile(repo, repo.dir, 'MERGE_HEAD'), 'MERGE_HEAD is still there');
    });
  }
});
