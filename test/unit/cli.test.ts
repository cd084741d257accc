import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { COMMANDS } from '../../src/cli/commands';
import { EXIT_CODES } from '../../src/cli/exitCodes';
import { writeCliShim } from '../../src/cli/shim';
import { isCoded, Task, TaskEvent, TaskService, TaskView } from '../../src/core';
import { CLI_ENTRY, cliJson, CliRun, runCliProcess } from '../fixtures/cli';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

/** The line under a task's id in `list`: its facts (ready, owner, blockers, branch, worktree). */
function factsUnder(listing: string, taskId: string): string {
  const lines = listing.split('\n');
  const at = lines.findIndex((line) => new RegExp(`^  ${taskId} `).test(line));
  assert.ok(at >= 0, `${taskId} is listed:\n${listing}`);
  return lines[at + 1].trim();
}

/** What --json prints for a value: undefined fields dropped. */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

function assertFailed(run: CliRun, exitCode: number, errorCode: string): void {
  assert.equal(run.code, exitCode, `exit code; stderr: ${run.stderr}`);
  assert.match(run.stderr, new RegExp(`^error ${errorCode}: `));
  assert.equal(run.stdout, '');
}

/** A shell command line that runs `task-worktrees` from PATH with the arguments after it, as an agent's shell would. */
function runThroughShell(binDir: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync('sh', ['-c', 'task-worktrees "$@"', 'sh', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...env, PATH: `${binDir}${delimiter}${env.PATH}` },
  });
}

/** Quotes, command substitution, backticks, separators, redirections, globs, a Windows variable. */
const HOSTILE_SUBJECT = `it's "quoted" $(touch pwned-dollar) \`touch pwned-tick\` ; touch pwned-semi | cat & echo > pwned-redirect * ~ %PATH% \\ end`;

