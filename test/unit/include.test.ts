import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskService } from '../../src/core/index';
import { GitAdapter } from '../../src/core/git/adapter';
import { copyIncludedFiles, globsToIncludePatterns, IncludeMatcher } from '../../src/core/tasks/include';
import { filesUnder } from '../fixtures/files';
import { TestRepo } from '../fixtures/repo';

suite('setup on create: ignored files copied into new worktrees', () => {
  suite('include patterns (gitignore syntax)', () => {
    const included = (patterns: string[], paths: string[]): string[] => {
      const matcher = new IncludeMatcher(patterns);
      return paths.filter((path) => matcher.includes(path));
    };

    test('a name without a slash matches at any depth; a leading slash anchors at the root; the last matching pattern decides (negation)', () => {
      const paths = ['.env', '.env.example', 'app/.env', 'app/.env.local', 'deep/er/.env'];
      assert.deepEqual(included(['.env*', '!.env.example'], paths), ['.env', 'app/.env', 'app/.env.local', 'deep/er/.env']);
      assert.deepEqual(included(['/.env'], paths), ['.env']);
      assert.deepEqual(included(['.env*', '!.env*', 'app/.env'], paths), ['app/.env']);
      assert.deepEqual(included(['# a comment', '', '   ', '\\#not-a-comment'], ['#not-a-comment', 'x']), ['#not-a-comment']);
    });

    test('folder patterns: a trailing slash matches folders only, everything inside them; ** spans folders; inside an included folder nothing is excluded again', () => {
      const paths = ['config', 'config/a.key', 'config/deep/b.key', 'config/skip.txt', 'other/config/c.key', 'src/config.ts'];
      assert.deepEqual(included(['config/'], paths), ['config/a.key', 'config/deep/b.key', 'config/skip.txt', 'other/config/c.key']);
      assert.deepEqual(included(['/config/'], paths), ['config/a.key', 'config/deep/b.key', 'config/skip.txt']);
      assert.deepEqual(included(['config/**', '!config/skip.txt'], paths), ['config/a.key', 'config/deep/b.key']);
      // As in git: a folder that is included takes all of itself along.
      assert.deepEqual(included(['config/', '!config/skip.txt'], paths), ['config/a.key', 'config/deep/b.key', 'config/skip.txt', 'other/config/c.key']);
      assert.deepEqual(included(['**/*.key'], paths), ['config/a.key', 'config/deep/b.key', 'other/config/c.key']);
      assert.deepEqual(included(['config/**/*.key'], paths), ['config/a.key', 'config/deep/b.key']);
      assert.deepEqual(included(['*.ts', '[cs]*/?.key'], paths), ['config/a.key', 'src/config.ts']);
    });

    test("VS Code's git.worktreeIncludeFiles globs become anchored patterns; braces expand; a leading ! is literal", () => {
      assert.deepEqual(globsToIncludePatterns(['.env', '{a,b}.local', './x/**', '**/*.pem', '!weird']), ['/.env', '/a.local', '/b.local', '/x/**', '/**/*.pem', '/\\!weird']);
      const matcher = new IncludeMatcher(globsToIncludePatterns(['.env', '**/*.pem']));
      assert.deepEqual(['.env', 'app/.env', 'a/b/c.pem', 'c.pem'].filter((path) => matcher.includes(path)), ['.env', 'a/b/c.pem', 'c.pem']);
    });

    test('a glob whose braces would spell out more than 256 patterns is left out; the other globs still count', () => {
      const doubling = `${'{a,b}'.repeat(9)}.env`; // 512 spellings
      assert.deepEqual(globsToIncludePatterns([doubling, '.env']), ['/.env']);
      assert.equal(globsToIncludePatterns([`${'{a,b}'.repeat(8)}.env`]).length, 256);
      assert.equal(globsToIncludePatterns([`${'{a,b}'.repeat(40)}.env`, 'x']).length, 1, '2^40 spellings: refused without spelling them out');
    });
  });

  suite('in a real repository', () => {
    let repo: TestRepo;
    let outside: string;

    setup(() => {
      repo = new TestRepo();
      outside = mkdtempSync(join(tmpdir(), 'tw-outside-'));
      repo.write('.gitignore', ['.env*', '*.local', 'config/secrets/', 'node_modules/', 'links/', ''].join('\n'));
      repo.write('.worktreeinclude', ['# committed with the repository', '.env*', '!.env.example', 'config/secrets/**', '!config/secrets/skip.txt', ''].join('\n'));
      repo.commitAll('ignore rules and include list');
    });
    teardown(() => {
      repo.dispose();
      rmSync(outside, { recursive: true, force: true });
    });

    test('copies exactly the files that match .worktreeinclude or the given patterns AND are ignored, nested folders included; the count is on the task', async () => {
      repo.write('.env', 'SECRET=1\n');
      repo.write('.env.example', 'SECRET=\n');
      repo.write('app/.env', 'APP=2\n');
      repo.write('config/secrets/a.key', 'a');
      repo.write('config/secrets/deep/b.key', 'b');
      repo.write('config/secrets/skip.txt', 'not me');
      repo.write('node_modules/pkg/index.js', 'module.exports = 1;\n');
      repo.write('notes.local', 'mine\n');
      repo.write('draft.txt', 'untracked but not ignored\n');
      const service = await TaskService.open(repo.dir, { includePatterns: ['/notes.local', '/draft.txt'] });

      const task = await service.createTask({ subject: 'copy', createWorktree: true });
      const worktree = task.worktreePath!;
      const copied = ['.env', 'app/.env', 'config/secrets/a.key', 'config/secrets/deep/b.key', 'notes.local'];
      const tracked = repo.git('ls-files').trim().split('\n');
      assert.deepEqual(filesUnder(worktree), [...tracked, ...copied].sort());
      for (const path of copied) assert.equal(readFileSync(join(worktree, path), 'utf8'), repo.read(path), path);
      assert.deepEqual(task.setup && { state: task.setup.state, copied: task.setup.copied }, { state: 'done', copied: 5 });
      assert.equal((await service.task(task.id)).setup?.copied, 5, 'recorded in the task file');
      assert.equal(repo.gitIn(worktree, 'status', '--porcelain'), '', 'the copies are ignored in the new worktree too');
    });

    test('without any pattern nothing is copied and nothing is recorded', async () => {
      rmSync(join(repo.dir, '.worktreeinclude'));
      repo.commitAll('no include list');
      repo.write('.env', 'SECRET=1\n');
      const service = await TaskService.open(repo.dir);
      const task = await service.createTask({ subject: 'plain', createWorktree: true });
      assert.equal(existsSync(join(task.worktreePath!, '.env')), false);
      assert.equal(task.setup, undefined);
    });

    test('never a tracked file: one force-added despite .gitignore keeps its committed content, and one the base branch tracks is kept, not replaced', async () => {
      repo.write('tracked.local', 'committed\n');
      repo.git('add', '-f', 'tracked.local');
      repo.git('commit', '-q', '-m', 'force-add a local file');
      repo.write('tracked.local', 'changed in the main worktree\n');
      repo.git('checkout', '-q', '-b', 'feature');
      repo.write('.env.tracked', 'from the branch\n');
      repo.git('add', '-f', '.env.tracked');
      repo.git('commit', '-q', '-m', 'the feature branch tracks an env file');
      repo.git('checkout', '-q', 'main');
      repo.write('.env.tracked', 'ignored copy in the main worktree\n');
      const service = await TaskService.open(repo.dir, { includePatterns: ['*.local'] });

      const task = await service.createTask({ subject: 'tracked', baseBranch: 'feature', createWorktree: true });
      assert.equal(repo.read('tracked.local', task.worktreePath!), 'committed\n');
      assert.equal(repo.read('.env.tracked', task.worktreePath!), 'from the branch\n');
      assert.equal(repo.gitIn(task.worktreePath!, 'status', '--porcelain'), '');
      assert.deepEqual([task.setup?.state, task.setup?.copied], ['done', 0], 'an existing file is skipped, which is no failure');
    });

    test('symlinks stay symlinks with the same target, whether they point inside or outside; nothing outside is written', async () => {
      writeFileSync(join(outside, 'elsewhere.txt'), 'outside\n');
      repo.write('.env', 'SECRET=1\n');
      symlinkSync('.env', join(repo.dir, '.env.link'));
      symlinkSync(join(outside, 'elsewhere.txt'), join(repo.dir, '.env.outside'));
      mkdirSync(join(repo.dir, 'links'));
      symlinkSync(outside, join(repo.dir, 'links', 'folder'));
      const service = await TaskService.open(repo.dir, { includePatterns: ['links/'] });

      const task = await service.createTask({ subject: 'links', createWorktree: true });
      const worktree = task.worktreePath!;
      for (const [link, target] of [['.env.link', '.env'], ['.env.outside', join(outside, 'elsewhere.txt')], ['links/folder', outside]]) {
        assert.ok(lstatSync(join(worktree, link)).isSymbolicLink(), `${link} is a symlink`);
        assert.equal(readlinkSync(join(worktree, link)), target);
      }
      assert.deepEqual(readdirSync(outside), ['elsewhere.txt'], 'the symlinked folder was not followed');
      assert.equal(task.setup?.copied, 4);
    });

    test('never outside the new worktree: a folder the branch has as a symlink is not written through; hostile patterns select nothing else; other worktrees are not copied', async () => {
      repo.git('checkout', '-q', '-b', 'evil');
      symlinkSync(outside, join(repo.dir, 'config'));
      repo.git('add', 'config');
      repo.git('commit', '-q', '-m', 'config is a symlink to elsewhere on this branch');
      repo.git('checkout', '-q', 'main');
      repo.write('config/secrets/a.key', 'a');
      repo.write('.env', 'SECRET=1\n');
      const first = await (await TaskService.open(repo.dir)).createTask({ subject: 'other', createWorktree: true });
      repo.write('.env.mine', 'in the other worktree\n', first.worktreePath!);

      const service = await TaskService.open(repo.dir, { includePatterns: ['../**', '/../../outside', '**', '/**/..'] });
      const task = await service.createTask({ subject: 'hostile', baseBranch: 'evil', createWorktree: true });
      assert.deepEqual(readdirSync(outside), [], 'nothing was written through the symlink');
      assert.equal(task.setup?.state, 'failed', 'the refused copy is reported on the task');
      assert.match(task.setup?.message ?? '', /config\/secrets\/a\.key \(config in the new worktree is a symlink\)/);
      const worktreeFiles = filesUnder(task.worktreePath!);
      assert.ok(worktreeFiles.includes('.env') && !worktreeFiles.some((path) => path.includes('.env.mine')), 'only the main worktree\'s ignored files');
      assert.ok(existsSync(join(first.worktreePath!, '.env.mine')));
    });

    test('copy-on-write and the plain-copy fallback give identical bytes and modes', async () => {
      const binary = randomBytes(1 << 20);
      writeFileSync(join(repo.dir, 'big.local'), binary);
      writeFileSync(join(repo.dir, 'run.local'), '#!/bin/sh\n', { mode: 0o755 });
      const git = new GitAdapter(repo.dir);
      const results = [];
      for (const clone of [true, false]) {
        const target = join(outside, clone ? 'cloned' : 'copied');
        mkdirSync(target);
        results.push(await copyIncludedFiles(git, repo.dir, target, ['*.local'], { clone, concurrency: 1 }));
        assert.ok(readFileSync(join(target, 'big.local')).equals(binary), `${clone ? 'clone' : 'fallback'}: same bytes`);
        assert.equal(statSync(join(target, 'run.local')).mode & 0o777, 0o755, `${clone ? 'clone' : 'fallback'}: same mode`);
      }
      assert.deepEqual(results[0], results[1]);
      assert.deepEqual(results[0], { copied: 2, skipped: [], failed: [] });
    });
  });
});
