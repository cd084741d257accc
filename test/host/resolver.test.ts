import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as vscode from 'vscode';
import type { AgentInfo, PublicMergeResult } from '../../src/api';
import type { CompletedTask, ConflictResolution, MergeQueueReport, Task } from '../../src/core';
import { ROOT } from '../fixtures/agentStandin';
import { activeApi, command, eventually, git, workspaceDir } from './helpers';

const RESOLVER = 'Resolver stand-in';
const RESOLVER_SCRIPT = join(ROOT, 'test', 'fixtures', 'resolver-standin.sh');
const RESOLVED = 'Hello from both sides\n';

suite('merge flow: a resolver agent resolves a conflict in the task\'s worktree, and the retried merge lands', () => {
  const out = mkdtempSync(join(tmpdir(), 'tw-resolver-'));
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('taskWorktrees');

  suiteSetup(async () => {
    await activeApi();
    await config().update(
      'agents',
      [{ name: RESOLVER, command: RESOLVER_SCRIPT, args: ['${prompt}'], env: { RESOLVER_OUT: out, RESOLVED_CONTENT: RESOLVED } }],
      vscode.ConfigurationTarget.Global,
    );
  });

  suiteTeardown(async () => {
    for (const key of ['agents', 'autoMerge']) await config().update(key, undefined, vscode.ConfigurationTarget.Global);
    rmSync(out, { recursive: true, force: true });
  });

  /** A task whose one commit and the base's one commit write `file` differently: their merge conflicts there. */
  async function conflictingTask(subject: string, file: string): Promise<Task> {
    const dir = workspaceDir();
    const task = await command<Task>('createTask', { subject, createWorktree: true });
    writeFileSync(join(task.worktreePath!, file), `${subject}: the task's words\n`);
    git(task.worktreePath!, 'add', file);
    git(task.worktreePath!, 'commit', '-q', '-m', `Task side of ${file}`);
    writeFileSync(join(dir, file), `${subject}: the base's words\n`);
    git(dir, 'add', file);
    git(dir, 'commit', '-q', '-m', `Base side of ${file}`);
    return task;
  }

  test('the stand-in resolver is prompted with the files and both sides, commits, completes; the merge retried for it lands on main; the history credits it', async () => {
    const api = await activeApi();
    const dir = workspaceDir();
    const task = await conflictingTask('Reword the greeting', 'greeting.txt');
    await command('completeTask', { taskId: task.id });
    const first = await command<PublicMergeResult>('mergeTask', { taskId: task.id });
    assert.deepEqual([first.merged, first.conflicts], [false, ['greeting.txt']], 'the first merge conflicts, nothing lands');

    const { resolution, agent } = await command<{ resolution: ConflictResolution; agent: AgentInfo }>('resolveConflicts', { taskId: task.id, resolver: 'agent', agent: RESOLVER });
    assert.deepEqual(resolution.files, ['greeting.txt']);
    assert.equal(resolve(resolution.worktreePath), resolve(task.worktreePath!));
    assert.equal(agent.agent, RESOLVER);
    assert.equal(resolve(agent.worktreePath), resolve(task.worktreePath!), 'the resolver runs in the task\'s worktree');

    await eventually(() => git(dir, 'show', 'main:greeting.txt') === RESOLVED, 'the resolution to land on main', 30_000);
    assert.equal(readFileSync(join(dir, 'greeting.txt'), 'utf8'), RESOLVED, 'main\'s checkout has the resolution');
    git(dir, 'merge-base', '--is-ancestor', task.branch!, 'main'); // throws unless the task's branch is in main

    const prompt = readFileSync(join(out, task.id, 'prompt'), 'utf8');
    for (const named of ['greeting.txt', 'Task side of greeting.txt', 'Base side of greeting.txt', `task-worktrees complete ${task.id}`]) {
      assert.ok(prompt.includes(named), `the prompt names ${JSON.stringify(named)}`);
    }

    // The attempt is logged just after the base moved.
    const history = await eventually(async () => {
      const read = await api.mergeHistory();
      return read.entries.filter((entry) => entry.taskId === task.id).length === 2 ? read : undefined;
    }, 'the landing to be in the merge history');
    const attempts = history.entries.filter((entry) => entry.taskId === task.id);
    assert.deepEqual(
      attempts.map((entry) => [entry.outcome, entry.agent]),
      [
        ['conflict', undefined],
        ['resolvedByAgent', RESOLVER],
      ],
    );
    assert.equal(history.perAgent[RESOLVER]?.resolved, 1);
  });

  test('the autoMerge setting reaches the repository\'s config: completing a clean task merges it; a conflicting one lands nothing', async () => {
    const dir = workspaceDir();
    const configFile = join(resolve(dir, git(dir, 'rev-parse', '--git-common-dir').trim()), 'task-worktrees', 'config.json');
    await config().update('autoMerge', 'onComplete', vscode.ConfigurationTarget.Global);
    await eventually(() => existsSync(configFile) && JSON.parse(readFileSync(configFile, 'utf8')).autoMerge === 'onComplete', 'autoMerge in the repository\'s config');

    const clean = await command<Task>('createTask', { subject: 'Add a farewell', createWorktree: true });
    writeFileSync(join(clean.worktreePath!, 'farewell.txt'), 'Bye\n');
    git(clean.worktreePath!, 'add', 'farewell.txt');
    git(clean.worktreePath!, 'commit', '-q', '-m', 'Farewell');
    const merged = await command<CompletedTask>('completeTask', { taskId: clean.id });
    // On a miss, say what the repository's config and its last config/merge events were at that moment.
    assert.equal(merged.autoMerge?.outcome, 'merged', merged.autoMerge ? undefined : configAndEvents(configFile));
    assert.equal(git(dir, 'show', 'main:farewell.txt'), 'Bye\n');

    const conflicting = await conflictingTask('Reword the farewell', 'farewell-words.txt');
    const mainBefore = git(dir, 'rev-parse', 'main');
    const refused = await command<CompletedTask>('completeTask', { taskId: conflicting.id });
    assert.deepEqual([refused.autoMerge?.outcome, refused.autoMerge?.files], ['conflict', ['farewell-words.txt']]);
    assert.equal(git(dir, 'rev-parse', 'main'), mainBefore, 'nothing landed');

    await config().update('autoMerge', 'off', vscode.ConfigurationTarget.Global);
    await eventually(() => JSON.parse(readFileSync(configFile, 'utf8')).autoMerge === 'off', 'autoMerge off in the repository\'s config');
  });
});

