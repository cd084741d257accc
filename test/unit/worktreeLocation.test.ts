import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_SETTINGS, TaskService } from '../../src/core';
import { isSetByUser, locationOrder, needsLocationChoice, WORKTREE_LOCATIONS } from '../../src/ui/worktreeLocation';
import { rejectsWithCode } from '../fixtures/assertions';
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

    /** What Create Task does with an answer: passes it to the create as its input. */
    const createWithAnswer = (worktreeRoot: string, subject: string) => service.createTask({ subject, createWorktree: true, worktreeRoot });

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
      const preview = await service.idContext({ worktreeRoot: WORKTREE_LOCATIONS.nextTo });
      assert.equal(preview.worktreeRoot, join(dirname(repo.dir), 'project.worktrees'), 'the preview shows the answer\'s folder');
      assert.equal(existsSync(join(service.store.dir, 'config.json')), false, 'nothing recorded before a task is created');
      const task = await service.createTask({ subject: 'Made by an agent', createWorktree: true });
      assert.equal(task.worktreePath, join(repo.dir, '.worktrees', 'made-by-an-agent'));
      assert.deepEqual(config(), { worktreeRoot: '.worktrees', branchPrefix: 'task/' });
    });

    test('two creates at once, one given an answer: whichever records the layout first, both worktrees are in the recorded root', async () => {
      // Both wait for the repository lock; the first to take it records the layout, the other follows the record.
      const [answered, plain] = await Promise.all([createWithAnswer(WORKTREE_LOCATIONS.nextTo, 'Asked first'), service.createTask({ subject: 'From an agent', createWorktree: true })]);
      const recorded = (config() as { worktreeRoot: string }).worktreeRoot;
      const root = recorded === WORKTREE_LOCATIONS.nextTo ? join(dirname(repo.dir), 'project.worktrees') : join(repo.dir, '.worktrees');
      assert.equal(answered.worktreePath, join(root, 'asked-first'));
      assert.equal(plain.worktreePath, join(root, 'from-an-agent'));
    });

    test('once a layout is recorded, an answer does not move it', async () => {
      await service.createTask({ subject: 'Recorded first', createWorktree: true });
      const later = await createWithAnswer(WORKTREE_LOCATIONS.nextTo, 'Answered late');
      assert.equal(later.worktreePath, join(repo.dir, '.worktrees', 'answered-late'));
      assert.deepEqual(config(), { worktreeRoot: '.worktrees', branchPrefix: 'task/' });
    });

    test('a root that is not one line of text, is the repository, contains it or lies in its git directory is refused (InvalidInput) before any git process, and records nothing', async () => {
      const spawned: string[][] = [];
      service.git.onSpawn((args) => spawned.push([...args]));
      for (const worktreeRoot of ['', '  ', 'a\nb', 42, '.', '..', '.git/worktrees-here']) {
        await rejectsWithCode(service.createTask({ subject: 'Bad root', createWorktree: true, worktreeRoot: worktreeRoot as string }), 'InvalidInput');
      }
      await rejectsWithCode(service.idContext({ worktreeRoot: 'a\nb' }), 'InvalidInput');
      assert.deepEqual(spawned, []);
      assert.equal(existsSync(join(service.store.dir, 'config.json')), false);
      assert.deepEqual((await service.board()).tasks, []);
    });
  });
});
