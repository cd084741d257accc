import * as vscode from 'vscode';
import { LifecycleSettings } from '../core';

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
  };
}

/** VS Code's own `git.path` (a string or a list of candidates), so we run the git the user chose. */
export function configuredGitPath(): string | undefined {
  const value = vscode.workspace.getConfiguration('git').get<string | string[] | null>('path');
  const first = Array.isArray(value) ? value[0] : value;
  return first || undefined;
}
