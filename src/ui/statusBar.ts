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
    // The window's own task is in whichever repository holds its folder.
    const service = this.session.state === 'ready' && folder ? this.session.repositoryContaining(folder.fsPath)?.service : undefined;
    const task = service && folder ? await service.taskAt(folder.fsPath).catch(() => undefined) : undefined;
    // The state may have changed while the store was read (a window whose folder was just removed).
    if (!task || this.session.state !== 'ready') {
      this.item.hide();
      return;
    }
    const status = statusLabel(task.status);
    const owner = task.status === 'in_progress' && task.owner ? task.owner : undefined;
    const subject = task.subject.length > 40 ? `${task.subject.slice(0, 39)}…` : task.subject;
    this.item.text = `$(tasklist) ${escapeIcons(subject)} · ${status}`;
    // Screen readers get plain words, not the tooltip's markdown.
    this.item.accessibilityInformation = {
      label: owner
        ? vscode.l10n.t('Task {0}, {1}, claimed by {2}, on branch {3}. Activate for the task\'s actions.', task.subject, status, owner, task.branch ?? '')
        : vscode.l10n.t('Task {0}, {1}, on branch {2}. Activate for the task\'s actions.', task.subject, status, task.branch ?? ''),
    };
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${vscode.l10n.t('Task')}:** `).appendText(task.subject).appendMarkdown('  \n');
    tooltip.appendMarkdown(`**${vscode.l10n.t('Status')}:** `).appendText(owner ? vscode.l10n.t('{0}, claimed by {1}', status, owner) : status).appendMarkdown('  \n');
    tooltip.appendMarkdown(`**${vscode.l10n.t('Branch')}:** `).appendText(`${task.branch ?? ''} → ${task.baseBranch}`).appendMarkdown('  \n');
    tooltip.appendText(vscode.l10n.t('Click for the task\'s actions.'));
    this.item.tooltip = tooltip;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}

/** A subject is text, never `$(icon)` syntax. */
function escapeIcons(text: string): string {
  return text.replace(/\$\(/g, '\\$(');
}
