import { existsSync, lstatSync, readFileSync, Stats, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { TaskWorktreesError } from './errors';
import { GitAdapter, HiddenIndexEntry } from './git/adapter';
import { indexHasHiddenEntries } from './git/indexFile';
import { WorktreeEntry } from './git/porcelain';
import { canonicalPath, isInside } from './repo';
import { isAlive } from './tasks/lock';
import { AgentRecord, Task, WindowRecord } from './tasks/model';

export type OperationInProgress = 'merge' | 'rebase' | 'cherry-pick' | 'revert' | 'bisect';

/**
 * What a destructive step would lose in one worktree. Every operation that removes, forces,
 * deletes or merges asks for this first and refuses (or, from the UI, asks) when it is not empty.
 */
export interface LossReport {
  worktreePath: string;
  /** Changed (staged or not), untracked and conflicted paths, each with what it is. */
  files: Array<{ path: string; kind: 'changed' | 'untracked' | 'conflicted' }>;
  /** A git operation stopped half way: nothing may touch this worktree until it is finished or aborted. */
  operationInProgress?: OperationInProgress;
  /** The detached HEAD's commit when no branch contains it. */
  detachedCommit?: string;
  locked?: string;
}

export function hasLoss(report: LossReport): boolean {
  return report.files.length > 0 || report.detachedCommit !== undefined || report.operationInProgress !== undefined;
}

/** One line per thing that would be lost, for error details and modals. */
export function describeLoss(report: LossReport): string[] {
  const lines = report.files.map((file) => (file.kind === 'changed' ? file.path : `${file.path} (${file.kind})`));
  if (report.detachedCommit) lines.push(`HEAD ${report.detachedCommit.slice(0, 12)} (detached, on no branch)`);
  if (report.operationInProgress) lines.push(`a ${report.operationInProgress} in progress`);
  return lines;
}

/**
 * The safety inspector: one `git status`, the index file read for entries git is told not to look
 * at (an index listing only when some are marked or the file is unfamiliar; plus one ref query for
 * a detached HEAD, one hash of the marked files) and a few file checks.
 */
export async function inspectWorktree(git: GitAdapter, entry: WorktreeEntry): Promise<LossReport> {
  const [status, hidden] = await Promise.all([git.status(entry.path), hiddenEdits(git, entry.path)]);
  const report: LossReport = {
    worktreePath: entry.path,
    files: [...status.entries.map((file) => ({ path: file.path, kind: file.kind })), ...hidden.map((path) => ({ path, kind: 'changed' as const }))],
    operationInProgress: operationInProgress(entry.path),
    locked: entry.locked,
  };
  if (status.detached && status.head && !(await git.isOnSomeBranch(status.head))) report.detachedCommit = status.head;
  return report;
}

/**
 * Files marked assume-unchanged or skip-worktree (a local config override) that differ from the
 * index: `git status` does not show them. A skip-worktree file absent from disk is a sparse
 * checkout's, not a deletion; a symlink is counted as changed (not hashed through its target).
 */
async function hiddenEdits(git: GitAdapter, worktreePath: string): Promise<string[]> {
  // Most indexes mark no entry at all: read from the index file itself, that costs no git process.
  if (await indexMarksNone(worktreePath)) return [];
  const hidden = await git.hiddenIndexEntries(worktreePath);
  if (hidden.length === 0) return [];
  const changed: string[] = [];
  const toHash: HiddenIndexEntry[] = [];
  for (const entry of hidden) {
    const stat = lstatIfAny(join(worktreePath, entry.path));
    if (!stat) {
      if (!entry.skipWorktree) changed.push(entry.path);
    } else if (!stat.isFile() || entry.path.includes('\n')) changed.push(entry.path);
    else toHash.push(entry);
  }
  const oids = await git.hashFiles(worktreePath, toHash.map((entry) => entry.path));
  changed.push(...toHash.filter((entry, index) => oids[index] !== entry.oid).map((entry) => entry.path));
  return changed;
}

/** True when the worktree's index file shows for certain that no entry is marked (see indexHasHiddenEntries). */
async function indexMarksNone(worktreePath: string): Promise<boolean> {
  const gitDir = worktreeGitDir(worktreePath);
  if (!gitDir) return false;
  const bytes = await readFile(join(gitDir, 'index')).catch(() => undefined);
  return bytes !== undefined && indexHasHiddenEntries(bytes) === false;
}

function lstatIfAny(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Refuses while an agent recorded in the store still runs in one of the worktrees (its process is
 * alive; one on another host is assumed alive): whoever asks — a window, the CLI, another agent.
 */
export function refuseRunningAgents(records: readonly AgentRecord[], worktrees: readonly string[], what: string): void {
  const roots = worktrees.map((path) => canonicalPath(path));
  const running = records.filter((record) => isStillRunning(record) && roots.some((root) => isInside(canonicalPath(record.worktreePath), root)));
  if (running.length > 0) {
    const [first] = running;
    throw new TaskWorktreesError(
      'AgentRunning',
      `An agent (${first.agent}, pid ${first.pid} on ${first.host}) is still running in ${first.worktreePath}; stop it before ${what}. If it is gone (its window crashed), delete ${first.file ?? 'its record in the store\'s agents folder'}.`,
      running.map((record) => `${record.agent} (pid ${record.pid} on ${record.host})`),
    );
  }
}

/**
 * This host's agents are alive while their process is; another host's cannot be checked from here,
 * so they count for a day after they started (a container that restarts under a new name must not
 * block its worktrees for ever).
 */
function isStillRunning(record: AgentRecord): boolean {
  if (record.host === hostname()) return isAlive(record.pid);
  const started = Date.parse(record.startedAt);
  return Number.isFinite(started) && Date.now() - started < OTHER_HOST_AGENT_MS;
}

const OTHER_HOST_AGENT_MS = 24 * 60 * 60 * 1000;

/**
 * Refuses while another live VS Code window has one of the worktrees (or a folder inside one) open:
 * the refusal names each window and its terminals there, so the caller can ask and then pass
 * `evenIfOpen`. The calling process's own window does not count: it is the one asking, and its
 * person already confirmed the removal (that window then shows that its folder is gone).
 */
export function refuseOpenWindows(records: readonly WindowRecord[], worktrees: readonly string[], what: string): void {
  const open = openWindowsIn(records, worktrees).filter((record) => !(record.pid === process.pid && record.host === hostname()));
  if (open.length > 0) {
    const terminals = open.reduce((count, record) => count + record.terminals.length, 0);
    throw new TaskWorktreesError(
      'WorktreeOpenInWindow',
      `${open.length === 1 ? 'Another window has' : `${open.length} other windows have`} ${open[0].worktreePath} open${terminals ? `, with ${terminals} terminal(s) in it` : ''}; close ${open.length === 1 ? 'it' : 'them'} before ${what}, or confirm that it may go from under ${open.length === 1 ? 'it' : 'them'}.`,
      open.map(describeWindow),
    );
  }
}

/** The windows whose records are live and whose folder is one of the worktrees or inside one. */
export function openWindowsIn(records: readonly WindowRecord[], worktrees: readonly string[]): WindowRecord[] {
  const roots = worktrees.map((path) => canonicalPath(path));
  return records.filter((record) => isWindowOpen(record) && roots.some((root) => isInside(canonicalPath(record.worktreePath), root)));
}

/** One line per window for refusals and modals: which window, and the terminals it has there. */
export function describeWindow(record: WindowRecord): string {
  const window = `${record.taskId ? `the window of task "${record.taskId}"` : `the window on ${record.worktreePath}`} (pid ${record.pid} on ${record.host})`;
  return record.terminals.length ? `${window}, terminals: ${record.terminals.join(', ')}` : window;
}

/**
 * A window refreshes its record every WINDOW_HEARTBEAT_MS; a record not refreshed for
 * WINDOW_STALE_MS is a window that is gone (closed without clean-up, crashed, its machine asleep),
 * on any host. On this host the window's process must also be alive.
 */
export function isWindowOpen(record: WindowRecord, now = Date.now()): boolean {
  const age = now - Date.parse(record.seenAt);
  // A heartbeat from the future (beyond the stale window) is a clock not to be believed.
  if (!(Math.abs(age) < WINDOW_STALE_MS)) return false;
  return record.host !== hostname() || isAlive(record.pid);
}

/**
 * Records to delete: a window of this host whose process is gone, or any whose heartbeat is so old
 * that no window can still be refreshing it (a live one would have written it many times since).
 */
export function isWindowRecordDead(record: WindowRecord, now = Date.now()): boolean {
  if (record.host === hostname() && !isAlive(record.pid)) return true;
  return !(Math.abs(now - Date.parse(record.seenAt)) < WINDOW_RECORD_DELETED_AFTER_MS);
}

export const WINDOW_HEARTBEAT_MS = 30_000;
export const WINDOW_STALE_MS = 2 * 60_000;
const WINDOW_RECORD_DELETED_AFTER_MS = 60 * 60_000;

/** Refuses before anything is touched when a worktree is locked or stopped in the middle of a git operation. */
export function refuseIfBusy(entry: WorktreeEntry | undefined, what: string): void {
  if (!entry) return;
  if (entry.locked) {
    throw new TaskWorktreesError('WorktreeLocked', `${entry.path} is locked (${entry.locked}); unlock it with "git worktree unlock" first.`);
  }
  refuseOperationInProgress(entry, what);
}

/** A merge, rebase, cherry-pick, revert or bisect stopped in the worktree: nothing may touch it. */
export function refuseOperationInProgress(entry: WorktreeEntry | undefined, what: string): void {
  if (!entry) return;
  const operation = operationInProgress(entry.path);
  if (operation) {
    throw new TaskWorktreesError(
      'OperationInProgress',
      `A ${operation} is in progress in ${entry.path}; finish or abort it there before ${what}.`,
      [entry.path],
    );
  }
}

/**
 * The git dir of a worktree, read from its `.git` (a directory, or a file "gitdir: …" for linked
 * worktrees, separate git dirs and submodules): no git process.
 */
export function worktreeGitDir(worktreePath: string): string | undefined {
  const dotGit = join(worktreePath, '.git');
  try {
    if (statSync(dotGit).isDirectory()) return dotGit;
    const match = /^gitdir: (.*)$/m.exec(readFileSync(dotGit, 'utf8'));
    if (!match) return undefined;
    const dir = match[1].trim();
    return isAbsolute(dir) ? dir : resolve(worktreePath, dir);
  } catch {
    return undefined;
  }
}

// The state files git leaves in a worktree's git dir while an operation waits for the user.
const OPERATION_MARKERS: ReadonlyArray<[string, OperationInProgress]> = [
  ['rebase-merge', 'rebase'],
  ['rebase-apply', 'rebase'],
  ['MERGE_HEAD', 'merge'],
  ['CHERRY_PICK_HEAD', 'cherry-pick'],
  ['REVERT_HEAD', 'revert'],
  ['sequencer', 'cherry-pick'],
  ['BISECT_LOG', 'bisect'],
];

export function operationInProgress(worktreePath: string): OperationInProgress | undefined {
  const gitDir = worktreeGitDir(worktreePath);
  if (!gitDir) return undefined;
  return OPERATION_MARKERS.find(([marker]) => existsSync(join(gitDir, marker)))?.[1];
}

/**
 * Every branch in use in some worktree, with where: checked out, or being rebased or bisected
 * there (git lists such a worktree as detached, yet the branch must not move under it).
 */
export function branchesInUse(entries: readonly WorktreeEntry[]): Map<string, WorktreeEntry> {
  const inUse = new Map<string, WorktreeEntry>();
  for (const entry of entries) {
    if (entry.bare || entry.prunable) continue;
    if (entry.branch) inUse.set(entry.branch, entry);
    if (!entry.detached) continue;
    const gitDir = worktreeGitDir(entry.path);
    if (!gitDir) continue;
    for (const file of ['rebase-merge/head-name', 'rebase-apply/head-name', 'BISECT_START']) {
      const name = readSmallFile(join(gitDir, file))?.replace(/^refs\/heads\//, '');
      if (name && name !== 'detached HEAD') inUse.set(name, entry);
    }
  }
  return inUse;
}

function readSmallFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why `branch` must never be bound to `taskId` nor deleted: it is a task's base, the branch of the
 * main worktree, or another task's branch. Undefined when it is free.
 */
export function branchProtection(branch: string, tasks: readonly Task[], mainBranch: string | undefined, taskId?: string): string | undefined {
  if (branch === mainBranch) return `"${branch}" is the branch of the main worktree`;
  const baseOf = tasks.find((task) => task.baseBranch === branch);
  if (baseOf) return `"${branch}" is the base branch of task "${baseOf.id}"`;
  const owner = tasks.find((task) => task.id !== taskId && task.branch === branch);
  if (owner) return `"${branch}" is the branch of task "${owner.id}"`;
  return undefined;
}

/**
 * Whether the base holds everything the branch has, judged from git now (never from a stored
 * record, which an undone merge makes stale): the branch is an ancestor of the base, or it changed
 * something and merging it would not change the base's tree (a squash or a cherry-picked copy
 * landed). A branch whose commits cancel out (a change and its revert) left nothing on the base:
 * its commits exist only on the branch, so it is not merged.
 */
export async function isMergedInto(git: GitAdapter, branchOid: string, baseOid: string): Promise<boolean> {
  if (branchOid === baseOid || (await git.isAncestor(branchOid, baseOid))) return true;
  const [{ tree, conflicts }, baseTree, branchTree, forkPoint] = await Promise.all([
    git.mergeTree(baseOid, branchOid),
    git.treeOf(baseOid),
    git.treeOf(branchOid),
    git.mergeBase(baseOid, branchOid),
  ]);
  if (conflicts.length > 0 || tree !== baseTree) return false;
  return forkPoint !== undefined && (await git.treeOf(forkPoint)) !== branchTree;
}
