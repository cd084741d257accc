// Reviewing a task in the real workbench: its changed files under its worktree row (a click opens
// the file's diff) and Review Task's multi-diff editor, screenshotted.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startWorkbench } from '../runner/codeServer.mjs';
import { makeWorkspaceRepo, removeWorkspaceRepo } from '../runner/workspace.mjs';
import { openBoard, pick, results, root, runFromPalette, waitForRow } from './workbench.mjs';

const { TaskService } = createRequire(import.meta.url)(join(root, 'out', 'src', 'core', 'index.js'));

suite('UI end to end: reviewing a task', function () {
  let repo;
  let workbench;
  let task;

  suiteSetup(async () => {
    mkdirSync(results, { recursive: true });
    repo = makeWorkspaceRepo();
    const service = await TaskService.open(repo);
    task = await service.createWorktree((await service.createTask({ subject: 'Tune the parser' })).id);
    writeFileSync(join(task.worktreePath, 'parser-tuned.js'), 'export const tuned = true;\n');
    execFileSync('git', ['add', '-A'], { cwd: task.worktreePath });
    execFileSync('git', ['commit', '-q', '-m', 'tune the parser'], { cwd: task.worktreePath });
    writeFileSync(join(task.worktreePath, 'parser-notes.md'), 'not committed yet\n');
    workbench = await startWorkbench({ workspace: repo, extensionDevelopmentPath: root, onHostLog: () => undefined });
  });

  suiteTeardown(async () => {
    await workbench?.close();
    if (repo) removeWorkspaceRepo(repo);
  });

  test('the worktree row lists the task\'s committed and uncommitted files; a click on one opens its diff', async () => {
    const { page } = workbench;
    await openBoard(page);
    const row = (text) => page.locator('[id="workbench.parts.sidebar"] .monaco-list-row', { hasText: text }).first();
    await waitForRow(page, 'Tune the parser', 60_000);
    await row('Tune the parser').click();
    await page.keyboard.press('ArrowRight');
    await waitForRow(page, '.worktrees/tune-the-parser');
    await row('.worktrees/tune-the-parser').click();
    await page.keyboard.press('ArrowRight');
    await waitForRow(page, 'parser-tuned.js');
    await waitForRow(page, 'parser-notes.md');
    assert.match(await row('parser-notes.md').innerText(), /uncommitted/);
    await row('parser-tuned.js').click();
    await page.locator('.tabs-container .tab', { hasText: 'parser-tuned.js (task changes)' }).first().waitFor({ timeout: 20_000 });
  });

  test('Review Task opens the multi-diff editor on every changed file', async () => {
    const { page } = workbench;
    await runFromPalette(page, 'Task Worktrees: Review Task');
    await pick(page, 'Tune the parser');
    await page.locator('.tabs-container .tab', { hasText: 'Review: Tune the parser' }).first().waitFor({ timeout: 20_000 });
    const editor = page.locator('.editor-group-container.active');
    for (const file of ['parser-tuned.js', 'parser-notes.md']) await editor.getByText(file).first().waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(results, 'review-task.png') });
    console.log(`      screenshot: ${join(results, 'review-task.png')}`);
  });
});
