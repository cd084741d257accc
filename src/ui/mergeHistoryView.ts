import * as vscode from 'vscode';
import type { MergeAttempt, MergeHistory, MergeOutcome, MergeRates } from '../core/history';
import type { TaskService } from '../core';
import { Session } from './session';

/** A row of the Merge History view: a repository (when there are several), the rates (overall, per agent profile) or one attempt. */
export type HistoryNode =
  | { kind: 'repository'; name: string; service: TaskService; history: MergeHistory; rows: HistoryNode[] }
  | { kind: 'rates'; label: string; rates: MergeRates }
  | { kind: 'attempt'; attempt: MergeAttempt; subject?: string };

const OUTCOME_ICONS: Record<MergeOutcome, [string, string]> = {
  clean: ['pass', 'charts.green'],
  resolvedByAgent: ['hubot', 'charts.green'],
  resolvedByHand: ['person', 'charts.green'],
  conflict: ['git-merge', 'charts.red'],
  gateFailed: ['error', 'charts.red'],
  aborted: ['circle-slash', 'disabledForeground'],
  nothingToMerge: ['check', 'disabledForeground'],
};

export function outcomeLabel(outcome: MergeOutcome): string {
  switch (outcome) {
    case 'clean':
      return vscode.l10n.t('merged clean');
    case 'resolvedByAgent':
      return vscode.l10n.t('resolved by agent');
    case 'resolvedByHand':
      return vscode.l10n.t('resolved by hand');
    case 'conflict':
      return vscode.l10n.t('conflict');
    case 'gateFailed':
      return vscode.l10n.t('gate failed');
    case 'aborted':
      return vscode.l10n.t('aborted');
    case 'nothingToMerge':
      return vscode.l10n.t('nothing to merge');
  }
}

function percent(rate: number | null): string {
  return rate === null ? '–' : `${Math.round(rate * 100)} %`;
}

/** "3/5 first-try clean (60 %) · 1 resolved (20 %)": the view's description and its rate rows say the same. */
export function describeRates(rates: MergeRates): string {
  if (rates.attempts === 0) return vscode.l10n.t('no merge attempt yet');
  return vscode.l10n.t(
    '{0}/{1} first-try clean ({2}) · {3} resolved ({4})',
    rates.firstTryClean,
    rates.attempts,
    percent(rates.successRate),
    rates.resolved,
    percent(rates.resolvedRate),
  );
}

/**
 * Every merge attempt of the repository (merge, auto-merge, queue), newest first, under the
 * success rate overall and per agent profile. Read from the core's history when the view shows.
 */
export class MergeHistoryProvider implements vscode.TreeDataProvider<HistoryNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<HistoryNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private view: vscode.TreeView<HistoryNode> | undefined;
  /** The history last shown (host tests and the description read it). */
  last: MergeHistory | undefined;

  constructor(private readonly session: Session) {}

  attach(view: vscode.TreeView<HistoryNode>): void {
    this.view = view;
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: HistoryNode): vscode.TreeItem {
    if (node.kind === 'repository') {
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
      item.description = describeRates(node.history);
      item.tooltip = node.service.mainWorktree;
      item.iconPath = new vscode.ThemeIcon('repo');
      item.contextValue = 'repository';
      return item;
    }
    if (node.kind === 'rates') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.description = describeRates(node.rates);
      item.iconPath = new vscode.ThemeIcon('graph');
      item.contextValue = 'mergeRates';
      return item;
    }
    const { attempt, subject } = node;
    const item = new vscode.TreeItem(subject ?? attempt.taskId, vscode.TreeItemCollapsibleState.None);
    const [icon, color] = OUTCOME_ICONS[attempt.outcome];
    item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
    item.description = [outcomeLabel(attempt.outcome), attempt.agent, viaLabel(attempt.via), new Date(attempt.at).toLocaleString()].filter(Boolean).join(' · ');
    item.tooltip = attemptTooltip(attempt);
    item.contextValue = `mergeAttempt;outcome=${attempt.outcome}`;
    return item;
  }

  async getChildren(node?: HistoryNode): Promise<HistoryNode[]> {
    if (node) return node.kind === 'repository' ? node.rows : [];
    if (this.session.state !== 'ready') return [];
    const repositories = this.session.repositories;
    if (repositories.length === 1) {
      const { history, rows } = await historyRows(repositories[0].service);
      this.last = history;
      if (this.view) this.view.description = history.entries.length ? describeRates(history) : undefined;
      // No rows at all lets the view's welcome content show.
      return rows;
    }
    // Several repositories: one section each, its rates in its description.
    const sections = await Promise.all(repositories.map(async ({ name, service }) => ({ kind: 'repository' as const, name, service, ...(await historyRows(service)) })));
    if (this.view) this.view.description = undefined;
    return sections.some((section) => section.rows.length > 0) ? sections : [];
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** One repository's rows: the rates overall and per agent profile, then its attempts, newest first (none without attempts). */
async function historyRows(service: TaskService): Promise<{ history: MergeHistory; rows: HistoryNode[] }> {
  const [history, board] = await Promise.all([service.mergeHistory(), service.board()]);
  if (history.entries.length === 0) return { history, rows: [] };
  const subjects = new Map(board.tasks.map((task) => [task.id, task.subject]));
  const rateRows: HistoryNode[] = [
    { kind: 'rates', label: vscode.l10n.t('All merges'), rates: history },
    ...Object.entries(history.perAgent)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([agent, rates]): HistoryNode => ({ kind: 'rates', label: agent, rates })),
  ];
  const attempts = [...history.entries].reverse().map((attempt): HistoryNode => ({ kind: 'attempt', attempt, subject: subjects.get(attempt.taskId) }));
  return { history, rows: [...rateRows, ...attempts] };
}

function viaLabel(via: MergeAttempt['via']): string {
  return via === 'autoMerge' ? vscode.l10n.t('auto-merge') : via === 'queue' ? vscode.l10n.t('queue') : '';
}

function attemptTooltip(attempt: MergeAttempt): vscode.MarkdownString {
  const lines = [
    `**${attempt.taskId}** → \`${attempt.base}\`: ${outcomeLabel(attempt.outcome)}`,
    attempt.agent ? vscode.l10n.t('Agent profile: {0}', attempt.agent) : undefined,
    attempt.commit ? vscode.l10n.t('Landed as {0}', attempt.commit.slice(0, 12)) : undefined,
    attempt.files?.length ? vscode.l10n.t('Conflicting files: {0}', attempt.files.join(', ')) : undefined,
    attempt.reason ? vscode.l10n.t('Reason: {0}', attempt.reason) : undefined,
  ];
  const markdown = new vscode.MarkdownString(lines.filter(Boolean).join('\n\n'));
  markdown.supportThemeIcons = false;
  return markdown;
}
