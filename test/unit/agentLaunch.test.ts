import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { TaskService } from '../../src/core';
import { writeCliShim } from '../../src/cli/shim';
import { agentEnvironment, AgentProfile, launchArgs, parseProfiles, PROMPT_PLACEHOLDER, resolveExecutable, runsThroughShell, taskPrompt } from '../../src/ui/agentLaunch';
import { hasStarted, hostileSubject, readRecords, release, ROOT, sentinelPath, standinOutput, STANDIN_SCRIPT } from '../fixtures/agentStandin';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

suite('agent launch: argv, environment, executables and profiles (no shell anywhere)', () => {
  test('the prompt replaces ${prompt} inside each argument and stays one argument; no placeholder, no prompt', () => {
    const prompt = 'Task x: a "quoted" $(touch /tmp/x) `id`; rm -rf ~\nsecond line';
    assert.deepEqual(launchArgs({ args: ['--', PROMPT_PLACEHOLDER] }, prompt), ['--', prompt]);
    assert.deepEqual(launchArgs({ args: [`--message=${PROMPT_PLACEHOLDER}`, '--yes'] }, prompt), [`--message=${prompt}`, '--yes']);
    assert.deepEqual(launchArgs({ args: ['--model', 'fast'] }, prompt), ['--model', 'fast']);
    // A prompt that itself contains the placeholder is not expanded again.
    assert.deepEqual(launchArgs({ args: [PROMPT_PLACEHOLDER] }, 'say ${prompt}'), ['say ${prompt}']);
  });

  test('the prompt is the task id with its subject, then its description when there is one', () => {
    assert.equal(taskPrompt({ id: 'fix-login', subject: 'Fix login', description: '' }), 'Task fix-login: Fix login');
    assert.equal(taskPrompt({ id: 'fix-login', subject: 'Fix login', description: 'Keep the\nredirect.' }), 'Task fix-login: Fix login\n\nKeep the\nredirect.');
  });

  test('the TASK_* variables are the task\'s, whatever the profile sets', () => {
    const profile: AgentProfile = { name: 'Codex', command: 'codex', args: [], env: { TASK_ID: 'spoofed', OPENAI_MODEL: 'o9' } };
    const env = agentEnvironment(
      { id: 'a', subject: 'A $(x)', description: '', status: 'in_progress', owner: 'Codex', baseBranch: 'main', branch: 'task/a', worktreePath: '/w/a', blockedBy: [], createdAt: '', updatedAt: '' },
      profile,
    );
    assert.deepEqual(env, { TASK_ID: 'a', TASK_SUBJECT: 'A $(x)', TASK_BRANCH: 'task/a', TASK_BASE: 'main', TASK_WORKTREE: '/w/a', TASK_AGENT: 'Codex', OPENAI_MODEL: 'o9' });
  });

  test('executables: a name through PATH, an absolute path; not a non-executable file, a directory or a relative path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-path-'));
    try {
      const bin = join(dir, 'bin');
      mkdirSync(join(bin, 'a-directory'), { recursive: true });
      writeFileSync(join(bin, 'fake-agent'), '#!/bin/sh\n');
      chmodSync(join(bin, 'fake-agent'), 0o755);
      writeFileSync(join(bin, 'not-executable'), '#!/bin/sh\n');
      chmodSync(join(bin, 'not-executable'), 0o644);
      const path = [join(dir, 'missing'), bin].join(':');
      assert.equal(await resolveExecutable('fake-agent', path, 'linux'), join(bin, 'fake-agent'));
      assert.equal(await resolveExecutable(join(bin, 'fake-agent'), undefined, 'linux'), join(bin, 'fake-agent'));
      assert.equal(await resolveExecutable('not-executable', path, 'linux'), undefined);
      assert.equal(await resolveExecutable('a-directory', path, 'linux'), undefined);
      assert.equal(await resolveExecutable('bin/fake-agent', path, 'linux'), undefined);
      assert.equal(await resolveExecutable('no-such-agent', path, 'linux'), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('on Windows a name is tried with PATHEXT, and a batch file is one that would reparse the prompt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-pathext-'));
    try {
      writeFileSync(join(dir, 'claude.CMD'), '@echo off\n');
      const found = await resolveExecutable('claude', dir, 'win32', '.EXE;.CMD');
      assert.equal(found, join(dir, 'claude.CMD'));
      assert.equal(runsThroughShell(found!, 'win32'), true);
      assert.equal(runsThroughShell('C:\\tools\\codex.exe', 'win32'), false);
      assert.equal(runsThroughShell(found!, 'linux'), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('profiles from the setting: malformed entries and second uses of a name are left out and named', () => {
    const { profiles, problems } = parseProfiles([
      { name: ' Stand-in ', command: '/bin/agent', args: ['${prompt}'], env: { A: 'b' } },
      { name: 'No command' },
      { name: 'Bad args', command: 'x', args: 'not a list' },
      { name: 'Bad env', command: 'x', env: { N: 1 } },
      { name: 'Line\nbreak', command: 'x' },
      { name: 'Stand-in', command: '/other' },
      'not an object',
    ]);
    assert.deepEqual(profiles, [{ name: 'Stand-in', command: '/bin/agent', args: ['${prompt}'], env: { A: 'b' } }]);
    assert.equal(problems.length, 6, problems.join('\n'));
    assert.match(problems.join('\n'), /"No command".*command/);
    assert.match(problems.join('\n'), /"Stand-in": a second profile/);
    assert.deepEqual(parseProfiles({ name: 'x' }), { profiles: [], problems: ['taskWorktrees.agents is not a list'] });
  });

  test('every default profile takes the prompt as one argument that cannot be read as an option', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const setting = manifest.contributes.configuration.properties['taskWorktrees.agents'];
    const { profiles, problems } = parseProfiles(setting.default);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      profiles.map((profile) => profile.command),
      ['claude', 'codex', 'gemini', 'aider', 'copilot'],
    );
    const prompt = '--dangerously-skip-permissions';
    for (const profile of profiles) {
      const args = launchArgs(profile, prompt);
      const carrying = args.filter((arg) => arg.includes(prompt));
      assert.equal(carrying.length, 1, `${profile.name}: the prompt is in exactly one argument`);
      const at = args.indexOf(carrying[0]);
      assert.ok(carrying[0] !== prompt || args[at - 1] === '--', `${profile.name}: a bare prompt comes after "--", else it is the value of --flag=…`);
    }
    assert.ok(setting.default.some((profile: AgentProfile) => profile.name === manifest.contributes.configuration.properties['taskWorktrees.defaultAgent'].default));
  });
});

