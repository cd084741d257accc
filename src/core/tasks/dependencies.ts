import { TaskWorktreesError } from '../errors';
import { Task } from './model';

/**
 * `blockedBy`: a task waits until every task it names is completed. A blocker that no longer
 * exists (deleted) blocks nothing: otherwise a task could wait forever on a record nobody can see.
 */
export function openBlockers(task: Task, tasks: readonly Task[], byId: ReadonlyMap<string, Task> = tasksById(tasks)): string[] {
  if (task.blockedBy.length === 0) return [];
  return task.blockedBy.filter((id) => {
    const blocker = byId.get(id);
    return blocker !== undefined && blocker.status !== 'completed';
  });
}

/** Pending, nobody's, and waiting on nothing: the next task someone (or an agent) can take. */
export function isReady(task: Task, tasks: readonly Task[], byId?: ReadonlyMap<string, Task>): boolean {
  return task.status === 'pending' && !task.owner && openBlockers(task, tasks, byId).length === 0;
}

/** For callers that ask about every task: one index instead of one per question. */
export function tasksById(tasks: readonly Task[]): Map<string, Task> {
  return new Map(tasks.map((task) => [task.id, task]));
}

export function refuseIfBlocked(task: Task, tasks: readonly Task[], what: string): void {
  const blockers = openBlockers(task, tasks);
  if (blockers.length > 0) {
    throw new TaskWorktreesError('Blocked', `Task "${task.id}" is blocked by ${blockers.map((id) => `"${id}"`).join(', ')}: ${what} once they are completed.`, blockers);
  }
}

/** Blockers must exist, and the graph must stay acyclic (a cycle would block its tasks forever). */
export function checkBlockers(taskId: string | undefined, blockedBy: readonly string[], tasks: readonly Task[]): void {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  for (const id of blockedBy) {
    if (id === taskId) throw new TaskWorktreesError('InvalidInput', `Task "${id}" cannot wait on itself.`);
    if (!byId.has(id)) throw new TaskWorktreesError('TaskNotFound', `There is no task "${id}" to wait on.`);
  }
  if (taskId === undefined) return;
  // Walk what the new blockers wait on; reaching taskId again closes a cycle.
  const seen = new Set<string>();
  const pending = [...blockedBy];
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (id === taskId) throw new TaskWorktreesError('InvalidInput', `"${taskId}" waiting on ${blockedBy.join(', ')} would make a cycle: they already wait on "${taskId}".`);
    if (seen.has(id)) continue;
    seen.add(id);
    pending.push(...(byId.get(id)?.blockedBy ?? []));
  }
}

/** The tasks that were waiting on `completedId` and now wait on nothing. */
export function unblockedBy(completedId: string, tasks: readonly Task[]): string[] {
  return tasks.filter((task) => task.blockedBy.includes(completedId) && task.status !== 'completed' && openBlockers(task, tasks).length === 0).map((task) => task.id);
}
