import * as vscode from 'vscode';
import { InRepository, TaskWorktreesApi } from '../api';
import { isCoded, Task, TaskStatus, TaskView, TaskWorktreesError } from '../core';
import { isTaskStatus } from '../core/tasks/model';

/**
 * Language model tools: the board for chat agents. Each tool is one API call; its result is compact
 * text an agent can act on, and a refusal is a result `Error <Code>: message` (not a thrown error),
 * so the agent can read the code and choose what to do next. The names and input schemas are
 * declared in package.json (`contributes.languageModelTools`); the API checks every field again at
 * run time, since a caller of `vscode.lm.invokeTool` may pass anything.
 *
 * Mutating tools ask for confirmation in a chat, but outside a chat nobody is asked, so safety
 * never rests on the confirmation: the core's own refusals apply to every call.
 */
export function registerTools(context: vscode.ExtensionContext, api: TaskWorktreesApi): void {
  for (const [name, tool] of Object.entries(taskTools(api))) {
    context.subscriptions.push(vscode.lm.registerTool(name, tool));
  }
}

// Each tool takes the API's optional `repository` (a path inside the repository to act on) and
// passes it on to every call it makes, so a multi-root workspace is answered from one repository.
interface ListInput extends InRepository {
  status?: TaskStatus;
  readyOnly?: boolean;
}
interface TaskIdInput extends InRepository {
  taskId: string;
}
interface CreateInput extends InRepository {
  subject: string;
  description?: string;
  baseBranch?: string;
  blockedBy?: string[];
  createWorktree?: boolean;
}
interface ClaimInput extends InRepository {
  taskId: string;
  owner: string;
}
interface SetStatusInput extends InRepository {
  taskId: string;
  status: TaskStatus;
  owner?: string;
}

type Confirmation = vscode.LanguageModelToolConfirmationMessages;

/** How one tool runs: its result text, and for a mutation what to ask and show before it runs. */
interface ToolSpec<T> {
  run(input: T): Promise<string>;
  progress(input: T): string;
  confirm?(input: T): Promise<Confirmation>;
}

/** Every tool by its package.json name; exported so host tests can read a tool's confirmation. */
export function taskTools(api: TaskWorktreesApi): Record<string, vscode.LanguageModelTool<never>> {
  const describe = async (task: Task, input: unknown): Promise<string> => taskLine(await viewOf(api, task, input));
  /** The task named in a confirmation: its subject when it can be read, else the id as given. */
  const named = async (input: (InRepository & { taskId?: unknown }) | undefined): Promise<vscode.MarkdownString> => {
    const taskId = input?.taskId;
    const task = await api.getTask({ taskId: String(taskId), ...inRepositoryOf(input) }).catch(() => undefined);
    const text = bold(new vscode.MarkdownString(), String(taskId));
    return task ? text.appendText(` (${task.subject})`) : text;
  };

  const specs: Record<string, ToolSpec<never>> = {
    taskWorktrees_listTasks: tool<ListInput>({
      run: async (input) => {
        const { status, readyOnly } = listFilter(input);
        const tasks = (await api.listTasks(inRepositoryOf(input))).filter((task) => (!status || task.status === status) && (!readyOnly || task.ready));
        if (tasks.length === 0) return 'No tasks match.';
        const ready = tasks.filter((task) => task.ready).length;
        return [`${tasks.length} task(s), ${ready} ready:`, ...tasks.map(taskLine)].join('\n');
      },
      progress: () => vscode.l10n.t('Reading the task board'),
    }),

    taskWorktrees_getTask: tool<TaskIdInput>({
      run: async (input) => taskDetails(await viewOf(api, await api.getTask(input), input)),
      progress: (input) => vscode.l10n.t('Reading task {0}', String(input?.taskId)),
    }),

    taskWorktrees_createTask: tool<CreateInput>({
      run: async (input) => {
        const task = await api.createTask(input);
        const next = task.worktreePath ? ` Work in ${task.worktreePath} after claiming it.` : '';
        return `Created ${await describe(task, input)}\nClaim it with taskWorktrees_claimTask before working on it.${next}`;
      },
      progress: (input) => vscode.l10n.t('Creating task "{0}"', String(input?.subject)),
      confirm: async (input) => {
        const message = bold(new vscode.MarkdownString().appendText(vscode.l10n.t('Add a task to the board:') + ' '), String(input?.subject));
        if (input?.createWorktree) message.appendText(' ' + vscode.l10n.t('with its own worktree and branch from {0}', input.baseBranch ?? vscode.l10n.t('the default base')));
        if (Array.isArray(input?.blockedBy) && input.blockedBy.length > 0) message.appendText(', ' + vscode.l10n.t('waiting on {0}', input.blockedBy.join(', ')));
        return { title: vscode.l10n.t('Create a task?'), message };
      },
    }),

    taskWorktrees_claimTask: tool<ClaimInput>({
      run: async (input) => {
        const task = await api.claimTask(input);
        const next = task.worktreePath
          ? `Work only in ${task.worktreePath} (branch ${task.branch}); call taskWorktrees_completeTask when done.`
          : 'It has no worktree yet: a person creates one from the Task Worktrees view (Create Worktree).';
        return `Claimed ${await describe(task, input)}\n${next}`;
      },
      progress: (input) => vscode.l10n.t('Claiming task {0} for {1}', String(input?.taskId), String(input?.owner)),
      confirm: async (input) => ({
        title: vscode.l10n.t('Claim a task?'),
        message: (await named(input)).appendText(' ' + vscode.l10n.t('becomes in progress, owned by {0}.', String(input?.owner))),
      }),
    }),

    taskWorktrees_setStatus: tool<SetStatusInput>({
      run: async (input) => `Updated ${await describe(await api.setStatus(input), input)}`,
      progress: (input) => vscode.l10n.t('Setting task {0} to {1}', String(input?.taskId), String(input?.status)),
      confirm: async (input) => {
        const message = (await named(input)).appendText(' ' + vscode.l10n.t('becomes {0}', String(input?.status)));
        if (input?.owner !== undefined) message.appendText(', ' + vscode.l10n.t('owned by {0}', String(input.owner)));
        return { title: vscode.l10n.t('Change a task\'s status?'), message: message.appendText('.') };
      },
    }),

    taskWorktrees_completeTask: tool<TaskIdInput>({
      run: async (input) => {
        const task = await api.completeTask(input);
        const board = await api.listTasks(inRepositoryOf(input));
        const unblocked = board.filter((other) => other.blockedBy.includes(task.id) && other.status !== 'completed' && other.blockers.length === 0);
        const line = taskLine(board.find((view) => view.id === task.id) ?? task);
        return unblocked.length > 0 ? `Completed ${line}\nNo longer blocked: ${unblocked.map((other) => other.id).join(', ')}` : `Completed ${line}`;
      },
      progress: (input) => vscode.l10n.t('Completing task {0}', String(input?.taskId)),
      confirm: async (input) => ({
        title: vscode.l10n.t('Complete a task?'),
        message: (await named(input)).appendText(' ' + vscode.l10n.t('is marked completed; the tasks waiting on it may start.')),
      }),
    }),
  };
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, languageModelTool(spec)]));
}

