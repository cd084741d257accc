import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import type { AgentInfo } from '../../src/api';
import type { Task } from '../../src/core';
import { taskTools } from '../../src/ui/tools';
import { hasStarted, release, standinOutput, STANDIN_SCRIPT } from '../fixtures/agentStandin';
import { activeApi, command, eventually, git, invokeTool, rejectsWithCode } from './helpers';

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

  test('Merge History shows one section per repository; a merge in repo-a is listed under repo-a only', async () => {
    const api = await activeApi();
    const [repoA] = folders();
    const task = await api.createTask({ subject: 'History in repo-a', repository: repoA, createWorktree: true });
    writeFileSync(join(task.worktreePath!, 'history-a.txt'), 'a\n');
    git(task.worktreePath!, 'add', '-A');
    git(task.worktreePath!, 'commit', '-q', '-m', 'history work');
    assert.equal((await api.mergeTask({ taskId: task.id, repository: repoA })).merged, true);

    const view = api.mergeHistoryView;
    const sections = (await view.getChildren()) ?? [];
    const items = await Promise.all(sections.map((section) => view.getTreeItem(section)));
    assert.deepEqual(items.map(label), ['repo-a', 'repo-b']);
    const rowsOf = async (section: object): Promise<string[]> =>
      Promise.all(((await view.getChildren(section)) ?? []).map(async (row) => label(await view.getTreeItem(row))));
    assert.ok((await rowsOf(sections[0])).includes('History in repo-a'), 'the attempt is under repo-a');
    assert.ok(!(await rowsOf(sections[1])).includes('History in repo-a'), 'and not under repo-b');
    assert.match(String(items[0].description), /^1\/1 first-try clean/);
  });

  test('the conflict forecast reaches the rows of each repository: a task with a commit in repo-b says it merges clean', async () => {
    const api = await activeApi();
    const [, repoB] = folders();
    const task = await api.createTask({ subject: 'Forecast in repo-b', repository: repoB, createWorktree: true });
    writeFileSync(join(task.worktreePath!, 'forecast-b.txt'), 'b\n');
    git(task.worktreePath!, 'add', '-A');
    git(task.worktreePath!, 'commit', '-q', '-m', 'forecast work');
    const row = await eventually(async () => {
      const [, sectionB] = await boardSections();
      const found = sectionB?.tasks.find(({ item }) => label(item) === 'Forecast in repo-b');
      return found && String(found.item.description).includes('merges clean') ? found : undefined;
    }, 'the repo-b row to carry the forecast', 15_000);
    assert.match(String(row.item.description), /merges clean/);
  });
});