suite('the stand-in agent, run directly with a launch argv in a real repository', () => {
  let repo: TestRepo;
  let service: TaskService;
  let output: ReturnType<typeof standinOutput>;
  let child: ChildProcess | undefined;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
    output = standinOutput();
  });
  teardown(() => {
    // A failed assertion leaves the stand-in waiting for its release.
    if (child?.exitCode === null) child.kill();
    repo.dispose();
    rmSync(output.dir, { recursive: true, force: true });
  });

  test('a hostile subject arrives byte for byte as one argument and runs nothing; the agent commits and completes its task', async () => {
    const sentinel = sentinelPath();
    const created = await service.createTask({ subject: hostileSubject(sentinel), description: `Also:\n$(touch ${sentinel})\n\`touch ${sentinel}\``, createWorktree: true });
    const task = await service.setStatus(created.id, 'in_progress', 'Stand-in');
    const profile: AgentProfile = { name: 'Stand-in', command: STANDIN_SCRIPT, args: [PROMPT_PLACEHOLDER], env: output.env };
    const executable = await resolveExecutable(profile.command, process.env.PATH);
    assert.equal(executable, STANDIN_SCRIPT, 'the fixture is an executable file');
    const prompt = taskPrompt(task);

    // What a window's terminals get: the CLI on PATH (written the way registerCliOnPath writes it).
    const cliDir = join(output.dir, 'bin');
    mkdirSync(cliDir);
    await writeCliShim(cliDir, { node: process.execPath, cli: join(ROOT, 'out', 'src', 'cli', 'main.js') });
    const agentEnv = { ...process.env, ...agentEnvironment(task, profile), PATH: `${cliDir}${delimiter}${process.env.PATH}` };
    child = spawn(executable!, launchArgs(profile, prompt), { cwd: task.worktreePath, env: agentEnv, stdio: 'inherit' });
    const exited = new Promise<number | null>((resolve, reject) => {
      child!.on('error', reject);
      child!.on('exit', (code) => resolve(code));
    });
    while (!hasStarted(output.dir, task.id)) {
      assert.equal(child.exitCode, null, 'the stand-in is still running');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const { argv, env } = readRecords(output.dir, task.id);
    assert.equal(argv.length, 1, 'one argument');
    assert.ok(argv[0].equals(Buffer.from(prompt, 'utf8')), `received ${JSON.stringify(argv[0].toString())}`);
    assert.deepEqual(env, {
      id: task.id,
      subject: task.subject,
      branch: task.branch,
      base: 'main',
      worktree: task.worktreePath,
      agent: 'Stand-in',
      cwd: realpathSync(task.worktreePath!),
    });
    release(output.dir, task.id, 3);
    assert.equal(await exited, 3, 'the exit code the test asked for');

    assert.equal(existsSync(sentinel), false, 'nothing in the subject or description ran');
    assert.equal(repo.gitIn(task.worktreePath!, 'log', '-1', '--format=%s').trim(), `stand-in agent: ${task.id}`);
    assert.equal(repo.git('show', `${task.branch}:agent-work.txt`), `Worked on by the stand-in agent for ${task.id}.\n`);
    assert.equal((await service.task(task.id)).status, 'completed');
  });
});
