import * as assert from 'node:assert/strict';
import { MergeStrategy, Task, TaskService } from '../../src/core/index';
import { commitFile, commitOnBranch, nothingToMerge } from '../fixtures/attackHelpers';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/**
 * Attack on "a task with nothing to merge gets a clear answer and no commit" (issue 8, spec case H),
 * on both merge paths: the base checked out in the main worktree, and checked out nowhere.
 */

const BASES: Array<[string, string]> = [
  ['base checked out in the main worktree', 'main'],
  ['base checked out nowhere', 'develop'],
];

interface NothingNew {
  name: string;
  strategy: MergeStrategy;
  arrange(repo: TestRepo, task: Task): void;
}

const NOTHING_NEW: NothingNew[] = [
  { name: 'squash, the branch is the base', strategy: 'squash', arrange: () => undefined },
  {
    name: 'squash, the same change already committed on the base',
    strategy: 'squash',
    arrange: (repo, task) => {
      commitFile(repo, task.worktreePath!, 'same.txt', 'the same change\n');
      commitOnBranch(repo, task.baseBranch, 'same.txt', 'the same change\n');
    },
  },
  { name: 'merge, the branch is the base', strategy: 'merge', arrange: () => undefined },
];

suite('attack H: a merge with nothing new → { merged: true, nothingToMerge: true }, no commit', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo((fresh) => fresh.git('branch', 'develop'))));
  teardown(() => repo.dispose());

  for (const [where, base] of BASES) {
    for (const situation of NOTHING_NEW) {
      test(`${where}, ${situation.name}: merged, base unchanged, main worktree clean, nothingToMerge`, async () => {
        const task = await service.createTask({ subject: 'nothing new', baseBranch: base, createWorktree: true });
        situation.arrange(repo, task);
        const baseBefore = repo.oid(`refs/heads/${base}`);
        const result = await service.mergeTask(task.id, { strategy: situation.strategy });
        assert.equal(result.merged, true);
        assert.equal(repo.oid(`refs/heads/${base}`), baseBefore, 'no new commit on the base');
        assert.equal(repo.git('status', '--porcelain'), '', 'the main worktree is clean');
        assert.equal(nothingToMerge(result), true, 'the answer says there was nothing to merge');
      });
    }
  }
});
