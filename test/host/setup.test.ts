import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Task } from '../../src/core';
import { activeApi, command, eventually, workspaceDir } from './helpers';

const MARKER_TASK = 'tw-setup-marker';
/** A terminal task starts in seconds, but a loaded 2-core machine has taken 20 s. */
const SETUP_TIMEOUT_MS = 90_000;

suite('setup on create: the worktreeCreated tasks and the setup command run in the new worktree', function () {
  this.timeout(2 * SETUP_TIMEOUT_MS);
  const out = mkdtempSync(join(tmpdir(), 'tw-setup-out-'));
  const vscodeDir = (): string => join(workspaceDir(), '.vscode');
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('taskWorktrees');
  const setupOf = (taskId: string, state: string): Promise<Task> =>
    eventually(async () => {
      const task = await (await activeApi()).getTask({ taskId });
      return task.setup?.state === state ? task : undefined;
    }, `the setup of ${taskId} to be ${state}`, SETUP_TIMEOUT_MS);

  suiteSetup(async () => {
    await activeApi();
    // The workspace's own tasks.json, as a repository would commit it: the task writes where it ran and its TASK_PORT.
    mkdirSync(vscodeDir(), { recursive: true });
    const marker = {
      label: MARKER_TASK,
      type: 'process',
      command: '/bin/sh',
      args: ['-c', 'pwd -P > "$0/$TASK_ID.tmp" && printf "%s\\n" "$TASK_PORT" >> "$0/$TASK_ID.tmp" && mv "$0/$TASK_ID.tmp" "$0/$TASK_ID"', out],
      runOptions: { runOn: 'worktreeCreated' },
    };
    writeFileSync(join(vscodeDir(), 'tasks.json'), JSON.stringify({ version: '2.0.0', tasks: [marker] }, null, 2));
    await eventually(async () => (await vscode.tasks.fetchTasks()).some((task) => task.name === MARKER_TASK), 'VS Code to read the new tasks.json', SETUP_TIMEOUT_MS);
  });

  suiteTeardown(async () => {
    await config().update('setupCommand', undefined, vscode.ConfigurationTarget.Global);
    rmSync(vscodeDir(), { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  test('a tasks.json task with runOn worktreeCreated runs in the new worktree with its TASK_PORT; the task records the setup as done', async () => {
    const task = await command<Task>('createTask', { subject: 'Set me up', createWorktree: true });
    assert.ok(task.worktreePath && task.ports, 'the task has a worktree and ports');
    const marker = join(out, task.id);
    await eventually(() => existsSync(marker), 'the setup task to write its marker', SETUP_TIMEOUT_MS);
    const [cwd, port] = readFileSync(marker, 'utf8').trim().split('\n');
    assert.equal(cwd, realpathSync(task.worktreePath));
    assert.equal(port, String(task.ports.first));
    await setupOf(task.id, 'done');
  });

  test('a failing setup command stops the setup, is recorded as failed with its exit code, and keeps the worktree', async () => {
    await config().update('setupCommand', 'exit 3', vscode.ConfigurationTarget.Global);
    const task = await command<Task>('createTask', { subject: 'Fail my setup', createWorktree: true });
    const failed = await setupOf(task.id, 'failed');
    assert.match(failed.setup?.message ?? '', /exited with 3/);
    assert.ok(existsSync(task.worktreePath!), 'the worktree is kept');
    assert.equal(failed.worktreePath, task.worktreePath);
    assert.equal(existsSync(join(out, task.id)), false, 'the tasks after the failed command did not run');
  });
});
