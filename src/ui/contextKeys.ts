import * as vscode from 'vscode';
import { Board, TaskView } from '../core';

/** Whether the task can be claimed now: not completed, not blocked, and not claimed by anyone yet. */
export function isClaimable(task: TaskView): boolean {
  return task.status !== 'completed' && task.blockers.length === 0 && !(task.status === 'in_progress' && task.owner);
}

/**
 * Context keys the palette's `when` clauses read, so commands with nothing to act on are not
 * offered; set from each board the tree renders (no git call of their own). Until the board has
 * been read once (`taskWorktrees.boardKnown`), the commands are offered and say why when idle.
 */
export function watchBoardContext(onDidRenderBoard: vscode.Event<Board>): vscode.Disposable {
  const last = new Map<string, boolean>();
  const set = (key: string, value: boolean): void => {
    if (last.get(key) === value) return;
    last.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  };
  return onDidRenderBoard((board) => {
    set('taskWorktrees.boardKnown', true);
    const missing = board.tasks.some((task) => task.worktreeState === 'missing');
    set('taskWorktrees.canRepair', missing);
    set('taskWorktrees.canPrune', missing || board.unassigned.some((entry) => entry.prunable));
    set('taskWorktrees.canClaim', board.tasks.some(isClaimable));
    set('taskWorktrees.canDelete', board.tasks.some((task) => task.worktreeState !== 'present'));
  });
}