function configAndEvents(configFile: string): string {
  const events = readFileSync(join(dirname(configFile), 'events.jsonl'), 'utf8').split('\n').filter((line) => /config\.set|merge/.test(line));
  return `no auto-merge ran; config.json: ${readFileSync(configFile, 'utf8')}events:\n${events.slice(-8).join('\n')}`;
}

suite('Merge Queue called with arguments: the gate is the taskWorktrees.mergeGate setting', () => {
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('taskWorktrees');

  suiteTeardown(() => config().update('mergeGate', undefined, vscode.ConfigurationTarget.Global));

  async function cleanTask(subject: string, file: string): Promise<Task> {
    const task = await command<Task>('createTask', { subject, createWorktree: true });
    writeFileSync(join(task.worktreePath!, file), `${subject}\n`);
    git(task.worktreePath!, 'add', file);
    git(task.worktreePath!, 'commit', '-q', '-m', subject);
    return task;
  }

  test('a failing gate stops the queue at the first task and lands nothing; a passing one lands both in the given order', async () => {
    const dir = workspaceDir();
    const first = await cleanTask('Queue first', 'queue-first.txt');
    const second = await cleanTask('Queue second', 'queue-second.txt');
    const mainBefore = git(dir, 'rev-parse', 'main');

    await config().update('mergeGate', 'exit 3', vscode.ConfigurationTarget.Global);
    const stopped = await command<MergeQueueReport>('mergeQueue', { taskIds: [first.id, second.id] });
    assert.deepEqual(stopped.merged, []);
    assert.deepEqual([stopped.stoppedAt?.taskId, stopped.stoppedAt?.reason, stopped.stoppedAt?.gateExitCode], [first.id, 'gateFailed', 3]);
    assert.equal(git(dir, 'rev-parse', 'main'), mainBefore, 'nothing landed');

    await config().update('mergeGate', 'test -n "$TASK_MERGE_COMMIT"', vscode.ConfigurationTarget.Global);
    const landed = await command<MergeQueueReport>('mergeQueue', { taskIds: [second.id, first.id] });
    assert.equal(landed.stoppedAt, undefined);
    assert.deepEqual(landed.merged.map((entry) => entry.taskId), [second.id, first.id]);
    assert.equal(git(dir, 'rev-parse', 'main').trim(), landed.merged[1].commit);
  });
});
