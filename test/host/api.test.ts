import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { activeApi, command, git, rejectsWithCode } from './helpers';

suite('the API returned from activate(), and unsaved editors as unsaved work', () => {
  test('activate() returns the versioned API; its refusals carry codes like the commands do', async () => {
    const api = await activeApi();
    assert.equal(api.version, 1);
    const task = await api.createTask({ subject: 'Made through the API', createWorktree: true });
    assert.equal((await api.getTask({ taskId: task.id })).subject, 'Made through the API');
    assert.ok((await api.listTasks()).some((listed) => listed.id === task.id && listed.worktreeState === 'present'));
    await rejectsWithCode(api.getTask({ taskId: 42 } as never), 'InvalidInput');
    await rejectsWithCode(api.createTask({ subject: 'x', blockedBy: 'not-a-list' } as never), 'InvalidInput');
    await rejectsWithCode(Promise.resolve().then(() => command('mergeTask', { taskId: task.id, strategy: 'rebase' })), 'InvalidInput');
    await api.removeWorktree({ taskId: task.id });
  });

  test('blockedBy set through the command: the waiting task cannot be claimed until its blocker is completed', async () => {
    const api = await activeApi();
    const first = await api.createTask({ subject: 'Schema first' });
    const second = await api.createTask({ subject: 'API after the schema' });
    const set = await command<{ blockedBy: string[] }>('setBlockedBy', { taskId: second.id, blockedBy: [first.id] });
    assert.deepEqual(set.blockedBy, [first.id]);
    await rejectsWithCode(command('setBlockedBy', { taskId: first.id, blockedBy: [second.id] }), 'InvalidInput');
    await rejectsWithCode(command('claimTask', { taskId: second.id, owner: 'codex' }), 'Blocked');
    let listed = (await api.listTasks()).find((task) => task.id === second.id)!;
    assert.deepEqual([listed.blockers, listed.ready], [[first.id], false]);
    await api.completeTask({ taskId: first.id });
    listed = (await api.listTasks()).find((task) => task.id === second.id)!;
    assert.deepEqual([listed.blockers, listed.ready], [[], true]);
    assert.equal((await api.claimTask({ taskId: second.id, owner: 'codex' })).owner, 'codex');
  });

  test('an editor with unsaved changes in a task worktree stops remove and merge called with arguments', async () => {
    // VS Code in a browser saves after a delay by default; the desktop default keeps edits unsaved.
    const files = vscode.workspace.getConfiguration('files');
    await files.update('autoSave', 'off', vscode.ConfigurationTarget.Global);
    try {
      await unsavedEditorStopsRemoveAndMerge();
    } finally {
      await files.update('autoSave', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  async function unsavedEditorStopsRemoveAndMerge(): Promise<void> {
    const api = await activeApi();
    const task = await api.createTask({ subject: 'Edited but not saved', createWorktree: true });
    const file = join(task.worktreePath!, 'README.md');
    const onDisk = readFileSync(file, 'utf8');
    const document = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(document);
    await editor.edit((edit) => edit.insert(new vscode.Position(0, 0), 'typed, not saved\n'));
    assert.equal(document.isDirty, true);

    const removal = await rejectsWithCode(command('removeWorktree', { taskId: task.id }), 'WorktreeDirty');
    const { details } = removal as Error & { details: string[] };
    assert.ok(details.some((line) => line.includes('README.md') && line.includes('unsaved')), `the unsaved editor is named (${details.join(', ')})`);
    await rejectsWithCode(command('mergeTask', { taskId: task.id }), 'WorktreeDirty');
    assert.ok(existsSync(task.worktreePath!), 'the worktree is still there');
    assert.equal(readFileSync(file, 'utf8'), onDisk, 'nothing was written to disk');
    assert.equal(git(task.worktreePath!, 'status', '--porcelain'), '');

    // Revert acts on the active editor; the commands above may have moved focus away from it.
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    assert.equal(document.isDirty, false);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    assert.equal(readFileSync(file, 'utf8'), onDisk, 'reverting wrote nothing');
    const removed = await command<{ worktreePath?: string }>('removeWorktree', { taskId: task.id });
    assert.equal(removed.worktreePath, undefined);
  }

  test('the layout is the repository\'s: a window setting changed after the first task does not move worktrees', async () => {
    const api = await activeApi();
    const first = await api.createTask({ subject: 'Layout recorded', createWorktree: true });
    const config = vscode.workspace.getConfiguration('taskWorktrees');
    await config.update('branchPrefix', 'other/', vscode.ConfigurationTarget.Global);
    try {
      const second = await api.createTask({ subject: 'Layout kept', createWorktree: true });
      assert.equal(second.branch, first.branch!.replace('layout-recorded', 'layout-kept'));
      await api.removeWorktree({ taskId: second.id });
    } finally {
      await config.update('branchPrefix', undefined, vscode.ConfigurationTarget.Global);
    }
    await api.removeWorktree({ taskId: first.id });
  });
});
