import * as vscode from 'vscode';
import type { AutoMergeMode } from '../core';

/** The merge flow's settings (package.json: taskWorktrees.autoMerge, conflictResolver, mergeGate). */

export type ConflictResolver = 'ask' | 'mergeEditor' | 'agent';

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('taskWorktrees');
}

export function autoMergeSetting(): AutoMergeMode {
  return config().get<string>('autoMerge') === 'onComplete' ? 'onComplete' : 'off';
}

export function conflictResolverSetting(): ConflictResolver {
  const value = config().get<string>('conflictResolver');
  return value === 'mergeEditor' || value === 'agent' ? value : 'ask';
}

/** The merge queue's gate: user configuration, so run only in a trusted workspace (a restricted setting there). */
export function mergeGateSetting(): string | undefined {
  const gate = config().get<string>('mergeGate', '').trim();
  return gate && vscode.workspace.isTrusted ? gate : undefined;
}
