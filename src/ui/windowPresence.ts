import { existsSync, FSWatcher, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { canonicalPath, isCoded, TaskService } from '../core';
import { isInside } from '../core/repo';
import { WINDOW_HEARTBEAT_MS, worktreeGitDir } from '../core/safety';
import * as prompts from './prompts';
import { Session } from './session';

/** Terminal opens, closes and cwd changes come in bursts (a restored session opens several at once). */
const TERMINALS_SETTLE_MS = 500;

/**
 * This window in the store's windows registry: while its folder is in a linked worktree, the
 * window records that worktree, its task and its terminals there, and refreshes the record every
 * WINDOW_HEARTBEAT_MS, so a removal from another window or process names this window and asks
 * first. When the folder disappears anyway (removed with `evenIfOpen`, or by hand), the window
 * says so and offers to close or to open the main repository, instead of an empty board.
 */
export class WindowPresence implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** The service the current registration was made with: a new one (a restarted session) registers again. */
  private registeredWith: TaskService | undefined;
  private worktree: { path: string; taskId?: string } | undefined;
  private mainWorktree: string | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private terminalsTimer: NodeJS.Timeout | undefined;
  private folderWatcher: FSWatcher | undefined;

  constructor(
    private readonly session: Session,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const terminalsChanged = (): void => {
      clearTimeout(this.terminalsTimer);
      this.terminalsTimer = setTimeout(() => void this.beat(), TERMINALS_SETTLE_MS);
    };
    this.disposables.push(
      // Fires on every board change, the removal of a worktree included (git's worktrees/ folder is watched).
      session.onDidChange(() => void this.update()),
      vscode.window.onDidOpenTerminal(terminalsChanged),
      vscode.window.onDidCloseTerminal(terminalsChanged),
      vscode.window.onDidChangeTerminalShellIntegration(terminalsChanged),
      vscode.window.onDidEndTerminalShellExecution(terminalsChanged),
      vscode.commands.registerCommand('taskWorktrees.openMainRepository', () => this.openMainRepository()),
    );
  }

  private async update(): Promise<void> {
    if (this.session.state === 'orphaned') return;
    if (this.worktree && !existsSync(this.worktree.path)) return this.orphaned();
    if (this.session.state !== 'ready') return;
    // The repository of the window's folder: in a multi-root workspace there are several, and only the first folder is recorded.
    const folder = this.session.folder?.fsPath;
    const service = folder === undefined ? undefined : this.session.repositoryContaining(folder)?.service;
    if (!service || service === this.registeredWith) return;
    this.registeredWith = service;
    await this.register(service).catch((error: Error) => this.log.warn(`This window is not in the windows registry: ${error.message}`));
  }

  /** Read from the folder's `.git` file, without git: a window costs no git process, at open or per refresh. */
  private async register(service: TaskService): Promise<void> {
    this.stop();
    await this.forget(service);
    this.mainWorktree = service.mainWorktree;
    const folder = this.session.folder?.fsPath;
    // Only a linked worktree can be removed from under a window: the main one never is.
    const worktreePath = folder && linkedWorktreeOf(folder, service.commonDir);
    if (!worktreePath) return;
    this.worktree = { path: worktreePath, taskId: (await service.taskAt(worktreePath))?.id };
    this.watchFolder(worktreePath);
    this.heartbeat = setInterval(() => void this.beat(), WINDOW_HEARTBEAT_MS);
    await this.beat();
  }

  private async beat(): Promise<void> {
    const { worktree, registeredWith: service } = this;
    if (!worktree || !service) return;
    if (!existsSync(worktree.path)) return this.orphaned();
    await service
      .recordWindow({ worktreePath: worktree.path, taskId: worktree.taskId, terminals: this.terminalsIn(worktree.path) })
      .catch((error: Error) => this.log.warn(`The heartbeat of this window failed: ${error.message}`));
  }

  /** This window's terminals working inside the worktree, by name. */
  private terminalsIn(worktreePath: string): string[] {
    const root = canonicalPath(worktreePath);
    return vscode.window.terminals
      .filter((terminal) => {
        const cwd = terminalCwd(terminal) ?? this.session.folder?.fsPath; // a terminal opened without a cwd starts in the folder
        return cwd !== undefined && isInside(canonicalPath(cwd), root);
      })
      .map((terminal) => terminal.name);
  }

  /**
   * Removing a worktree deletes its folder first: watching the folder's parent for its name sees
   * that at once (the board's refresh and the heartbeat see it too, later). The parent, not the
   * folder itself, so edits inside the worktree wake nothing.
   */
  private watchFolder(worktreePath: string): void {
    const name = basename(worktreePath);
    try {
      this.folderWatcher = watch(dirname(worktreePath), (_event, changed) => {
        if (changed?.toString() === name && !existsSync(worktreePath)) void this.orphaned();
      });
      this.folderWatcher.on('error', () => this.folderWatcher?.close());
    } catch (error) {
      this.log.debug(`cannot watch ${dirname(worktreePath)}: ${(error as Error).message}`);
    }
  }

  private async orphaned(): Promise<void> {
    if (this.session.state === 'orphaned' || !this.worktree) return;
    const { path } = this.worktree;
    const service = this.registeredWith;
    this.stop();
    this.session.markOrphaned();
    this.log.warn(`This window's folder ${path} was removed.`);
    if (service) await this.forget(service);
    const closeWindow = vscode.l10n.t('Close Window');
    const openMain = vscode.l10n.t('Open the Main Repository');
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t('The folder of this window, {0}, was removed with its worktree. What was committed is on the task\'s branch.', path),
      closeWindow,
      openMain,
    );
    if (choice === closeWindow) await vscode.commands.executeCommand('workbench.action.closeWindow');
    else if (choice === openMain) await this.openMainRepository();
  }

  private async openMainRepository(): Promise<void> {
    if (!this.mainWorktree) return;
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(this.mainWorktree), { forceReuseWindow: true });
  }

  private async forget(service: TaskService | undefined): Promise<void> {
    if (!this.worktree || !service) return;
    this.worktree = undefined;
    await service.clearWindow().catch((error: Error) => this.log.warn(`This window's record was not removed: ${error.message}`));
  }

  private stop(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.terminalsTimer);
    this.folderWatcher?.close();
    this.folderWatcher = undefined;
  }

  dispose(): void {
    this.stop();
    this.disposables.forEach((disposable) => disposable.dispose());
    void this.forget(this.registeredWith);
  }
}

