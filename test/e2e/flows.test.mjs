// UI end-to-end: the flows a new user walks — naming a task (the id preview), the modal before work
// is lost (Enter keeps it), and the events view (read-only, newest first).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  boardRow, openBoardWithRow, openPalette, openTaskService, pick, quickInputBox, quickPickRows, removeWorktreeUntilWarned, runFromPalette, screenshot,
  until, waitForPath, waitForQuickInput, waitForRow, workbenchOnFreshRepo,
} from './workbench.mjs';

/** The text under the quick input's box: its validation message or prompt. */
async function quickInputMessage(page) {
  return (await page.locator('.quick-input-widget .quick-input-message').innerText()).replace(/\u00a0/g, ' ');
}

async function waitForMessage(page, pattern) {
  let last = '';
  await until(async () => pattern.test((last = await quickInputMessage(page).catch(() => ''))), () => `the quick input to say ${pattern}; it said ${JSON.stringify(last)}`, 10_000);
  return last;
}

suite('UI end to end: the flows a new user walks', function () {
  const ui = workbenchOnFreshRepo({
    prepare: async (repo) => {
      const service = await openTaskService(repo);
      const dirty = await service.createWorktree((await service.createTask({ subject: 'Fix login redirect' })).id);
      writeFileSync(join(dirty.worktreePath, 'src', 'login.js'), 'export function login() {\n  return false;\n}\n');
      writeFileSync(join(dirty.worktreePath, 'notes.md'), '# not committed\n');
      await service.createTask({ subject: 'Write docs' });
      // A worktree made by hand, outside the extension: the board lists it as unassigned.
      execFileSync('git', ['worktree', 'add', '-q', '-b', 'feature/search_box', join(repo, '..', 'side-worktree')], { cwd: repo });
      return { service, dirty };
    },
  });
  suiteSetup(() => openBoardWithRow(ui.page, 'Fix login redirect', 60_000));

  test('Create Task shows the branch and folder as you type, warns on a twin subject and an unusable one, and makes the edited id', async () => {
    const { page, repo } = ui;
    await runFromPalette(page, 'Task Worktrees: Create Task');
    await waitForQuickInput(page, 'Create Task (1/3)');
    const input = quickInputBox(page);
    await input.pressSequentially('Ship it', { delay: 20 });
    await waitForMessage(page, /Branch task\/ship-it · folder \.worktrees\/ship-it/);
    await input.fill('Write docs');
    const twin = await waitForMessage(page, /exists already/);
    assert.match(twin, /\(write-docs\)/, 'names the task with the same subject');
    assert.match(twin, /task\/write-docs-2/, 'and the branch this one would get');
    await input.fill('!!!');
    assert.match(await waitForMessage(page, /No letter or digit/), /"task".*task\/task/);
    await screenshot(page, 'create-task-preview.png');
    await input.fill('Ship it');
    await waitForMessage(page, /task\/ship-it/);
    await page.keyboard.press('Enter');
    await waitForQuickInput(page, 'Create Task (2/3)');
    assert.equal(await input.inputValue(), 'ship-it', 'the id proposed from the subject');
    await input.fill('Bad Id');
    await waitForMessage(page, /lowercase letters, digits and single dashes/);
    await input.fill('ship-now');
    await waitForMessage(page, /Branch task\/ship-now · folder \.worktrees\/ship-now/);
    await page.keyboard.press('Enter');
    await waitForQuickInput(page, 'Create Task (3/3)');
    await page.keyboard.press('Enter'); // base: the current branch, offered first
    await waitForRow(page, 'Ship it');
    const worktree = join(repo, '.worktrees', 'ship-now');
    await waitForPath(worktree);
    assert.equal(execFileSync('git', ['branch', '--show-current'], { cwd: worktree, encoding: 'utf8' }).trim(), 'task/ship-now');
  });

  test('the "work that would be lost" modal lists each file with what it is, and Enter keeps the worktree', async () => {
    const { page, service, dirty } = ui;
    const dialog = await removeWorktreeUntilWarned(page, 'Fix login redirect', 'has work that would be lost');
    const text = (await dialog.innerText()).replace(/\u00a0/g, ' ');
    assert.match(text, /src\/login\.js — changed/);
    assert.match(text, /notes\.md — new, never committed/);
    const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
    assert.equal(focused, 'Keep Worktree', 'the focused (default) button keeps the work');
    await screenshot(page, 'loss-modal.png');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    await page.waitForTimeout(1_000); // a removal, had Enter chosen it, would have started by now
    assert.ok(existsSync(join(dirty.worktreePath, 'notes.md')), 'the new file is still there');
    assert.match(readFileSync(join(dirty.worktreePath, 'src', 'login.js'), 'utf8'), /return false/, 'the change is still there');
    assert.equal((await service.task(dirty.id)).worktreePath, dirty.worktreePath, 'the task keeps its worktree');
  });

  test('Show Events opens a read-only view, newest first', async () => {
    const { page, service } = ui;
    await runFromPalette(page, 'Task Worktrees: Show Events');
    const tab = page.locator('.tabs-container .tab', { hasText: 'Task Worktrees Events' });
    await tab.waitFor({ timeout: 20_000 });
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-line').first().waitFor();
    const lines = async () =>
      editor.evaluate((element) =>
        [...element.querySelectorAll('.view-line')]
          .map((line) => ({ top: parseFloat(line.style.top), text: line.textContent.replace(/\u00a0/g, ' ') }))
          .sort((a, b) => a.top - b.top)
          .map((line) => line.text),
      );
    const shown = (await lines()).filter((line) => line.trim());
    const { events } = await service.events();
    assert.ok(events.length > 5 && events.length < 30, `all ${events.length} events fit on the screen`);
    assert.deepEqual(
      shown.map((line) => line.split('  ').slice(0, 2).join('  ')),
      [...events].reverse().map((event) => `${event.at}  ${event.type}`),
      'one line per event, newest first',
    );
    await editor.click();
    await page.keyboard.type('typed');
    await page.locator('.monaco-editor-overlaymessage', { hasText: 'read-only' }).waitFor({ timeout: 10_000 });
    assert.ok(!(await lines()).some((line) => line.includes('typed')), 'typing changes nothing');
    assert.equal(await tab.evaluate((element) => element.classList.contains('dirty')), false, 'nothing to save');
    await screenshot(page, 'events-view.png');
  });

  test('an unassigned worktree has a context menu; adopting it asks for the subject, prefilled from its branch', async () => {
    const { page, service } = ui;
    const row = boardRow(page, 'feature/search_box');
    await row.waitFor({ timeout: 20_000 });
    await row.click({ button: 'right' });
    await page.locator('.context-view .action-label', { hasText: 'Assign Existing Worktree/Branch…' }).click();
    await waitForQuickInput(page, 'Adopt');
    await pick(page, 'New task for this worktree');
    const input = quickInputBox(page);
    await waitForQuickInput(page, 'The subject of the new task');
    assert.equal(await input.inputValue(), 'search box', 'prefilled from the branch');
    await input.fill('Search box for the docs');
    await page.keyboard.press('Enter');
    await waitForRow(page, 'Search box for the docs');
    const adopted = (await service.board()).tasks.find((task) => task.subject === 'Search box for the docs');
    assert.equal(adopted?.branch, 'feature/search_box');
    assert.equal(adopted?.worktreeState, 'present');
  });

  test('Prune is offered in the palette only while a worktree is missing', async () => {
    const { page, repo } = ui;
    const paletteRows = async (query) => {
      const input = await openPalette(page, 'Task Worktrees: Show Log');
      await quickPickRows(page, 'Task Worktrees: Show Log').first().waitFor();
      await input.fill(`>${query}`);
      await page.waitForTimeout(500);
      const rows = await quickPickRows(page).allInnerTexts();
      await page.keyboard.press('Escape');
      return rows.join('\n');
    };
    assert.doesNotMatch(await paletteRows('Task Worktrees: Prune Missing Worktrees'), /Prune Missing Worktrees/);
    // The folder of "Ship it" is deleted behind git's back: its worktree is now missing.
    rmSync(join(repo, '.worktrees', 'ship-now'), { recursive: true, force: true });
    await runFromPalette(page, 'Task Worktrees: Refresh');
    let rows = '';
    await until(async () => /Prune Missing Worktrees/.test((rows = await paletteRows('Task Worktrees: Prune Missing Worktrees'))), 'Prune Missing Worktrees in the palette');
    assert.match(rows, /Prune Missing Worktrees/, 'offered once the board shows the missing worktree');
  });
});
