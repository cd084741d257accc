import { TaskStore } from './tasks/store';

export type OperationKind =
  | 'createTask'
  | 'createWorktree'
  | 'assignWorktree'
  | 'setStatus'
  | 'merge'
  | 'removeWorktree'
  | 'deleteTask'
  | 'deleteBranch'
  | 'prune'
  | 'repair'
  | 'agent'
  | 'setup'
  | 'snapshot'
  | 'restore'
  | 'moveChanges'
  | 'cleanUp';

export interface OperationOutcome {
  kind: OperationKind;
  taskId?: string;
  error?: Error;
  /** What the operation returned (e.g. the task a create made), when it succeeded. */
  result?: unknown;
}

/**
 * Every change to a repository runs as an operation: one at a time in this process (a queue), and
 * under the repository's cross-process lock around ALL its steps — the git commands and the store
 * writes — so two windows, agents or CLIs never interleave (a merge never sees the base move under
 * it half way). Listeners hear of each operation after it ends, failed or not.
 */
export class Operations {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(outcome: OperationOutcome) => void>();

  constructor(private readonly store: TaskStore) {}

  run<T>(kind: OperationKind, taskId: string | undefined, steps: () => Promise<T>): Promise<T> {
    const locked = (): Promise<T> => this.store.withLock(steps);
    const result = this.queue.then(locked, locked);
    this.queue = result.catch(() => undefined);
    return result.then(
      (value) => {
        this.notify({ kind, taskId, result: value });
        return value;
      },
      (error: Error) => {
        this.notify({ kind, taskId, error });
        throw error;
      },
    );
  }

  onDidRun(listener: (outcome: OperationOutcome) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(outcome: OperationOutcome): void {
    this.listeners.forEach((listener) => listener(outcome));
  }
}
