// What the UI end-to-end suites share: the repository and workbench each suite runs in, where results
// go, and the steps a person takes there (open the board, read its rows, run commands from the palette,
// answer a modal), so that each suite says only what is its own.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorkbench } from '../runner/codeServer.mjs';
import { makeWorkspaceRepo, removeWorkspaceRepo } from '../runner/workspace.mjs';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const results = join(root, 'test-results');

const SIDEBAR = '[id="workbench.parts.sidebar"]';
/** The board's rows (tasks, their worktrees, agents and files), for locators that add to it. */
export const BOARD_ROWS = `${SIDEBAR} .monaco-list-row`;

/** A module of the TypeScript build (out/), e.g. 'src/core/index.js': the suites drive the core as a script or agent would. */
export function requireBuilt(path) {
  return createRequire(import.meta.url)(join(root, 'out', path));
}

/** The repository's TaskService, opened the way the CLI opens it (this creates the repository's store). */
export async function openTaskService(repo) {
  return requireBuilt('src/core/index.js').TaskService.open(repo);
}

/**
 * Registers the calling suite's setup and teardown: a fresh repository (makeWorkspaceRepo, named
 * `repoName`), prepared by `prepare(repo)` (tasks, settings, more folders under dirname(repo)), then a
 * workbench with the extension in development mode on `folder(suite)` (default: the repository).
 * Teardown closes the workbench and removes the repository's temp folder with all under it.
 * Returns the suite's state, filled in by the setup: repo, workbench, page, and what prepare returned.
 * The host's log is printed when E2E_HOST_LOG is set.
 */
export function workbenchOnFreshRepo({ repoName, prepare, folder = (suite) => suite.repo, workspaceTrust } = {}) {
  const suite = {};
  suiteSetup(async () => {
    mkdirSync(results, { recursive: true });
    suite.repo = makeWorkspaceRepo(repoName);
    Object.assign(suite, await prepare?.(suite.repo));
    suite.workbench = await startWorkbench({
      workspace: folder(suite),
      extensionDevelopmentPath: root,
      workspaceTrust,
      onHostLog: (line) => process.env.E2E_HOST_LOG && console.log(line),
    });
    suite.page = suite.workbench.page;
  });
  suiteTeardown(async () => {
    await suite.workbench?.close();
    if (suite.repo) removeWorkspaceRepo(suite.repo);
  });
  return suite;
}

/** Writes `files` ({ path: content }) in `dir` and commits all that changed there. */
export function commitFiles(dir, files, message) {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  execFileSync('git', ['add', '-A'], { cwd: dir });
  execFileSync('git', ['commit', '-q', '-m', message], { cwd: dir });
}

/** A task made as Create Task makes it (the task, then its worktree), with one commit of `files` on its branch. */
export async function taskWithCommit(service, subject, files) {
  const task = await service.createWorktree((await service.createTask({ subject })).id);
  commitFiles(task.worktreePath, files, subject);
  return task;
}

/** Polls `check` until it returns a truthy value, which it returns; fails naming `what` (a text, or a function for one) after `timeout` ms. */
export async function until(check, what, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeout} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

/** Waits for a file or folder to exist (made by the extension host, which the test does not wait on otherwise). */
export async function waitForPath(path) {
  await until(() => existsSync(path), `${path} to exist`);
}

/** Saves a screenshot of `page` under test-results/ and prints where. */
export async function screenshot(page, name) {
  const path = join(results, name);
  await page.screenshot({ path });
  console.log(`      screenshot: ${path}`);
}

/** Clicks the extension's activity-bar item and returns the sidebar, widened so rows are not cut in screenshots. */
export async function openBoard(page) {
  const item = page.locator('.activitybar [aria-label^="Task Worktrees"]').first();
  await item.waitFor({ timeout: 60_000 });
  await item.click();
  const sidebar = page.locator(SIDEBAR);
  const box = await sidebar.boundingBox();
  if (box && box.width < 400) {
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width + 1, y);
    await page.mouse.down();
    await page.mouse.move(box.x + 480, y, { steps: 5 });
    await page.mouse.up();
  }
  return sidebar;
}

/** Opens the board and waits for a row with this text (the first such wait covers the extension's activation). */
export async function openBoardWithRow(page, text, timeout = 20_000) {
  await openBoard(page);
  await waitForRow(page, text, timeout);
}

