import * as vscode from 'vscode';
import { globsToIncludePatterns, LifecycleSettings, PortSettings } from '../core';
import type { Session } from './session';
import { DEFAULT_PORTS, portSettingsProblem } from '../core/tasks/ports';

export type AfterCreate = 'ask' | 'newWindow' | 'currentWindow' | 'nothing';
export type DeleteBranchAfterMerge = 'ask' | 'always' | 'never';

export interface ExtensionSettings extends LifecycleSettings {
  afterCreate: AfterCreate;
  deleteBranchAfterMerge: DeleteBranchAfterMerge;
}

/**
 * The settings as they apply to the repository whose workspace folder is `scope` (see
 * settingsFolder): in a multi-root workspace each folder may set its own. Without a scope, the
 * workspace's and the user's.
 */
export function readSettings(scope?: vscode.Uri): ExtensionSettings {
  const config = vscode.workspace.getConfiguration('taskWorktrees', scope);
  return {
    worktreeRoot: config.get<string>('worktreeRoot', '.worktrees'),
    branchPrefix: config.get<string>('branchPrefix', 'task/'),
    defaultBaseBranch: config.get<string>('defaultBaseBranch', ''),
    mergeStrategy: config.get<'merge' | 'squash'>('mergeStrategy', 'merge'),
    maxSnapshots: config.get<number>('maxSnapshots', 20),
    afterCreate: config.get<AfterCreate>('afterCreate', 'ask'),
    deleteBranchAfterMerge: config.get<DeleteBranchAfterMerge>('deleteBranchAfterMerge', 'ask'),
    ports: portSettings(config),
    includePatterns: globsToIncludePatterns(gitWorktreeIncludeFiles(scope)),
  };
}

/** Out-of-range values (the settings editor only warns) fall back to the defaults rather than stop the extension. */
function portSettings(config: vscode.WorkspaceConfiguration): PortSettings {
  const ports = { base: config.get<number>('ports.base', DEFAULT_PORTS.base), blockSize: config.get<number>('ports.blockSize', DEFAULT_PORTS.blockSize) };
  return portSettingsProblem(ports) ? DEFAULT_PORTS : ports;
}

/** VS Code's own list of ignored files to copy into new worktrees (glob patterns, per folder: the repository's, else the first). */
function gitWorktreeIncludeFiles(scope: vscode.Uri | undefined): string[] {
  const value = vscode.workspace.getConfiguration('git', scope ?? vscode.workspace.workspaceFolders?.[0]?.uri).get<unknown>('worktreeIncludeFiles', []);
  return Array.isArray(value) ? value.filter((glob): glob is string => typeof glob === 'string' && !/[\0\r\n]/.test(glob)) : [];
}

/**
 * Where a repository's settings are read: its first workspace folder. Resource settings
 * (setupCommand, worktreeRoot, mergeStrategy, …) may differ per folder of a multi-root workspace,
 * and a repository's worktrees lie outside every folder, so a task is never its own scope.
 * `service`: the repository's (default: the one the running command works on).
 */
export function settingsFolder(session: Session, service = session.service): vscode.Uri | undefined {
  return session.repositories.find((repository) => repository.service === service)?.folders[0];
}

/** VS Code's own `git.path` (a string or a list of candidates), so we run the git the user chose. */
export function configuredGitPath(): string | undefined {
  const value = vscode.workspace.getConfiguration('git').get<string | string[] | null>('path');
  const first = Array.isArray(value) ? value[0] : value;
  return first || undefined;
}
