// Reviewing a task in the real workbench: its changed files under its worktree row (a click opens
// the file's diff) and Review Task's multi-diff editor, screenshotted.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  boardRow, expandRow, openBoardWithRow, openTaskService, pick, runFromPalette, screenshot, taskWithCommit, waitForEditorTab, waitForRow, workbenchOnFreshRepo,
} from './workbench.mjs';

suite('UI end to end: reviewing a task', function () {
  const ui = workbenchOnFreshRepo({
    prepare: async (repo) => {
      const task = await taskWithCommit(await openTaskService(repo), 'Tune the parser', { 'parser-tuned.js': 'export const tuned = true;\n' });
      writeFileSync(join(task.worktreePath, 'parser-notes.md'), 'not committed yet\n');
    },
  });

  test('the worktree row lists the task\'s committed and uncommitted files; a click on one opens its diff', async () => {
    const { page } = ui;
    await openBoardWithRow(page, 'Tune the parser', 60_000);
    await expandRow(page, 'Tune the parser');
    await waitForRow(page, '.worktrees/tune-the-parser');
    await expandRow(page, '.worktrees/tune-the-parser');
    await waitForRow(page, 'parser-tuned.js');
    await waitForRow(page, 'parser-notes.md');
    assert.match(await boardRow(page, 'parser-notes.md').innerText(), /uncommitted/);
    await boardRow(page, 'parser-tuned.js').click();
    await waitForEditorTab(page, 'parser-tuned.js (task changes)');
  });

  test('Review Task opens the multi-diff editor on every changed file', async () => {
    const { page } = ui;
    await runFromPalette(page, 'Task Worktrees: Review Task');
    await pick(page, 'Tune the parser');
    await waitForEditorTab(page, 'Review: Tune the parser');
    const editor = page.locator('.editor-group-container.active');
    for (const file of ['parser-tuned.js', 'parser-notes.md']) await editor.getByText(file).first().waitFor({ timeout: 20_000 });
    await screenshot(page, 'review-task.png');
  });
});
