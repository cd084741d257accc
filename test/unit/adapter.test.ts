import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCode, isCoded, TaskWorktreesError } from '../../src/core/errors';
import { GitAdapter, GitAdapterOptions } from '../../src/core/git/adapter';
import { GitError } from '../../src/core/git/errors';
import { TestRepo } from '../fixtures/repo';

/** Awaits a call that must fail with `code`; returns the error for further checks. */
async function failure(call: Promise<unknown>, code: ErrorCode): Promise<TaskWorktreesError> {
  try {
    await call;
  } catch (error) {
    assert.ok(isCoded(error), `expected a coded error, got ${error}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but the call succeeded`);
}

function writeHook(repo: TestRepo, name: string, body: string): void {
  const path = join(repo.dir, '.git', 'hooks', name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

/** Directories made by a test outside a TestRepo; removed after each test. */
const scratch: string[] = [];
function scratchDir(prefix = 'tw-adapter-'): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  scratch.push(dir);
  return dir;
}

/** process.env without anything that would give git an identity or a config of its own. */
function environmentWithoutIdentity(home: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^GIT_(AUTHOR|COMMITTER|CONFIG)/.test(key)));
  return { ...env, HOME: home, XDG_CONFIG_HOME: join(home, 'xdg'), GIT_CONFIG_NOSYSTEM: '1' };
}

