import * as vscode from 'vscode';
import { Session } from './session';
import { statusLabel } from './tasksView';

/** In a task's window: which task this is; a click offers its actions. */
export class TaskStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('taskWorktrees.task', vscode.StatusBarAlignment.Left, 50);

  constructor(private readonly session: Session) {
    this.item.name = vscode.l10n.t('Task Worktrees: Current Task');
    this.item.command = 'taskWorktrees.taskActions';
  }

  async update(): Promise<void> {
    const folder = this.session.folder;
    const task = this.session.state === 'ready' && folder ? await this.session.service.taskAt(folder.fsPath).catch(() => undefined) : undefined;
    if (!task) {
      this.item.hide();
      return;
    }
    this.item.text = `$(tasklist) ${task.id}`;
    this.item.tooltip = new vscode.MarkdownString(
      vscode.l10n.t('**Task:** {0}  \n**Status:** {1}  \n**Branch:** {2} → {3}  \nClick for the task\'s actions.', task.subject, statusLabel(task.status), task.branch ?? '', task.baseBranch),
    );
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
