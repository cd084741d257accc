import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_SETTINGS, TaskService } from '../../src/core';
import { isSetByUser, locationOrder, needsLocationChoice, WORKTREE_LOCATIONS } from '../../src/ui/worktreeLocation';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

suite('worktree location: when Create Task asks, and what each answer records', () => {
  test('only a value a person wrote counts as setting the root, even one equal to the default', () => {
    assert.equal(isSetByUser(undefined), false);
    assert.equal(isSetByUser({}), false, 'the default level alone is not the person\'s');
    assert.equal(isSetByUser({ globalValue: '.worktrees' }), true);
    assert.equal(isSetByUser({ workspaceValue: '../${repoName}.worktrees' }), true);
    assert.equal(isSetByUser({ workspaceFolderValue: 'wt' }), true);
    assert.equal(isSetByUser({ workspaceLanguageValue: 'wt' }), true);
  });

  test('asked only while no layout is recorded and the person has not set the root', () => {
    assert.equal(needsLocationChoice(false, false), true);
    assert.equal(needsLocationChoice(true, false), false, 'the repository remembers its first answer');
    assert.equal(needsLocationChoice(false, true), false, 'an explicit setting is the answer');
    assert.equal(needsLocationChoice(true, true), false);
  });

  test('inside the repository is offered first in a container, next to it elsewhere', () => {
    assert.deepEqual(locationOrder('dev-container'), ['inside', 'nextTo']);
    assert.deepEqual(locationOrder('attached-container'), ['inside', 'nextTo']);
    for (const remote of [undefined, 'ssh-remote', 'wsl', 'codespaces']) assert.deepEqual(locationOrder(remote), ['nextTo', 'inside'], String(remote));
  });

  test('creates that never ask (API, CLI, agents) keep the default: inside the repository', () => {
    assert.equal(DEFAULT_SETTINGS.worktreeRoot, WORKTREE_LOCATIONS.inside);
  });

  suite('an answer seeds the first task, which records it in the store', () => {
    let repo: TestRepo;
    let service: TaskService;

    setup(async () => ({ repo, service } = await openFreshRepo()));
    teardown(() => repo.dispose());

    /** The recorded layout (the config file holds other repository settings too, such as port blocks). */
    const config = (): unknown => {
      const { worktreeRoot, branchPrefix } = JSON.parse(readFileSync(join(service.store.dir, 'config.json'), 'utf8'));
      return { worktreeRoot, branchPrefix };
    };
    const exclude = (): string => (existsSync(join(repo.dir, '.git', 'info', 'exclude')) ? readFileSync(join(repo.dir, '.git', 'info', 'exclude'), 'utf8') : '');

    /** What Create Task does with an answer: the window's setting takes it for the create, then is back. */
    const createWithAnswer = async (worktreeRoot: string, subject: string) => {
      service.updateSettings({ worktreeRoot });
      try {
        return await service.createTask({ subject, createWorktree: true });
      } finally {
        service.updateSettings({ worktreeRoot: DEFAULT_SETTINGS.worktreeRoot });
      }
    };

    test('next to the repository: recorded as ../${repoName}.worktrees, the worktree beside the repository, nothing added to info/exclude', async () => {
      const first = await createWithAnswer(WORKTREE_LOCATIONS.nextTo, 'First task');
      assert.deepEqual(config(), { worktreeRoot: '../${repoName}.worktrees', branchPrefix: 'task/' });
      assert.equal(first.worktreePath, join(dirname(repo.dir), 'project.worktrees', 'first-task'));
      assert.doesNotMatch(exclude(), /worktrees/);
      // The setting is back to its default, and the repository keeps its recorded answer.
      const second = await service.createTask({ subject: 'Second task', createWorktree: true });
      assert.equal(second.worktreePath, join(dirname(repo.dir), 'project.worktrees', 'second-task'));
      const fromAnotherWindow = await TaskService.open(repo.dir);
      assert.equal(fromAnotherWindow.worktreePathFor('third'), join(dirname(repo.dir), 'project.worktrees', 'third'));
    });

    test('inside the repository: recorded as .worktrees, the worktree nested, the root in info/exclude', async () => {
      const first = await createWithAnswer(WORKTREE_LOCATIONS.inside, 'First task');
      assert.deepEqual(config(), { worktreeRoot: '.worktrees', branchPrefix: 'task/' });
      assert.equal(first.worktreePath, join(repo.dir, '.worktrees', 'first-task'));
      assert.match(exclude(), /^\/\.worktrees\/$/m);
      assert.equal(repo.git('status', '--porcelain', '--untracked-files=all'), '');
    });

    test('the preview before an answer is used records nothing; an Escape after it leaves the setting to seed the layout', async () => {
      service.updateSettings({ worktreeRoot: WORKTREE_LOCATIONS.nextTo });
      const preview = await service.idContext();
      service.updateSettings({ worktreeRoot: DEFAULT_SETTINGS.worktreeRoot });
      assert.equal(preview.worktreeRoot, join(dirname(repo.dir), 'project.worktrees'), 'the preview shows the answer\'s folder');
      assert.equal(existsSync(join(service.store.dir, 'config.json')), false, 'nothing recorded before a task is created');
      const task = await service.createTask({ subject: 'Made by an agent', createWorktree: true });
      assert.equal(task.worktreePath, join(repo.dir, '.worktrees', 'made-by-an-agent'));
      assert.deepEqual(config(), { worktreeRoot: '.worktrees', branchPrefix: 'task/' });
    });
  });
});
