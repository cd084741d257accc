// UI end-to-end in the real workbench (code-server + headless Chromium): the extension is loaded in
// development mode without a tests path, and Playwright drives it as a person would.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  boardRow, clickDialogButton, closeDialogWith, commitFiles, dialogOf, nameTaskWithDefaults, openBoard, openBoardWithRow, openTaskService, pick,
  quickInputBox, removeWorktreeUntilWarned, rowsText, runFromPalette, screenshot, sidebarOf, until, waitForQuickInput, waitForRow, windowOpenedBy, workbenchOnFreshRepo,
} from './workbench.mjs';

suite('UI end to end: the board in a real workbench', function () {
  const ui = workbenchOnFreshRepo({
    prepare: async (repo) => {
      const service = await openTaskService(repo);
      const login = await service.createWorktree((await service.createTask({ subject: 'Fix login redirect' })).id);
      await service.setStatus(login.id, 'in_progress', 'claude-code');
      writeFileSync(join(login.worktreePath, 'src', 'redirect.js'), 'export const target = "/dashboard";\n'); // an agent's unsaved work
      const search = await service.createWorktree((await service.createTask({ subject: 'Add search box' })).id);
      await service.createTask({ subject: 'Write release notes' });
      return { login, search };
    },
  });

  test('each task row shows its state at a glance, without expanding; a single click only selects it', async () => {
    const { page, context } = ui.workbench;
    // A commit on the task branch: the row says it is ahead of its base.
    commitFiles(ui.search.worktreePath, { 'search.js': 'export const search = () => [];\n' }, 'search box');
    await openBoardWithRow(page, 'Fix login redirect');
    // A row's details (changes, ahead/behind, forecast) arrive after the row itself: wait for all of them.
    const expected = { 'Fix login redirect': ['@claude-code', '1 changed'], 'Add search box': ['clean', '↑1'], 'Write release notes': ['no worktree'] };
    let rows = [];
    const row = (subject) => rows.find((text) => text.includes(subject)) ?? '';
    await until(async () => {
      rows = await rowsText(page);
      return Object.entries(expected).every(([subject, parts]) => parts.every((part) => row(subject).includes(part)));
    }, 'every row to show its state').catch(() => {});
    assert.ok(rows.indexOf(row('Fix login redirect')) > rows.findIndex((text) => text.startsWith('In Progress')), `the login task is under In Progress:\n${rows.join('\n')}`);
    for (const [subject, parts] of Object.entries(expected)) {
      for (const part of parts) assert.ok(row(subject).includes(part), `the row of "${subject}" shows "${part}": ${row(subject)}`);
    }
    await screenshot(page, 'board-at-a-glance.png');
    // A click selects; no window opens (opening is the inline button, Enter or the menu).
    const pagesBefore = context.pages().length;
    await boardRow(page, 'Fix login redirect').click();
    await page.waitForTimeout(1500);
    assert.equal(context.pages().length, pagesBefore, 'a single click opened no window');
    // Expanding a task shows its worktree and branch.
    await page.keyboard.press('ArrowRight');
    await waitForRow(page, '.worktrees/fix-login-redirect');
    assert.ok((await rowsText(page)).some((text) => text.includes('.worktrees/fix-login-redirect') && text.includes('task/fix-login-redirect')));
  });

  test('Filter Tasks from the title bar hides other tasks and says so; Clear Filter brings them back', async () => {
    const { page } = ui;
    await runFromPalette(page, 'Task Worktrees: Filter Tasks…');
    await pick(page, 'By Text');
    await waitForQuickInput(page, 'Filter Tasks by Text');
    await quickInputBox(page).fill('login');
    await page.keyboard.press('Enter');
    // The view's message says a filter hides tasks (its description names the filter where the header shows it).
    await sidebarOf(page).getByText('Filtered: 1 of 3 tasks shown', { exact: false }).first().waitFor({ timeout: 20_000 });
    await until(async () => !(await rowsText(page)).some((text) => text.includes('Add search box')), 'the filter to hide "Add search box"');
    const rows = (await rowsText(page)).join('\n');
    assert.ok(rows.includes('Fix login redirect') && !rows.includes('Add search box') && !rows.includes('Write release notes'), rows);
    await screenshot(page, 'board-filtered.png');
    await runFromPalette(page, 'Task Worktrees: Clear Task Filter');
    await waitForRow(page, 'Add search box');
  });

  test('Create Task from the command palette adds a task with its worktree, shown on the board', async () => {
    const { page } = ui;
    await runFromPalette(page, 'Task Worktrees: Create Task');
    await waitForQuickInput(page, 'Create Task (1/3)');
    await nameTaskWithDefaults(page, 'Write the docs');
    await waitForRow(page, 'Write the docs');
    const worktree = join(ui.repo, '.worktrees', 'write-the-docs');
    assert.ok(existsSync(worktree), 'the worktree exists on disk');
    assert.equal(execFileSync('git', ['branch', '--show-current'], { cwd: worktree, encoding: 'utf8' }).trim(), 'task/write-the-docs');
    await screenshot(page, 'board.png');
  });

  test('Merge Task from the palette: confirm, merge, then clean up worktree and branch in the dialog', async () => {
    const { page, repo } = ui;
    const worktree = join(repo, '.worktrees', 'write-the-docs');
    commitFiles(worktree, { 'docs.md': '# Docs\n' }, 'write the docs');
    await runFromPalette(page, 'Task Worktrees: Merge Task into Base');
    await pick(page, 'Write the docs');
    const dialog = dialogOf(page);
    await dialog.getByText('Merge "Write the docs" into main?', { exact: false }).waitFor({ timeout: 20_000 });
    await clickDialogButton(page, /^Merge$/);
    await dialog.getByText('is merged. Clean up its worktree', { exact: false }).waitFor({ timeout: 20_000 });
    await clickDialogButton(page, 'Remove Worktree and Branch');
    await waitForRow(page, 'Completed');
    await waitForRow(page, 'merged');
    await until(() => !existsSync(worktree), 'the worktree to be removed');
    assert.equal(existsSync(worktree), false, 'the worktree was removed');
    assert.equal(execFileSync('git', ['show', 'main:docs.md'], { cwd: repo, encoding: 'utf8' }), '# Docs\n', 'main has the task\'s work');
    // The branch goes after the folder (one removal, two git processes): waited for, as the folder is.
    await until(() => execFileSync('git', ['branch', '--list', 'task/write-the-docs'], { cwd: repo, encoding: 'utf8' }) === '', 'the merged branch to be deleted');
  });

  test('Remove Worktree on unsaved work asks in a modal that lists it; Cancel keeps everything', async () => {
    const { page } = ui;
    const unsaved = join(ui.login.worktreePath, 'src', 'redirect.js');
    const dialog = await removeWorktreeUntilWarned(page, 'Fix login redirect', 'has work that would be lost');
    assert.match(await dialog.innerText(), /src\/redirect\.js/, 'the modal lists the unsaved file');
    await screenshot(page, 'remove-modal.png');
    await closeDialogWith(page, 'Cancel');
    assert.ok(existsSync(unsaved), 'the unsaved file is still there');
    assert.ok(existsSync(ui.login.worktreePath), 'the worktree is still there');
  });

  test('Open Task in New Window opens the worktree in a new window that shows the same board and its task in the status bar', async () => {
    const { page, context } = ui.workbench;
    const taskWindow = await windowOpenedBy(context, async () => {
      await runFromPalette(page, 'Task Worktrees: Open Task in New Window');
      await pick(page, 'Add search box');
    });
    const folder = new URL(taskWindow.url()).searchParams.get('folder');
    assert.equal(folder, ui.search.worktreePath);
    await openBoardWithRow(taskWindow, 'Fix login redirect', 60_000);
    await waitForRow(taskWindow, 'Write the docs');
    await taskWindow.locator('.statusbar-item', { hasText: 'Add search box' }).first().waitFor({ timeout: 20_000 });
    // The task window's board marks its own task.
    assert.ok((await rowsText(taskWindow)).some((text) => text.includes('Add search box') && text.includes('this window')), (await rowsText(taskWindow)).join('\n'));
    await screenshot(taskWindow, 'task-window.png');
  });

  test('Enter on a selected task row opens its worktree in a new window', async () => {
    const { page, context } = ui.workbench;
    // The board is open since the first test (clicking its activity-bar item again would close it).
    if (!(await rowsText(page)).some((text) => text.includes('Fix login redirect'))) await openBoard(page);
    await boardRow(page, 'Fix login redirect').click();
    const taskWindow = await windowOpenedBy(context, () => page.keyboard.press('Enter'));
    assert.equal(new URL(taskWindow.url()).searchParams.get('folder'), ui.login.worktreePath);
    await taskWindow.close();
  });
});
