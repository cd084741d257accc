import { FSWatcher, watch } from 'node:fs';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';

const DEBOUNCE_MS = 150;

/**
 * Live board without polling: any window or process that changes a task appends to events.jsonl
 * in the store, and `git worktree add/remove` changes `<common>/worktrees/`. Both live outside the
 * workspace (under the git common dir), so Node's watchers are used rather than VS Code's
 * workspace watcher. Bursts are debounced into one refresh.
 */
export function watchBoard(storeDir: string, commonDir: string, onChange: () => void, log: vscode.LogOutputChannel): vscode.Disposable {
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onChange, DEBOUNCE_MS);
  };
  const watchers = new Set<FSWatcher>();
  const tryWatch = (dir: string, onEvent: (name: string | undefined) => void): FSWatcher | undefined => {
    try {
      const watcher = watch(dir, (_event, name) => onEvent(name?.toString()));
      watcher.on('error', (error) => log.warn(`watcher on ${dir} stopped: ${error.message}`));
      watcher.on('close', () => watchers.delete(watcher));
      watchers.add(watcher);
      return watcher;
    } catch (error) {
      log.debug(`cannot watch ${dir}: ${(error as Error).message}`);
      return undefined;
    }
  };
  // The store appears with the first task and git's `worktrees/` with the first linked worktree
  // (and goes when pruned empty): each is (re)watched whenever the common dir reports it, so
  // opening a repository creates nothing.
  let storeWatchers: FSWatcher[] = [];
  const watchStore = (): void => {
    storeWatchers.forEach((watcher) => watcher.close());
    storeWatchers = [tryWatch(storeDir, (name) => (name === 'events.jsonl' || name === 'tasks') && schedule()), tryWatch(join(storeDir, 'tasks'), schedule)].filter(
      (watcher): watcher is FSWatcher => watcher !== undefined,
    );
  };
  let worktreesWatcher: FSWatcher | undefined;
  const watchWorktrees = (): void => {
    worktreesWatcher?.close();
    worktreesWatcher = tryWatch(join(commonDir, 'worktrees'), schedule);
  };
  watchStore();
  watchWorktrees();
  tryWatch(commonDir, (name) => {
    if (name === 'worktrees') watchWorktrees();
    else if (name === basename(storeDir)) watchStore();
    else return;
    schedule();
  });
  return {
    dispose: () => {
      clearTimeout(timer);
      watchers.forEach((watcher) => watcher.close());
    },
  };
}
