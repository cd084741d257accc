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

  test('each task row shows its state at a glance, without expanding; a single click only selects it', async () => {
    const { page, context } = workbench;
    // A commit on the task branch: the row says it is ahead of its base.
    writeFileSync(join(seeded.search.worktreePath, 'search.js'), 'export const search = () => [];\n');
    execFileSync('git', ['add', '-A'], { cwd: seeded.search.worktreePath });
    execFileSync('git', ['commit', '-q', '-m', 'search box'], { cwd: seeded.search.worktreePath });
    await openBoard(page);
    await waitForRow(page, 'Fix login redirect');
    await waitForRow(page, '↑1');
    const rows = await rowsText(page);
    const row = (subject) => rows.find((text) => text.includes(subject)) ?? '';
    assert.ok(rows.indexOf(row('Fix login redirect')) > rows.findIndex((text) => text.startsWith('In Progress')), `the login task is under In Progress:\n${rows.join('\n')}`);
    for (const expected of ['@claude-code', '1 changed']) assert.ok(row('Fix login redirect').includes(expected), `the login row shows "${expected}": ${row('Fix login redirect')}`);
    for (const expected of ['clean', '↑1']) assert.ok(row('Add search box').includes(expected), `the search row shows "${expected}": ${row('Add search box')}`);
    assert.ok(row('Write release notes').includes('no worktree'), row('Write release notes'));
    await page.screenshot({ path: join(results, 'board-at-a-glance.png') });
    console.log(`      screenshot: ${join(results, 'board-at-a-glance.png')}`);
    // A click selects; no window opens (opening is the inline button, Enter or the menu).
    const pagesBefore = context.pages().length;
    await page.locator('[id="workbench.parts.sidebar"] .monaco-list-row', { hasText: 'Fix login redirect' }).first().click();
    await page.waitForTimeout(1500);
    assert.equal(context.pages().length, pagesBefore, 'a single click opened no window');
    // Expanding a task shows its worktree and branch.
    await page.keyboard.press('ArrowRight');
    await waitForRow(page, '.worktrees/fix-login-redirect');
    assert.ok((await rowsText(page)).some((text) => text.includes('.worktrees/fix-login-redirect') && text.includes('task/fix-login-redirect')));
  });

  test('Filter Tasks from the title bar hides other tasks and says so; Clear Filter brings them back', async () => {
    const { page } = workbench;
    await runFromPalette(page, 'Task Worktrees: Filter Tasks…');
    await pick(page, 'By Text');
    const input = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-widget', { hasText: 'Filter Tasks by Text' }).waitFor();
    await input.fill('login');
    await page.keyboard.press('Enter');
    const sidebar = page.locator('[id="workbench.parts.sidebar"]');
    // The view's message says a filter hides tasks (its description names the filter where the header shows it).
    await sidebar.getByText('Filtered: 1 of 3 tasks shown', { exact: false }).first().waitFor({ timeout: 20_000 });
    const deadline = Date.now() + 20_000;
    while ((await rowsText(page)).some((text) => text.includes('Add search box')) && Date.now() < deadline) await page.waitForTimeout(100);
    const rows = (await rowsText(page)).join('\n');
    assert.ok(rows.includes('Fix login redirect') && !rows.includes('Add search box') && !rows.includes('Write release notes'), rows);
    await page.screenshot({ path: join(results, 'board-filtered.png') });
    console.log(`      screenshot: ${join(results, 'board-filtered.png')}`);
    await runFromPalette(page, 'Task Worktrees: Clear Task Filter');
    await waitForRow(page, 'Add search box');
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
    await waitForRow(page, 'merged');
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
    // The task window's board marks its own task.
    assert.ok((await rowsText(taskWindow)).some((text) => text.includes('Add search box') && text.includes('this window')), (await rowsText(taskWindow)).join('\n'));
    await taskWindow.screenshot({ path: join(results, 'task-window.png') });
  });

  test('Enter on a selected task row opens its worktree in a new window', async () => {
    const { page, context } = workbench;
    // The board is open since the first test (clicking its activity-bar item again would close it).
    if (!(await rowsText(page)).some((text) => text.includes('Fix login redirect'))) await openBoard(page);
    await page.locator('[id="workbench.parts.sidebar"] .monaco-list-row', { hasText: 'Fix login redirect' }).first().click();
    const newPage = context.waitForEvent('page', { timeout: 30_000 });
    await page.keyboard.press('Enter');
    const taskWindow = await newPage;
    await taskWindow.waitForLoadState();
    assert.equal(new URL(taskWindow.url()).searchParams.get('folder'), seeded.login.worktreePath);
    await taskWindow.close();
  });
});
