import { basename } from 'node:path';
import { isInside } from './repo';

/** A workspace folder and the repository git reports it is in. */
export interface FolderInRepository<F> {
  folder: F;
  /** The repository's git common dir (canonical): shared by all its worktrees, distinct for nested repositories and submodules. */
  commonDir: string;
}

/**
 * The distinct repositories among a workspace's folders, in the order their first folder appears.
 * Folders of one repository — its main worktree, a task worktree, a subfolder — share the common
 * dir and so are one; a nested repository or a submodule has its own and stays apart.
 */
export function groupByRepository<F>(folders: ReadonlyArray<FolderInRepository<F>>): Array<{ commonDir: string; folders: F[] }> {
  const groups = new Map<string, F[]>();
  for (const { folder, commonDir } of folders) {
    const group = groups.get(commonDir);
    if (group) group.push(folder);
    else groups.set(commonDir, [folder]);
  }
  return [...groups].map(([commonDir, grouped]) => ({ commonDir, folders: grouped }));
}

/**
 * How repositories are named on the board: their main worktree's folder name, with the parent
 * folder added where two would read the same.
 */
export function repositoryNames(mainWorktrees: readonly string[]): string[] {
  const names = mainWorktrees.map((path) => basename(path));
  return names.map((name, index) => (names.filter((other) => other === name).length > 1 ? `${name} (${basename(mainWorktrees[index].slice(0, -name.length - 1))})` : name));
}

/** The repository whose folders hold `path` most closely (the nested one wins over the outer), by index; undefined when none does. */
export function repositoryHolding(path: string, repositoryFolders: ReadonlyArray<readonly string[]>): number | undefined {
  let best: { index: number; depth: number } | undefined;
  repositoryFolders.forEach((folders, index) => {
    for (const folder of folders) {
      if (isInside(path, folder) && (!best || folder.length > best.depth)) best = { index, depth: folder.length };
    }
  });
  return best?.index;
}
