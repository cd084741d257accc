import type { ParseArgsConfig } from 'node:util';
import { Task, TaskService, TaskStatus, TaskView, TaskWorktreesError } from '../core';
import { formatBoard, formatChange, formatEvents, formatTask } from './format';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandInput {
  service: TaskService;
  /** The positional arguments after the command name, as many as `args` names. */
  args: string[];
  options: OptionValues;
  /** A line for stderr that does not fail the command (a store file that could not be read). */
  warn(line: string): void;
}

export interface CommandResult {
  /** What `--json` prints. */
  json: unknown;
  /** What a person reads. */
  text: string;
}

export interface Command {
  name: string;
  /** Names of the positional arguments, in order. */
  args: readonly string[];
  /** After `task-worktrees `: the command's usage line. */
  usage: string;
  summary: string;
  /** The help text's body: what it does, its options, what --json prints. */
  help: string;
  options: OptionSpecs;
  /** Options without which the command line is wrong. */
  required?: readonly string[];
  run(input: CommandInput): Promise<CommandResult>;
}

export const GLOBAL_OPTIONS: OptionSpecs = {
  repo: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** The board's view of one task (worktree state, open blockers, ready), or the core's error for the id. */
async function taskView(service: TaskService, taskId: string): Promise<TaskView> {
  const [task, board] = await Promise.all([service.task(taskId), service.board()]);
  const view = board.tasks.find((candidate) => candidate.id === task.id);
  if (!view) throw new TaskWorktreesError('TaskNotFound', `There is no task "${task.id}" (it was just deleted).`);
  return view;
}

function changed(verb: string, task: Task): CommandResult {
  return { json: task, text: formatChange(verb, task) };
}

export const COMMANDS: readonly Command[] = [
  {
    name: 'list',
    args: [],
    usage: 'list [--json]',
    summary: 'all tasks by status: owner, ready or blocked, branch, worktree',
    help: `Lists every task, grouped by status. A pending task nobody owns that waits on nothing is
"ready": the next one to claim. A task waiting on unfinished tasks shows "blocked by …".
--json: an array of tasks; each has the stored fields (id, subject, description, status, owner,
baseBranch, branch, worktreePath, blockedBy, createdAt, updatedAt, merge) and worktreeState
(none | present | missing), blockers (the unfinished tasks it waits on) and ready.`,
    options: {},
    async run({ service, warn }) {
      const board = await service.board();
      for (const problem of board.problems) warn(`warning: ${problem.file}: ${problem.message}`);
      return { json: board.tasks, text: formatBoard(board.tasks) };
    },
  },
  {
    name: 'show',
    args: ['id'],
    usage: 'show <id> [--json]',
    summary: 'one task in full: status, owner, base, branch, worktree, blockers, description',
    help: `Shows one task. --json: the task as one object, with the same fields as in "list --json".`,
    options: {},
    async run({ service, args: [taskId] }) {
      const view = await taskView(service, taskId);
      return { json: view, text: formatTask(view) };
    },
  },
  {
    name: 'create',
    args: ['subject'],
    usage: 'create <subject> [--description TEXT] [--base BRANCH] [--blocked-by ID]... [--worktree] [--json]',
    summary: 'a new pending task; with --worktree also its branch and worktree',
    help: `Creates a pending task; its id is made from the subject. Quote a subject of several words;
one that starts with "-" goes after "--" (create -- "-x is broken").
  --description TEXT  what to do, in more words (a value starting with "-": --description=-TEXT)
  --base BRANCH       the branch it starts from and merges back into (default: the branch
                      checked out where the command runs)
  --blocked-by ID     a task it waits on; repeat for several
  --worktree          also create its branch and worktree (nothing is left behind if that fails)
--json: the new task.`,
    options: {
      description: { type: 'string' },
      base: { type: 'string' },
      'blocked-by': { type: 'string', multiple: true },
      worktree: { type: 'boolean' },
    },
    async run({ service, args: [subject], options }) {
      const task = await service.createTask({
        subject,
        description: options.description as string | undefined,
        baseBranch: options.base as string | undefined,
        blockedBy: options['blocked-by'] as string[] | undefined,
        createWorktree: options.worktree === true,
      });
      return changed('created', task);
    },
  },
  {
    name: 'claim',
    args: ['id'],
    usage: 'claim <id> --owner NAME [--json]',
    summary: 'take a task: in_progress, owned by NAME',
    help: `Sets the task in_progress with NAME as its owner. A task waiting on unfinished tasks is
refused (Blocked, exit 5) and names them; so is a task someone else has claimed (TaskClaimed,
exit 36): they hand it back with "status <id> pending". --json: the claimed task.`,
    options: { owner: { type: 'string' } },
    required: ['owner'],
    async run({ service, args: [taskId], options }) {
      const owner = (options.owner as string).trim();
      // The core accepts an empty owner (it clears the field); a claim must name who takes the task.
      if (!owner) throw new TaskWorktreesError('InvalidInput', 'claim needs the name of who takes the task: --owner NAME.');
      return changed('claimed', await service.setStatus(taskId, 'in_progress', owner));
    },
  },
  {
    name: 'status',
    args: ['id', 'status'],
    usage: 'status <id> <pending|in_progress|completed> [--json]',
    summary: 'set a task pending, in_progress or completed',
    help: `Sets the task's status; its owner stays. in_progress on a task waiting on unfinished tasks
is refused (Blocked, exit 5). completed unblocks the tasks waiting on it. --json: the task.`,
    options: {},
    async run({ service, args: [taskId, status] }) {
      // The core checks the value (InvalidInput for anything else), like every other value.
      return changed('set', await service.setStatus(taskId, status as TaskStatus));
    },
  },
  {
    name: 'complete',
    args: ['id'],
    usage: 'complete <id> [--json]',
    summary: 'mark a task completed (the tasks waiting on it may start)',
    help: `Marks the task completed; tasks that waited only on it become ready. Its branch and
worktree stay until the lead merges and removes them. --json: the task.`,
    options: {},
    async run({ service, args: [taskId] }) {
      return changed('completed', await service.completeTask(taskId));
    },
  },
  {
    name: 'events',
    args: [],
    usage: 'events [--task ID] [--last N] [--json]',
    summary: "the board's history, oldest first",
    help: `Prints the board's event log, oldest first: creates, claims, status changes, worktrees made
and removed, merges — whoever made them (a window, an agent, this CLI).
  --task ID   only the events of that task
  --last N    only the newest N
--json: an array of events: { at, type, taskId, pid, ...details }.`,
    options: { task: { type: 'string' }, last: { type: 'string' } },
    async run({ service, options, warn }) {
      const last = options.last === undefined ? undefined : Number(options.last);
      if (last !== undefined && !(Number.isInteger(last) && last > 0)) {
        throw new TaskWorktreesError('InvalidInput', `--last takes a whole number above 0, not ${JSON.stringify(options.last)}.`);
      }
      const { events, unreadable } = await service.events();
      if (unreadable > 0) warn(`warning: ${unreadable} line(s) of the event log could not be read (skipped)`);
      const ofTask = options.task === undefined ? events : events.filter((event) => event.taskId === options.task);
      const shown = last === undefined ? ofTask : ofTask.slice(-last);
      return { json: shown, text: formatEvents(shown) };
    },
  },
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}
