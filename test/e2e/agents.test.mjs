// UI end-to-end: Start Agent from the tree with the stand-in agent (test/fixtures/agent-standin.sh),
// in the real workbench, as a person would; the board with the running agent is screenshotted.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  BOARD_ROWS, boardRow, closeDialogWith, commitFiles, expandRow, openBoardWithRow, openTaskService, pick, quickPickRows, removeWorktreeUntilWarned,
  requireBuilt, rowsText, screenshot, until, waitForRow, workbenchOnFreshRepo,
} from './workbench.mjs';

const { hasStarted, release, standinOutput, STANDIN_SCRIPT } = requireBuilt('test/fixtures/agentStandin.js');

suite('UI end to end: an agent started from the board', function () {
  const output = standinOutput();
  const ui = workbenchOnFreshRepo({
    prepare: async (repo) => {
      // The repository's own agent profile: the stand-in, as a team would add theirs.
      mkdirSync(join(repo, '.vscode'));
      const settings = { 'taskWorktrees.agents': [{ name: 'Stand-in', command: STANDIN_SCRIPT, args: ['${prompt}'], env: output.env }], 'taskWorktrees.defaultAgent': 'Stand-in' };
      commitFiles(repo, { '.vscode/settings.json': JSON.stringify(settings, null, 2) }, 'agent profile');
      const service = await openTaskService(repo);
      const task = await service.createTask({ subject: 'Add dark mode', description: 'Follow the system setting.' });
      await service.createTask({ subject: 'Write release notes' });
      return { task };
    },
  });

  suiteTeardown(() => rmSync(output.dir, { recursive: true, force: true }));

  test('Start Agent from the tree runs the agent in the task\'s worktree; the board shows it running, remove asks, then it exits and the task is completed', async () => {
    const { page, repo, task } = ui;
    await openBoardWithRow(page, 'Add dark mode');
    const taskRow = boardRow(page, 'Add dark mode');
    // A row redrawn just as it is clicked (the board's details and forecast arrive after its first
    // render) hands the command no row, and it asks for the task: Escape and click the row's action again.
    for (let attempt = 0; ; attempt++) {
      await taskRow.hover();
      await taskRow.locator('.action-label[aria-label^="Start Agent"]').click();
      const askedForTask = page.locator('.quick-input-widget', { hasText: 'Start Agent on a Task' });
      const askedForAgent = quickPickRows(page, 'Stand-in');
      await askedForTask.or(askedForAgent).first().waitFor({ timeout: 20_000 });
      if (!(await askedForTask.isVisible()) || attempt === 2) break;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(500);
    }
    assert.equal(await page.locator(BOARD_ROWS, { hasText: 'Write release notes' }).locator('.action-label[aria-label^="Start Agent"]').count(), 1, 'every idle task offers Start Agent');
    await pick(page, 'Stand-in');

    await until(() => hasStarted(output.dir, task.id), 'the stand-in agent to start');
    await waitForRow(page, 'agent running');
    // Only the other, idle task still offers Start Agent: not this task, nor its worktree or agent rows.
    const startActions = page.locator(`${BOARD_ROWS} .action-label[aria-label^="Start Agent"]`);
    await until(async () => (await startActions.count()) === 1, 'one Start Agent action left');
    assert.equal(await page.locator(BOARD_ROWS, { hasText: 'Write release notes' }).locator('.action-label[aria-label^="Start Agent"]').count(), 1);
    // A task row already drawn collapsed may stay so: open it to see its agent.
    if ((await page.locator(BOARD_ROWS, { hasText: 'running ·' }).count()) === 0) await expandRow(page, 'Add dark mode');
    await waitForRow(page, 'running ·');
    const text = (await rowsText(page)).join('\n');
    for (const expected of ['In Progress', 'Add dark mode', 'task/add-dark-mode', '@Stand-in', 'Stand-in', 'running ·', '.worktrees/add-dark-mode']) {
      assert.ok(text.includes(expected), `the board shows "${expected}":\n${text}`);
    }
    await screenshot(page, 'agent-running.png');

    // Removing the worktree under a running agent asks first; Cancel keeps everything.
    const worktree = join(repo, '.worktrees', task.id);
    const dialog = await removeWorktreeUntilWarned(page, 'Add dark mode', 'An agent is still working in the worktree');
    assert.match(await dialog.innerText(), /Stand-in/);
    await closeDialogWith(page, 'Cancel');
    assert.ok(existsSync(worktree), 'the worktree is still there');

    release(output.dir, task.id, 0);
    await waitForRow(page, 'Completed');
    // Completed, the task's row moves under another heading and may be drawn collapsed: open it to see its agent.
    if ((await page.locator(BOARD_ROWS, { hasText: 'exited 0' }).count()) === 0) await expandRow(page, 'Add dark mode');
    await waitForRow(page, 'exited 0');
    assert.equal(execFileSync('git', ['log', '-1', '--format=%s', `task/${task.id}`], { cwd: repo, encoding: 'utf8' }).trim(), `stand-in agent: ${task.id}`);
  });
});
