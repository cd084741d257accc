import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GitError, TaskService } from '../../src/core';
import { taskWithCommit, TestRepo } from '../fixtures/repo';

/** The git processes this Node process started that are still running (children of this pid). */
function ourGitProcesses(): string[] {
  const listing = spawnSync('ps', ['--ppid', String(process.pid), '-o', 'args='], { encoding: 'utf8' }).stdout;
  return listing.split('\n').filter((line) => /\bgit\b/.test(line) && !line.includes('<defunct>'));
}

/** Our git processes left after `ms` (a stopped process may take a moment to exit). */
async function gitProcessesLeftAfter(ms: number): Promise<string[]> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (ourGitProcesses().length === 0) return [];
    await new Promise((done) => setTimeout(done, 50));
  }
  return ourGitProcesses();
}

/** A reference-transaction hook that appends "<state> <ref lines>" per call to `log`, then runs `then` (shell). */
function hookLoggingTransactions(repo: TestRepo, log: string, then = 'exit 0'): void {
  const hook = join(repo.dir, '.git', 'hooks', 'reference-transaction');
  writeFileSync(hook, `#!/bin/sh\nlines=$(cat | wc -l)\necho "$1 $lines" >> '${log}'\n${then}\n`);
  chmodSync(hook, 0o755);
}

function loggedTransactions(log: string): string[] {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

suite('attacks (sixth): the early ref landing when the base is checked out in a linked worktree', () => {
  let repo: TestRepo;
  let linked: string;
  setup(() => {
    repo = new TestRepo();
    repo.git('branch', 'integration');
    linked = join(dirname(realpathSync(repo.dir)), 'integration wt');
    repo.git('worktree', 'add', '-q', linked, 'integration');
  });
  teardown(() => repo.dispose());

  test('merging into a base checked out in a linked worktree: that worktree follows (clean, has the file), no git process of ours is left running, and the log says the ref update started early was stopped unneeded', async () => {
    const log: string[] = [];
    const service = await TaskService.open(repo.dir, {}, { log: (line) => log.push(line) });
    const task = await taskWithCommit(repo, service, 'into linked', 'work.txt', 'work\n', 'integration');
    assert.equal((await service.mergeTask(task.id)).merged, true);
    assert.equal(repo.gitIn(linked, 'status', '--porcelain').trim(), '', 'the linked worktree is left clean');
    assert.equal(repo.read('work.txt', linked), 'work\n');
    assert.equal(repo.gitIn(linked, 'rev-parse', 'HEAD').trim(), repo.oid('integration'));
    assert.deepEqual(await gitProcessesLeftAfter(5_000), []);
    const landings = log.filter((line) => line.startsWith('> git update-ref'));
    assert.equal(landings.length, 1, log.join('\n'));
    assert.match(landings[0], / stopped before reading its input \(not needed\)$/);
    assert.ok(!log.some((line) => / exit -1$/.test(line)), `no line reads as a failure:\n${log.join('\n')}`);
  });

  test('merging into a base being rebased in a linked worktree: refused with OperationInProgress, the base does not move, no git process of ours is left', async () => {
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'while rebasing', 'work.txt', 'work\n', 'integration');
    // A rebase of integration stopped on a conflict in the linked worktree (HEAD detached, integration "being rebased").
    repo.write('clash.txt', 'ours\n', linked);
    repo.commitAll('ours', linked);
    repo.git('checkout', '-q', '-b', 'other');
    repo.write('clash.txt', 'theirs\n');
    repo.commitAll('theirs');
    repo.git('checkout', '-q', 'main');
    assert.throws(() => repo.gitIn(linked, 'rebase', 'other'));
    const before = repo.oid('integration');
    await assert.rejects(service.mergeTask(task.id), (error: Error & { code?: string }) => error.code === 'OperationInProgress');
    assert.equal(repo.oid('integration'), before, 'the base moved');
    assert.deepEqual(await gitProcessesLeftAfter(5_000), []);
  });

  test('merging into a base checked out in a linked worktree runs no empty reference transaction (the hook sees only transactions that move refs)', async () => {
    const log = join(dirname(repo.dir), 'transactions.log');
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'hook watches', 'work.txt', 'work\n', 'integration');
    hookLoggingTransactions(repo, log);
    assert.equal((await service.mergeTask(task.id)).merged, true);
    await gitProcessesLeftAfter(5_000);
    const empty = loggedTransactions(log).filter((line) => line.endsWith(' 0'));
    assert.deepEqual(empty, [], `the hook was asked about empty transactions: ${loggedTransactions(log).join(', ')}`);
  });

  test('a merge refused because the base is bisected in a linked worktree runs no reference transaction at all', async () => {
    const log = join(dirname(repo.dir), 'transactions.log');
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'while bisecting', 'work.txt', 'work\n', 'integration');
    repo.gitIn(linked, 'bisect', 'start');
    repo.gitIn(linked, 'bisect', 'bad');
    // bisect good/bad write refs/bisect/*: the hook starts watching only now.
    hookLoggingTransactions(repo, log);
    const before = repo.oid('integration');
    await assert.rejects(service.mergeTask(task.id), (error: Error & { code?: string }) => error.code === 'OperationInProgress');
    assert.equal(repo.oid('integration'), before);
    assert.deepEqual(await gitProcessesLeftAfter(5_000), [], 'a git process of ours was left running');
    assert.deepEqual(loggedTransactions(log), [], 'a refused merge ran the user\'s reference-transaction hook');
  });
  test('when a merge into a base checked out in a linked worktree returns, no git process of ours is still running (a hook slow on empty transactions)', async () => {
    const log = join(dirname(repo.dir), 'transactions.log');
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'slow hook', 'work.txt', 'work\n', 'integration');
    hookLoggingTransactions(repo, log, 'if [ "$lines" -eq 0 ]; then sleep 2; fi');
    assert.equal((await service.mergeTask(task.id)).merged, true);
    const running = ourGitProcesses();
    await gitProcessesLeftAfter(10_000);
    assert.deepEqual(running, [], 'git still running after the merge returned');
  });

  test('a reference-transaction hook that refuses empty transactions: a merge into a base checked out in a linked worktree still lands there', async () => {
    const log = join(dirname(repo.dir), 'transactions.log');
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'strict hook', 'work.txt', 'work\n', 'integration');
    hookLoggingTransactions(repo, log, 'if [ "$1" = prepared ] && [ "$lines" -eq 0 ]; then exit 1; fi');
    assert.equal((await service.mergeTask(task.id)).merged, true);
    assert.equal(repo.read('work.txt', linked), 'work\n');
    assert.equal(repo.gitIn(linked, 'rev-parse', 'HEAD').trim(), repo.oid('integration'));
  });
});

