import * as vscode from 'vscode';
import { TaskService } from '../core';
import { eventsText } from './flowText';

/**
 * The board's history as a read-only document (a content provider's documents cannot be edited
 * nor saved), newest first, refreshed while open when the board changes.
 */
export class EventsView implements vscode.TextDocumentContentProvider, vscode.Disposable {
  static readonly scheme = 'task-worktrees-events';
  static readonly uri = vscode.Uri.from({ scheme: EventsView.scheme, path: '/Task Worktrees Events.log' });
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration: vscode.Disposable;
  /** The repository whose events the document shows: the one it was last opened for. */
  private shown: TaskService | undefined;

  constructor(private readonly service: () => TaskService) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(EventsView.scheme, this);
  }

  async provideTextDocumentContent(): Promise<string> {
    try {
      const { events, unreadable } = await (this.shown ?? this.service()).events();
      if (events.length === 0 && !unreadable) return `${vscode.l10n.t('No events yet: creating a task writes the first.')}\n`;
      return eventsText(events, unreadable ? vscode.l10n.t('{0} unreadable line(s) skipped', unreadable) : undefined);
    } catch (error) {
      // The document shows the reason instead of an error popup on every refresh.
      return `${vscode.l10n.t('The events cannot be read: {0}', (error as Error).message)}\n`;
    }
  }

  async show(service?: TaskService): Promise<void> {
    this.shown = service;
    this.refresh();
    const document = await vscode.workspace.openTextDocument(EventsView.uri);
    await vscode.window.showTextDocument(document, { preview: true });
  }

  /** Only an open document is read again. */
  refresh(): void {
    if (vscode.workspace.textDocuments.some((document) => document.uri.toString() === EventsView.uri.toString())) this.changed.fire(EventsView.uri);
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
