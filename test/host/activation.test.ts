import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { activeApi, workspaceDir } from './helpers';

// Runs first (files run in name order): the repository has no task yet.
suite('activation has no side effects', () => {
  test('activating and showing the board create no store and leave git status clean', async () => {
    const api = await activeApi();
    await vscode.commands.executeCommand('taskWorktrees.tasks.focus');
    await api.activationToFirstRenderMs;
    assert.deepEqual(await api.listTasks(), []);
    assert.equal(existsSync(join(workspaceDir(), '.git', 'task-worktrees')), false, 'no store directory');
    assert.equal(existsSync(join(workspaceDir(), '.worktrees')), false, 'no worktree root');
  });
});
