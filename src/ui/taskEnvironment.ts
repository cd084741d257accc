import type { Task } from '../core';
import { describePortBlock } from '../core/tasks/ports';

/**
 * The TASK_* variables of every terminal this extension opens in a task's worktree (agents, setup
 * commands, Open Terminal): which task, where, and its ports. No `vscode` here: unit-tested.
 */
export function taskEnvironment(task: Task): Record<string, string> {
  return {
    TASK_ID: task.id,
    TASK_SUBJECT: task.subject,
    TASK_BRANCH: task.branch ?? '',
    TASK_BASE: task.baseBranch,
    TASK_WORKTREE: task.worktreePath ?? '',
    ...(task.ports && { TASK_PORT: String(task.ports.first), TASK_PORTS: describePortBlock(task.ports) }),
  };
}
