import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isCoded } from '../../src/core/errors';
import { TaskService } from '../../src/core';
import { TestRepo } from '../fixtures/repo';

const marker = join(mkdtempSync(join(tmpdir(), 'tw-hostile-')), 'pwned');

/** Subjects, ids, branch names and paths a careless or hostile caller (or agent) might send. */
export const HOSTILE_INPUTS: string[] = [
  '-x', '-', '--', '-- ', '--upload-pack=touch ' + marker, `--output=${marker}`, `-c core.sshCommand=touch ${marker}`,
  `--exec=touch ${marker}`, '-D', '--force', '-f', '--delete', '-u origin',
  '..', '../..', '../../etc/passwd', 'a..b', '.worktrees/../..', '.git', '.hidden', 'a/.b',
  '@', '@{-1}', 'x@{u}', 'main@{1}', 'HEAD', 'head', 'FETCH_HEAD', 'refs/heads/main', 'main~1', 'main^{tree}', 'HEAD:README.md',
  'x.lock', 'refs/heads/x.lock', 'a.', 'a/', '/a', 'a//b', '/',
  'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[b', 'a\\b', '*', '?', '~^:?*[\\',
  'a b', ' leading', 'trailing ', 'a\tb', 'a\nb', 'a\rb', '\u0000', 'a\u0000b', 'a\u0007b', '\u007f', 'a\u001bb',
  'ü', 'naïve café', '🎉', '修复登录', 'a\u202eb', '\ufeffbom', 'x'.repeat(300), '', ' ',
  `$(touch ${marker})`, `\`touch ${marker}\``, '; rm -rf /', '|| true', '"quoted"', "'single'", '%s%n%x',
  'C:\\Windows', '\\\\server\\share', '/etc', '/tmp', 'main', 'task/existing', 'NUL', 'CON',
];

suite('hostile input: a clear error or a safe slug, before git sees it', () => {
  let repo: TestRepo;
  let service: TaskService;
  let spawned: string[][] = [];

  suiteSetup(async () => {
    repo = new TestRepo();
    repo.git('branch', 'task/existing');
    service = await TaskService.open(repo.dir);
    service.git.onSpawn((args) => spawned.push([...args]));
  });
  suiteTeardown(() => {
    repo.dispose();
    rmSync(dirname(marker), { recursive: true, force: true });
  });

  /** Runs one call and checks the rules every hostile input must meet; returns how it ended. */
  async function attempt(field: string, input: string, call: () => Promise<unknown>): Promise<'accepted' | 'refused'> {
    spawned = [];
    let outcome: 'accepted' | 'refused' = 'accepted';
    try {
      await call();
    } catch (error) {
      assert.ok(isCoded(error), `${field}=${JSON.stringify(input)}: expected a coded error, got ${error}`);
      assert.ok(error.message.length > 10, 'the error says what is wrong');
      if (error.code === 'InvalidInput') {
        assert.deepEqual(spawned, [], `${field}=${JSON.stringify(input)} was rejected, but only after git ran`);
      }
      outcome = 'refused';
    }
    const needle = input.trim();
    for (const args of spawned) {
      // User text never reaches git as an option: no argument that carries it starts with "-".
      // ("-" and "--" alone cannot be told apart from our own separators, and are refused as ids and branches.)
      for (const arg of args) {
        if (needle.length >= 3 && arg.includes(needle)) {
          assert.ok(!arg.startsWith('-'), `${field}=${JSON.stringify(input)} reached git as an option: ${JSON.stringify(args)}`);
        }
      }
      if (input.startsWith('-') && input !== '-' && input !== '--') {
        assert.ok(!args.includes(input), `${JSON.stringify(input)} was passed to git: ${JSON.stringify(args)}`);
      }
    }
    return outcome;
  }

  test(`${HOSTILE_INPUTS.length} inputs × subject, task id, base branch, branch, worktree path, owner, status, strategy`, async function () {
    this.timeout(120_000);
    assert.ok(HOSTILE_INPUTS.length >= 60);
    const existing = await service.createTask({ subject: 'target' });
    let tried = 0;
    const refusedIds: string[] = [];
    for (const input of HOSTILE_INPUTS) {
      const subjectOutcome = await attempt('subject', input, async () => {
        const task = await service.createTask({ subject: input });
        // A generated id is always a plain slug.
        assert.match(task.id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
        assert.ok(repo.git('check-ref-format', '--branch', `task/${task.id}`));
      });
      if (/[\u0000-\u001f\u007f]/.test(input) || input.trim() === '' || input.length > 200) {
        assert.equal(subjectOutcome, 'refused', `subject ${JSON.stringify(input)} must be refused`);
      }
      if (await attempt('taskId', input, () => service.setStatus(input, 'in_progress')) === 'refused') refusedIds.push(input);
      await attempt('taskId', input, () => service.createWorktree(input));
      await attempt('taskId', input, () => service.removeWorktree(input, { force: true, deleteBranch: true }));
      await attempt('taskId', input, () => service.mergeTask(input));
      await attempt('baseBranch', input, () => service.createTask({ subject: 'with base', baseBranch: input }));
      await attempt('branch', input, () => service.assignWorktree(existing.id, { branch: input }));
      await attempt('worktreePath', input, () => service.assignWorktree(existing.id, { worktreePath: input }));
      await attempt('owner', input, () => service.setStatus(existing.id, 'pending', input));
      await attempt('status', input, () => service.setStatus(existing.id, input as never));
      await attempt('strategy', input, () => service.mergeTask(existing.id, { strategy: input as never }));
      tried += 11;
    }
    // Only plain slugs ("main", "head": names of tasks made from those subjects above) work as ids.
    const notSlugs = HOSTILE_INPUTS.filter((input) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(input));
    assert.deepEqual(refusedIds.filter((input) => notSlugs.includes(input)), notSlugs, 'no hostile string is accepted as a task id');
    assert.equal(existsSync(marker), false, 'no injected command ran');
    // Nothing escaped the worktree root, and the repository is still healthy.
    const worktrees = repo.git('worktree', 'list', '--porcelain').split('\n').filter((line) => line.startsWith('worktree ')).map((line) => line.slice(9));
    for (const path of worktrees.slice(1)) assert.ok(path.startsWith(join(repo.dir, '.worktrees') + '/'), `${path} is inside the worktree root`);
    repo.git('fsck', '--no-progress');
    console.log(`      ${HOSTILE_INPUTS.length} hostile inputs, ${tried} calls: every one refused with a clear error or turned into a safe slug`);
  });
});