/**
 * The linked worktree `folder` is in: the nearest folder up with a `.git` file whose git dir is one
 * of the repository's worktree records (`<common>/worktrees/<name>`). Undefined in the main
 * worktree, a submodule or a separate git dir.
 */
function linkedWorktreeOf(folder: string, commonDir: string): string | undefined {
  const records = join(commonDir, 'worktrees');
  for (let dir = folder; ; dir = dirname(dir)) {
    const gitDir = worktreeGitDir(dir);
    if (gitDir) return canonicalPath(dirname(gitDir)) === canonicalPath(records) ? dir : undefined;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Where a terminal works: what shell integration reports, else what it was created with. */
function terminalCwd(terminal: vscode.Terminal): string | undefined {
  const reported = terminal.shellIntegration?.cwd;
  if (reported?.scheme === 'file') return reported.fsPath;
  const options = terminal.creationOptions;
  const cwd = 'cwd' in options ? options.cwd : undefined;
  if (typeof cwd === 'string') return cwd;
  return cwd?.scheme === 'file' ? cwd.fsPath : undefined;
}

/**
 * Runs a removal that the core may refuse because other windows have the worktree open
 * (WorktreeOpenInWindow): then names those windows and their terminals in a modal and, if the
 * person agrees, runs it again with `evenIfOpen`. The answer holds for the later attempts of the
 * same removal (e.g. forced after the unsaved-work modal): ask once per removal.
 */
export function askBeforeRemovingFromOpenWindows(subject: string): <T>(attempt: (evenIfOpen: boolean) => Promise<T>) => Promise<T | undefined> {
  let agreed = false;
  return async (attempt) => {
    try {
      return await attempt(agreed);
    } catch (error) {
      if (agreed || !isCoded(error, 'WorktreeOpenInWindow')) throw error;
      agreed = await prompts.confirmLoss(
        vscode.l10n.t('The worktree of "{0}" is open in {1} other window(s).', subject, error.details.length),
        `${prompts.listForModal(error.details)}\n\n${vscode.l10n.t('Removing it deletes the folder those windows and terminals work in. They stay open and say that it is gone. Keep Worktree (the default) changes nothing.')}`,
        vscode.l10n.t('Remove Anyway'),
      );
      return agreed ? attempt(true) : undefined;
    }
  };
}
