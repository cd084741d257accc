import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { taskTools } from '../../src/ui/tools';
import { activeApi, eventually, EXTENSION_ID, git, invokeTool as invoke } from './helpers';

const TOOL_NAMES = [
  'taskWorktrees_listTasks',
  'taskWorktrees_getTask',
  'taskWorktrees_createTask',
  'taskWorktrees_claimTask',
  'taskWorktrees_setStatus',
  'taskWorktrees_completeTask',
];

interface DeclaredTool {
  name: string;
  inputSchema: object;
  tags: string[];
}

function lineOf(text: string, taskId: string): string {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${taskId} [`));
  assert.ok(line, `a line for ${taskId} in:\n${text}`);
  return line;
}

suite('language model tools: the board for chat agents, invoked through vscode.lm.invokeTool', () => {
  suiteSetup(async () => {
    await activeApi();
  });

  test('vscode.lm.tools lists each tool package.json declares, with its input schema and tags', async () => {
    const declared = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.languageModelTools as DeclaredTool[];
    assert.deepEqual(declared.map((tool) => tool.name).sort(), [...TOOL_NAMES].sort());
    for (const tool of declared) {
      const listed = await eventually(() => vscode.lm.tools.find((candidate) => candidate.name === tool.name), `${tool.name} in vscode.lm.tools`);
      assert.deepEqual(listed.inputSchema, tool.inputSchema, `${tool.name}'s schema`);
      assert.ok(listed.tags.includes('taskWorktrees'), `${tool.name} is tagged taskWorktrees`);
      assert.ok(listed.description.length > 100, `${tool.name} tells a model what it does and when to use it`);
    }
  });

  test('create with a worktree, list, get, claim, hand back and complete: each result names the task and the store follows', async () => {
    const api = await activeApi();
    const created = await invoke('taskWorktrees_createTask', { subject: 'Tool made task', description: 'Line one\nline two', createWorktree: true });
    assert.match(created, /^Created tool-made-task \[pending\] Tool made task — branch task\/tool-made-task, worktree /);
    const stored = await api.getTask({ taskId: 'tool-made-task' });
    assert.ok(stored.worktreePath && existsSync(stored.worktreePath), 'the worktree exists on disk');
    assert.equal(git(stored.worktreePath, 'branch', '--show-current').trim(), 'task/tool-made-task');
    assert.ok(created.includes(stored.worktreePath), 'the result gives the worktree path');

    const listed = await invoke('taskWorktrees_listTasks', {});
    assert.equal(lineOf(listed, 'tool-made-task'), `tool-made-task [pending] Tool made task — branch task/tool-made-task, worktree ${stored.worktreePath}; ready`);
    assert.ok(lineOf(await invoke('taskWorktrees_listTasks', { readyOnly: true }), 'tool-made-task'));

    const details = await invoke('taskWorktrees_getTask', { taskId: 'tool-made-task' });
    assert.ok(details.startsWith('tool-made-task [pending]'), details);
    assert.ok(details.includes('base: main') && details.endsWith('description:\nLine one\nline two'), details);

    const claimed = await invoke('taskWorktrees_claimTask', { taskId: 'tool-made-task', owner: 'agent-tools' });
    assert.ok(claimed.startsWith('Claimed tool-made-task [in_progress, owner agent-tools] Tool made task'), claimed);
    assert.ok(claimed.includes(`Work only in ${stored.worktreePath}`), claimed);
    const afterClaim = await api.getTask({ taskId: 'tool-made-task' });
    assert.equal(afterClaim.status, 'in_progress');
    assert.equal(afterClaim.owner, 'agent-tools');
    assert.ok(!(await invoke('taskWorktrees_listTasks', { readyOnly: true })).includes('tool-made-task ['), 'a claimed task is not ready');

    const handedBack = await invoke('taskWorktrees_setStatus', { taskId: 'tool-made-task', status: 'pending', owner: '' });
    assert.ok(handedBack.startsWith('Updated tool-made-task [pending] Tool made task'), handedBack);
    assert.ok(handedBack.endsWith('; ready'), handedBack);
    const afterHandBack = await api.getTask({ taskId: 'tool-made-task' });
    assert.equal(afterHandBack.status, 'pending');
    assert.equal(afterHandBack.owner, '');

    const completed = await invoke('taskWorktrees_completeTask', { taskId: 'tool-made-task' });
    assert.ok(completed.startsWith('Completed tool-made-task [completed] Tool made task'), completed);
    assert.equal((await api.getTask({ taskId: 'tool-made-task' })).status, 'completed');
    assert.ok(lineOf(await invoke('taskWorktrees_listTasks', { status: 'completed' }), 'tool-made-task'));
    assert.ok(!(await invoke('taskWorktrees_listTasks', { status: 'pending' })).includes('tool-made-task ['), 'the status filter leaves it out');

    await api.removeWorktree({ taskId: 'tool-made-task' });
  });

  test('a blocked task: claim answers "Error Blocked" naming the blocker and changes nothing; completing the blocker frees it', async () => {
    const api = await activeApi();
    await invoke('taskWorktrees_createTask', { subject: 'Tool blocker' });
    const waiting = await invoke('taskWorktrees_createTask', { subject: 'Tool waiting', blockedBy: ['tool-blocker'] });
    assert.ok(waiting.split('\n')[0].endsWith('; blocked by tool-blocker'), waiting);

    const refused = await invoke('taskWorktrees_claimTask', { taskId: 'tool-waiting', owner: 'agent-tools' });
    assert.match(refused, /^Error Blocked: /);
    assert.ok(refused.includes('tool-blocker'), refused);
    const untouched = await api.getTask({ taskId: 'tool-waiting' });
    assert.equal(untouched.status, 'pending');
    assert.equal(untouched.owner, '');
    assert.match(await invoke('taskWorktrees_setStatus', { taskId: 'tool-waiting', status: 'in_progress' }), /^Error Blocked: /);
    assert.ok(!(await invoke('taskWorktrees_listTasks', { readyOnly: true })).includes('tool-waiting ['), 'a blocked task is not ready');

    const completed = await invoke('taskWorktrees_completeTask', { taskId: 'tool-blocker' });
    assert.ok(completed.endsWith('\nNo longer blocked: tool-waiting'), completed);
    assert.ok(lineOf(await invoke('taskWorktrees_listTasks', { readyOnly: true }), 'tool-waiting').endsWith('; ready'));
    assert.ok((await invoke('taskWorktrees_claimTask', { taskId: 'tool-waiting', owner: 'agent-tools' })).startsWith('Claimed tool-waiting [in_progress, owner agent-tools]'));
    assert.equal((await api.getTask({ taskId: 'tool-waiting' })).owner, 'agent-tools');
  });

  test('bad input and unknown tasks answer "Error <Code>: …" as text, and the store is unchanged', async () => {
    const api = await activeApi();
    await invoke('taskWorktrees_createTask', { subject: 'Tool target' });
    const before = await api.listTasks();
    const cases: Array<[string, object, string]> = [
      ['taskWorktrees_claimTask', { taskId: 'tool-target' }, 'InvalidInput'],
      ['taskWorktrees_claimTask', { taskId: 'tool-target', owner: '  ' }, 'InvalidInput'],
      ['taskWorktrees_setStatus', { taskId: 'tool-target', status: 'done' }, 'InvalidInput'],
      ['taskWorktrees_getTask', { taskId: 42 }, 'InvalidInput'],
      ['taskWorktrees_createTask', { subject: 'Tool bad blockers', blockedBy: 'tool-target' }, 'InvalidInput'],
      ['taskWorktrees_createTask', { subject: 'Tool unknown blocker', blockedBy: ['no-such-task'] }, 'TaskNotFound'],
      ['taskWorktrees_listTasks', { status: 'finished' }, 'InvalidInput'],
      ['taskWorktrees_completeTask', { taskId: 'no-such-task' }, 'TaskNotFound'],
      ['taskWorktrees_getTask', { taskId: 'no-such-task' }, 'TaskNotFound'],
    ];
    for (const [name, input, code] of cases) {
      const text = await invoke(name, input);
      assert.ok(text.startsWith(`Error ${code}: `), `${name} ${JSON.stringify(input)} → ${text}`);
    }
    assert.deepEqual(await api.listTasks(), before);
  });

  test('mutating tools prepare a confirmation naming the task (its markdown shown as text); preparing changes nothing', async () => {
    const api = await activeApi();
    await invoke('taskWorktrees_createTask', { subject: 'Tool *starred* [link](http://x)' });
    const task = (await api.listTasks()).find((candidate) => candidate.subject === 'Tool *starred* [link](http://x)')!;
    const tools = taskTools(api);
    const token = new vscode.CancellationTokenSource().token;
    const prepare = async (name: string, input: object) => (await tools[name].prepareInvocation!({ input: input as never }, token))!;

    const claim = await prepare('taskWorktrees_claimTask', { taskId: task.id, owner: 'agent-tools' });
    const message = claim.confirmationMessages!.message as vscode.MarkdownString;
    assert.ok(claim.confirmationMessages!.title.length > 0);
    assert.ok(message.value.includes(`**${task.id}**`), message.value);
    assert.ok(message.value.includes('\\*starred\\*') && message.value.includes('\\[link\\]'), `the subject is escaped: ${message.value}`);
    assert.ok(message.value.includes('agent-tools'), message.value);
    assert.ok(String(claim.invocationMessage).includes(task.id));
    for (const name of ['taskWorktrees_createTask', 'taskWorktrees_setStatus', 'taskWorktrees_completeTask']) {
      const prepared = await prepare(name, { taskId: task.id, subject: 'Another tool task', status: 'completed' });
      assert.ok(prepared.confirmationMessages, `${name} asks before it runs`);
    }
    for (const name of ['taskWorktrees_listTasks', 'taskWorktrees_getTask']) {
      assert.equal((await prepare(name, { taskId: task.id })).confirmationMessages, undefined, `${name} only reads, so it asks nothing`);
    }
    const after = await api.getTask({ taskId: task.id });
    assert.equal(after.status, 'pending');
    assert.equal(after.owner, '');
    assert.ok(!(await api.listTasks()).some((candidate) => candidate.subject === 'Another tool task'), 'preparing create made no task');
  });
});
