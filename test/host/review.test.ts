import * as assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { activeApi, command, eventually, git } from './helpers';

/** The multi-diff editor's tab input, where the host's API has it (finalized after the @types this project builds against). */
interface MultiDiffInput {
  textDiffs: ReadonlyArray<{ original: vscode.Uri; modified: vscode.Uri }>;
}

suite('Review Task: the multi-diff editor', () => {
  test('Review Task opens one multi-diff editor with the task\'s committed and uncommitted files, originals at the merge-base', async () => {
    const api = await activeApi();
    const task = await api.createTask({ subject: 'Review in the host', createWorktree: true });
    const worktree = task.worktreePath!;
    writeFileSync(join(worktree, 'reviewed-committed.txt'), 'committed on the branch\n');
    git(worktree, 'add', '-A');
    git(worktree, 'commit', '-q', '-m', 'branch work');
    writeFileSync(join(worktree, 'reviewed-uncommitted.txt'), 'not committed yet\n');
    const readme = git(worktree, 'ls-files').split('\n').find((path) => path !== '' && !path.startsWith('reviewed-'))!;
    const originalText = git(worktree, 'show', `HEAD:${readme}`);
    writeFileSync(join(worktree, readme), 'edited in the worktree\n');

    const opened = await command<{ title: string; files: number }>('reviewTask', { taskId: task.id });
    assert.equal(opened.files, 3);

    const tabs = (): vscode.Tab[] => vscode.window.tabGroups.all.flatMap((group) => group.tabs);
    const tab = await eventually(() => tabs().find((candidate) => candidate.label.startsWith(opened.title)), 'a tab titled like the review', 15_000).catch((error: Error) =>
      assert.fail(`${error.message}; the tabs: ${JSON.stringify(tabs().map((candidate) => [candidate.label, candidate.input?.constructor?.name]))}`),
    );
    const MultiDiff = (vscode as unknown as { TabInputTextMultiDiff?: new (...args: never[]) => MultiDiffInput }).TabInputTextMultiDiff;
    console.log(`review tab "${tab.label}", input ${tab.input?.constructor?.name ?? String(tab.input)}; vscode.TabInputTextMultiDiff ${MultiDiff ? 'exists' : 'does not exist'} in ${vscode.version}`);
    assert.ok(!(tab.input instanceof vscode.TabInputText) && !(tab.input instanceof vscode.TabInputTextDiff), 'not a single-file editor');
    if (MultiDiff) {
      assert.ok(tab.input instanceof MultiDiff, 'the tab is a multi-diff editor');
      const modified = (tab.input as MultiDiffInput).textDiffs.map((diff) => vscode.workspace.asRelativePath(diff.modified, false)).sort();
      assert.deepEqual(modified.map((path) => path.split('/').pop()), [readme, 'reviewed-committed.txt', 'reviewed-uncommitted.txt'].sort());
    }

    const base = git(worktree, 'merge-base', 'HEAD', task.baseBranch).trim();
    // The extension's read-only provider of originals (review.ts ORIGINAL_SCHEME).
    const original = await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: 'task-worktrees-original', path: `/${readme}`, query: base }));
    assert.equal(original.getText(), originalText, 'the original side is the file at the merge-base');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await api.removeWorktree({ taskId: task.id, force: true });
  });
});

suite('the worktree row\'s tooltip: its disk use', () => {
  /** Files under `dir` as the tooltip counts them: everything but the worktree's .git file. */
  function filesUnder(dir: string): number {
    return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((entry) => entry.isFile() && !(entry.name === '.git' && entry.parentPath === dir)).length;
  }

  /** The worktree row under the task's row, found by walking the board as the view does. */
  async function worktreeRow(taskId: string): Promise<{ node: object; item: vscode.TreeItem }> {
    const { board } = await activeApi();
    let level: object[] = (await board.getChildren()) ?? [];
    for (let depth = 0; depth < 4 && level.length > 0; depth++) {
      for (const node of level) {
        const item = await board.getTreeItem(node);
        if (item.contextValue === 'worktree' && (node as { task?: { id: string } }).task?.id === taskId) return { node, item };
      }
      level = (await Promise.all(level.map(async (node) => (await board.getChildren(node)) ?? []))).flat();
    }
    assert.fail(`no worktree row for task ${taskId} on the board`);
  }

  async function hoveredTooltip(taskId: string): Promise<string> {
    const { board } = await activeApi();
    const { node, item } = await worktreeRow(taskId);
    const resolved = await board.resolveTreeItem!(item, node, new vscode.CancellationTokenSource().token);
    const tooltip = resolved?.tooltip;
    return typeof tooltip === 'string' ? tooltip : tooltip?.value ?? '';
  }

  test('hovering a worktree row shows its size and file count without .git; a new commit is measured again', async () => {
    const api = await activeApi();
    const task = await api.createTask({ subject: 'Measure my disk use', createWorktree: true });
    const worktree = task.worktreePath!;
    writeFileSync(join(worktree, 'sized.bin'), Buffer.alloc(3 * 1024 * 1024, 1));
    const before = await eventually(async () => (await hoveredTooltip(task.id)).match(/Disk: ([\d.]+ \w+) in (\d+) files/) ?? undefined, 'a disk line in the tooltip', 15_000);
    assert.equal(Number(before[2]), filesUnder(worktree));
    assert.match(before[1], /^3(\.0)? MB$/, 'the 3 MB file dominates the size');

    writeFileSync(join(worktree, 'second.txt'), 'one more file\n');
    git(worktree, 'add', '-A');
    git(worktree, 'commit', '-q', '-m', 'two more files');
    const after = await eventually(async () => {
      const match = (await hoveredTooltip(task.id)).match(/Disk: [\d.]+ \w+ in (\d+) files/);
      return match && Number(match[1]) === Number(before[2]) + 1 ? match : undefined;
    }, 'the count to follow the new commit', 15_000);
    assert.equal(Number(after[1]), filesUnder(worktree));
    await api.removeWorktree({ taskId: task.id, force: true });
  });
});
