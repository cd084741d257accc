import * as vscode from 'vscode';
import { WorktreeEntry } from '../core/git/porcelain';

/** The tooltip of a worktree no task claims: where it is, what it has checked out, and what can be done with it. */
export function unassignedTooltip(entry: WorktreeEntry): vscode.MarkdownString {
  const tooltip = new vscode.MarkdownString();
  if (entry.prunable) {
    tooltip.appendMarkdown(`**${vscode.l10n.t('A worktree whose folder is gone')}**  \n`).appendText(entry.path).appendMarkdown('  \n');
    tooltip.appendText(vscode.l10n.t('Git still lists it ({0}). Prune Missing Worktrees removes git\'s record; no file is touched.', entry.prunable));
    return tooltip;
  }
  tooltip.appendMarkdown(`**${vscode.l10n.t('A worktree no task claims')}**  \n`).appendText(entry.path).appendMarkdown('  \n');
  tooltip.appendText(entry.branch ? vscode.l10n.t('Branch: {0}', entry.branch) : vscode.l10n.t('Detached HEAD at {0}', entry.head?.slice(0, 12) ?? '?'));
  tooltip.appendMarkdown('  \n');
  if (entry.locked !== undefined) tooltip.appendText(vscode.l10n.t('Locked: {0}', entry.locked || vscode.l10n.t('no reason given'))).appendMarkdown('  \n');
  tooltip.appendText(vscode.l10n.t('Made outside Task Worktrees. Adopt it (right-click, or the link button) to track it as a task; its branch and files stay as they are.'));
  return tooltip;
}