suite('attacks (sixth): the early ref landing into a base checked out nowhere', () => {
  let repo: TestRepo;
  setup(() => {
    repo = new TestRepo();
    repo.git('branch', 'integration');
  });
  teardown(() => repo.dispose());

  test('a reference-transaction hook that rejects the landing: the merge fails with a GitError, the base does not move, the task is not completed', async () => {
    const log = join(dirname(repo.dir), 'transactions.log');
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'rejected', 'work.txt', 'work\n', 'integration');
    hookLoggingTransactions(repo, log, 'if [ "$1" = prepared ] && [ "$lines" -gt 0 ]; then echo "no landing today" >&2; exit 1; fi');
    const before = repo.oid('integration');
    await assert.rejects(service.mergeTask(task.id), (error: Error) => error instanceof GitError && error.exitCode !== 0);
    assert.equal(repo.oid('integration'), before);
    assert.notEqual((await service.task(task.id)).status, 'completed');
    assert.deepEqual(await gitProcessesLeftAfter(5_000), []);
  });

  test('a reference-transaction hook that prints 2 MB and sleeps: the merge still lands exactly once', async () => {
    const log = join(dirname(repo.dir), 'transactions.log');
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'chatty hook', 'work.txt', 'work\n', 'integration');
    hookLoggingTransactions(repo, log, 'head -c 2000000 /dev/zero | tr "\\0" x; sleep 0.3');
    const result = await service.mergeTask(task.id);
    assert.equal(result.merged, true);
    assert.equal(repo.oid('integration'), result.commit);
    assert.equal(repo.git('show', 'integration:work.txt'), 'work\n');
    assert.equal(loggedTransactions(log).filter((line) => line === 'committed 1').length, 1);
  });

  test('the base moved by someone else after the merge read it: the merge fails with RefChanged and the other commit stays', async () => {
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'raced', 'work.txt', 'work\n', 'integration');
    const elsewhere = repo.git('commit-tree', '-p', 'integration', '-m', 'someone else', repo.git('rev-parse', 'integration^{tree}').trim()).trim();
    // Moved synchronously right after the merge starts: while its early update-ref waits for the commit.
    const merging = service.mergeTask(task.id);
    repo.git('update-ref', 'refs/heads/integration', elsewhere);
    const outcome = await merging.then(
      (result) => result,
      (error: Error & { code?: string }) => error,
    );
    if (outcome instanceof Error) {
      assert.equal(outcome.code, 'RefChanged');
      assert.equal(repo.oid('integration'), elsewhere, 'the other commit was overwritten');
    } else {
      // Reported landed: then it landed on top of the other commit, which it keeps.
      repo.git('merge-base', '--is-ancestor', elsewhere, 'integration');
      assert.equal(repo.oid('integration'), outcome.commit);
    }
  });
});

