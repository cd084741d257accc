import type { Task, TaskEvent, TaskView } from '../core';

/**
 * Human output. Descriptions, owners and event details are other people's (and agents') text:
 * control characters and direction overrides are shown escaped, so a task cannot drive the
 * terminal that lists it.
 */
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(TERMINAL_CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** In the order a person works through them. */
const STATUS_GROUPS = [
  ['in_progress', 'in progress'],
  ['pending', 'pending'],
  ['completed', 'completed'],
] as const;

export function formatBoard(tasks: readonly TaskView[]): string {
  if (tasks.length === 0) return 'No tasks yet. Create one: task-worktrees create "<subject>"\n';
  const lines: string[] = [];
  for (const [status, title] of STATUS_GROUPS) {
    const group = tasks.filter((task) => task.status === status);
    if (group.length === 0) continue;
    if (lines.length > 0) lines.push('');
    lines.push(`${title} (${group.length})`);
    const width = Math.max(...group.map((task) => task.id.length));
    for (const task of group) {
      lines.push(`  ${task.id.padEnd(width)}  ${printable(task.subject)}`);
      const facts = taskFacts(task);
      if (facts.length > 0) lines.push(`  ${' '.repeat(width)}  ${facts.join(' · ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The one-line summary under a task in `list`: who, what it waits on, where it is worked. */
function taskFacts(task: TaskView): string[] {
  const facts: string[] = [];
  if (task.ready) facts.push('ready');
  if (task.owner) facts.push(`owner ${printable(task.owner)}`);
  if (task.status !== 'completed' && task.blockers.length > 0) facts.push(`blocked by ${task.blockers.join(', ')}`);
  if (task.merge) facts.push(`merged into ${printable(task.baseBranch)}`);
  if (task.branch) facts.push(`${printable(task.branch)}${task.branchMissing ? ' (branch gone)' : ''}`);
  facts.push(...worktreeFacts(task));
  return facts;
}

function worktreeFacts(task: TaskView): string[] {
  if (task.worktreeState === 'none' || !task.worktreePath) return [];
  if (task.worktreeState === 'missing') return [`worktree missing: ${printable(task.worktreePath)}`];
  return [`${printable(task.worktreePath)}${task.locked !== undefined ? ' (locked)' : ''}`];
}

export function formatTask(task: TaskView): string {
  const rows: Array<[string, string]> = [
    ['status', task.status + (task.ready ? ' (ready)' : '')],
    ['owner', task.owner ? printable(task.owner) : '-'],
    ['base', printable(task.baseBranch)],
    ['branch', task.branch ? `${printable(task.branch)}${task.branchMissing ? ' (branch gone)' : ''}` : '-'],
    ['worktree', worktreeFacts(task)[0] ?? '-'],
  ];
  if (task.blockedBy.length > 0) {
    const open = new Set(task.blockers);
    rows.push(['blocked by', task.blockedBy.map((id) => (open.has(id) ? id : `${id} (done)`)).join(', ')]);
  }
  if (task.merge) rows.push(['merged', `${task.merge.strategy} ${task.merge.commit.slice(0, 12)} at ${task.merge.at}`]);
  rows.push(['created', task.createdAt], ['updated', task.updatedAt]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [`${task.id}: ${printable(task.subject)}`, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)];
  if (task.description) lines.push('', ...printable(task.description).split('\n').map((line) => `  ${line}`));
  return `${lines.join('\n')}\n`;
}

/** What a change did, in one line, plus where to work when the task has a worktree. */
export function formatChange(verb: string, task: Task): string {
  const state = [task.status, task.owner ? `owner ${printable(task.owner)}` : ''].filter(Boolean).join(', ');
  const lines = [`${verb} ${task.id}: ${printable(task.subject)} (${state})`];
  if (task.branch) lines.push(`  branch    ${printable(task.branch)}`);
  if (task.worktreePath) lines.push(`  worktree  ${printable(task.worktreePath)}`);
  return `${lines.join('\n')}\n`;
}

const EVENT_FIELDS = new Set(['at', 'type', 'taskId', 'pid']);

export function formatEvents(events: readonly TaskEvent[]): string {
  if (events.length === 0) return 'No events.\n';
  const typeWidth = Math.max(...events.map((event) => event.type.length));
  const idWidth = Math.max(...events.map((event) => (event.taskId ?? '-').length));
  const lines = events.map((event) => {
    const details = Object.entries(event)
      .filter(([key, value]) => !EVENT_FIELDS.has(key) && value !== undefined)
      .map(([key, value]) => `${printable(key)}=${printable(typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value))}`);
    // Seconds are enough to read a history; --json keeps the milliseconds.
    const at = event.at.replace(/\.\d+Z$/, 'Z');
    return [at, printable(event.type).padEnd(typeWidth), printable(event.taskId ?? '-').padEnd(idWidth), ...details].join('  ').trimEnd();
  });
  return `${lines.join('\n')}\n`;
}