/** What belongs to one repository of the workspace stays its own: its folder's settings, its tasks.json, its agents, its tool calls. */
suite('a multi-root workspace: each repository\'s own settings, tasks.json, agents and tool calls', function () {
  /** A terminal task or agent starts in seconds, but a loaded 2-core machine has taken 20 s. */
  const SLOW_MS = 90_000;
  this.timeout(3 * SLOW_MS);
  const out = mkdtempSync(join(tmpdir(), 'tw-multiroot-out-'));
  const workspaceFolders = (): [vscode.WorkspaceFolder, vscode.WorkspaceFolder] => {
    const [a, b] = vscode.workspace.workspaceFolders ?? [];
    assert.ok(a && b, 'the host opened the two folders of the workspace file');
    return [a, b];
  };
  const folderSettings = (folder: vscode.WorkspaceFolder): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('taskWorktrees', folder.uri);
  const setupState = (task: Task, repository: string, state: string): Promise<Task> =>
    eventually(async () => {
      const current = await (await activeApi()).getTask({ taskId: task.id, repository });
      return current.setup?.state === state ? current : undefined;
    }, `the setup of ${task.id} to be ${state}`, SLOW_MS);

  suiteTeardown(() => rmSync(out, { recursive: true, force: true }));

  test('a worktree made in repo-b runs repo-b\'s setupCommand (its folder setting), not repo-a\'s nor repo-a\'s worktreeCreated task; one made in repo-a runs those two', async () => {
    const api = await activeApi();
    const [a, b] = workspaceFolders();
    const tasksFile = join(a.uri.fsPath, '.vscode', 'tasks.json');
    try {
      // Each folder sets its own command; repo-a also declares a task run on worktreeCreated. Each leaves a marker named after it.
      for (const [folder, mark] of [[a, 'a'], [b, 'b']] as const) {
        await folderSettings(folder).update('setupCommand', `pwd -P > "${out}/${mark}-$TASK_ID"`, vscode.ConfigurationTarget.WorkspaceFolder);
      }
      mkdirSync(join(a.uri.fsPath, '.vscode'), { recursive: true });
      const declared = { label: 'repo-a setup', type: 'process', command: '/bin/sh', args: ['-c', 'pwd -P > "$0/tasks-a-$TASK_ID"', out], runOptions: { runOn: 'worktreeCreated' } };
      writeFileSync(tasksFile, JSON.stringify({ version: '2.0.0', tasks: [declared] }, null, 2));
      await eventually(async () => (await vscode.tasks.fetchTasks()).some((task) => task.name === 'repo-a setup'), 'VS Code to read repo-a\'s tasks.json', SLOW_MS);

      const inB = await api.createTask({ subject: 'Set up in b', repository: b.uri.fsPath, createWorktree: true });
      await setupState(inB, b.uri.fsPath, 'done');
      assert.equal(readFileSync(join(out, `b-${inB.id}`), 'utf8').trim(), realpathSync(inB.worktreePath!), 'repo-b\'s command ran in its worktree');
      assert.equal(existsSync(join(out, `a-${inB.id}`)), false, 'repo-a\'s command did not run for repo-b');
      assert.equal(existsSync(join(out, `tasks-a-${inB.id}`)), false, 'repo-a\'s tasks.json did not run for repo-b');

      const inA = await api.createTask({ subject: 'Set up in a', repository: a.uri.fsPath, createWorktree: true });
      await setupState(inA, a.uri.fsPath, 'done');
      assert.equal(readFileSync(join(out, `a-${inA.id}`), 'utf8').trim(), realpathSync(inA.worktreePath!));
      assert.equal(readFileSync(join(out, `tasks-a-${inA.id}`), 'utf8').trim(), realpathSync(inA.worktreePath!));
      assert.equal(existsSync(join(out, `b-${inA.id}`)), false, 'repo-b\'s command did not run for repo-a');
    } finally {
      for (const folder of [a, b]) await folderSettings(folder).update('setupCommand', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
      rmSync(join(a.uri.fsPath, '.vscode'), { recursive: true, force: true });
      rmSync(join(b.uri.fsPath, '.vscode'), { recursive: true, force: true });
    }
  });

  test('the same task id in both repositories: an agent starts on each while the other runs, and listAgents({ repository }) returns that repository\'s alone', async () => {
    const api = await activeApi();
    const [a, b] = workspaceFolders();
    // One stand-in profile per repository: the stand-in keeps its records by task id, the same in both.
    const outputs = { a: standinOutput(), b: standinOutput() };
    const windowSettings = vscode.workspace.getConfiguration('taskWorktrees');
    await windowSettings.update(
      'agents',
      [
        { name: 'Stand-in A', command: STANDIN_SCRIPT, args: ['${prompt}'], env: outputs.a.env },
        { name: 'Stand-in B', command: STANDIN_SCRIPT, args: ['${prompt}'], env: outputs.b.env },
      ],
      vscode.ConfigurationTarget.Global,
    );
    try {
      const inA = await api.createTask({ subject: 'Agent twin', repository: a.uri.fsPath });
      const inB = await api.createTask({ subject: 'Agent twin', repository: b.uri.fsPath });
      assert.equal(inA.id, inB.id);
      const onA = await api.startAgent({ taskId: inA.id, agent: 'Stand-in A', repository: a.uri.fsPath });
      await eventually(() => hasStarted(outputs.a.dir, inA.id), 'the agent on repo-a\'s task to start', SLOW_MS);
      const onB = await api.startAgent({ taskId: inB.id, agent: 'Stand-in B', repository: b.uri.fsPath });
      await eventually(() => hasStarted(outputs.b.dir, inB.id), 'the agent on repo-b\'s task to start', SLOW_MS);
      assert.deepEqual([onA.repository, onB.repository], [realpathSync(a.uri.fsPath), realpathSync(b.uri.fsPath)]);
      assert.deepEqual([onA.state, onB.state], ['running', 'running']);
      // A second start on one of them is still refused: the key is the repository and the id.
      await rejectsWithCode(api.startAgent({ taskId: inB.id, agent: 'Stand-in B', repository: b.uri.fsPath }), 'AgentRunning');
      const listed = (agents: AgentInfo[]): string[][] => agents.filter((agent) => agent.taskId === inA.id).map((agent) => [agent.agent, agent.repository]);
      assert.deepEqual(listed(await api.listAgents({ repository: b.uri.fsPath })), [['Stand-in B', realpathSync(b.uri.fsPath)]]);
      assert.deepEqual(listed(await api.listAgents({ repository: a.uri.fsPath })), [['Stand-in A', realpathSync(a.uri.fsPath)]]);
      assert.equal(listed(await api.listAgents()).length, 2, 'without a repository, every repository\'s agents');
      release(outputs.a.dir, inA.id, 0);
      release(outputs.b.dir, inB.id, 0);
      await eventually(async () => ((await api.listAgents()).filter((agent) => agent.taskId === inA.id && agent.state === 'exited').length === 2 ? true : undefined), 'both agents to exit', SLOW_MS);
    } finally {
      const running = new Set((await api.listAgents()).filter((agent) => agent.state === 'running').map((agent) => agent.terminal));
      vscode.window.terminals.filter((terminal) => running.has(terminal.name)).forEach((terminal) => terminal.dispose());
      await windowSettings.update('agents', undefined, vscode.ConfigurationTarget.Global);
      for (const output of Object.values(outputs)) rmSync(output.dir, { recursive: true, force: true });
    }
  });

  test('the language model tools take { repository }: list, create, get and claim act on that repository, and a confirmation names the task read from it', async () => {
    const api = await activeApi();
    const [a, b] = workspaceFolders();
    const repoB = b.uri.fsPath;
    const listed = await invokeTool('taskWorktrees_listTasks', { repository: repoB });
    assert.match(listed, /Billing export/);
    assert.doesNotMatch(listed, /Login form/, 'repo-a\'s tasks are not listed');
    assert.match(await invokeTool('taskWorktrees_listTasks', {}), /^Error InvalidInput: /, 'with two repositories and none named, refused as the API refuses');
    assert.match(await invokeTool('taskWorktrees_listTasks', { repository: 42 }), /^Error InvalidInput: /);

    const created = await invokeTool('taskWorktrees_createTask', { subject: 'Tool task in b', repository: repoB });
    assert.match(created, /^Created tool-task-in-b \[pending\] Tool task in b — no worktree/);
    assert.ok((await api.listTasks({ repository: repoB })).some((task) => task.id === 'tool-task-in-b'));
    assert.ok(!(await api.listTasks({ repository: a.uri.fsPath })).some((task) => task.id === 'tool-task-in-b'), 'nothing created in repo-a');
    assert.match(await invokeTool('taskWorktrees_getTask', { taskId: 'tool-task-in-b', repository: repoB }), /^tool-task-in-b \[pending\] Tool task in b/);

    const token = new vscode.CancellationTokenSource().token;
    const claim = { taskId: 'tool-task-in-b', owner: 'tool-agent', repository: repoB };
    const prepared = await taskTools(api).taskWorktrees_claimTask.prepareInvocation!({ input: claim as never }, token);
    const subjectShown = new vscode.MarkdownString().appendText('(Tool task in b)').value;
    assert.ok((prepared?.confirmationMessages?.message as vscode.MarkdownString).value.includes(subjectShown), 'the confirmation names the subject, read from repo-b');
    assert.match(await invokeTool('taskWorktrees_claimTask', claim), /^Claimed tool-task-in-b \[in_progress, owner tool-agent\] Tool task in b/);
    assert.match(await invokeTool('taskWorktrees_completeTask', { taskId: 'tool-task-in-b', repository: repoB }), /^Completed tool-task-in-b \[completed, owner tool-agent\]/);
  });
});
