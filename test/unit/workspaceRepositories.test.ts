import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { TaskService } from '../../src/core';
import { groupByRepository, repositoryHolding, repositoryNames } from '../../src/core/workspaceRepositories';
import { TestRepo } from '../fixtures/repo';

suite('workspace repositories: one per git common dir among the folders', () => {
  let outer: TestRepo;
  let other: TestRepo;

  suiteSetup(() => {
    outer = new TestRepo();
    other = new TestRepo();
  });

  /** The folders as the session sees them: each with the common dir the core reports. */
  async function located(folders: string[]): Promise<Array<{ folder: string; commonDir: string }>> {
    return Promise.all(folders.map(async (folder) => ({ folder, commonDir: (await TaskService.open(folder)).commonDir })));
  }

  test('the main worktree, a task worktree and a subfolder of one repository are one repository', async () => {
    const service = await TaskService.open(outer.dir);
    const task = await service.createTask({ subject: 'Grouping', baseBranch: 'main', createWorktree: true });
    const groups = groupByRepository(await located([outer.dir, task.worktreePath!, join(outer.dir, 'src'), other.dir]));
    assert.deepEqual(
      groups.map((group) => group.folders),
      [[outer.dir, task.worktreePath!, join(outer.dir, 'src')], [other.dir]],
    );
    assert.notEqual(groups[0].commonDir, groups[1].commonDir);
  });

  test('a repository nested in another folder and a submodule are repositories of their own, not worktrees of the outer one', async () => {
    const nested = join(outer.dir, 'vendor', 'nested');
    outer.gitIn(outer.dir, 'init', '-q', '-b', 'main', nested);
    outer.gitIn(nested, '-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'nested');
    outer.gitIn(outer.dir, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', other.dir, 'sub');
    const groups = groupByRepository(await located([outer.dir, nested, join(outer.dir, 'sub')]));
    assert.equal(groups.length, 3);
    assert.deepEqual(groups.map((group) => group.folders), [[outer.dir], [nested], [join(outer.dir, 'sub')]]);
  });

  test('a path belongs to the innermost repository whose folders hold it', () => {
    const folders = [['/w/outer', '/w/outer-task'], ['/w/outer/vendor/nested']];
    assert.equal(repositoryHolding('/w/outer/src/a.ts', folders), 0);
    assert.equal(repositoryHolding('/w/outer-task', folders), 0);
    assert.equal(repositoryHolding('/w/outer/vendor/nested/x', folders), 1, 'the nested repository, not the outer');
    assert.equal(repositoryHolding('/w/outer-other', folders), undefined, 'a sibling with a common prefix is not inside');
  });

  test('repositories are named after their main worktree, with the parent where two names are the same', () => {
    assert.deepEqual(repositoryNames(['/a/web', '/b/api']), ['web', 'api']);
    assert.deepEqual(repositoryNames(['/a/app', '/b/app', '/c/api']), ['app (a)', 'app (b)', 'api']);
  });
});