suite('attacks (sixth): several services in one Node process', () => {
  const repos: TestRepo[] = [];
  teardown(() => repos.splice(0).forEach((repo) => repo.dispose()));

  function identityEnvironment(name: string): NodeJS.ProcessEnv {
    return { ...process.env, GIT_AUTHOR_NAME: name, GIT_COMMITTER_NAME: name, GIT_AUTHOR_EMAIL: `${name}@example.com`, GIT_COMMITTER_EMAIL: `${name}@example.com` };
  }

  test('two repositories with different environments, merges interleaved: each merge commit carries its own repository\'s identity', async () => {
    const names = ['Alice Ident', 'Bob Ident'];
    const opened = await Promise.all(
      names.map(async (name) => {
        const repo = new TestRepo();
        repos.push(repo);
        repo.git('branch', 'integration');
        return { repo, name, service: await TaskService.open(repo.dir, {}, { environment: identityEnvironment(name) }) };
      }),
    );
    const tasks = await Promise.all(
      opened.flatMap(({ repo, service }) => [0, 1, 2].map((i) => taskWithCommit(repo, service, `work ${i}`, `work-${i}.txt`, `${i}\n`, 'integration'))),
    );
    // One merge of each repository at a time, alternating, so their processes interleave in the thread.
    for (let i = 0; i < 3; i++) {
      const results = await Promise.all(opened.map(({ service }, r) => service.mergeTask(tasks[r * 3 + i].id)));
      results.forEach((result, r) => {
        assert.equal(result.merged, true);
        const who = opened[r].repo.git('log', '-1', '--format=%an|%cn', result.commit!).trim();
        assert.equal(who, `${names[r]}|${names[r]}`, `merge ${i} in repository ${r}`);
      });
    }
  });

  test('two services on one repository merging into one base checked out nowhere at once: every merge reported as landed is in the base', async () => {
    const repo = new TestRepo();
    repos.push(repo);
    repo.git('branch', 'integration');
    const first = await TaskService.open(repo.dir);
    const second = await TaskService.open(repo.dir);
    const tasks = await Promise.all([0, 1, 2, 3].map((i) => taskWithCommit(repo, first, `both ${i}`, `both-${i}.txt`, `${i}\n`, 'integration')));
    const outcomes = await Promise.all(
      tasks.map((task, i) =>
        (i % 2 ? second : first).mergeTask(task.id).then(
          (result) => result.merged,
          (error: Error & { code?: string }) => error.code,
        ),
      ),
    );
    assert.ok(outcomes.includes(true), `nothing landed: ${outcomes.join(', ')}`);
    outcomes.forEach((outcome, i) => {
      if (outcome === true) assert.equal(repo.git('show', `integration:both-${i}.txt`), `${i}\n`, `merge ${i} reported landed but lost`);
    });
    assert.deepEqual(await gitProcessesLeftAfter(5_000), []);
  });

  test('two services merging the same task into a base checked out nowhere at once: the base gets exactly one new commit', async () => {
    const repo = new TestRepo();
    repos.push(repo);
    repo.git('branch', 'integration');
    const first = await TaskService.open(repo.dir);
    const second = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, first, 'twice', 'twice.txt', 'once\n', 'integration');
    const before = repo.oid('integration');
    const outcomes = await Promise.all([first, second].map((service) => service.mergeTask(task.id).then((result) => result.merged, (error: Error & { code?: string }) => error.code)));
    assert.ok(outcomes.includes(true), outcomes.join(', '));
    assert.equal(repo.git('rev-list', '--first-parent', '--count', `${before}..integration`).trim(), '1', `outcomes: ${outcomes.join(', ')}`);
    assert.equal(repo.git('show', 'integration:twice.txt'), 'once\n');
  });

  for (const slots of [1, 2, 3]) {
    test(`six merges at once into six bases checked out nowhere with maxConcurrentProcesses ${slots}: all land`, async () => {
      const repo = new TestRepo();
      repos.push(repo);
      const service = await TaskService.open(repo.dir, {}, { maxConcurrentProcesses: slots });
      const tasks = [];
      for (let i = 0; i < 6; i++) {
        repo.git('branch', `base-${i}`);
        tasks.push(await taskWithCommit(repo, service, `many ${i}`, `many-${i}.txt`, `${i}\n`, `base-${i}`));
      }
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<'hung'>((done) => (timer = setTimeout(() => done('hung'), 60_000)));
      const all = Promise.all(tasks.map((task) => service.mergeTask(task.id)));
      all.catch(() => undefined);
      const results = await Promise.race([all, hung]).finally(() => clearTimeout(timer));
      assert.notEqual(results, 'hung', 'the merges did not finish in 60 s');
      for (let i = 0; i < 6; i++) assert.equal(repo.git('show', `base-${i}:many-${i}.txt`), `${i}\n`);
    });
  }
});

