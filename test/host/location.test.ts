import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activeApi } from './helpers';

type Globs = Record<string, boolean>;

/** VS Code's own default for git's object store (1.139 writes it `.git/objects/**`, older releases `**\/.git/objects/**`). */
const vscodeOwn = (globs: Globs): boolean => Object.entries(globs).some(([glob, on]) => on && glob.endsWith('.git/objects/**'));

suite('Where worktrees go: nested worktrees are kept out of the main window\'s search and file watcher', () => {
  suiteSetup(async () => {
    await activeApi();
  });

  test('the contributed defaults add .worktrees to files.watcherExclude and search.exclude and keep VS Code\'s own', () => {
    const watcher = vscode.workspace.getConfiguration('files').inspect<Globs>('watcherExclude')?.defaultValue ?? {};
    const search = vscode.workspace.getConfiguration('search').inspect<Globs>('exclude')?.defaultValue ?? {};
    console.log(`defaults in VS Code ${vscode.version}: files.watcherExclude ${JSON.stringify(watcher)}; search.exclude ${JSON.stringify(search)}`);
    assert.equal(watcher['.worktrees/**'], true);
    assert.ok(vscodeOwn(watcher), 'VS Code\'s own watcher default is still there');
    assert.equal(search['**/.worktrees/**'], true);
    assert.equal(search['**/node_modules'], true, 'VS Code\'s own search default is still there');
  });

  test('a person\'s own value is merged with the defaults, and can switch ours off', async () => {
    const files = vscode.workspace.getConfiguration('files');
    // User settings, not the workspace's: the test repository stays untouched for the other suites.
    await files.update('watcherExclude', { 'build/**': true }, vscode.ConfigurationTarget.Global);
    try {
      const merged = vscode.workspace.getConfiguration('files').get<Globs>('watcherExclude') ?? {};
      assert.equal(merged['build/**'], true, 'the person\'s pattern');
      assert.equal(merged['.worktrees/**'], true, 'ours, kept alongside it');
      assert.ok(vscodeOwn(merged), 'VS Code\'s, kept alongside it');
      await files.update('watcherExclude', { '.worktrees/**': false }, vscode.ConfigurationTarget.Global);
      assert.equal(vscode.workspace.getConfiguration('files').get<Globs>('watcherExclude')?.['.worktrees/**'], false);
    } finally {
      await files.update('watcherExclude', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
