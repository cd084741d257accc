import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { previewTaskId, TaskService } from '../../src/core/index';
import { TaskEvent } from '../../src/core/tasks/events';
import { describeError, eventsText, lossDetail, LossLabels } from '../../src/ui/flowText';
import { rejectsWithCode } from '../fixtures/assertions';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

const labels: LossLabels = {
  kind: { changed: 'changed', untracked: 'new', conflicted: 'conflicted' },
  detached: (commit) => `detached ${commit}`,
  operation: (operation) => `${operation} in progress`,
  more: (count) => `+${count} more`,
};

suite('flows: the id preview, the id a person edits, what a loss modal lists', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  test('the preview names the branch and folder createTask then makes', async () => {
    const preview = previewTaskId('Fix the login redirect', await service.idContext(), existsSync);
    assert.equal(preview.branch, 'task/fix-the-login-redirect');
    assert.equal(preview.folder, join(repo.dir, '.worktrees', 'fix-the-login-redirect'));
    assert.equal(preview.fallback, false);
    const task = await service.createTask({ subject: 'Fix the login redirect', createWorktree: true });
    assert.equal(task.branch, preview.branch);
    assert.equal(task.worktreePath, preview.folder);
  });

  test('a subject with no usable letter is flagged as a fallback id, and a twin subject names the existing task', async () => {
    await service.createTask({ subject: 'Write docs' });
    const context = await service.idContext();
    for (const subject of ['!!!', 'ログインを直す']) {
      const preview = previewTaskId(subject, context, existsSync);
      assert.equal(preview.fallback, true, subject);
      assert.equal(preview.id, 'task', subject);
    }
    const twin = previewTaskId('  write   DOCS ', context, existsSync);
    assert.deepEqual(twin.sameSubject, ['write-docs']);
    assert.equal(twin.id, 'write-docs-2');
  });

  test('the preview skips ids whose branch or folder exist, as createTask does', async () => {
    repo.git('branch', 'task/search');
    mkdirSync(join(repo.dir, '.worktrees', 'search-2'), { recursive: true });
    const preview = previewTaskId('Search', await service.idContext(), existsSync);
    assert.equal(preview.id, 'search-3');
    assert.equal((await service.createTask({ subject: 'Search' })).id, 'search-3');
  });

  test('an edited id is checked: not an id, a task, a branch or a folder that exists', async () => {
    await service.createTask({ subject: 'Taken' });
    repo.git('branch', 'task/has-branch');
    mkdirSync(join(repo.dir, '.worktrees', 'has-folder'), { recursive: true });
    const context = await service.idContext();
    const problem = (id: string): string | undefined => previewTaskId('anything', context, existsSync, id).problem;
    assert.equal(problem('Not An Id'), 'notAnId');
    assert.equal(problem('taken'), 'taskExists');
    assert.equal(problem('has-branch'), 'branchExists');
    assert.equal(problem('has-folder'), 'folderExists');
    assert.equal(problem('free-one'), undefined);
  });

  test('createTask uses an edited id for its branch and folder, and refuses a taken one before any change', async () => {
    const task = await service.createTask({ subject: '!!!', id: 'shout', createWorktree: true });
    assert.equal(task.id, 'shout');
    assert.equal(task.branch, 'task/shout');
    assert.ok(existsSync(join(repo.dir, '.worktrees', 'shout')));
    await rejectsWithCode(service.createTask({ subject: 'again', id: 'shout' }), 'TaskIdTaken');
    repo.git('branch', 'task/elsewhere');
    await rejectsWithCode(service.createTask({ subject: 'again', id: 'elsewhere', createWorktree: true }), 'TaskIdTaken');
    await rejectsWithCode(service.createTask({ subject: 'again', id: 'Bad Id' }), 'InvalidInput');
    assert.deepEqual((await service.board()).tasks.map((view) => view.id), ['shout']);
  });

  test('the loss modal lists each file with what it is, changed before new, and counts the rest past the limit', async () => {
    const task = await service.createTask({ subject: 'Loss', createWorktree: true });
    const worktree = task.worktreePath!;
    repo.write('src/file-0.txt', 'edited\n', worktree);
    repo.write('src/file-1.txt', 'staged\n', worktree);
    repo.gitIn(worktree, 'add', 'src/file-1.txt');
    repo.write('notes/new.md', 'new\n', worktree);
    const report = await service.lossReport(task.id);
    assert.ok(report);
    assert.equal(lossDetail(report, labels), ['• src/file-0.txt — changed', '• src/file-1.txt — changed', '• notes/new.md — new'].join('\n'));
    assert.equal(lossDetail(report, labels, 1), ['• src/file-0.txt — changed', '+2 more'].join('\n'));
  });

  test('the loss report of a task without a worktree on disk is undefined', async () => {
    const task = await service.createTask({ subject: 'No worktree' });
    assert.equal(await service.lossReport(task.id), undefined);
  });

  test('branch protections name bases, the main worktree\'s branch and other tasks\' branches, not a free branch', async () => {
    repo.git('branch', 'develop');
    repo.git('branch', 'free');
    const onDevelop = await service.createTask({ subject: 'On develop', baseBranch: 'develop', createWorktree: true });
    const protections = await service.branchProtections();
    assert.match(protections.get('main') ?? '', /main worktree/);
    assert.match(protections.get('develop') ?? '', /base branch/);
    assert.match(protections.get(onDevelop.branch!) ?? '', /branch of task "on-develop"/);
    assert.equal(protections.has('free'), false);
    assert.equal((await service.branchProtections(onDevelop.id)).has(onDevelop.branch!), false, 'a task\'s own branch is not protected from itself');
  });

  test('the commits a merge would bring are counted, and git\'s user.name is read from the repository', async () => {
    const task = await service.createTask({ subject: 'Counted', createWorktree: true });
    assert.equal(await service.commitsToMerge(task.id), 0);
    repo.write('a.txt', 'a\n', task.worktreePath!);
    repo.commitAll('one', task.worktreePath!);
    repo.write('b.txt', 'b\n', task.worktreePath!);
    repo.commitAll('two', task.worktreePath!);
    assert.equal(await service.commitsToMerge(task.id), 2);
    assert.equal(await service.gitUserName(), 'Test User');
  });

  test('a failed git process is logged with its code, the command, its exit code and what git said', async () => {
    const failed = await service.git.exec(['rev-parse', '--verify', 'no-such-branch']).then(
      () => assert.fail('git should have failed'),
      (error: unknown) => error,
    );
    const line = describeError(failed);
    assert.match(line, /^GitFailed: /);
    assert.match(line, / — git rev-parse --verify no-such-branch exited 128: fatal: Needed a single revision$/);
    assert.equal(describeError(new Error('plain')).split('\n')[0], 'Error: plain', 'an unexpected error keeps its stack for the log');
  });

  test('the events view text is newest first, one line per event with its detail', () => {
    const events: TaskEvent[] = [
      { at: '2026-11-26T08:00:00.000Z', type: 'task.created', taskId: 'a', pid: 1, subject: 'A' },
      { at: '2026-11-26T08:01:00.000Z', type: 'config.set', pid: 2 },
    ];
    assert.equal(
      eventsText(events, '1 unreadable'),
      ['2026-11-26T08:01:00.000Z  config.set  pid 2', '2026-11-26T08:00:00.000Z  task.created  a  pid 1  {"subject":"A"}', '', '1 unreadable', ''].join('\n'),
    );
  });
});