suite('attacks (sixth): output, errors and the read time limit through the process thread', () => {
  let repo: TestRepo;
  setup(() => (repo = new TestRepo()));
  teardown(() => repo.dispose());

  test('8 MB of two-byte characters come back whole (no character split at a pipe chunk boundary)', async () => {
    const text = 'é'.repeat(4_000_000);
    repo.write('big.txt', text);
    const blob = repo.git('hash-object', '-w', 'big.txt').trim();
    const service = await TaskService.open(repo.dir);
    const { stdout } = await service.git.exec(['cat-file', 'blob', blob], { readOnly: true, immediate: true });
    assert.equal(stdout.length, text.length);
    assert.ok(stdout === text, 'the text came back changed');
  });

  test('bytes that are not UTF-8 come back as the same string a UTF-8 decode of them gives (as before the thread)', async () => {
    const bytes = Buffer.from([0x61, 0xff, 0xfe, 0x80, 0x62, 0xc3]);
    writeFileSync(join(repo.dir, 'raw.bin'), bytes);
    const blob = repo.git('hash-object', '-w', 'raw.bin').trim();
    const service = await TaskService.open(repo.dir);
    const { stdout } = await service.git.exec(['cat-file', 'blob', blob], { readOnly: true, immediate: true });
    assert.equal(stdout, bytes.toString('utf8'));
  });

  test('a failing command run directly keeps its exit code and classification (BranchNotFound, exit 128, stderr kept)', async () => {
    const service = await TaskService.open(repo.dir);
    // "fatal: Not a valid object name none-such" on stderr.
    await assert.rejects(service.git.exec(['cat-file', '-t', 'none-such'], { readOnly: true, immediate: true }), (error: Error) => {
      assert.ok(error instanceof GitError);
      assert.equal(error.code, 'BranchNotFound');
      assert.equal(error.exitCode, 128);
      assert.match(error.stderr, /fatal/);
      return true;
    });
  });

  test('a silent read (git waiting on input that never comes) is stopped by the read time limit with Timeout, and its process ends', async () => {
    const service = await TaskService.open(repo.dir, {}, { readTimeoutMs: 500 });
    const never = new Promise<string>(() => undefined);
    await assert.rejects(service.git.exec(['cat-file', '--batch'], { readOnly: true, input: never }), (error: Error & { code?: string }) => error.code === 'Timeout');
    assert.deepEqual(await gitProcessesLeftAfter(5_000), []);
  });
});

suite('attacks (sixth): a Node process using the core exits by itself', () => {
  let repo: TestRepo;
  setup(() => {
    repo = new TestRepo();
    repo.git('branch', 'integration');
  });
  teardown(() => repo.dispose());

  const core = resolve(__dirname, '../../src/core');

  function runNode(script: string): { status: number | null; stdout: string; stderr: string; timedOut: boolean } {
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, CORE: core, REPO: repo.dir } });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr, timedOut: (run.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT' };
  }

  test('open a service, read the board, nothing else: Node exits by itself (status 0) within 20 s', () => {
    const run = runNode(`require(process.env.CORE).TaskService.open(process.env.REPO).then((s) => s.board()).then(() => console.log('board read'));`);
    assert.equal(run.timedOut, false, 'Node did not exit by itself');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /board read/);
  });

  test('a merge started and not awaited: Node stays until it has landed, then exits by itself', async () => {
    const service = await TaskService.open(repo.dir);
    const task = await taskWithCommit(repo, service, 'in flight', 'work.txt', 'work\n', 'integration');
    // The promise is not awaited at the top: only the merge's own work may keep Node alive.
    const run = runNode(
      `require(process.env.CORE).TaskService.open(process.env.REPO).then((s) => { s.mergeTask(${JSON.stringify(task.id)}).then((r) => console.log('merged', r.merged), (e) => console.log('failed', e.code)); });`,
    );
    assert.equal(run.timedOut, false, 'Node did not exit by itself');
    assert.match(run.stdout, /merged true/, `stdout: ${run.stdout} stderr: ${run.stderr}`);
    assert.equal(repo.git('show', 'integration:work.txt'), 'work\n');
    assert.equal(execFileSync('git', ['status', '--porcelain'], { cwd: repo.dir, encoding: 'utf8' }).trim(), '');
  });
});
