// UI end-to-end: what the board says when it has nothing to show — no tasks yet, no repository, or
// a workspace without trust (Restricted Mode), where nothing may touch the repository.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openBoardSaying, screenshot, workbenchOnFreshRepo } from './workbench.mjs';

suite('UI end to end: welcome content', function () {
  const ui = workbenchOnFreshRepo({
    // Beside the repository, not inside it: no git repository above it.
    prepare: (repo) => {
      const plainFolder = join(dirname(repo), 'plain-folder');
      mkdirSync(plainFolder);
      return { plainFolder };
    },
  });

  test('a repository without tasks: the board explains what a task is and offers Create Task', async () => {
    const sidebar = await openBoardSaying(ui.page, 'No tasks yet');
    await sidebar.locator('.welcome-view-content .monaco-button', { hasText: 'Create Task' }).waitFor();
  });

  test('a folder that is not a git repository: the board says what it needs', async () => {
    await ui.workbench.openFolder(ui.plainFolder);
    await openBoardSaying(ui.page, 'needs a folder inside a git repository');
    assert.equal(existsSync(join(ui.plainFolder, '.git')), false, 'no repository was made');
  });
});

suite('UI end to end: an untrusted workspace', function () {
  const ui = workbenchOnFreshRepo({ workspaceTrust: true });

  test('the board explains Restricted Mode and offers to manage trust; the repository is untouched', async () => {
    const { page, repo } = ui;
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 60_000 });
    const sidebar = await openBoardSaying(page, 'This workspace is not trusted');
    await sidebar.getByRole('button', { name: 'Manage Workspace Trust' }).waitFor();
    await screenshot(page, 'untrusted.png');
    assert.equal(existsSync(join(repo, '.git', 'task-worktrees')), false, 'no store was created');
  });
});
