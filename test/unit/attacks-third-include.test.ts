import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Task } from '../../src/core/index';
import { TestRepo } from '../fixtures/repo';

/**
 * Hostile input that once hung the create is run in a child process, killed after a generous
 * `CHILD_LIMIT_MS`: a regression then fails as "did not finish" instead of hanging the suite
 * (a thread blocked on a FIFO even keeps a process from exiting).
 */
const CHILD_LIMIT_MS = 10_000;
const CORE = join(__dirname, '..', '..', 'src', 'core', 'index.js');
const INCLUDE = join(__dirname, '..', '..', 'src', 'core', 'tasks', 'include.js');

function runInChild(script: string): unknown {
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: CHILD_LIMIT_MS, killSignal: 'SIGKILL' });
  assert.equal(child.signal, null, `the child did not finish within ${CHILD_LIMIT_MS} ms`);
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout);
}

/** Creates a task with a worktree in `repoDir` (settings add `includePatterns`) and returns it. */
function createInChild(repoDir: string, includePatterns: string[]): Task {
  return runInChild(`
    const { TaskService } = require(${JSON.stringify(CORE)});
    TaskService.open(${JSON.stringify(repoDir)}, { includePatterns: ${JSON.stringify(includePatterns)} })
      .then((service) => service.createTask({ subject: 'hostile include', createWorktree: true }))
      .then((task) => { console.log(JSON.stringify(task)); process.exit(0); });
  `) as Task;
}

suite('attacks (third round): the ignored-files copy on create', () => {
  suite('hostile .worktreeinclude patterns are matched in linear steps', () => {
    test('star-heavy and **-heavy patterns against long names and deep paths give the gitignore answers', () => {
      const deepPath = `${Array.from({ length: 40 }, () => 'a').join('/')}/c`;
      const answers = runInChild(`
        const { IncludeMatcher } = require(${JSON.stringify(INCLUDE)});
        const stars = '*a'.repeat(12) + '*b';
        const folders = '**/a/'.repeat(12) + '**/b';
        console.log(JSON.stringify([
          new IncludeMatcher([stars]).includes('a'.repeat(200) + '.log'),
          new IncludeMatcher([stars]).includes('a'.repeat(200) + 'b'),
          new IncludeMatcher([folders]).includes(${JSON.stringify(deepPath)}),
          new IncludeMatcher([folders]).includes(${JSON.stringify(deepPath.replace(/c$/, 'b'))}),
          new IncludeMatcher([' '.repeat(60000) + 'x']).includes('x'),
        ]));
      `);
      assert.deepEqual(answers, [false, true, false, true, false]);
    });

    test('a committed star-heavy pattern and a long ignored file name: the create finishes, the earlier matching pattern decides', () => {
      const repo = new TestRepo();
      try {
        const longName = `${'a'.repeat(40)}.log`;
        repo.write('.gitignore', '*.log\n');
        repo.write('.worktreeinclude', `*.log\n${'*a'.repeat(13)}*b\n`);
        repo.commitAll('hostile include pattern');
        repo.write(longName, 'log\n');

        const task = createInChild(repo.dir, []);
        assert.equal(readFileSync(join(task.worktreePath!, longName), 'utf8'), 'log\n');
        assert.deepEqual(task.setup && { state: task.setup.state, copied: task.setup.copied }, { state: 'done', copied: 1 });
      } finally {
        repo.dispose();
      }
    });
  });

  suite('.worktreeinclude is read only as a small regular file', () => {
    let repo: TestRepo;
    let outside: string;

    setup(() => {
      repo = new TestRepo();
      outside = mkdtempSync(join(tmpdir(), 'tw-include-outside-'));
      repo.write('.gitignore', '*.env\n');
    });
    teardown(() => {
      repo.dispose();
      rmSync(outside, { recursive: true, force: true });
    });

    /** Commits `.worktreeinclude` as arranged, creates a task whose settings select `a.env`, and checks the refusal is recorded and nothing copied. */
    const assertRefused = (reason: RegExp): void => {
      repo.commitAll('hostile .worktreeinclude');
      repo.write('a.env', 'SECRET=1\n');
      const task = createInChild(repo.dir, ['/a.env']);
      assert.ok(existsSync(task.worktreePath!), 'the worktree is made');
      assert.equal(existsSync(join(task.worktreePath!, 'a.env')), false, 'nothing is copied, not even what the settings select');
      assert.equal(task.setup?.state, 'failed');
      assert.equal(task.setup?.copied, 0);
      assert.match(task.setup?.message ?? '', /\.worktreeinclude is not read, so nothing was copied: it must be a regular file of at most 64 KB/);
      assert.match(task.setup?.message ?? '', reason);
    };

    test('a symlink to a FIFO is not followed: the create finishes and records why nothing was copied', () => {
      const fifo = join(outside, 'fifo');
      const made = spawnSync('mkfifo', [fifo]);
      assert.equal(made.status, 0, 'mkfifo');
      symlinkSync(fifo, join(repo.dir, '.worktreeinclude'));
      assertRefused(/it is a symlink/);
    });

    test('a symlink to /dev/zero is not followed', () => {
      symlinkSync('/dev/zero', join(repo.dir, '.worktreeinclude'));
      assertRefused(/it is a symlink/);
    });

    test('a symlink to a regular pattern file in the repository is not followed either', () => {
      repo.write('patterns.txt', '*.env\n');
      symlinkSync('patterns.txt', join(repo.dir, '.worktreeinclude'));
      assertRefused(/it is a symlink/);
    });

    test('a regular file over 64 KB is not read', () => {
      repo.write('.worktreeinclude', `${'# padding\n'.repeat(7000)}*.env\n`);
      assertRefused(/is not a small regular file/);
    });

    test('a regular file of just under 64 KB is read and used', () => {
      repo.write('.worktreeinclude', `${'# padding\n'.repeat(6500)}*.env\n`);
      repo.commitAll('large but allowed .worktreeinclude');
      repo.write('a.env', 'SECRET=1\n');
      const task = createInChild(repo.dir, []);
      assert.equal(readFileSync(join(task.worktreePath!, 'a.env'), 'utf8'), 'SECRET=1\n');
      assert.deepEqual(task.setup && { state: task.setup.state, copied: task.setup.copied }, { state: 'done', copied: 1 });
    });
  });
});
