import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import * as vscode from 'vscode';
import { isCoded, TaskWorktreesError } from '../core/errors';
import { canonicalPath, TaskService } from '../core';
import { groupByRepository, repositoryHolding, repositoryNames } from '../core/workspaceRepositories';
import { configuredGitPath, readSettings } from './settings';
import { watchBoard } from './watch';

/** `orphaned`: the window's folder was removed (its worktree is gone) while the window was open. */
export type SessionState = 'loading' | 'untrusted' | 'noRepository' | 'ready' | 'error' | 'orphaned';

/** One repository of the workspace: its service and the workspace folders inside it. */
export interface RepositorySession {
  readonly service: TaskService;
  /** Its main worktree's folder name (with the parent's where two would read the same). */
  readonly name: string;
  readonly folders: readonly vscode.Uri[];
}

/** A tree row that belongs to a repository (see tasksView.ts). */
interface InRepository {
  readonly service?: TaskService;
}

/**
 * The repositories this window works on — one per distinct git repository among the workspace
 * folders — and the core service of each. Owns what depends on them (file watchers) and tells the
 * UI when the board may have changed.
 */
export class Session implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private repositoryDisposables: vscode.Disposable[] = [];
  private opened: RepositorySession[] = [];
  /** The repository a command works on while it runs (see inRepositoryOf): `service` reads it. */
  private readonly scope = new AsyncLocalStorage<TaskService>();
  /** Bumped by each start(): an older start still opening repositories drops what it opened. */
  private generation = 0;
  state: SessionState = 'loading';
  problem: string | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.start()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.start()),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('git.path')) void this.start();
        else if (event.affectsConfiguration('taskWorktrees') || event.affectsConfiguration('git.worktreeIncludeFiles')) {
          for (const { service, folders } of this.opened) service.updateSettings(readSettings(folders[0]));
        }
      }),
    );
  }

  /** The workspace's repositories, in the order of their first folder. */
  get repositories(): readonly RepositorySession[] {
    return this.opened;
  }

  /**
   * The repository a command works on: the one of its tree item, the one picked, or the only one.
   * With several and none chosen, a coded error that names them.
   */
  get service(): TaskService {
    if (this.state === 'orphaned') {
      throw new TaskWorktreesError('WorktreeNotFound', vscode.l10n.t('This window\'s folder was removed, with its worktree: close the window, or open the main repository to go on.'));
    }
    const scoped = this.scope.getStore();
    if (scoped) return scoped;
    if (this.opened.length === 1) return this.opened[0].service;
    if (this.opened.length > 1) {
      throw new TaskWorktreesError(
        'InvalidInput',
        vscode.l10n.t('This workspace has several repositories: say which (a "repository" path inside one of them).'),
        this.opened.map(({ service }) => service.mainWorktree),
      );
    }
    if (this.state === 'untrusted') {
      throw new TaskWorktreesError('Untrusted', vscode.l10n.t('Task Worktrees runs git, so it works only in a trusted workspace.'));
    }
    throw new TaskWorktreesError('NotARepository', this.problem ?? vscode.l10n.t('Open a folder inside a git repository to use Task Worktrees.'));
  }

  get folder(): vscode.Uri | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri;
  }

  /** The repository holding `path` among the workspace's folders (the innermost, for a nested repository). */
  repositoryContaining(path: string): RepositorySession | undefined {
    const index = repositoryHolding(canonicalPath(path), this.opened.map((repository) => [repository.service.mainWorktree, ...repository.folders.map((folder) => canonicalPath(folder.fsPath))]));
    return index === undefined ? undefined : this.opened[index];
  }

  /**
   * Runs a person's command with `service` meaning the repository of `item` (a tree row), the only
   * one, or the one they pick; undefined, without running it, when they dismiss the pick.
   */
  async inRepositoryOf<T>(item: unknown, title: string, work: () => Promise<T>): Promise<T | undefined> {
    const service = (item as InRepository | undefined)?.service ?? (this.opened.length > 1 ? await this.pickRepository(title) : undefined);
    if (this.opened.length > 1 && !service) return undefined;
    return service ? this.scope.run(service, work) : work();
  }

  /**
   * Runs a call from code with `service` meaning the repository holding the path `repository`
   * (any folder of any of its worktrees); without it, as `service` says. Unknown: a coded error.
   */
  async inRepositoryAt<T>(repository: string | undefined, work: () => Promise<T>): Promise<T> {
    if (repository === undefined) return work();
    if (!repository || repository.includes('\0') || !isAbsolute(repository) || !existsSync(repository)) {
      throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"repository" must be the absolute path of an existing folder inside one of the workspace\'s repositories.'));
    }
    // Git says which repository the path is in: a nested one, a submodule or a task worktree outside the folders included.
    const located = await TaskService.open(repository, readSettings(), { gitPath: configuredGitPath() }).catch(() => undefined);
    const found = located && this.opened.find(({ service }) => service.commonDir === located.commonDir);
    if (!found) {
      throw new TaskWorktreesError(
        'InvalidInput',
        vscode.l10n.t('{0} is in none of this workspace\'s repositories.', repository),
        this.opened.map(({ service }) => service.mainWorktree),
      );
    }
    return this.scope.run(found.service, work);
  }

  private async pickRepository(title: string): Promise<TaskService | undefined> {
    const picked = await vscode.window.showQuickPick(
      this.opened.map((repository) => ({ label: `$(repo) ${repository.name}`, description: repository.service.mainWorktree, service: repository.service })),
      { title, placeHolder: vscode.l10n.t('Which repository?') },
    );
    return picked?.service;
  }

  async start(): Promise<void> {
    const generation = ++this.generation;
    this.closeRepositories();
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (!vscode.workspace.isTrusted) return this.setState('untrusted');
    const local = folders.filter((folder) => folder.uri.scheme === 'file');
    if (local.length === 0) return this.setState('noRepository');
    const gitPath = configuredGitPath();
    // Routine git lines are debug: at the default level the log shows failures, so Show Log opens at them.
    // Each folder's own settings: a folder may set its repository's layout, base branch, ports.
    const opened = await Promise.allSettled(local.map((folder) => TaskService.open(folder.uri.fsPath, readSettings(folder.uri), { gitPath, log: (line) => this.log.debug(line) })));
    if (generation !== this.generation) return;
    const inRepositories = local.flatMap((folder, index) => {
      const result = opened[index];
      if (result.status === 'fulfilled') return [{ folder, commonDir: result.value.commonDir, service: result.value }];
      if (local.length > 1) this.log.info(`Task Worktrees leaves out ${folder.uri.fsPath}: ${(result.reason as Error).message}`);
      return [];
    });
    if (inRepositories.length === 0) return this.failed(local[0].uri, (opened[0] as PromiseRejectedResult).reason);
    const groups = groupByRepository(inRepositories.map((entry) => ({ folder: entry, commonDir: entry.commonDir })));
    const services = groups.map((group) => group.folders[0].service);
    const names = repositoryNames(services.map((service) => service.mainWorktree));
    this.opened = groups.map((group, index) => ({ service: services[index], name: names[index], folders: group.folders.map((entry) => entry.folder.uri) }));
    for (const { service } of this.opened) {
      this.repositoryDisposables.push(watchBoard(service.store.dir, service.commonDir, () => this.changed.fire(), this.log), { dispose: service.onDidMutate(() => this.changed.fire()) });
    }
    this.setState('ready');
  }

  private failed(folder: vscode.Uri, error: unknown): void {
    this.problem = (error as Error).message;
    this.log.warn(`Task Worktrees is idle in ${folder.fsPath}: ${this.problem}`);
    // Git's refusal of a repository it does not trust is shown, not worked around (no safe.directory edits).
    this.setState(isCoded(error, 'NotARepository') || isCoded(error, 'UnsafeRepository') || isCoded(error, 'GitNotFound') ? 'noRepository' : 'error');
    if (isCoded(error, 'UnsafeRepository') || isCoded(error, 'GitNotFound')) {
      void vscode.window.showWarningMessage(this.problem);
    }
  }

  /** The window's folder is gone: nothing more is read from it, and the board says so (see windowPresence.ts). */
  markOrphaned(): void {
    this.closeRepositories();
    this.setState('orphaned');
  }

  private setState(state: SessionState): void {
    this.state = state;
    if (state !== 'noRepository' && state !== 'error') this.problem = undefined;
    void vscode.commands.executeCommand('setContext', 'taskWorktrees.state', state);
    this.changed.fire();
  }

  private closeRepositories(): void {
    this.repositoryDisposables.forEach((disposable) => disposable.dispose());
    this.repositoryDisposables = [];
    this.opened = [];
  }

  dispose(): void {
    this.closeRepositories();
    this.disposables.forEach((disposable) => disposable.dispose());
  }
}
