// UI end-to-end in the real workbench (code-server + headless Chromium): the extension is loaded in
// development mode without a tests path, and Playwright drives it as a person would.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startWorkbench } from '../runner/codeServer.mjs';
import { makeWorkspaceRepo, removeWorkspaceRepo } from '../runner/workspace.mjs';
import { openBoard, pick, results, root, rowsText, runFromPalette, waitForRow } from './workbench.mjs';

const { TaskService } = createRequire(import.meta.url)(join(root, 'out', 'src', 'core', 'index.js'));

suite('UI end to end: the board in a real workbench', function () {
  let repo;
  let workbench;
  let seeded;

  suiteSetup(async () => {
    mkdirSync(results, { recursive: true });
    repo = makeWorkspaceRepo();
    const service = await TaskService.open(repo);
    const login = await service.createWorktree((await service.createTask({ subject: 'Fix login redirect' })).id);
    await service.setStatus(login.id, 'in_progress', 'claude-code');
    writeFileSync(join(login.worktreePath, 'src', 'redirect.js'), 'export const target = "/dashboard";\n'); // an agent's unsaved work
    const search = await service.createWorktree((await service.createTask({ subject: 'Add search box' })).id);
    await service.createTask({ subject: 'Write release notes' });
    seeded = { login, search };
    workbench = await startWorkbench({ workspace: repo, extensionDevelopmentPath: root, onHostLog: () => undefined });
  });

  suiteTeardown(async () => {
    await workbench?.close();
    if (repo) removeWorkspaceRepo(repo);
  });

  test('the tree shows the tasks of the repository, grouped by status, with their branches', async () => {
    const { page } = workbench;
    await openBoard(page);
    await waitForRow(page, 'Fix login redirect');
    const rows = await rowsText(page);
    const text = rows.join('\n');
    for (const expected of ['In Progress', 'Pending', 'Fix login redirect', 'task/fix-login-redirect', '@claude-code', 'Add search box', 'task/add-search-box', 'Write release notes', 'no worktree']) {
      assert.ok(text.includes(expected), `the board shows "${expected}":\n${text}`);
    }
    // Expanding a task shows its worktree with the uncommitted work an agent left there.
    await page.locator('[id="workbench.parts.sidebar"] .monaco-list-row', { hasText: 'Fix login redirect' }).first().click();
    await page.keyboard.press('ArrowRight');
    await waitForRow(page, '1 changed');
    assert.ok((await rowsText(page)).some((row) => row.includes('.worktrees/fix-login-redirect') && row.includes('1 changed')));
  });

  test('Create Task from the command palette adds a task with its worktree, shown on the board', async () => {
    const { page } = workbench;
    await runFromPalette(page, 'Task Worktrees: Create Task');
    const input = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-widget', { hasText: 'Create Task (1/3)' }).waitFor();
    await input.fill('Write the docs');
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget', { hasText: 'Create Task (2/3)' }).waitFor();
    await page.keyboard.press('Enter'); // the id proposed from the subject
    await page.locator('.quick-input-widget', { hasText: 'Create Task (3/3)' }).waitFor();
    await page.keyboard.press('Enter'); // base: the current branch, offered first
    await waitForRow(page, 'Write the docs');
    await waitForRow(page, 'task/write-the-docs');
    const worktree = join(repo, '.worktrees', 'write-the-docs');
    assert.ok(existsSync(worktree), 'the worktree exists on disk');
    assert.equal(execFileSync('git', ['branch', '--show-current'], { cwd: worktree, encoding: 'utf8' }).trim(), 'task/write-the-docs');
    await page.screenshot({ path: join(results, 'board.png') });
    console.log(`      screenshot: ${join(results, 'board.png')}`);
  });

  test('Merge Task from the palette: confirm, merge, then clean up worktree and branch in the dialog', async () => {
    const { page } = workbench;
    const worktree = join(repo, '.worktrees', 'write-the-docs');
    writeFileSync(join(worktree, 'docs.md'), '# Docs\n');
    execFileSync('git', ['add', '-A'], { cwd: worktree });
    execFileSync('git', ['commit', '-q', '-m', 'write the docs'], { cwd: worktree });
    await runFromPalette(page, 'Task Worktrees: Merge Task into Base');
    await pick(page, 'Write the docs');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.getByText('Merge "Write the docs" into main?', { exact: false }).waitFor({ timeout: 20_000 });
    await dialog.locator('.monaco-button', { hasText: /^Merge$/ }).click();
    await dialog.getByText('is merged. Clean up its worktree', { exact: false }).waitFor({ timeout: 20_000 });
    await dialog.locator('.monaco-button', { hasText: 'Remove Worktree and Branch' }).click();
    await waitForRow(page, 'Completed');
    const deadline = Date.now() + 20_000;
    while (existsSync(worktree) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(existsSync(worktree), false, 'the worktree was removed');
    assert.equal(execFileSync('git', ['show', 'main:docs.md'], { cwd: repo, encoding: 'utf8' }), '# Docs\n', 'main has the task\'s work');
    assert.equal(execFileSync('git', ['branch', '--list', 'task/write-the-docs'], { cwd: repo, encoding: 'utf8' }), '', 'the merged branch was deleted');
  });

  test('Remove Worktree on unsaved work asks in a modal that lists it; Cancel keeps everything', async () => {
    const { page } = workbench;
    const unsaved = join(seeded.login.worktreePath, 'src', 'redirect.js');
    await runFromPalette(page, 'Task Worktrees: Remove Worktree');
    await pick(page, 'Fix login redirect');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.getByText('Remove the worktree of', { exact: false }).waitFor({ timeout: 20_000 });
    await dialog.locator('.monaco-button', { hasText: 'Remove Worktree' }).click();
    await dialog.getByText('has work that would be lost', { exact: false }).waitFor({ timeout: 20_000 });
    assert.match(await dialog.innerText(), /src\/redirect\.js/, 'the modal lists the unsaved file');
    await page.screenshot({ path: join(results, 'remove-modal.png') });
    await dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.ok(existsSync(unsaved), 'the unsaved file is still there');
    assert.ok(existsSync(seeded.login.worktreePath), 'the worktree is still there');
  });

  test('Open Task in New Window opens the worktree in a new window that shows the same board and its task in the status bar', async () => {
    const { page, context } = workbench;
    const newPage = context.waitForEvent('page', { timeout: 30_000 });
    await runFromPalette(page, 'Task Worktrees: Open Task in New Window');
    await pick(page, 'Add search box');
    const taskWindow = await newPage;
    await taskWindow.waitForLoadState();
    const folder = new URL(taskWindow.url()).searchParams.get('folder');
    assert.equal(folder, seeded.search.worktreePath);
    await openBoard(taskWindow);
    await waitForRow(taskWindow, 'Fix login redirect', 60_000);
    await waitForRow(taskWindow, 'Write the docs');
    await taskWindow.locator('.statusbar-item', { hasText: 'Add search box' }).first().waitFor({ timeout: 20_000 });
    await taskWindow.screenshot({ path: join(results, 'task-window.png') });
  });
});
