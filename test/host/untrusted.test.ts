import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { activeApi, command, rejectsWithCode, workspaceDir } from './helpers';

// Runs only in the host pass opened *without* workspace trust (see test/runner/runHost.mjs).
suite('an untrusted workspace: nothing runs git, the view says why', () => {
  test('the workspace really is untrusted in this pass', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  test('commands refuse with code Untrusted, and the repository is untouched', async () => {
    await activeApi();
    const repo = workspaceDir();
    const excludeBefore = readFileSync(join(repo, '.git', 'info', 'exclude'), 'utf8');
    await rejectsWithCode(command('listTasks', {}), 'Untrusted');
    await rejectsWithCode(command('createTask', { subject: 'should not happen', createWorktree: true }), 'Untrusted');
    assert.equal(existsSync(join(repo, '.git', 'task-worktrees')), false, 'no store was created');
    assert.equal(existsSync(join(repo, '.worktrees')), false, 'no worktree was created');
    assert.equal(readFileSync(join(repo, '.git', 'info', 'exclude'), 'utf8'), excludeBefore);
  });

  test('the merge commands refuse with code Untrusted, and the autoMerge setting writes nothing into the repository', async () => {
    await activeApi();
    const repo = workspaceDir();
    const config = vscode.workspace.getConfiguration('taskWorktrees');
    await config.update('autoMerge', 'onComplete', vscode.ConfigurationTarget.Global);
    try {
      await rejectsWithCode(command('forecast', {}), 'Untrusted');
      await rejectsWithCode(command('mergeQueue', { taskIds: ['some-task'] }), 'Untrusted');
      await rejectsWithCode(command('resolveConflicts', { taskId: 'some-task', resolver: 'agent' }), 'Untrusted');
      assert.equal(existsSync(join(repo, '.git', 'task-worktrees')), false, 'no store, so no config with autoMerge');
    } finally {
      await config.update('autoMerge', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
