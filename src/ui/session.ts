import * as vscode from 'vscode';
import { isCoded, TaskWorktreesError } from '../core/errors';
import { TaskService } from '../core';
import { configuredGitPath, readSettings } from './settings';
import { watchBoard } from './watch';

/** `orphaned`: the window's folder was removed (its worktree is gone) while the window was open. */
export type SessionState = 'loading' | 'untrusted' | 'noRepository' | 'ready' | 'error' | 'orphaned';

/**
 * The repository this window works on, and the core service for it. Owns what depends on it
 * (file watchers) and tells the UI when the board may have changed.
 */
export class Session implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private repositoryDisposables: vscode.Disposable[] = [];
  private current: TaskService | undefined;
  state: SessionState = 'loading';
  problem: string | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.start()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.start()),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('git.path')) void this.start();
        else if (event.affectsConfiguration('taskWorktrees') || event.affectsConfiguration('git.worktreeIncludeFiles')) this.current?.updateSettings(readSettings());
      }),
    );
  }

  get service(): TaskService {
    if (this.current) return this.current;
    if (this.state === 'orphaned') {
      throw new TaskWorktreesError('WorktreeNotFound', vscode.l10n.t('This window\'s folder was removed, with its worktree: close the window, or open the main repository to go on.'));
    }
    if (this.state === 'untrusted') {
      throw new TaskWorktreesError('Untrusted', vscode.l10n.t('Task Worktrees runs git, so it works only in a trusted workspace.'));
    }
    throw new TaskWorktreesError('NotARepository', this.problem ?? vscode.l10n.t('Open a folder inside a git repository to use Task Worktrees.'));
  }

  get folder(): vscode.Uri | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri;
  }

  async start(): Promise<void> {
    this.closeRepository();
    const folder = this.folder;
    if (!vscode.workspace.isTrusted) return this.setState('untrusted');
    if (!folder || folder.scheme !== 'file') return this.setState('noRepository');
    try {
      const gitPath = configuredGitPath();
      this.current = await TaskService.open(folder.fsPath, readSettings(), {
        gitPath,
        // Routine git lines are debug: at the default level the log shows failures, so Show Log opens at them.
        log: (line) => this.log.debug(line),
      });
      this.repositoryDisposables.push(
        watchBoard(this.current.store.dir, this.current.commonDir, () => this.changed.fire(), this.log),
        { dispose: this.current.onDidMutate(() => this.changed.fire()) },
      );
      this.setState('ready');
    } catch (error) {
      this.problem = (error as Error).message;
      this.log.warn(`Task Worktrees is idle in ${folder.fsPath}: ${this.problem}`);
      // Git's refusal of a repository it does not trust is shown, not worked around (no safe.directory edits).
      this.setState(isCoded(error, 'NotARepository') || isCoded(error, 'UnsafeRepository') || isCoded(error, 'GitNotFound') ? 'noRepository' : 'error');
      if (isCoded(error, 'UnsafeRepository') || isCoded(error, 'GitNotFound')) {
        void vscode.window.showWarningMessage(this.problem);
      }
    }
  }

  /** The window's folder is gone: nothing more is read from it, and the board says so (see windowPresence.ts). */
  markOrphaned(): void {
    this.closeRepository();
    this.setState('orphaned');
  }

  private setState(state: SessionState): void {
    this.state = state;
    if (state !== 'noRepository' && state !== 'error') this.problem = undefined;
    void vscode.commands.executeCommand('setContext', 'taskWorktrees.state', state);
    this.changed.fire();
  }

  private closeRepository(): void {
    this.repositoryDisposables.forEach((disposable) => disposable.dispose());
    this.repositoryDisposables = [];
    this.current = undefined;
  }

  dispose(): void {
    this.closeRepository();
    this.disposables.forEach((disposable) => disposable.dispose());
  }
}