/** Opens the board and waits for its message (a welcome text) to say this; returns the sidebar. */
export async function openBoardSaying(page, text, timeout = 20_000) {
  const sidebar = await openBoard(page);
  await sidebar.getByText(text, { exact: false }).waitFor({ timeout });
  return sidebar;
}

/** The sidebar, without clicking the activity-bar item (a click on it closes a board that is open). */
export function sidebarOf(page) {
  return page.locator(SIDEBAR);
}

/** The first board row with this text. */
export function boardRow(page, text) {
  return page.locator(BOARD_ROWS, { hasText: text }).first();
}

export async function rowsText(page) {
  return page.locator(BOARD_ROWS).allInnerTexts();
}

export async function waitForRow(page, text, timeout = 20_000) {
  await boardRow(page, text).waitFor({ timeout });
}

/** Selects the row with this text and expands it (its worktree, agents or files show under it). */
export async function expandRow(page, text) {
  await boardRow(page, text).click();
  await page.keyboard.press('ArrowRight');
}

/** The quick input's text box. */
export function quickInputBox(page) {
  return page.locator('.quick-input-widget input');
}

/** Waits for the quick input to show this text (its title, a step, a message); returns the widget. */
export async function waitForQuickInput(page, text) {
  const widget = page.locator('.quick-input-widget', { hasText: text });
  await widget.waitFor();
  return widget;
}

/** The quick input's list rows, or those with this text. */
export function quickPickRows(page, text) {
  return page.locator('.quick-input-list .monaco-list-row', text === undefined ? undefined : { hasText: text });
}

/** Clicks the quick-input row with this text (clicked, not Enter: the focused row may be another). */
export async function pick(page, text) {
  const row = quickPickRows(page, text).first();
  await row.waitFor();
  await row.click();
}

/** Opens the command palette with `text` typed after its ">"; returns its text box. */
export async function openPalette(page, text) {
  const input = quickInputBox(page);
  // The quick input closes when focus moves away from it (a view or terminal taking focus as it
  // loads); the workbench's own behaviour, not ours: then it is tried again, three tries in all.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ timeout: 10_000 });
      await input.fill(`>${text}`, { timeout: 10_000 });
      return input;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

export async function runFromPalette(page, title) {
  await openPalette(page, title);
  await pick(page, title);
}

/** In Create Task after its location question: the subject, then Enter on the proposed id and on the current branch as base. */
export async function nameTaskWithDefaults(page, subject) {
  await quickInputBox(page).fill(subject);
  await page.keyboard.press('Enter');
  await waitForQuickInput(page, 'Create Task (2/3)');
  await page.keyboard.press('Enter');
  await waitForQuickInput(page, 'Create Task (3/3)');
  await page.keyboard.press('Enter');
}

/** The modal dialog (there is one at a time). */
export function dialogOf(page) {
  return page.locator('.monaco-dialog-box');
}

export async function clickDialogButton(page, label) {
  await dialogOf(page).locator('.monaco-button', { hasText: label }).click();
}

/**
 * Remove Worktree from the palette on the task with this subject, confirmed in its first modal; waits
 * for the second modal to say `warning` (what the removal would break) and returns the dialog.
 */
export async function removeWorktreeUntilWarned(page, subject, warning) {
  await runFromPalette(page, 'Task Worktrees: Remove Worktree');
  await pick(page, subject);
  const dialog = dialogOf(page);
  await dialog.getByText('Remove the worktree of', { exact: false }).waitFor({ timeout: 20_000 });
  await clickDialogButton(page, 'Remove Worktree');
  await dialog.getByText(warning, { exact: false }).waitFor({ timeout: 20_000 });
  return dialog;
}

/** Clicks the dialog's button and waits for the dialog to close. */
export async function closeDialogWith(page, label) {
  await clickDialogButton(page, label);
  await dialogOf(page).waitFor({ state: 'detached' });
}

/** Waits for an editor tab with this title. */
export async function waitForEditorTab(page, title) {
  const tab = page.locator('.tabs-container .tab', { hasText: title }).first();
  await tab.waitFor({ timeout: 20_000 });
  return tab;
}

/** The window `action` opens (a new page of the browser context), loaded. */
export async function windowOpenedBy(context, action) {
  const opened = context.waitForEvent('page', { timeout: 30_000 });
  await action();
  const window = await opened;
  await window.waitForLoadState();
  return window;
}
