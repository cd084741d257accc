// UI end-to-end: the conflict forecast on the board, in the real workbench (code-server + headless
// Chromium), with two tasks whose branches edit the same lines and a third that touches nothing else.
import * as assert from 'node:assert/strict';
import { openBoardWithRow, openTaskService, rowsText, runFromPalette, screenshot, taskWithCommit, waitForRow, workbenchOnFreshRepo } from './workbench.mjs';

suite('UI end to end: the conflict forecast on the board', function () {
  const ui = workbenchOnFreshRepo({
    prepare: async (repo) => {
      const service = await openTaskService(repo);
      await taskWithCommit(service, 'Redirect after login', { 'src/login.js': 'export function login() {\n  return "/dashboard";\n}\n' });
      await taskWithCommit(service, 'Login returns the user', { 'src/login.js': 'export function login() {\n  return { user: "me" };\n}\n' });
      await taskWithCommit(service, 'Add a search box', { 'src/search.js': 'export const search = () => [];\n' });
    },
  });

  test('the two tasks editing the same lines each say they conflict with the other; the third merges clean', async () => {
    const { page } = ui;
    await openBoardWithRow(page, 'conflicts with Login returns the user', 60_000);
    await waitForRow(page, 'merges clean');
    const rows = await rowsText(page);
    const row = (subject) => rows.find((text) => text.startsWith(subject)) ?? rows.find((text) => text.includes(subject)) ?? '';
    assert.ok(row('Redirect after login').includes('conflicts with Login returns the user'), `${row('Redirect after login')}\n${rows.join('\n')}`);
    assert.ok(row('Login returns the user').includes('conflicts with Redirect after login'), row('Login returns the user'));
    assert.ok(row('Add a search box').includes('merges clean'), row('Add a search box'));
    await screenshot(page, 'forecast-overlap.png');

    // The palette's Conflict Forecast lists the same, with the files.
    await runFromPalette(page, 'Task Worktrees: Conflict Forecast');
    const quickPick = page.locator('.quick-input-widget');
    await quickPick.getByText('2 of 3 task(s) would conflict, 1 overlap(s)', { exact: false }).waitFor({ timeout: 20_000 });
    await quickPick.getByText('src/login.js', { exact: false }).first().waitFor();
    await screenshot(page, 'forecast-pick.png');
    await page.keyboard.press('Escape');
  });
});
