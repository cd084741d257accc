// UI end-to-end: the conflict forecast on the board, in the real workbench (code-server + headless
// Chromium), with two tasks whose branches edit the same lines and a third that touches nothing else.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startWorkbench } from '../runner/codeServer.mjs';
import { makeWorkspaceRepo, removeWorkspaceRepo } from '../runner/workspace.mjs';
import { openBoard, results, root, rowsText, runFromPalette, waitForRow } from './workbench.mjs';

const { TaskService } = createRequire(import.meta.url)(join(root, 'out', 'src', 'core', 'index.js'));

suite('UI end to end: the conflict forecast on the board', function () {
  let repo;
  let workbench;

  suiteSetup(async () => {
    mkdirSync(results, { recursive: true });
    repo = makeWorkspaceRepo();
    const service = await TaskService.open(repo);
    const commit = async (subject, file, content) => {
      const task = await service.createWorktree((await service.createTask({ subject })).id);
      writeFileSync(join(task.worktreePath, file), content);
      execFileSync('git', ['add', '-A'], { cwd: task.worktreePath });
      execFileSync('git', ['commit', '-q', '-m', subject], { cwd: task.worktreePath });
    };
    await commit('Redirect after login', 'src/login.js', 'export function login() {\n  return "/dashboard";\n}\n');
    await commit('Login returns the user', 'src/login.js', 'export function login() {\n  return { user: "me" };\n}\n');
    await commit('Add a search box', 'src/search.js', 'export const search = () => [];\n');
    workbench = await startWorkbench({ workspace: repo, extensionDevelopmentPath: root, onHostLog: () => undefined });
  });

  suiteTeardown(async () => {
    await workbench?.close();
    if (repo) removeWorkspaceRepo(repo);
  });

  test('the two tasks editing the same lines each say they conflict with the other; the third merges clean', async () => {
    const { page } = workbench;
    await openBoard(page);
    await waitForRow(page, 'conflicts with Login returns the user', 60_000);
    await waitForRow(page, 'merges clean');
    const rows = await rowsText(page);
    const row = (subject) => rows.find((text) => text.startsWith(subject)) ?? rows.find((text) => text.includes(subject)) ?? '';
    assert.ok(row('Redirect after login').includes('conflicts with Login returns the user'), `${row('Redirect after login')}\n${rows.join('\n')}`);
    assert.ok(row('Login returns the user').includes('conflicts with Redirect after login'), row('Login returns the user'));
    assert.ok(row('Add a search box').includes('merges clean'), row('Add a search box'));
    await page.screenshot({ path: join(results, 'forecast-overlap.png') });
    console.log(`      screenshot: ${join(results, 'forecast-overlap.png')}`);

    // The palette's Conflict Forecast lists the same, with the files.
    await runFromPalette(page, 'Task Worktrees: Conflict Forecast');
    const quickPick = page.locator('.quick-input-widget');
    await quickPick.getByText('2 of 3 task(s) would conflict, 1 overlap(s)', { exact: false }).waitFor({ timeout: 20_000 });
    await quickPick.getByText('src/login.js', { exact: false }).first().waitFor();
    await page.screenshot({ path: join(results, 'forecast-pick.png') });
    console.log(`      screenshot: ${join(results, 'forecast-pick.png')}`);
    await page.keyboard.press('Escape');
  });
});
