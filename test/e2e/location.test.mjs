// UI end-to-end: a repository's first Create Task asks where its worktrees go; the answer is
// recorded in the repository's store and not asked again; an explicit setting is the answer.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeWorkspaceRepo } from '../runner/workspace.mjs';
import { nameTaskWithDefaults, openBoardSaying, pick, quickInputBox, quickPickRows, runFromPalette, screenshot, waitForPath, waitForQuickInput, workbenchOnFreshRepo } from './workbench.mjs';

const QUESTION = 'Where Do This Repository\'s Worktrees Go?';

const configFile = (repo) => join(repo, '.git', 'task-worktrees', 'config.json');

/** The first step a Create Task shows: the location question, or the subject when it is not asked. */
async function firstStep(page) {
  const widget = page.locator('.quick-input-widget', { hasText: QUESTION }).or(page.locator('.quick-input-widget', { hasText: 'Create Task (1/3)' }));
  await widget.first().waitFor();
  return (await widget.first().innerText()).includes(QUESTION) ? 'location' : 'subject';
}

/** The board's welcome shows once the repository is open; the palette lists the extension's commands from then on. */
async function boardReady(page) {
  await openBoardSaying(page, 'No tasks yet', 60_000);
}

suite('UI end to end: where worktrees go is asked once per repository', function () {
  const ui = workbenchOnFreshRepo({
    repoName: 'demo-repo',
    prepare: (repo) => {
      // A person who set the root, even to the default value, is not asked.
      const withSetting = makeWorkspaceRepo('set-repo', dirname(repo));
      mkdirSync(join(withSetting, '.vscode'));
      writeFileSync(join(withSetting, '.vscode', 'settings.json'), JSON.stringify({ 'taskWorktrees.worktreeRoot': '.worktrees' }));
      return { withSetting };
    },
  });
  suiteSetup(() => boardReady(ui.page));

  test('the first Create Task asks, with why for each choice and where it is remembered; Escape records nothing and it is asked again', async () => {
    const { page, repo } = ui;
    await runFromPalette(page, 'Task Worktrees: Create Task');
    assert.equal(await firstStep(page), 'location');
    const rows = await quickPickRows(page).allInnerTexts();
    assert.equal(rows.length, 2);
    assert.match(rows[0], /Next to the repository/);
    assert.match(rows[0], /\.\.\/demo-repo\.worktrees/);
    assert.match(rows[0], /TypeScript, Jest, ESLint, search\) never see them/);
    assert.match(rows[1], /Inside the repository/);
    assert.match(rows[1], /\.worktrees/);
    assert.match(rows[1], /git ignores it, other tools see it unless configured/);
    const placeholder = await quickInputBox(page).getAttribute('placeholder');
    assert.match(placeholder, /Remembered for this repository: edit \.git\/task-worktrees\/config\.json to change it/);
    assert.match(placeholder, /taskWorktrees\.worktreeRoot/);
    await page.mouse.move(700, 700); // off the input, so its hover does not cover the choices
    await screenshot(page, 'create-task-location.png');
    await page.keyboard.press('Escape');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    assert.equal(existsSync(configFile(repo)), false, 'nothing recorded');
    await runFromPalette(page, 'Task Worktrees: Create Task');
    assert.equal(await firstStep(page), 'location', 'asked again: nothing was recorded');
    await page.keyboard.press('Escape');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  });

  test('"Next to the repository" is recorded in config.json, the folder preview and the worktree follow it, and the next Create Task does not ask', async () => {
    const { page, repo } = ui;
    await runFromPalette(page, 'Task Worktrees: Create Task');
    assert.equal(await firstStep(page), 'location');
    await pick(page, 'Next to the repository');
    await waitForQuickInput(page, 'Create Task (1/3)');
    await quickInputBox(page).fill('Ship it');
    await page.locator('.quick-input-widget .quick-input-message', { hasText: 'demo-repo.worktrees/ship-it' }).waitFor();
    await nameTaskWithDefaults(page, 'Ship it');
    await waitForPath(configFile(repo));
    const { worktreeRoot, branchPrefix } = JSON.parse(readFileSync(configFile(repo), 'utf8'));
    assert.deepEqual({ worktreeRoot, branchPrefix }, { worktreeRoot: '../${repoName}.worktrees', branchPrefix: 'task/' });
    const first = join(dirname(repo), 'demo-repo.worktrees', 'ship-it');
    await waitForPath(first);
    assert.equal(execFileSync('git', ['branch', '--show-current'], { cwd: first, encoding: 'utf8' }).trim(), 'task/ship-it');
    assert.equal(existsSync(join(repo, '.worktrees')), false, 'nothing nested');

    await runFromPalette(page, 'Task Worktrees: Create Task');
    assert.equal(await firstStep(page), 'subject', 'not asked again');
    await nameTaskWithDefaults(page, 'Second one');
    await waitForPath(join(dirname(repo), 'demo-repo.worktrees', 'second-one'));
    assert.deepEqual(JSON.parse(readFileSync(configFile(repo), 'utf8')).worktreeRoot, '../${repoName}.worktrees');
  });

  test('with taskWorktrees.worktreeRoot set (even to the default), the first Create Task does not ask and records the setting', async () => {
    const { page, workbench, withSetting } = ui;
    await workbench.openFolder(withSetting);
    await boardReady(page);
    await runFromPalette(page, 'Task Worktrees: Create Task');
    assert.equal(await firstStep(page), 'subject');
    await nameTaskWithDefaults(page, 'Set by hand');
    await waitForPath(configFile(withSetting));
    assert.equal(JSON.parse(readFileSync(configFile(withSetting), 'utf8')).worktreeRoot, '.worktrees');
    await waitForPath(join(withSetting, '.worktrees', 'set-by-hand'));
  });
});
