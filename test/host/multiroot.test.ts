import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { activeApi, command, eventually, git, rejectsWithCode } from './helpers';

/** The multiroot pass: a .code-workspace with two folders, repo-a and repo-b, each its own git repository. */
suite('a multi-root workspace: a board section and commands per repository', () => {
  const folders = (): [string, string] => {
    const paths = (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath);
    assert.equal(paths.length, 2, 'the host opened the two folders of the workspace file');
    return [paths[0], paths[1]];
  };

  /** The board's top rows, each with its item and its rows beneath (status headings and their task rows). */
  async function boardSections(): Promise<Array<{ item: vscode.TreeItem; tasks: Array<{ node: object; item: vscode.TreeItem }> }>> {
    const { board } = await activeApi();
    const roots = (await board.getChildren()) ?? [];
    return Promise.all(
      roots.map(async (root) => {
        const tasks: Array<{ node: object; item: vscode.TreeItem }> = [];
        for (const heading of (await board.getChildren(root)) ?? []) {
          for (const node of (await board.getChildren(heading)) ?? []) {
            const item = await board.getTreeItem(node);
            if (String(item.contextValue).startsWith('task;')) tasks.push({ node, item });
          }
        }
        return { item: await board.getTreeItem(root), tasks };
      }),
    );
  }

  const nextFolderChange = (): Promise<void> =>
    new Promise((resolve) => {
      const listening = vscode.workspace.onDidChangeWorkspaceFolders(() => resolve(listening.dispose()));
    });

  const label = (item: vscode.TreeItem): string => (typeof item.label === 'string' ? item.label : item.label?.label ?? '');

  test('tasks created with { repository } land in that repository, and the board shows one section per repository with its tasks', async () => {
    const api = await activeApi();
    const [repoA, repoB] = folders();
    const inA = await eventually(() => api.createTask({ subject: 'Login form', repository: repoA }).catch(() => undefined), 'the session to open both repositories', 15_000);
    const inB = await api.createTask({ subject: 'Billing export', repository: join(repoB, 'src'), createWorktree: true });
    assert.deepEqual((await api.listTasks({ repository: repoA })).map((task) => task.subject), ['Login form']);
    assert.deepEqual((await api.listTasks({ repository: repoB })).map((task) => task.subject), ['Billing export']);
    // A path inside a task worktree names the task's repository.
    assert.equal((await api.getTask({ taskId: inB.id, repository: inB.worktreePath })).subject, 'Billing export');
    await rejectsWithCode(api.getTask({ taskId: inA.id, repository: repoB }), 'TaskNotFound');

    const sections = await eventually(async () => {
      const shown = await boardSections();
      return shown.length === 2 && shown.every((section) => section.tasks.length === 1) ? shown : undefined;
    }, 'two repository sections with a task each', 10_000);
    assert.deepEqual(sections.map((section) => label(section.item)), ['repo-a', 'repo-b']);
    assert.deepEqual(sections.map((section) => (section.item.iconPath as vscode.ThemeIcon).id), ['repo', 'repo']);
    assert.deepEqual(sections.map((section) => section.item.tooltip), [repoA, repoB]);
    assert.deepEqual(sections.map((section) => label(section.tasks[0].item)), ['Login form', 'Billing export']);
  });

  test('the same task id in both repositories: two rows with distinct ids', async () => {
    const api = await activeApi();
    const [repoA, repoB] = folders();
    const a = await api.createTask({ subject: 'Shared name', repository: repoA });
    const b = await api.createTask({ subject: 'Shared name', repository: repoB });
    assert.equal(a.id, b.id);
    const rows = await eventually(async () => {
      const found = (await boardSections()).flatMap((section) => section.tasks.filter((task) => label(task.item) === 'Shared name'));
      return found.length === 2 ? found : undefined;
    }, 'the task in both sections');
    assert.notEqual(rows[0].item.id, rows[1].item.id);
  });

  test('a command invoked on a row of repo-b acts on repo-b', async () => {
    const api = await activeApi();
    const [repoA, repoB] = folders();
    const sections = await boardSections();
    const row = sections[1].tasks.find((task) => label(task.item) === 'Billing export');
    assert.ok(row, 'the task row of repo-b');
    await vscode.commands.executeCommand('taskWorktrees.completeTask', row.node);
    const completed = await eventually(async () => (await api.listTasks({ repository: repoB })).find((task) => task.subject === 'Billing export' && task.status === 'completed'), 'the task of repo-b completed');
    assert.equal(completed.status, 'completed');
    assert.ok((await api.listTasks({ repository: repoA })).every((task) => task.status === 'pending'), 'repo-a is untouched');
  });

  test('a task worktree of repo-b added as a third folder is the same repository: still two sections; removed again, still two', async () => {
    const api = await activeApi();
    const [, repoB] = folders();
    const task = (await api.listTasks({ repository: repoB })).find((candidate) => candidate.subject === 'Billing export');
    assert.ok(task?.worktreePath, 'the task of repo-b has a worktree');
    // VS Code refuses a second folder change until the first one's event has fired; the session
    // reopens its repositories on that event and then says the board changed.
    const folderAdded = nextFolderChange();
    const reopened = folderAdded.then(() => new Promise((resolve) => {
      const listening = api.onDidChange(() => resolve(listening.dispose()));
    }));
    assert.ok(vscode.workspace.updateWorkspaceFolders(2, 0, { uri: vscode.Uri.file(task.worktreePath) }));
    try {
      await reopened;
      assert.equal(vscode.workspace.workspaceFolders?.length, 3);
      const sections = await boardSections();
      assert.deepEqual(sections.map((section) => label(section.item)), ['repo-a', 'repo-b'], 'the worktree is a folder of repo-b, not a third repository');
      assert.equal(sections[1].tasks.length, 2);
      assert.equal((await api.listTasks({ repository: task.worktreePath })).length, 2, 'the worktree names repo-b');
    } finally {
      // The next tests expect the workspace's two folders.
      await folderAdded;
      const removed = nextFolderChange();
      assert.ok(vscode.workspace.updateWorkspaceFolders(2, 1));
      await removed;
    }
    await eventually(async () => ((await boardSections()).length === 2 ? true : undefined), 'two sections after the removal', 10_000);
  });

  test('from the palette, a command asks which repository: Escape runs nothing, a pick runs it there', async () => {
    const escaped = vscode.commands.executeCommand('taskWorktrees.prune');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.equal(await escaped, undefined, 'dismissed: nothing ran');
    const picked = vscode.commands.executeCommand('taskWorktrees.prune');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    assert.deepEqual(await picked, { unbound: [] }, 'prune ran in the repository picked (nothing to prune there)');
  });

  test('with two repositories and no repository named, calls are refused with a code naming both; an unknown repository too', async () => {
    const api = await activeApi();
    const [repoA, repoB] = folders();
    const refusal = (await rejectsWithCode(api.createTask({ subject: 'Where?' }), 'InvalidInput')) as Error & { details: string[] };
    assert.deepEqual(refusal.details, [repoA, repoB], 'the error names the repositories');
    await rejectsWithCode(api.listTasks(), 'InvalidInput');
    await rejectsWithCode(command('createTask', { subject: 'Where?' }), 'InvalidInput');
    await rejectsWithCode(api.listTasks({ repository: mkdtempSync(join(tmpdir(), 'tw-not-a-repo-')) }), 'InvalidInput');
    await rejectsWithCode(api.listTasks({ repository: 'repo-a' }), 'InvalidInput');
    await rejectsWithCode(api.listTasks({ repository: 42 } as never), 'InvalidInput');
    assert.equal((await api.listTasks({ repository: repoA })).length, 2, 'nothing was created by the refused calls');
    assert.equal((await api.listTasks({ repository: repoB })).length, 2);
  });

  test('the autoMerge setting of one folder reaches only its repository\'s config', async () => {
    const [repoA, repoB] = folders();
    const autoMergeIn = (repo: string): unknown => {
      const file = join(resolve(repo, git(repo, 'rev-parse', '--git-common-dir').trim()), 'task-worktrees', 'config.json');
      return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { autoMerge?: string }).autoMerge ?? 'off' : 'off';
    };
    const repoBSettings = vscode.workspace.getConfiguration('taskWorktrees', vscode.Uri.file(repoB));
    await repoBSettings.update('autoMerge', 'onComplete', vscode.ConfigurationTarget.WorkspaceFolder);
    try {
      await eventually(() => (autoMergeIn(repoB) === 'onComplete' ? true : undefined), 'autoMerge onComplete in repo-b\'s config');
      assert.equal(autoMergeIn(repoA), 'off', 'repo-a keeps its own value');
    } finally {
      await repoBSettings.update('autoMerge', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
    }
    await eventually(() => (autoMergeIn(repoB) === 'off' ? true : undefined), 'autoMerge off again in repo-b\'s config');
    rmSync(join(repoB, '.vscode'), { recursive: true, force: true });
  });
});
