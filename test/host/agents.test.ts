import * as assert from 'node:assert/strict';
import { existsSync, realpathSync, rmSync } from 'node:fs';
import * as vscode from 'vscode';
import type { AgentInfo } from '../../src/api';
import type { Task, TaskEvent, TaskView } from '../../src/core';
import { hasStarted, hostileSubject, readRecords, release, sentinelPath, standinOutput, STANDIN_SCRIPT } from '../fixtures/agentStandin';
import { activeApi, command, eventually, git, rejectsWithCode } from './helpers';


const AGENT = 'Stand-in';
const START_TIMEOUT_MS = 20_000;

suite('agents on tasks: a stand-in agent run in a terminal in the task\'s worktree', () => {
  const output = standinOutput();
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('taskWorktrees');

  suiteSetup(async () => {
    await activeApi();
    await vscode.commands.executeCommand('taskWorktrees.tasks.focus');
    await config().update(
      'agents',
      [
        { name: AGENT, command: STANDIN_SCRIPT, args: ['${prompt}'], env: output.env },
        { name: 'Not installed', command: 'task-worktrees-no-such-agent', args: ['${prompt}'] },
      ],
      vscode.ConfigurationTarget.Global,
    );
    await config().update('defaultAgent', AGENT, vscode.ConfigurationTarget.Global);
    await config().update('maxAutoAgents', 2, vscode.ConfigurationTarget.Global);
  });

  suiteTeardown(async () => {
    // A failed test can leave stand-ins waiting: closing their terminals ends them.
    const running = new Set((await (await activeApi()).listAgents()).filter((agent) => agent.state === 'running').map((agent) => agent.terminal));
    vscode.window.terminals.filter((terminal) => running.has(terminal.name)).forEach((terminal) => terminal.dispose());
    for (const key of ['agents', 'defaultAgent', 'maxAutoAgents']) await config().update(key, undefined, vscode.ConfigurationTarget.Global);
    rmSync(output.dir, { recursive: true, force: true });
  });

  const agentOn = async (taskId: string): Promise<AgentInfo | undefined> => (await (await activeApi()).listAgents()).filter((agent) => agent.taskId === taskId).at(-1);
  const taskView = async (taskId: string): Promise<TaskView | undefined> => (await command<TaskView[]>('listTasks', {})).find((task) => task.id === taskId);
  const exitOf = (taskId: string): Promise<AgentInfo> =>
    eventually(async () => {
      const agent = await agentOn(taskId);
      return agent?.state === 'exited' ? agent : undefined;
    }, `the agent on ${taskId} to exit`, START_TIMEOUT_MS);

  test('Start Agent runs the agent in the task\'s new worktree with its TASK_* environment; the board shows it running, then exited and the task completed', async () => {
    const api = await activeApi();
    const task = await command<Task>('createTask', { subject: 'Let an agent do it' });
    const started = await command<AgentInfo>('startAgent', { taskId: task.id, agent: AGENT });
    assert.equal(started.state, 'running');
    assert.equal(started.command, STANDIN_SCRIPT);
    await eventually(() => hasStarted(output.dir, task.id), 'the stand-in to start', START_TIMEOUT_MS);

    const running = await taskView(task.id);
    assert.ok(running?.worktreePath && existsSync(running.worktreePath), 'the worktree was made');
    assert.deepEqual([running.status, running.owner, running.worktreeState], ['in_progress', AGENT, 'present']);
    const { env } = readRecords(output.dir, task.id);
    assert.deepEqual(env, {
      id: task.id,
      subject: task.subject,
      branch: running.branch,
      base: 'main',
      worktree: running.worktreePath,
      agent: AGENT,
      cwd: realpathSync(running.worktreePath),
    });
    const terminal = vscode.window.terminals.find((candidate) => candidate.name === started.terminal);
    assert.ok(terminal, `a terminal "${started.terminal}" is open`);
    assert.ok(terminal.name.includes(task.subject), 'the terminal is named after the task');
    const [row] = api.agentRows(task.id);
    assert.equal(row.label, AGENT);
    assert.match(String(row.description), /^running · \d+ s/);
    assert.equal(row.contextValue, 'agent;running');
    assert.equal(row.command?.command, 'taskWorktrees.showAgentTerminal', 'a click shows its terminal');

    // While it runs, nothing takes its worktree or its branch from under it.
    await rejectsWithCode(command('removeWorktree', { taskId: task.id, force: true }), 'AgentRunning');
    await rejectsWithCode(command('mergeTask', { taskId: task.id }), 'AgentRunning');
    await rejectsWithCode(command('startAgent', { taskId: task.id, agent: AGENT }), 'AgentRunning');
    assert.ok(existsSync(running.worktreePath), 'the worktree is still there');

    release(output.dir, task.id, 3);
    const exited = await exitOf(task.id);
    assert.equal(exited.exitCode, 3, 'the exit code the program returned');
    const completed = await eventually(async () => ((await taskView(task.id))?.status === 'completed' ? taskView(task.id) : undefined), 'the task to be completed');
    assert.equal(completed?.owner, AGENT);
    assert.equal(git(running.worktreePath, 'log', '-1', '--format=%s').trim(), `stand-in agent: ${task.id}`);
    const [exitedRow] = api.agentRows(task.id);
    assert.match(String(exitedRow.description), /^exited 3 · /);
    assert.equal(exitedRow.contextValue, 'agent;exited');

    // The exit is logged just after the board hears of it.
    const events = await eventually(async () => {
      const logged = (await command<TaskEvent[]>('showEvents', {})).filter((event) => event.taskId === task.id);
      return logged.some((event) => event.type === 'agent.exited') ? logged : undefined;
    }, 'agent.exited to be logged');
    const startedEvent = events.find((event) => event.type === 'agent.started');
    const exitedEvent = events.find((event) => event.type === 'agent.exited');
    assert.deepEqual([startedEvent?.agent, startedEvent?.command], [AGENT, STANDIN_SCRIPT]);
    assert.deepEqual([exitedEvent?.agent, exitedEvent?.code, exitedEvent?.reason], [AGENT, 3, 'process']);
    assert.ok(events.indexOf(startedEvent!) < events.findIndex((event) => event.type === 'task.completed'), 'started before the agent completed the task');

    const removed = await command<Task>('removeWorktree', { taskId: task.id });
    assert.equal(removed.worktreePath, undefined, 'once the agent is gone, the worktree can go');
  });

  test('a subject and description full of shell metacharacters reach the agent byte for byte as one argument, and run nothing', async () => {
    const sentinel = sentinelPath();
    const subject = hostileSubject(sentinel);
    const description = `Line two: $(touch ${sentinel})\n\`touch ${sentinel}\` ; touch ${sentinel} # "end"`;
    const task = await command<Task>('createTask', { subject, description, createWorktree: true });
    await command<AgentInfo>('startAgent', { taskId: task.id, agent: AGENT });
    await eventually(() => hasStarted(output.dir, task.id), 'the stand-in to start', START_TIMEOUT_MS);

    const { argv, env } = readRecords(output.dir, task.id);
    assert.equal(argv.length, 1, 'exactly one argument');
    assert.ok(argv[0].equals(Buffer.from(`Task ${task.id}: ${subject}\n\n${description}`, 'utf8')), `received ${JSON.stringify(argv[0].toString())}`);
    assert.equal(env.subject, subject, 'TASK_SUBJECT is the subject verbatim');
    assert.equal(existsSync(sentinel), false, 'nothing in the prompt ran');

    release(output.dir, task.id, 0);
    assert.equal((await exitOf(task.id)).exitCode, 0);
    assert.equal(existsSync(sentinel), false, 'nothing ran after it either');
    await command('removeWorktree', { taskId: task.id });
  });

  test('an agent is refused before anything moves: an unknown profile, a program not on PATH, a blocked task', async () => {
    const blocker = await command<Task>('createTask', { subject: 'Lay the groundwork' });
    const waiting = await command<Task>('createTask', { subject: 'Build on the groundwork', blockedBy: [blocker.id] });
    await rejectsWithCode(command('startAgent', { taskId: blocker.id, agent: 'Nobody' }), 'InvalidInput');
    await rejectsWithCode(command('startAgent', { taskId: blocker.id, agent: 'Not installed' }), 'InvalidInput');
    const blocked = await rejectsWithCode(command('startAgent', { taskId: waiting.id, agent: AGENT }), 'Blocked');
    assert.deepEqual((blocked as Error & { details: string[] }).details, [blocker.id]);
    await rejectsWithCode(command('startAgent', { taskId: waiting.id, agent: AGENT, prompt: 'a\0b' }), 'InvalidInput');

    for (const id of [blocker.id, waiting.id]) {
      const view = await taskView(id);
      assert.deepEqual([view?.status, view?.owner, view?.worktreeState], ['pending', '', 'none'], `${id} is untouched`);
      assert.equal(await agentOn(id), undefined);
    }
    await command('deleteTask', { taskId: waiting.id });
    await command('deleteTask', { taskId: blocker.id });
  });

  test('Start Agents on Ready Tasks starts the default agent on the oldest ready tasks, each in its own worktree, up to maxAutoAgents running', async () => {
    const owned = await command<Task>('createTask', { subject: 'Taken by a person' });
    await command('setStatus', { taskId: owned.id, status: 'pending', owner: 'alice' });
    const ready: Task[] = [];
    for (const subject of ['First ready task', 'Second ready task', 'Third ready task']) ready.push(await command<Task>('createTask', { subject }));
    const ids = ready.map((task) => task.id);
    assert.deepEqual((await command<TaskView[]>('listTasks', {})).filter((task) => task.ready).map((task) => task.id), ids, 'only these three are ready');

    const first = await command<{ started: AgentInfo[]; skipped: unknown[] }>('startAgentsOnReadyTasks', {});
    assert.deepEqual(first.started.map((agent) => [agent.taskId, agent.agent]), [[ids[0], AGENT], [ids[1], AGENT]]);
    assert.deepEqual(first.skipped, []);
    for (const id of ids.slice(0, 2)) await eventually(() => hasStarted(output.dir, id), `the agent on ${id} to start`, START_TIMEOUT_MS);
    const worktrees = first.started.map((agent) => agent.worktreePath);
    assert.notEqual(worktrees[0], worktrees[1]);
    for (const id of ids.slice(0, 2)) assert.deepEqual(pick(await taskView(id)), ['in_progress', AGENT, 'present']);
    assert.deepEqual(pick(await taskView(ids[2])), ['pending', '', 'none'], 'the third waits');
    assert.deepEqual(pick(await taskView(owned.id)), ['pending', 'alice', 'none'], 'an owned task is not taken');

    const atLimit = await command<{ started: AgentInfo[] }>('startAgentsOnReadyTasks', {});
    assert.deepEqual(atLimit.started, [], 'two agents run: maxAutoAgents is 2');

    release(output.dir, ids[0], 0);
    await exitOf(ids[0]);
    const next = await command<{ started: AgentInfo[] }>('startAgentsOnReadyTasks', { max: 2 });
    assert.deepEqual(next.started.map((agent) => agent.taskId), [ids[2]]);
    await eventually(() => hasStarted(output.dir, ids[2]), 'the third agent to start', START_TIMEOUT_MS);

    for (const id of ids.slice(1)) release(output.dir, id, 0);
    for (const id of ids) await exitOf(id);
    for (const id of ids) await command('removeWorktree', { taskId: id });
    await command('deleteTask', { taskId: owned.id });
  });
});

function pick(view: TaskView | undefined): [string | undefined, string | undefined, string | undefined] {
  return [view?.status, view?.owner, view?.worktreeState];
}
