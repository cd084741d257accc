import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ProcessRequest, ProcessThread } from '../../src/core/git/processThread';

async function whenThreaded(thread: ProcessThread): Promise<void> {
  for (let waited = 0; !thread.threaded; waited += 10) {
    if (waited > 10_000) throw new Error('the process thread did not come up');
    await new Promise((done) => setTimeout(done, 10));
  }
}

for (const where of ['in the process thread', "in the caller's thread"] as const) {
  suite(`git processes started ${where}`, () => {
    let thread: ProcessThread;
    let dir: string;
    const request = (args: string[], more: Partial<ProcessRequest> = {}): ProcessRequest => ({ binary: 'git', args, cwd: dir, env: process.env, ...more });

    suiteSetup(async () => {
      thread = new ProcessThread(where === 'in the process thread');
      if (where === 'in the process thread') await whenThreaded(thread);
      dir = mkdtempSync(join(tmpdir(), 'tw-thread-'));
      execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
    });
    suiteTeardown(() => rmSync(dir, { recursive: true, force: true }));

    test('stdout, stderr and the exit code come back apart', async () => {
      const ok = await thread.run(request(['rev-parse', '--git-dir']), undefined);
      assert.deepEqual(ok, { stdout: '.git\n', stderr: '', exitCode: 0, timedOut: false, withdrawn: false });
      const failed = await thread.run(request(['rev-parse', '--verify', 'no-such-ref']), undefined);
      assert.equal(failed.exitCode, 128);
      assert.equal(failed.stdout, '');
      assert.match(failed.stderr, /Needed a single revision/);
      assert.equal(thread.threaded, where === 'in the process thread');
    });

    test('input given at once, or later as a promise (the process waits for it); a rejected promise stops the process unread, and the outcome says it was withdrawn', async () => {
      const now = await thread.run(request(['hash-object', '--stdin']), 'hello\n');
      let give: (text: string) => void = () => undefined;
      const later = thread.run(request(['hash-object', '--stdin']), new Promise<string>((resolve) => (give = resolve)));
      await new Promise((done) => setTimeout(done, 100));
      give('hello\n');
      assert.equal((await later).stdout, now.stdout);
      assert.equal(now.stdout.trim(), execFileSync('git', ['hash-object', '--stdin'], { input: 'hello\n', cwd: dir }).toString().trim());
      // git given no input would hash the empty text; stopped, it prints nothing and fails.
      const refused = await thread.run(request(['hash-object', '--stdin']), Promise.reject(new Error('no input')));
      assert.equal(refused.stdout, '');
      assert.notEqual(refused.exitCode, 0);
      assert.deepEqual([now.withdrawn, (await later).withdrawn, refused.withdrawn], [false, false, true], 'only the process whose input was withdrawn says so');
    });

    test('each process gets its own environment: a repository’s, plus its extra variables, whatever ran before', async () => {
      const ident = async (env: NodeJS.ProcessEnv, extraEnv?: Record<string, string>): Promise<string> =>
        (await thread.run(request(['var', 'GIT_AUTHOR_IDENT'], { env, extraEnv }), undefined)).stdout.replace(/>.*$/s, '>');
      const alice = { ...process.env, GIT_AUTHOR_NAME: 'Alice', GIT_AUTHOR_EMAIL: 'alice@example.invalid' };
      const bob = { ...process.env, GIT_AUTHOR_NAME: 'Bob', GIT_AUTHOR_EMAIL: 'bob@example.invalid' };
      assert.equal(await ident(alice), 'Alice <alice@example.invalid>');
      assert.equal(await ident(bob), 'Bob <bob@example.invalid>');
      assert.equal(await ident(alice, { GIT_AUTHOR_NAME: 'Carol' }), 'Carol <alice@example.invalid>');
      assert.equal(await ident(alice), 'Alice <alice@example.invalid>', 'the extra variables were for that process alone');
      const both = await Promise.all([ident(bob), ident(alice), ident(bob)]);
      assert.deepEqual(both, ['Bob <bob@example.invalid>', 'Alice <alice@example.invalid>', 'Bob <bob@example.invalid>']);
    });

    test('a process silent past its limit is stopped and reported as timed out', async () => {
      const waiting = new Promise<string>(() => undefined); // never given: git waits on its input
      const outcome = await thread.run(request(['hash-object', '--stdin'], { silenceLimitMs: 200 }), waiting);
      assert.equal(outcome.timedOut, true);
    });

    test('a binary that cannot start rejects with the reason (ENOENT)', async () => {
      await assert.rejects(thread.run(request(['version'], { binary: join(dir, 'no-such-git') }), undefined), /ENOENT/);
    });
  });
}

suite('the process thread and the life of Node', () => {
  const moduleFile = resolve(__dirname, '../../src/core/git/processThread.js');

  test('a process running in the thread keeps Node alive until it ends; an idle thread does not', () => {
    // The script starts a process once the thread is up and does nothing else: without the thread
    // holding Node open, Node would exit before the output; an idle thread held open would time out.
    const script = `
      const { processThread } = require(${JSON.stringify(moduleFile)});
      const thread = processThread();
      const started = setInterval(() => {
        if (!thread.threaded) return;
        clearInterval(started);
        thread.run({ binary: 'sh', args: ['-c', 'sleep 0.5; echo ran'], cwd: process.cwd(), env: process.env }, undefined)
          .then((outcome) => console.log(outcome.stdout.trim() + ' threaded=' + thread.threaded));
      }, 5);`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.signal, null, 'Node exited by itself (an idle thread does not hold it open)');
    assert.equal(run.stdout.trim(), 'ran threaded=true');
  });

  test('Node started only to load the thread exits at once', () => {
    const run = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(moduleFile)}).processThread()`], { timeout: 10_000 });
    assert.equal(run.signal, null);
    assert.equal(run.status, 0);
  });

  test('a thread that stops: the processes it was running fail with a reason, the next ones start in the caller’s thread', async () => {
    const thread = new ProcessThread();
    await whenThreaded(thread);
    const running = thread.run({ binary: 'sh', args: ['-c', 'sleep 2'], cwd: tmpdir(), env: process.env }, undefined);
    await (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await assert.rejects(running, /thread that starts git processes stopped/);
    assert.equal(thread.threaded, false);
    const after = await thread.run({ binary: 'git', args: ['version'], cwd: tmpdir(), env: process.env }, undefined);
    assert.match(after.stdout, /^git version /);
  });
});
