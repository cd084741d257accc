import * as vscode from 'vscode';
import { globsToIncludePatterns, LifecycleSettings, PortSettings } from '../core';
import { DEFAULT_PORTS, portSettingsProblem } from '../core/tasks/ports';

export type AfterCreate = 'ask' | 'newWindow' | 'currentWindow' | 'nothing';
export type DeleteBranchAfterMerge = 'ask' | 'always' | 'never';

export interface ExtensionSettings extends LifecycleSettings {
  afterCreate: AfterCreate;
  deleteBranchAfterMerge: DeleteBranchAfterMerge;
}

export function readSettings(): ExtensionSettings {
  const config = vscode.workspace.getConfiguration('taskWorktrees');
  return {
    worktreeRoot: config.get<string>('worktreeRoot', '.worktrees'),
    branchPrefix: config.get<string>('branchPrefix', 'task/'),
    defaultBaseBranch: config.get<string>('defaultBaseBranch', ''),
    mergeStrategy: config.get<'merge' | 'squash'>('mergeStrategy', 'merge'),
    maxSnapshots: config.get<number>('maxSnapshots', 20),
    afterCreate: config.get<AfterCreate>('afterCreate', 'ask'),
    deleteBranchAfterMerge: config.get<DeleteBranchAfterMerge>('deleteBranchAfterMerge', 'ask'),
    ports: portSettings(config),
    includePatterns: globsToIncludePatterns(gitWorktreeIncludeFiles()),
  };
}

/** Out-of-range values (the settings editor only warns) fall back to the defaults rather than stop the extension. */
function portSettings(config: vscode.WorkspaceConfiguration): PortSettings {
  const ports = { base: config.get<number>('ports.base', DEFAULT_PORTS.base), blockSize: config.get<number>('ports.blockSize', DEFAULT_PORTS.blockSize) };
  return portSettingsProblem(ports) ? DEFAULT_PORTS : ports;
}

/** VS Code's own list of ignored files to copy into new worktrees (glob patterns, per folder). */
function gitWorktreeIncludeFiles(): string[] {
  const value = vscode.workspace.getConfiguration('git', vscode.workspace.workspaceFolders?.[0]?.uri).get<unknown>('worktreeIncludeFiles', []);
  return Array.isArray(value) ? value.filter((glob): glob is string => typeof glob === 'string' && !/[\0\r\n]/.test(glob)) : [];
}

/** VS Code's own `git.path` (a string or a list of candidates), so we run the git the user chose. */
export function configuredGitPath(): string | undefined {
  const value = vscode.workspace.getConfiguration('git').get<string | string[] | null>('path');
  const first = Array.isArray(value) ? value[0] : value;
  return first || undefined;
}
