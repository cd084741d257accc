import * as vscode from 'vscode';
import type { AutoMergeMode } from '../core';

/** The merge flow's settings (package.json: taskWorktrees.autoMerge, conflictResolver, mergeGate). */

export type ConflictResolver = 'ask' | 'mergeEditor' | 'agent';

function config(scope?: vscode.Uri): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('taskWorktrees', scope);
}

/** A resource setting: in a multi-root workspace each repository's folder may say otherwise. */
export function autoMergeSetting(scope?: vscode.Uri): AutoMergeMode {
  return config(scope).get<string>('autoMerge') === 'onComplete' ? 'onComplete' : 'off';
}

/** Whether the person set autoMerge at any level (not merely its default) for `scope`. */
export function autoMergeIsSet(scope?: vscode.Uri): boolean {
  const levels = config(scope).inspect<string>('autoMerge');
  return [levels?.globalValue, levels?.workspaceValue, levels?.workspaceFolderValue].some((value) => value !== undefined);
}

export function conflictResolverSetting(scope?: vscode.Uri): ConflictResolver {
  const value = config(scope).get<string>('conflictResolver');
  return value === 'mergeEditor' || value === 'agent' ? value : 'ask';
}

/** The merge queue's gate: user configuration, so run only in a trusted workspace (a restricted setting there). */
export function mergeGateSetting(scope?: vscode.Uri): string | undefined {
  const gate = config(scope).get<string>('mergeGate', '').trim();
  return gate && vscode.workspace.isTrusted ? gate : undefined;
}
