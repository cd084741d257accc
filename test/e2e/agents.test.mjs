// UI end-to-end: Start Agent from the tree with the stand-in agent (test/fixtures/agent-standin.sh),
// in the real workbench, as a person would; the board with the running agent is screenshotted.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startWorkbench } from '../runner/codeServer.mjs';
import { makeWorkspaceRepo, removeWorkspaceRepo } from '../runner/workspace.mjs';
import { openBoard, pick, results, root, rowsText, runFromPalette, waitForRow } from './workbench.mjs';

const require = createRequire(import.meta.url);
const { TaskService } = require(join(root, 'out', 'src', 'core', 'index.js'));
const { hasStarted, release, standinOutput, STANDIN_SCRIPT } = require(join(root, 'out', 'test', 'fixtures', 'agentStandin.js'));

const SIDEBAR_ROWS = '[id="workbench.parts.sidebar"] .monaco-list-row';

async function until(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

suite('UI end to end: an agent started from the board', function () {
  let repo;
  let workbench;
  let task;
  const output = standinOutput();

  suiteSetup(async () => {
    mkdirSync(results, { recursive: true });
    repo = makeWorkspaceRepo();
    // The repository's own agent profile: the stand-in, as a team would add theirs.
    mkdirSync(join(repo, '.vscode'));
    writeFileSync(
      join(repo, '.vscode', 'settings.json'),
      JSON.stringify({ 'taskWorktrees.agents': [{ name: 'Stand-in', command: STANDIN_SCRIPT, args: ['${prompt}'], env: output.env }], 'taskWorktrees.defaultAgent': 'Stand-in' }, null, 2),
    );
    execFileSync('git', ['add', '-A'], { cwd: repo });
    execFileSync('git', ['commit', '-q', '-m', 'agent profile'], { cwd: repo });
    const service = await TaskService.open(repo);
    task = await service.createTask({ subject: 'Add dark mode', description: 'Follow the system setting.' });
    await service.createTask({ subject: 'Write release notes' });
    workbench = await startWorkbench({ workspace: repo, extensionDevelopmentPath: root, onHostLog: () => undefined });
  });

  suiteTeardown(async () => {
    await workbench?.close();
    if (repo) removeWorkspaceRepo(repo);
    rmSync(output.dir, { recursive: true, force: true });
  });

  test('Start Agent from the tree runs the agent in the task\'s worktree; the board shows it running, remove asks, then it exits and the task is completed', async () => {
    const { page } = workbench;
    await openBoard(page);
    await waitForRow(page, 'Add dark mode');
    const taskRow = page.locator(SIDEBAR_ROWS, { hasText: 'Add dark mode' }).first();
    // A row redrawn just as it is clicked (the board's details and forecast arrive after its first
    // render) hands the command no row, and it asks for the task: Escape and click the row's action again.
    for (let attempt = 0; ; attempt++) {
      await taskRow.hover();
      await taskRow.locator('.action-label[aria-label^="Start Agent"]').click();
      const askedForTask = page.locator('.quick-input-widget', { hasText: 'Start Agent on a Task' });
      const askedForAgent = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Stand-in' });
      await askedForTask.or(askedForAgent).first().waitFor({ timeout: 20_000 });
      if (!(await askedForTask.isVisible()) || attempt === 2) break;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(500);
    }
    assert.equal(await page.locator(SIDEBAR_ROWS, { hasText: 'Write release notes' }).locator('.action-label[aria-label^="Start Agent"]').count(), 1, 'every idle task offers Start Agent');
    await pick(page, 'Stand-in');

    await until(() => hasStarted(output.dir, task.id), 'the stand-in agent to start');
    await waitForRow(page, 'agent running');
    // Only the other, idle task still offers Start Agent: not this task, nor its worktree or agent rows.
    const startActions = page.locator(`${SIDEBAR_ROWS} .action-label[aria-label^="Start Agent"]`);
    await until(async () => (await startActions.count()) === 1, 'one Start Agent action left');
    assert.equal(await page.locator(SIDEBAR_ROWS, { hasText: 'Write release notes' }).locator('.action-label[aria-label^="Start Agent"]').count(), 1);
    // A task row already drawn collapsed may stay so: open it to see its agent.
    if ((await page.locator(SIDEBAR_ROWS, { hasText: 'running ·' }).count()) === 0) {
      await taskRow.click();
      await page.keyboard.press('ArrowRight');
    }
    await waitForRow(page, 'running ·');
    const text = (await rowsText(page)).join('\n');
    for (const expected of ['In Progress', 'Add dark mode', 'task/add-dark-mode', '@Stand-in', 'Stand-in', 'running ·', '.worktrees/add-dark-mode']) {
      assert.ok(text.includes(expected), `the board shows "${expected}":\n${text}`);
    }
    await page.screenshot({ path: join(results, 'agent-running.png') });
    console.log(`      screenshot: ${join(results, 'agent-running.png')}`);

    // Removing the worktree under a running agent asks first; Cancel keeps everything.
    const worktree = join(repo, '.worktrees', task.id);
    await runFromPalette(page, 'Task Worktrees: Remove Worktree');
    await pick(page, 'Add dark mode');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.getByText('Remove the worktree of', { exact: false }).waitFor({ timeout: 20_000 });
    await dialog.locator('.monaco-button', { hasText: 'Remove Worktree' }).click();
    await dialog.getByText('An agent is still working in the worktree', { exact: false }).waitFor({ timeout: 20_000 });
    assert.match(await dialog.innerText(), /Stand-in/);
    await dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.ok(existsSync(worktree), 'the worktree is still there');

    release(output.dir, task.id, 0);
    await waitForRow(page, 'Completed');
    // Completed, the task's row moves under another heading and may be drawn collapsed: open it to see its agent.
    if ((await page.locator(SIDEBAR_ROWS, { hasText: 'exited 0' }).count()) === 0) {
      await page.locator(SIDEBAR_ROWS, { hasText: 'Add dark mode' }).first().click();
      await page.keyboard.press('ArrowRight');
    }
    await waitForRow(page, 'exited 0');
    assert.equal(execFileSync('git', ['log', '-1', '--format=%s', `task/${task.id}`], { cwd: repo, encoding: 'utf8' }).trim(), `stand-in agent: ${task.id}`);
  });
});
