/**
 * Where a repository's worktrees go, asked on its first interactive create. No `vscode` here: the
 * rules are unit-tested in plain Node; the question itself is in prompts.ts.
 */

/** The two layouts offered, as the `worktreeRoot` the first task records in the repository's store. */
export const WORKTREE_LOCATIONS = {
  /** VS Code's own layout and most peers': the main window's tools never see the worktrees. */
  nextTo: '../${repoName}.worktrees',
  /** The seed's layout and the default of non-interactive creates: inside a dev container's mounted folder. */
  inside: '.worktrees',
} as const;

export type WorktreeLocation = keyof typeof WORKTREE_LOCATIONS;

/** The levels of `WorkspaceConfiguration.inspect()` a person writes; the default level is not one of them. */
export interface SettingInspection {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
  globalLanguageValue?: unknown;
  workspaceLanguageValue?: unknown;
  workspaceFolderLanguageValue?: unknown;
}

/** A value at any level a person writes is their choice, even one equal to the default. */
export function isSetByUser(inspection: SettingInspection | undefined): boolean {
  if (!inspection) return false;
  const { globalValue, workspaceValue, workspaceFolderValue, globalLanguageValue, workspaceLanguageValue, workspaceFolderLanguageValue } = inspection;
  return [globalValue, workspaceValue, workspaceFolderValue, globalLanguageValue, workspaceLanguageValue, workspaceFolderLanguageValue].some((value) => value !== undefined);
}

/**
 * Asked once per repository: only while its store has no recorded layout (the first task records
 * one, from any window or process), and never when the person set `taskWorktrees.worktreeRoot`.
 */
export function needsLocationChoice(layoutRecorded: boolean, rootSetByUser: boolean): boolean {
  return !layoutRecorded && !rootSetByUser;
}

/** VS Code's `env.remoteName` for a window in a container, where only the repository's folder is mounted. */
const CONTAINER_REMOTES = new Set(['dev-container', 'attached-container']);

/**
 * The choice offered first. In a container the sibling folder would sit outside the mounted folder
 * (lost on rebuild, invisible on the host), so *inside* comes first there; elsewhere *next to*.
 */
export function locationOrder(remoteName: string | undefined): WorktreeLocation[] {
  return remoteName && CONTAINER_REMOTES.has(remoteName) ? ['inside', 'nextTo'] : ['nextTo', 'inside'];
}
