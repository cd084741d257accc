import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as vscode from 'vscode';
export { rejectsWithCode } from '../fixtures/assertions';
import type { ActivationReport, TaskWorktreesApi } from '../../src/api';

export const EXTENSION_ID = 'task-worktrees.task-worktrees';

export function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the host opened a workspace folder');
  return folder.uri.fsPath;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}

export async function activeApi(): Promise<TaskWorktreesApi & ActivationReport> {
  const extension = vscode.extensions.getExtension<TaskWorktreesApi & ActivationReport>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is installed in the host`);
  return extension.activate();
}

/** Polls `check` until it returns a value (the board is refreshed by file watchers, asynchronously). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function command<T>(id: string, args: Record<string, unknown>): Promise<T> {
  return (await vscode.commands.executeCommand(`taskWorktrees.${id}`, args)) as T;
}

/** Runs a language model tool the way a chat agent's host does, outside any chat, and returns its text. */
export async function invokeTool(name: string, input: object): Promise<string> {
  const result = await vscode.lm.invokeTool(name, { input, toolInvocationToken: undefined });
  return result.content
    .map((part) => {
      assert.ok(part instanceof vscode.LanguageModelTextPart, `${name} answers with text parts only`);
      return part.value;
    })
    .join('');
}