/** User text (subjects, ids) is appended as text: markdown in it is shown, never rendered. */
function bold(message: vscode.MarkdownString, text: string): vscode.MarkdownString {
  return message.appendMarkdown('**').appendText(text).appendMarkdown('**');
}

// Typed at the definition, stored untyped: the table holds tools of different inputs.
function tool<T>(spec: ToolSpec<T>): ToolSpec<never> {
  return spec as ToolSpec<never>;
}

function languageModelTool<T>(spec: ToolSpec<T>): vscode.LanguageModelTool<T> {
  return {
    // No side effects here (a prepared call may never run); reading the task to name it is fine.
    prepareInvocation: async ({ input }) => ({
      invocationMessage: spec.progress(input),
      confirmationMessages: spec.confirm ? await spec.confirm(input) : undefined,
    }),
    invoke: async ({ input }) => new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(await resultText(() => spec.run(input)))]),
  };
}

/** The agent reads the code to decide what to do; the details (blockers, dirty files) say on what. */
async function resultText(run: () => Promise<string>): Promise<string> {
  try {
    return await run();
  } catch (error) {
    if (!isCoded(error)) return `Error: ${error instanceof Error ? error.message : String(error)}`;
    const details = error.details.length > 0 ? ` (${error.details.join(', ')})` : '';
    return `Error ${error.code}: ${error.message}${details}`;
  }
}

function listFilter(input: unknown): ListInput {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new TaskWorktreesError('InvalidInput', 'Pass an object, e.g. { "status": "pending" }.');
  const { status, readyOnly } = input as Record<string, unknown>;
  if (status !== undefined && !isTaskStatus(status)) throw new TaskWorktreesError('InvalidInput', '"status" must be pending, in_progress or completed.');
  if (readyOnly !== undefined && typeof readyOnly !== 'boolean') throw new TaskWorktreesError('InvalidInput', '"readyOnly" must be a boolean.');
  return { status, readyOnly };
}

/** The board's view of a task (worktree state, open blockers, ready) just after a call returned it, from the repository the tool's input names. */
async function viewOf(api: TaskWorktreesApi, task: Task, input: unknown): Promise<Task | TaskView> {
  return (await api.listTasks(inRepositoryOf(input))).find((view) => view.id === task.id) ?? task;
}

/** The tool input's `repository`, as given: the API checks it like any caller's. */
function inRepositoryOf(input: unknown): InRepository {
  const repository = typeof input === 'object' && input !== null ? (input as InRepository).repository : undefined;
  return repository === undefined ? {} : { repository };
}

function isView(task: Task | TaskView): task is TaskView {
  return 'worktreeState' in task;
}

/** `id [status, owner o] subject — branch b, worktree w; blocked by x` — one line per task. */
function taskLine(task: Task | TaskView): string {
  const state = [task.status, task.owner && `owner ${task.owner}`].filter(Boolean).join(', ');
  const where: string[] = [];
  if (task.branch) where.push(`branch ${task.branch}${isView(task) && task.branchMissing ? ' (deleted)' : ''}`);
  if (!task.worktreePath) where.push('no worktree');
  else where.push(`worktree ${task.worktreePath}${isView(task) && task.worktreeState === 'missing' ? ' (missing on disk)' : ''}`);
  if (task.merge) where.push(`merged into ${task.baseBranch}`);
  let line = `${task.id} [${state}] ${task.subject} — ${where.join(', ')}`;
  if (isView(task) && task.blockers.length > 0) line += `; blocked by ${task.blockers.join(', ')}`;
  else if (isView(task) && task.ready) line += '; ready';
  return line;
}

function taskDetails(task: Task | TaskView): string {
  const lines = [taskLine(task), `base: ${task.baseBranch}`];
  if (task.blockedBy.length > 0) lines.push(`waits on: ${task.blockedBy.join(', ')}`);
  if (task.merge) lines.push(`merged: ${task.merge.strategy} ${task.merge.commit} at ${task.merge.at}`);
  lines.push(`created ${task.createdAt}, updated ${task.updatedAt}`);
  if (task.description) lines.push('description:', task.description);
  return lines.join('\n');
}
