// UI end-to-end: what the board says when it has nothing to show — no tasks yet, no repository, or
// a workspace without trust (Restricted Mode), where nothing may touch the repository.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorkbench } from '../runner/codeServer.mjs';
import { makeWorkspaceRepo, removeWorkspaceRepo } from '../runner/workspace.mjs';
import { openBoard, results, root } from './workbench.mjs';

suite('UI end to end: welcome content', function () {
  let repo;
  let plainFolder;
  let workbench;

  suiteSetup(async () => {
    repo = makeWorkspaceRepo();
    plainFolder = mkdtempSync(join(tmpdir(), 'tw-plain-'));
    workbench = await startWorkbench({ workspace: repo, extensionDevelopmentPath: root, onHostLog: () => undefined });
  });

  suiteTeardown(async () => {
    await workbench?.close();
    if (repo) removeWorkspaceRepo(repo);
    if (plainFolder) rmSync(plainFolder, { recursive: true, force: true });
  });

  test('a repository without tasks: the board explains what a task is and offers Create Task', async () => {
    const sidebar = await openBoard(workbench.page);
    await sidebar.getByText('No tasks yet', { exact: false }).waitFor({ timeout: 20_000 });
    await sidebar.locator('.welcome-view-content .monaco-button', { hasText: 'Create Task' }).waitFor();
  });

  test('a folder that is not a git repository: the board says what it needs', async () => {
    await workbench.openFolder(plainFolder);
    const sidebar = await openBoard(workbench.page);
    await sidebar.getByText('needs a folder inside a git repository', { exact: false }).waitFor({ timeout: 20_000 });
    assert.equal(existsSync(join(plainFolder, '.git')), false, 'no repository was made');
  });
});

suite('UI end to end: an untrusted workspace', function () {
  let repo;
  let workbench;

  suiteSetup(async () => {
    mkdirSync(results, { recursive: true });
    repo = makeWorkspaceRepo();
    workbench = await startWorkbench({ workspace: repo, extensionDevelopmentPath: root, workspaceTrust: true, onHostLog: () => undefined });
  });

  suiteTeardown(async () => {
    await workbench?.close();
    if (repo) removeWorkspaceRepo(repo);
  });

  test('the board explains Restricted Mode and offers to manage trust; the repository is untouched', async () => {
    const { page } = workbench;
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 60_000 });
    const sidebar = await openBoard(page);
    await sidebar.getByText('This workspace is not trusted', { exact: false }).waitFor({ timeout: 20_000 });
    await sidebar.getByRole('button', { name: 'Manage Workspace Trust' }).waitFor();
    await page.screenshot({ path: join(results, 'untrusted.png') });
    assert.equal(existsSync(join(repo, '.git', 'task-worktrees')), false, 'no store was created');
  });
});
