// UI end-to-end: a window open on a task worktree is known to other processes (the store's windows
// registry, with its terminals), a removal from outside is refused until it passes evenIfOpen, and
// the window whose folder then disappears says so and offers its way out instead of an empty board.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  clickDialogButton, openBoardWithRow, openPalette, openTaskService, quickPickRows, removeWorktreeUntilWarned, requireBuilt,
  runFromPalette, screenshot, sidebarOf, until, workbenchOnFreshRepo,
} from './workbench.mjs';

const { openWindowIn, close } = requireBuilt('test/fixtures/windows.js');

suite('UI end to end: a window whose worktree is removed from outside', function () {
  const ui = workbenchOnFreshRepo({
    prepare: async (repo) => {
      const service = await openTaskService(repo);
      return { service, task: await service.createTask({ subject: 'Fix login redirect', createWorktree: true }) };
    },
    folder: ({ task }) => task.worktreePath,
  });

  test('the window records its worktree and terminal; a removal from another process is refused naming them', async () => {
    const { page, service, task } = ui;
    await openBoardWithRow(page, 'Fix login redirect', 60_000);
    await runFromPalette(page, 'Terminal: Create New Terminal');

    const [window] = await until(() => {
      const open = service.openWindows([task.worktreePath]);
      return open.length === 1 && open[0].terminals.length === 1 && open;
    }, 'the window record with its terminal', 30_000);
    assert.equal(window.taskId, task.id);
    const refusal = await service.removeWorktree(task.id).then(
      () => assert.fail('the removal went ahead'),
      (error) => error,
    );
    assert.equal(refusal.code, 'WorktreeOpenInWindow', refusal.message);
    assert.deepEqual(refusal.details, [`the window of task "${task.id}" (pid ${window.pid} on ${window.host}), terminals: ${window.terminals[0]}`]);
    assert.ok(existsSync(task.worktreePath), 'the worktree is still there');
  });

  test('removed anyway: the board says the folder is gone and offers Close Window and Open the Main Repository, which opens it; Create Task is not offered (nothing to fail with a stack trace)', async () => {
    const { page, service, task } = ui;
    await service.removeWorktree(task.id, { evenIfOpen: true });
    assert.equal(existsSync(task.worktreePath), false);
    const sidebar = sidebarOf(page); // open since the first test (a click on its icon would close it)
    const welcome = sidebar.locator('.welcome-view-content');
    await welcome.getByText("This window's folder was removed", { exact: false }).waitFor({ timeout: 30_000 });
    await welcome.locator('.monaco-button', { hasText: 'Close Window' }).waitFor();
    const openMain = welcome.locator('.monaco-button', { hasText: 'Open the Main Repository' });
    await openMain.waitFor();
    assert.equal(await sidebar.getByText('No tasks yet', { exact: false }).count(), 0, 'the board does not say "No tasks yet"');
    await screenshot(page, 'orphaned-window.png');
    await until(() => service.openWindows([task.worktreePath]).length === 0, 'the window to take its record out', 30_000);

    await page.locator('[id="workbench.parts.editor"]').click(); // out of the terminal, which keeps F1 to itself
    await openPalette(page, 'Task Worktrees: ');
    await quickPickRows(page, 'Open the Main Repository').first().waitFor();
    const commands = await quickPickRows(page).allInnerTexts();
    // Create Task needs a repository to read: in this state it is not offered, so it cannot fail at all.
    assert.ok(!commands.some((text) => text.includes('Create Task')), `Create Task is not offered:\n${commands.join('\n')}`);
    await page.keyboard.press('Escape');
    await welcome.getByText("This window's folder was removed", { exact: false }).waitFor();

    await openMain.click();
    await until(() => new URL(page.url()).searchParams.get('folder') === ui.repo, 'the window to open the main repository', 30_000);
    await openBoardWithRow(page, 'Fix login redirect', 60_000); // a new page: the board is opened again
  });

  test('Remove Worktree on a worktree another window has open: a modal names the window and its terminal; Enter keeps it, Remove Anyway removes it', async () => {
    const { page, service, repo } = ui; // now on the main repository (the test before opened it)
    const search = await service.createTask({ subject: 'Add search box', createWorktree: true });
    const otherWindow = await openWindowIn(repo, { worktreePath: search.worktreePath, taskId: search.id, terminals: ['npm run dev'] });
    try {
      const askToRemove = () => removeWorktreeUntilWarned(page, 'Add search box', 'is open in 1 other window');
      const dialog = await askToRemove();
      assert.ok((await dialog.innerText()).includes(`the window of task "${search.id}" (pid ${otherWindow.pid} on `), 'the modal names the window');
      assert.match(await dialog.innerText(), /terminals: npm run dev/);
      await screenshot(page, 'remove-open-in-window-modal.png');
      await page.keyboard.press('Enter'); // the default button
      await dialog.waitFor({ state: 'detached' });
      assert.ok(existsSync(search.worktreePath), 'Enter keeps the worktree');
      await askToRemove();
      await clickDialogButton(page, 'Remove Anyway');
      await until(async () => (await service.task(search.id)).worktreePath === undefined, 'the task to lose its worktree', 30_000);
      assert.equal(existsSync(search.worktreePath), false);
    } finally {
      await close(otherWindow);
    }
  });
});