suite('CLI: task-worktrees on the task store', () => {
  let repo: TestRepo;
  let service: TaskService;
  setup(async () => ({ repo, service } = await openFreshRepo()));
  teardown(() => repo.dispose());

  const cli = (...args: string[]): Promise<CliRun> => runCliProcess(args, repo.dir);

  test('--help lists every command and every exit code; "help <command>" and "<command> --help" print its usage; all exit 0 on stdout', async function () {
    this.timeout(120_000);
    const general = await cli('--help');
    assert.equal(general.code, 0);
    assert.equal(general.stderr, '');
    for (const command of COMMANDS) assert.match(general.stdout, new RegExp(`^  ${command.name}\\b`, 'm'), command.name);
    for (const [code, exit] of Object.entries(EXIT_CODES)) assert.match(general.stdout, new RegExp(`\\b${exit} ${code}\\b`), code);
    assert.equal((await cli('help')).stdout, general.stdout);
    assert.equal((await cli('-h')).stdout, general.stdout);
    for (const command of COMMANDS) {
      const viaHelp = await cli('help', command.name);
      const viaOption = await cli(command.name, '--help');
      for (const run of [viaHelp, viaOption]) {
        assert.equal(run.code, 0, `${command.name}: ${run.stderr}`);
        assert.ok(run.stdout.startsWith(`usage: task-worktrees ${command.usage}\n`), run.stdout);
      }
      assert.equal(viaOption.stdout, viaHelp.stdout);
    }
  });

  test('exit code table: a distinct code per error code, between 3 and 125', () => {
    const exits = Object.values(EXIT_CODES);
    assert.equal(new Set(exits).size, exits.length);
    assert.ok(exits.every((exit) => Number.isInteger(exit) && exit >= 3 && exit <= 125), exits.join(','));
  });

  test('bad command lines print the reason and a usage line on stderr, exit 2, and change nothing', async function () {
    this.timeout(120_000);
    const cases: Array<[string[], string]> = [
      [[], 'task-worktrees <command>'],
      [['frobnicate'], 'task-worktrees <command>'],
      [['help', 'frobnicate'], 'task-worktrees <command>'],
      [['list', '--bogus'], 'task-worktrees list'],
      [['list', 'extra'], 'task-worktrees list'],
      [['list', '--json=yes'], 'task-worktrees list'],
      [['show'], 'task-worktrees show <id>'],
      [['create', 'two', 'words'], 'task-worktrees create <subject>'],
      [['create', 'a subject', '--base'], 'task-worktrees create <subject>'],
      [['create', 'a subject', '--owner', 'x'], 'task-worktrees create <subject>'],
      [['claim', 'some-task'], 'task-worktrees claim <id> --owner NAME'],
      [['status', 'some-task'], 'task-worktrees status <id>'],
      [['events', '--last'], 'task-worktrees events'],
    ];
    for (const [args, usage] of cases) {
      const run = await cli(...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '', args.join(' '));
      assert.match(run.stderr, /^task-worktrees: .+\nusage: /, args.join(' '));
      assert.ok(run.stderr.includes(`usage: ${usage}`), `${args.join(' ')}: ${run.stderr}`);
    }
    assert.deepEqual((await service.board()).tasks, []);
    assert.deepEqual((await service.events()).events, []);
  });

  test('create: --json prints the stored task with description, base and blockers; text output names it; --worktree makes its branch and worktree', async function () {
    this.timeout(120_000);
    const design = await service.createTask({ subject: 'Design the API' });
    const review = await service.createTask({ subject: 'Review the design' });
    const created = await cliJson<Task>(
      ['create', 'Write the client', '--description', 'Uses the API.\nSecond line.', '--base', 'main', '--blocked-by', design.id, '--blocked-by', review.id],
      repo.dir,
    );
    assert.deepEqual(created, await service.task(created.id));
    assert.equal(created.subject, 'Write the client');
    assert.equal(created.description, 'Uses the API.\nSecond line.');
    assert.equal(created.baseBranch, 'main');
    assert.deepEqual(created.blockedBy, [design.id, review.id]);
    assert.equal(created.status, 'pending');
    assert.equal(created.worktreePath, undefined);

    const run = await cli('create', 'Add tests', '--worktree');
    assert.equal(run.code, 0, run.stderr);
    const tests = (await service.board()).tasks.find((task) => task.subject === 'Add tests')!;
    assert.equal(tests.worktreeState, 'present');
    assert.equal(repo.oid(tests.branch!), repo.oid('main'));
    assert.match(run.stdout, new RegExp(`^created ${tests.id}: Add tests \\(pending\\)$`, 'm'));
    assert.ok(run.stdout.includes(`worktree  ${tests.worktreePath}`), run.stdout);
    assert.ok(run.stdout.includes(`branch    ${tests.branch}`), run.stdout);
  });

  test('list and show: --json is the board view; text groups by status and shows owner, ready, blocked by, branch and worktree', async function () {
    this.timeout(120_000);
    const api = await service.createTask({ subject: 'Build the API', description: 'REST, then gRPC.', createWorktree: true });
    await service.setStatus(api.id, 'in_progress', 'alice');
    const docs = await service.createTask({ subject: 'Write docs' });
    const client = await service.createTask({ subject: 'Write the client', blockedBy: [api.id] });
    const old = await service.createTask({ subject: 'Old chore' });
    await service.completeTask(old.id);
    const board = await service.board();

    assert.deepEqual(await cliJson<TaskView[]>(['list'], repo.dir), asJson(board.tasks));
    const list = await cli('list');
    assert.equal(list.code, 0, list.stderr);
    const headings = ['in progress (1)', 'pending (2)', 'completed (1)'].map((heading) => list.stdout.split('\n').indexOf(heading));
    assert.ok(headings.every((at, i) => at >= 0 && (i === 0 || at > headings[i - 1])), list.stdout);
    const apiView = board.tasks.find((task) => task.id === api.id)!;
    assert.equal(factsUnder(list.stdout, api.id), `owner alice · ${apiView.branch} · ${apiView.worktreePath}`);
    assert.equal(factsUnder(list.stdout, docs.id), 'ready');
    assert.equal(factsUnder(list.stdout, client.id), `blocked by ${api.id}`);

    assert.deepEqual(await cliJson<TaskView>(['show', api.id], repo.dir), asJson(apiView));
    const show = await cli('show', api.id);
    assert.equal(show.code, 0, show.stderr);
    const expected = [
      `${api.id}: Build the API`,
      '  status    in_progress',
      '  owner     alice',
      '  base      main',
      `  branch    ${apiView.branch}`,
      `  worktree  ${apiView.worktreePath}`,
    ];
    assert.deepEqual(show.stdout.split('\n').slice(0, expected.length), expected);
    assert.match(show.stdout, /\n\n  REST, then gRPC\.\n$/);
    assert.match((await cli('show', client.id)).stdout, new RegExp(`^  blocked by  ${api.id}$`, 'm'));
  });

  test('claim, status and complete, with and without --json: the store changes as printed; a blocked claim exits 5 naming the blocker and changes nothing; completing it unblocks', async function () {
    this.timeout(120_000);
    const api = await service.createTask({ subject: 'Build the API' });
    const client = await service.createTask({ subject: 'Write the client', blockedBy: [api.id] });

    const claimed = await cliJson<Task>(['claim', api.id, '--owner', 'agent-1'], repo.dir);
    assert.deepEqual(claimed, await service.task(api.id));
    assert.deepEqual([claimed.status, claimed.owner], ['in_progress', 'agent-1']);

    const blocked = await cli('claim', client.id, '--owner', 'agent-2');
    assertFailed(blocked, 5, 'Blocked');
    assert.ok(blocked.stderr.includes(`"${api.id}"`), blocked.stderr);
    assert.deepEqual([(await service.task(client.id)).status, (await service.task(client.id)).owner], ['pending', '']);

    const paused = await cli('status', api.id, 'pending');
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(paused.stdout, `set ${api.id}: Build the API (pending, owner agent-1)\n`);
    assert.equal((await service.task(api.id)).status, 'pending');

    const completed = await cli('complete', api.id);
    assert.equal(completed.code, 0, completed.stderr);
    assert.equal(completed.stdout, `completed ${api.id}: Build the API (completed, owner agent-1)\n`);
    assert.equal((await service.task(api.id)).status, 'completed');
    const clientView = (await cliJson<TaskView[]>(['list'], repo.dir)).find((task) => task.id === client.id)!;
    assert.deepEqual([clientView.ready, clientView.blockers], [true, []]);

    const started = await cliJson<Task>(['status', client.id, 'in_progress'], repo.dir);
    assert.deepEqual(started, await service.task(client.id));
    assert.equal(started.status, 'in_progress');
    const done = await cliJson<Task>(['complete', client.id], repo.dir);
    assert.deepEqual(done, await service.task(client.id));
    assert.equal(done.status, 'completed');
    const claimedText = await cli('claim', client.id, '--owner', 'agent-3');
    assert.equal(claimedText.stdout, `claimed ${client.id}: Write the client (in_progress, owner agent-3)\n`);
  });

  test('events: --json is the event log, --task and --last filter it; text prints one line per event with its details', async function () {
    this.timeout(120_000);
    const api = await service.createTask({ subject: 'Build the API' });
    const docs = await service.createTask({ subject: 'Write docs' });
    await service.setStatus(api.id, 'in_progress', 'alice');
    await service.completeTask(docs.id);
    const { events } = await service.events();

    assert.deepEqual(await cliJson<TaskEvent[]>(['events'], repo.dir), asJson(events));
    assert.deepEqual(await cliJson<TaskEvent[]>(['events', '--task', api.id], repo.dir), asJson(events.filter((event) => event.taskId === api.id)));
    assert.deepEqual(await cliJson<TaskEvent[]>(['events', '--last', '2'], repo.dir), asJson(events.slice(-2)));

    const text = await cli('events', '--task', api.id);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((line) => line.split(/\s+/).slice(1, 3)),
      [
        ['task.created', api.id],
        ['task.claimed', api.id],
      ],
    );
    assert.match(lines[0], /subject="Build the API"$/);
    assert.match(lines[1], /status=in_progress {2}owner=alice$/);
  });

  test('errors print "error <Code>: message" and exit with the code of the table: TaskNotFound 4, InvalidInput 3, NotARepository 9', async function () {
    this.timeout(120_000);
    const task = await service.createTask({ subject: 'Build the API' });
    assertFailed(await cli('show', 'no-such-task'), EXIT_CODES.TaskNotFound, 'TaskNotFound');
    assertFailed(await cli('complete', 'no-such-task'), EXIT_CODES.TaskNotFound, 'TaskNotFound');
    assertFailed(await cli('show', 'Not_An_Id'), EXIT_CODES.InvalidInput, 'InvalidInput');
    assertFailed(await cli('status', task.id, 'done'), EXIT_CODES.InvalidInput, 'InvalidInput');
    assertFailed(await cli('claim', task.id, '--owner', '   '), EXIT_CODES.InvalidInput, 'InvalidInput');
    assertFailed(await cli('create', '   '), EXIT_CODES.InvalidInput, 'InvalidInput');
    assertFailed(await cli('create', 'Blocked by nothing', '--blocked-by', 'no-such-task'), EXIT_CODES.TaskNotFound, 'TaskNotFound');
    assertFailed(await cli('events', '--last', '0'), EXIT_CODES.InvalidInput, 'InvalidInput');
    const outside = mkdtempSync(join(tmpdir(), 'tw-not-a-repo-'));
    try {
      assertFailed(await runCliProcess(['list'], outside), EXIT_CODES.NotARepository, 'NotARepository');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
    assert.deepEqual(
      (await service.board()).tasks.map((view) => [view.id, view.status, view.owner]),
      [[task.id, 'pending', '']],
    );
  });

  test('run from inside a task worktree (or with --repo pointing at one) the CLI reads and changes the same board', async function () {
    this.timeout(120_000);
    const inside = await cliJson<Task>(['create', 'Inside job', '--worktree'], repo.dir);
    await service.createTask({ subject: 'Another task' });
    const subfolder = join(inside.worktreePath!, 'src');
    const fromMain = await cliJson<TaskView[]>(['list'], repo.dir);
    assert.equal(fromMain.length, 2);
    assert.deepEqual(await cliJson<TaskView[]>(['list'], subfolder), fromMain);

    const claimed = await cliJson<Task>(['claim', inside.id, '--owner', 'agent-in-worktree'], subfolder);
    assert.deepEqual(await service.task(inside.id), claimed);
    assert.equal(claimed.owner, 'agent-in-worktree');

    const elsewhere = mkdtempSync(join(tmpdir(), 'tw-cwd-'));
    try {
      const viaRepo = await runCliProcess(['complete', inside.id, '--repo', inside.worktreePath!, '--json'], elsewhere);
      assert.equal(viaRepo.code, 0, viaRepo.stderr);
      assert.equal((await service.task(inside.id)).status, 'completed');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test('a subject and description full of shell metacharacters arrive verbatim, as arguments and through the PATH shim in sh, and run nothing', async function () {
    this.timeout(120_000);
    const description = 'line 1\n$(touch pwned-description)\n"double" \'single\' `tick`';
    const direct = await cliJson<Task>(['create', HOSTILE_SUBJECT, '--description', description, '--worktree'], repo.dir);
    assert.equal(direct.subject, HOSTILE_SUBJECT);
    assert.equal((await service.task(direct.id)).description, description);
    assert.ok((await cli('list')).stdout.includes(`  ${HOSTILE_SUBJECT}\n`));

    // After `--` even a subject that looks like an option is one.
    const dashed = await cli('create', '--json', '--', '--help is "broken"');
    assert.equal(dashed.code, 0, dashed.stderr);
    assert.equal((JSON.parse(dashed.stdout) as Task).subject, '--help is "broken"');

    const binDir = join(dirname(repo.dir), `bin it's $HOME`);
    await writeCliShim(binDir, { node: process.execPath, cli: CLI_ENTRY });
    const viaShell = JSON.parse(runThroughShell(binDir, ['create', `${HOSTILE_SUBJECT} (shell)`, '--json'], repo.dir)) as Task;
    assert.equal(viaShell.subject, `${HOSTILE_SUBJECT} (shell)`);
    assert.equal((await service.task(viaShell.id)).subject, `${HOSTILE_SUBJECT} (shell)`);

    for (const dir of [repo.dir, direct.worktreePath!]) {
      assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('pwned')), [], dir);
    }
  });

  test('the PATH shim runs its CLI with ELECTRON_RUN_AS_NODE=1 and every argument unchanged (sh), from a folder with quotes and $ in its name', async function () {
    if (process.platform === 'win32') this.skip();
    const folder = dirname(repo.dir);
    const probe = join(folder, 'probe.js');
    writeFileSync(probe, 'process.stdout.write(JSON.stringify({ args: process.argv.slice(2), electronRunAsNode: process.env.ELECTRON_RUN_AS_NODE }));');
    const binDir = join(folder, `bin it's "$HOME" \`x\``);
    const shim = await writeCliShim(binDir, { node: process.execPath, cli: probe });
    assert.equal(shim, join(binDir, 'task-worktrees'));
    const args = [HOSTILE_SUBJECT, '', 'two words', '--json', '-x', "'"];
    const env = { ...process.env };
    delete env.ELECTRON_RUN_AS_NODE;
    assert.deepEqual(JSON.parse(runThroughShell(binDir, args, folder, env)), { args, electronRunAsNode: '1' });
  });

  test('the Windows shim is a .cmd that sets ELECTRON_RUN_AS_NODE, quotes both paths, doubles % and passes %*', async () => {
    const folder = dirname(repo.dir);
    const shim = await writeCliShim(join(folder, 'win'), { node: 'C:\\Program Files\\Code 100%\\Code.exe', cli: 'C:\\ext\\dist\\cli.js' }, 'win32');
    assert.equal(shim, join(folder, 'win', 'task-worktrees.cmd'));
    assert.equal(
      readFileSync(shim, 'utf8'),
      '@echo off\r\nsetlocal\r\nset ELECTRON_RUN_AS_NODE=1\r\n"C:\\Program Files\\Code 100%%\\Code.exe" "C:\\ext\\dist\\cli.js" %*\r\n',
    );
  });

  test('two CLI processes and a TaskService change one store at once: every acknowledged claim, status change and create is in the store and logged once, in the order the store holds', async function () {
    this.timeout(300_000);
    const shared: string[] = [];
    for (let i = 0; i < 4; i++) shared.push((await service.createTask({ subject: `shared ${i}` })).id);
    type Ack = { kind: 'claim' | 'status' | 'create'; taskId: string; value: string };
    const acks: Ack[] = [];
    const failures: string[] = [];
    let refusedClaims = 0;
    const ROUNDS = 12;
    // The window's changes keep pace with the CLI processes, so all three overlap to the end.
    const progress = new EventEmitter();
    let cliLoopsRunning = 2;

    /** Round i of a writer: a claim, a status change or a create, on a shared task picked by the round. */
    const change = (writer: string, offset: number, i: number): { kind: Ack['kind']; taskId?: string; value: string } => {
      const taskId = shared[(i + offset) % shared.length];
      if (i % 3 === 0) return { kind: 'claim', taskId, value: `${writer}-${i}` };
      if (i % 3 === 1) return { kind: 'status', taskId, value: i % 2 === 0 ? 'pending' : 'completed' };
      return { kind: 'create', value: `${writer} task ${i}` };
    };

    const cliLoop = async (writer: string, offset: number): Promise<void> => {
      for (let i = 0; i < ROUNDS; i++) {
        const { kind, taskId, value } = change(writer, offset, i);
        const args = kind === 'claim' ? ['claim', taskId!, '--owner', value] : kind === 'status' ? ['status', taskId!, value] : ['create', value];
        const run = await runCliProcess([...args, '--json'], repo.dir);
        // Claiming a task another writer holds is refused (TaskClaimed, exit 36) and changes nothing.
        if (kind === 'claim' && run.code === EXIT_CODES.TaskClaimed) refusedClaims++;
        else if (run.code !== 0) failures.push(`${writer}: ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
        else acks.push({ kind, taskId: (JSON.parse(run.stdout) as Task).id, value });
        progress.emit('step');
      }
      cliLoopsRunning--;
      progress.emit('step');
    };

    const windowLoop = async (): Promise<void> => {
      for (let i = 0; cliLoopsRunning > 0; i++) {
        const { kind, taskId, value } = change('window', 2, i);
        try {
          const task =
            kind === 'claim'
              ? await service.setStatus(taskId!, 'in_progress', value)
              : kind === 'status'
                ? await service.setStatus(taskId!, value as 'pending' | 'completed')
                : await service.createTask({ subject: value });
          acks.push({ kind, taskId: task.id, value });
        } catch (error) {
          if (kind === 'claim' && isCoded(error, 'TaskClaimed')) refusedClaims++;
          else failures.push(`window: ${kind} ${taskId ?? value}: ${(error as Error).message}`);
        }
        if (cliLoopsRunning > 0) await once(progress, 'step');
      }
    };

    await Promise.all([cliLoop('cli-a', 0), cliLoop('cli-b', 1), windowLoop()]);
    assert.deepEqual(failures, []);
    assert.ok(acks.some((ack) => ack.kind === 'claim'), `some claims landed (${refusedClaims} refused as already claimed)`);

    const board = await service.board();
    const { events, unreadable } = await service.events();
    assert.deepEqual(board.problems, []);
    assert.equal(unreadable, 0);

    const creates = acks.filter((ack) => ack.kind === 'create');
    assert.equal(new Set(creates.map((ack) => ack.taskId)).size, creates.length, 'each create got its own id');
    for (const ack of creates) assert.equal(board.tasks.find((task) => task.id === ack.taskId)?.subject, ack.value);

    const STATUS_EVENTS = new Set(['task.claimed', 'task.status', 'task.completed']);
    for (const taskId of shared) {
      const logged = events.filter((event) => event.taskId === taskId && STATUS_EVENTS.has(event.type));
      const acked = acks.filter((ack) => ack.taskId === taskId);
      assert.equal(logged.length, acked.length, `${taskId}: one event per acknowledged change`);
      for (const claim of acked.filter((ack) => ack.kind === 'claim')) {
        assert.ok(logged.some((event) => event.type === 'task.claimed' && event.owner === claim.value), `${taskId}: claim by ${claim.value} logged`);
      }
      // The last change the log holds is the one the record shows: no write lost between them.
      const record = board.tasks.find((task) => task.id === taskId)!;
      const last = logged.at(-1);
      if (last) assert.deepEqual([record.status, record.owner], [last.status, last.owner], taskId);
    }
  });

  test('the bundle: `node esbuild.config.mjs` writes dist/cli.js with a node shebang, and it runs on its own (help, create, list)', async function () {
    this.timeout(180_000);
    const root = join(__dirname, '..', '..', '..');
    execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: 'pipe' });
    const bundle = join(root, 'dist', 'cli.js');
    assert.ok(existsSync(bundle));
    assert.equal(readFileSync(bundle, 'utf8').split('\n')[0], '#!/usr/bin/env node');

    const help = await runCliProcess(['--help'], repo.dir, bundle);
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.stdout, (await cli('--help')).stdout);
    const created = await runCliProcess(['create', 'Bundled', '--worktree', '--json'], repo.dir, bundle);
    assert.equal(created.code, 0, created.stderr);
    const task = JSON.parse(created.stdout) as Task;
    assert.deepEqual(await service.task(task.id), task);
    const listed = await runCliProcess(['list', '--json'], task.worktreePath!, bundle);
    assert.deepEqual(JSON.parse(listed.stdout), asJson((await service.board()).tasks));
  });
});