suite('git adapter', () => {
  let repo: TestRepo;
  let git: GitAdapter;

  function adapter(options: GitAdapterOptions = {}, dir = repo.dir): GitAdapter {
    return new GitAdapter(dir, options);
  }

  setup(() => {
    repo = new TestRepo();
    git = adapter();
  });
  teardown(() => {
    repo.dispose();
    for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  suite('hooks and messages: nothing of ours leaks in', () => {
    test('a post-checkout hook sees no trace or simple-git variable, and its git rev-parse prints only the branch', async () => {
      const out = scratchDir();
      writeHook(repo, 'post-checkout', `env | grep -E '^GIT_(TRACE|TEST_)' > "${out}/env"\ngit rev-parse --abbrev-ref HEAD > "${out}/branch"`);
      await git.addWorktreeWithNewBranch(join(out, 'wt'), 'task/hooked', 'main');
      assert.equal(readFileSync(join(out, 'env'), 'utf8'), '');
      assert.equal(readFileSync(join(out, 'branch'), 'utf8'), 'task/hooked\n');
    });

    test("a failing hook's error carries the hook's words and no trace lines", async () => {
      const out = scratchDir();
      writeHook(repo, 'post-checkout', 'echo "the hook refuses" >&2\nexit 3');
      const error = await failure(git.addWorktreeWithNewBranch(join(out, 'wt'), 'task/refused', 'main'), 'GitFailed');
      assert.match(error.message, /the hook refuses/);
      assert.doesNotMatch(error.message, /trace:|run_processes_parallel|run_command/);
    });

    test('a merge message that looks like git options is recorded as the message', async () => {
      repo.git('branch', 'task/opts');
      repo.write('opts.txt', 'x\n');
      repo.commitAll('opts', repo.dir);
      repo.git('checkout', '-q', 'task/opts');
      const message = '--upload-pack=x -ccore.sshCommand=y --template=z';
      await git.merge(repo.dir, 'main', message, false);
      assert.equal(repo.git('log', '-1', '--format=%B').trim(), message);
    });
  });

  suite('time limits', () => {
    test('a hook slower than the read limit, on a command that changes the repository, is not stopped', async () => {
      const out = scratchDir();
      writeHook(repo, 'post-checkout', `sleep 1\necho finished > "${out}/marker"`);
      await adapter({ readTimeoutMs: 200 }).addWorktreeWithNewBranch(join(out, 'wt'), 'task/slow', 'main');
      assert.equal(readFileSync(join(out, 'marker'), 'utf8'), 'finished\n');
      assert.equal(repo.oid('task/slow'), repo.oid('main'));
    });

    test('a read that prints nothing for longer than the limit fails with Timeout, saying it timed out (both ways git is run)', async () => {
      const monitor = join(scratchDir(), 'slow-fsmonitor');
      writeFileSync(monitor, '#!/bin/sh\nsleep 3\nexit 1\n');
      chmodSync(monitor, 0o755);
      repo.git('config', 'core.fsmonitor', monitor);
      const slow = adapter({ readTimeoutMs: 200 });
      const viaStatus = await failure(slow.status(repo.dir), 'Timeout');
      assert.match(viaStatus.message, /timed out/);
      const silent = await failure(slow.exec(['status', '--porcelain'], { readOnly: true, mayPrintNothing: true }), 'Timeout');
      assert.match(silent.message, /timed out/);
    });
  });

  suite('errors say what happened', () => {
    test('merge conflicts are MergeConflict although git reports them on stdout', async () => {
      repo.git('branch', 'task/clash');
      repo.write('README.md', 'main side\n');
      repo.commitAll('main side');
      repo.git('checkout', '-q', 'task/clash');
      repo.write('README.md', 'task side\n');
      repo.commitAll('task side');
      repo.git('checkout', '-q', 'main');
      const error = await failure(git.merge(repo.dir, 'task/clash', 'merge it', false), 'MergeConflict');
      assert.ok(error instanceof GitError);
      assert.match(error.stdout, /^CONFLICT \(content\)/m);
      assert.doesNotMatch(error.stderr, /CONFLICT/);
      assert.match(error.message, /README\.md/);
      await git.abortMerge(repo.dir);
      assert.equal(repo.git('status', '--porcelain'), '');
    });

    test('a branch that would be a folder of an existing branch, or hold one, is BranchExists naming that branch', async () => {
      const out = scratchDir();
      repo.git('branch', 'task/bar/baz');
      repo.git('branch', 'solo');
      const under = await failure(git.addWorktreeWithNewBranch(join(out, 'a'), 'task/bar', 'main'), 'BranchExists');
      assert.match(under.message, /"task\/bar\/baz" exists/);
      const over = await failure(git.addWorktreeWithNewBranch(join(out, 'b'), 'solo/x', 'main'), 'BranchExists');
      assert.match(over.message, /"solo" exists/);
      const viaRef = await failure(git.updateRefs([{ ref: 'refs/heads/solo/y', oldOid: null, newOid: repo.oid('main') }], 'create'), 'BranchExists');
      assert.match(viaRef.message, /"solo" exists/);
      assert.equal(existsSync(join(out, 'a')) || existsSync(join(out, 'b')), false);
      assert.deepEqual(repo.git('for-each-ref', '--format=%(refname)', 'refs/heads').trim().split('\n'), ['refs/heads/main', 'refs/heads/solo', 'refs/heads/task/bar/baz']);
    });
  });

  suite('branch names mean branches: a tag of the same name changes nothing', () => {
    test('ahead/behind, ancestry, merge base, tree, merge-tree and branch commit read refs/heads', async () => {
      const initial = repo.oid('HEAD');
      repo.write('main.txt', '1\n');
      const mainHead = repo.commitAll('main moves on');
      repo.git('branch', 'task/t');
      repo.write('src/file-0.txt', 'main again\n');
      const mainTip = repo.commitAll('main again');
      repo.git('checkout', '-q', 'task/t');
      repo.write('task.txt', 'task\n');
      const taskTip = repo.commitAll('task work');
      repo.git('checkout', '-q', 'main');
      repo.git('tag', 'main', initial);
      repo.git('tag', 'task/t', initial);

      assert.deepEqual(await git.aheadBehind('main', 'task/t'), { ahead: 1, behind: 1 });
      assert.equal(await git.isAncestor(mainHead, 'main'), true);
      assert.equal(await git.isAncestor('task/t', 'main'), false);
      assert.equal(await git.mergeBase('main', 'task/t'), mainHead);
      assert.equal(await git.treeOf('main'), repo.oid(`${mainTip}^{tree}`));
      assert.equal(await git.branchCommit('task/t'), taskTip);
      const preview = await git.mergeTree('main', 'task/t');
      assert.deepEqual(preview.conflicts, []);
      assert.match(repo.git('ls-tree', '--name-only', preview.tree), /^task\.txt$/m);
    });

    test('merge takes the branch, not the tag of the same name', async () => {
      repo.git('branch', 'task/m');
      repo.git('tag', 'task/m');
      repo.git('checkout', '-q', 'task/m');
      repo.write('merged.txt', 'm\n');
      const taskTip = repo.commitAll('task work');
      repo.git('checkout', '-q', 'main');
      await git.merge(repo.dir, 'task/m', 'merge the branch', false);
      assert.equal(repo.oid('HEAD^2'), taskTip);
      assert.equal(repo.read('merged.txt'), 'm\n');
    });
  });

  suite('locate: any layout, any path', () => {
    test('a repository whose path has a newline', async () => {
      const dir = join(scratchDir(), 'line\nbreak', 'project');
      mkdirSync(dir, { recursive: true });
      execFileSync('git', ['init', '-q', '-b', 'main', dir]);
      execFileSync('git', ['-C', dir, '-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'first']);
      assert.deepEqual(await adapter({}, dir).locate(), {
        topLevel: dir,
        gitDir: join(dir, '.git'),
        commonDir: join(dir, '.git'),
        bare: false,
        mainWorktree: dir,
      });
      const linked = join(dirname(dir), 'linked\nworktree');
      execFileSync('git', ['-C', dir, 'worktree', 'add', '-q', '-b', 'task/nl', linked]);
      const fromLinked = await adapter({}, linked).locate();
      assert.deepEqual(fromLinked, {
        topLevel: linked,
        gitDir: await adapter({}, dir).gitDir(linked),
        commonDir: join(dir, '.git'),
        bare: false,
        mainWorktree: dir,
      });
      assert.equal(dirname(fromLinked.gitDir), join(dir, '.git', 'worktrees'));
    });

    test('a separate git dir: the main worktree is the worktree, never the git dir', async () => {
      const root = scratchDir();
      const gitDir = join(root, 'store', 'repo.git');
      const work = join(root, 'work');
      mkdirSync(dirname(gitDir));
      execFileSync('git', ['init', '-q', '-b', 'main', `--separate-git-dir=${gitDir}`, work]);
      assert.deepEqual(await adapter({}, work).locate(), { topLevel: work, gitDir, commonDir: gitDir, bare: false, mainWorktree: work });
      execFileSync('git', ['-C', work, '-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'first']);
      const linked = join(root, 'linked');
      execFileSync('git', ['-C', work, 'worktree', 'add', '-q', '-b', 'task/sep', linked]);
      const fromLinked = await adapter({}, linked).locate();
      assert.equal(fromLinked.commonDir, gitDir);
      assert.equal(fromLinked.mainWorktree, undefined, 'git cannot tell from here; never the git dir');
    });

    test('a submodule, and a linked worktree of it: the main worktree is the submodule folder', async () => {
      const sub = join(repo.dir, 'sub');
      repo.git('-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', repo.dir, 'sub');
      const modules = join(repo.dir, '.git', 'modules', 'sub');
      assert.deepEqual(await adapter({}, sub).locate(), { topLevel: sub, gitDir: modules, commonDir: modules, bare: false, mainWorktree: sub });
      const linked = join(scratchDir(), 'sub-linked');
      repo.gitIn(sub, 'worktree', 'add', '-q', '-b', 'task/sub', linked);
      const fromLinked = await adapter({}, linked).locate();
      assert.equal(fromLinked.mainWorktree, sub);
      assert.equal(fromLinked.commonDir, modules);
      assert.equal(fromLinked.topLevel, linked);
    });

    test('a bare repository with a linked worktree: bare, no main worktree, each git dir absolute', async () => {
      const root = scratchDir();
      const bareDir = join(root, 'bare.git');
      const linked = join(root, 'linked');
      execFileSync('git', ['clone', '-q', '--bare', repo.dir, bareDir]);
      execFileSync('git', ['-C', bareDir, 'worktree', 'add', '-q', linked, 'main']);
      assert.deepEqual(await adapter({}, linked).locate(), {
        topLevel: linked,
        gitDir: join(bareDir, 'worktrees', 'linked'),
        commonDir: bareDir,
        bare: true,
        mainWorktree: undefined,
      });
      assert.deepEqual(await adapter({}, bareDir).locate(), { topLevel: undefined, gitDir: bareDir, commonDir: bareDir, bare: true, mainWorktree: undefined });
    });
  });

  suite("the user's environment", () => {
    test('an identity only in the file GIT_CONFIG_GLOBAL names makes commitTree and merge work', async () => {
      const home = scratchDir();
      const globalConfig = join(home, 'elsewhere.gitconfig');
      writeFileSync(globalConfig, '[user]\n\tname = Global Person\n\temail = global@example.com\n');
      repo.git('config', '--unset', 'user.name');
      repo.git('config', '--unset', 'user.email');
      const withGlobal = adapter({ environment: { ...environmentWithoutIdentity(home), GIT_CONFIG_GLOBAL: globalConfig } });

      const commit = await withGlobal.commitTree(await withGlobal.treeOf('main'), [repo.oid('main')], 'via commit-tree');
      assert.equal(repo.git('log', '-1', '--format=%an <%ae>', commit).trim(), 'Global Person <global@example.com>');

      repo.git('branch', 'task/g');
      repo.git('update-ref', 'refs/heads/task/g', commit);
      await withGlobal.merge(repo.dir, 'task/g', 'merge with the global identity', false);
      assert.equal(repo.git('log', '-1', '--format=%cn <%ce>').trim(), 'Global Person <global@example.com>');
      assert.equal((await withGlobal.status(repo.dir)).files.length, 0);
    });

    test("a hook sees the user's own variables and the fixed ones", async () => {
      const out = scratchDir();
      writeHook(repo, 'post-checkout', `env | grep -E '^(GIT_SSH_COMMAND|GIT_CONFIG_GLOBAL|MY_TOOL|LC_ALL|GIT_TERMINAL_PROMPT|GIT_EDITOR)=' | sort > "${out}/env"`);
      const environment = { ...process.env, GIT_SSH_COMMAND: 'ssh -o BatchMode=yes', GIT_CONFIG_GLOBAL: join(out, 'none'), MY_TOOL: 'on' };
      await adapter({ environment }).addWorktreeWithNewBranch(join(out, 'wt'), 'task/env', 'main');
      assert.deepEqual(readFileSync(join(out, 'env'), 'utf8').trim().split('\n'), [
        `GIT_CONFIG_GLOBAL=${join(out, 'none')}`,
        'GIT_EDITOR=:',
        'GIT_SSH_COMMAND=ssh -o BatchMode=yes',
        'GIT_TERMINAL_PROMPT=0',
        'LC_ALL=C',
        'MY_TOOL=on',
      ]);
    });

    test('GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE from a hook that started VS Code do not redirect git', async () => {
      const other = new TestRepo();
      try {
        const environment = {
          ...process.env,
          GIT_DIR: join(other.dir, '.git'),
          GIT_WORK_TREE: other.dir,
          GIT_INDEX_FILE: join(other.dir, '.git', 'index'),
          GIT_COMMON_DIR: join(other.dir, '.git'),
        };
        const redirected = adapter({ environment });
        assert.equal((await redirected.locate()).commonDir, join(repo.dir, '.git'));
        const tree = await redirected.treeOf('main');
        const commit = await redirected.commitTree(tree, [repo.oid('main')], 'here');
        await redirected.updateBranch('main', commit, repo.oid('main'), 'move');
        assert.equal(repo.oid('main'), commit);
        assert.equal(other.git('rev-list', '--count', '--all').trim(), '1');
      } finally {
        other.dispose();
      }
    });
  });

  suite('process limit', () => {
    test('never more git processes at once than the limit, even when a new call slips in as one ends', async () => {
      const limited = adapter({
        maxConcurrentProcesses: 2,
        // Starts a call in the same tick a process ends, when its slot has just been given back.
        log: () => {
          if (extra === 0) return;
          extra--;
          calls.push(limited.headCommit(repo.dir));
        },
      });
      let extra = 10;
      let running = 0;
      let most = 0;
      limited.onSpawn(() => {
        running++;
        most = Math.max(most, running);
      });
      limited.onExit(() => running--);
      const calls: Array<Promise<unknown>> = [];
      for (let i = 0; i < 12; i++) {
        calls.push(limited.status(repo.dir), limited.isAncestor('main', 'main'), limited.branchHeads());
      }
      while (calls.length) await calls.shift();
      assert.equal(extra, 0, 'the extra calls ran');
      assert.equal(most, 2);
      assert.equal(running, 0);
    });
  });

  suite('methods for the lifecycle', () => {
    test('repairWorktrees reconnects a worktree whose folder was moved', async () => {
      const root = scratchDir();
      const before = join(root, 'before');
      const after = join(root, 'after');
      repo.git('worktree', 'add', '-q', '-b', 'task/moved', before);
      renameSync(before, after);
      const listed = async (): Promise<string | undefined> => (await git.listWorktrees()).find((entry) => entry.branch === 'task/moved')?.path;
      assert.equal(await listed(), before);
      await git.repairWorktrees([after]);
      assert.equal(await listed(), after);
      assert.equal(repo.gitIn(after, 'rev-parse', '--abbrev-ref', 'HEAD').trim(), 'task/moved');
    });

    test('gitDir: the main worktree has .git, a linked one its own directory under .git/worktrees', async () => {
      const linked = join(scratchDir(), 'wt');
      repo.git('worktree', 'add', '-q', '-b', 'task/gd', linked);
      assert.equal(await git.gitDir(), join(repo.dir, '.git'));
      assert.equal(await git.gitDir(linked), join(repo.dir, '.git', 'worktrees', 'wt'));
    });

    test('mergeBase: the common ancestor, or undefined for histories that never meet', async () => {
      const base = repo.oid('main');
      repo.git('branch', 'task/mb');
      repo.write('later.txt', 'l\n');
      repo.commitAll('later');
      assert.equal(await git.mergeBase('main', 'task/mb'), base);
      repo.git('checkout', '-q', '--orphan', 'unrelated');
      repo.commitAll('unrelated root');
      repo.git('checkout', '-q', 'main');
      assert.equal(await git.mergeBase('main', 'unrelated'), undefined);
    });

    test('updateRefs moves several refs together, and none when one of them moved meanwhile', async () => {
      const start = repo.oid('main');
      repo.git('branch', 'task/a');
      repo.git('branch', 'task/b');
      repo.write('next.txt', 'n\n');
      const next = repo.commitAll('next');

      await git.updateRefs(
        [
          { ref: 'refs/heads/task/a', oldOid: start, newOid: next },
          { ref: 'refs/heads/task/new', oldOid: null, newOid: next },
        ],
        'together',
      );
      assert.equal(repo.oid('task/a'), next);
      assert.equal(repo.oid('task/new'), next);

      await failure(
        git.updateRefs(
          [
            { ref: 'refs/heads/task/b', oldOid: start, newOid: next },
            { ref: 'refs/heads/task/a', oldOid: start, newOid: start },
          ],
          'stale',
        ),
        'RefChanged',
      );
      assert.equal(repo.oid('task/b'), start, 'the update that was still valid did not land either');

      await failure(git.deleteBranch('task/b', next), 'RefChanged');
      assert.equal(repo.oid('task/b'), start);
      await failure(git.updateBranch('task/b', start, next, 'stale'), 'RefChanged');
      await git.deleteBranch('task/b', start);
      assert.equal(repo.git('branch', '--list', 'task/b'), '');
      await failure(git.updateRefs([{ ref: 'refs/heads/task/a', oldOid: null, newOid: start }], 'exists'), 'BranchExists');
    });

    test('treeOf, updateRefs and repairWorktrees refuse malformed input before any git process', async () => {
      const spawned: string[][] = [];
      git.onSpawn((args) => spawned.push([...args]));
      await failure(git.treeOf(''), 'InvalidInput');
      await failure(git.mergeBase('main', 'a\nb'), 'InvalidInput');
      await failure(git.updateRefs([{ ref: 'heads/x', oldOid: null, newOid: repo.oid('main') }], 'r'), 'InvalidInput');
      await failure(git.updateRefs([{ ref: 'refs/heads/x', oldOid: 'main', newOid: repo.oid('main') }], 'r'), 'InvalidInput');
      await failure(git.updateRefs([{ ref: 'refs/heads/main', oldOid: null, newOid: null }], 'r'), 'InvalidInput');
      await failure(git.repairWorktrees(['']), 'InvalidInput');
      await failure(git.exec(['--git-dir=/elsewhere', 'status']), 'InvalidInput');
      assert.deepEqual(spawned, []);
    });
  });
});
