import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { WorktreeEntry } from './porcelain';
import { readBranchOids, readLoose, readRefFile, RefFileCache } from './refFiles';

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The part of `git worktree list --porcelain` (git 2.39's rules) a merge looks at: the entries that
 * have `branch` checked out, or rebase or bisect it, and the entry of the worktree at `path`, in
 * git's order (the main worktree first, then by path). Read from git's files without starting git —
 * one `HEAD` per worktree, the rest only for the entries given back — and only in the plain layout
 * (the repository's `.git` folder is the common dir; no setting that changes what git lists) with
 * every file of the expected form: anything else gives `undefined`, and the caller asks git.
 * A worktree added or removed meanwhile is as if git had listed a moment earlier or later.
 * With `cache`, the files read for every worktree (HEAD, the alias check's branch) are read only
 * when changed since its last scan (see RefFileCache).
 */
export async function readWorktreesUsing(commonDir: string, mainWorktree: string, branch: string, path?: string, cache?: RefFileCache): Promise<WorktreeEntry[] | undefined> {
  if (commonDir !== join(mainWorktree, '.git') || !plainConfig(commonDir)) return undefined;
  cache?.startScan();
  const read = cache ? (file: string) => cache.read(file) : readRefFile;
  const mainHead = readHead(commonDir, read);
  if (!mainHead || !isPlainBranchOrOther(commonDir, mainHead, branch, read)) return undefined;
  let ids: string[];
  try {
    ids = readdirSync(join(commonDir, 'worktrees'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
    ids = [];
  }
  const pathAdminDir = path === undefined || path === mainWorktree ? undefined : adminDirOf(path);
  if (pathAdminDir === null) return undefined;

  const entries: WorktreeEntry[] = [];
  if (path === mainWorktree || uses(commonDir, mainHead, branch)) entries.push(entryOf(mainWorktree, mainHead));
  const linked: WorktreeEntry[] = [];
  let pathFound = false;
  for (const [index, id] of ids.entries()) {
    // Two file reads per worktree: in batches, so the git processes a merge started meanwhile are
    // answered as they end (hundreds of worktrees take milliseconds).
    if (index % 32 === 31) await new Promise((resolve) => setImmediate(resolve));
    const adminDir = `${commonDir}/worktrees/${id}`; // not join(): this runs once per worktree
    const head = readHead(adminDir, read);
    if (!head || !isPlainBranchOrOther(commonDir, head, branch, read)) return undefined;
    if (adminDir !== pathAdminDir && !uses(adminDir, head, branch)) continue;
    const entry = linkedEntry(adminDir, head);
    if (!entry) return undefined;
    // The worktree at `path` must be the one git's record names there (a folder swapped with
    // another's by hand points to the other's record): else git decides what is at `path`.
    if (adminDir === pathAdminDir) {
      if (entry.path !== path) return undefined;
      pathFound = true;
    }
    linked.push(entry);
  }
  if (pathAdminDir !== undefined && !pathFound) return undefined;
  // git sorts the linked worktrees by path (strcmp: byte order).
  linked.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  entries.push(...linked);
  // Each branch's commit, as git resolves each HEAD; an unborn branch: git lists.
  const oids = readBranchOids(commonDir, [...new Set(entries.flatMap((entry) => (entry.branch ? [entry.branch] : [])))]);
  if (!oids) return undefined;
  return entries.map((entry) => (entry.branch ? { ...entry, head: oids.get(entry.branch) } : entry));
}

/** Whether the main worktree is on `branch`: one file, a first look (what decides is readWorktreesUsing's, or git's, list). */
export function mainWorktreeOn(commonDir: string, branch: string): boolean {
  const head = readHead(commonDir);
  return head !== undefined && 'branch' in head && head.branch === branch;
}

/**
 * False when a HEAD is on another branch that may be an alias (a symbolic ref) of `branch`: git
 * lists that worktree as on `branch`, so git lists. Packed refs are never symbolic: only a loose
 * ref that is not a plain commit id, or cannot be read, is doubtful.
 */
function isPlainBranchOrOther(commonDir: string, head: Head, branch: string, read: (file: string) => string): boolean {
  return !('branch' in head) || head.branch === branch || readLoose(commonDir, head.branch, read) !== undefined;
}

/** A HEAD file: on a branch, or detached at a commit; undefined for anything else (a symbolic ref outside refs/heads, an unreadable file). */
type Head = { branch: string } | { detached: string };

function readHead(gitDir: string, read: (file: string) => string = readRefFile): Head | undefined {
  let text: string;
  try {
    // A HEAD that is a link (core.preferSymlinkRefs, old gits) names its branch by where it leads: git says.
    text = read(`${gitDir}/HEAD`).trim();
  } catch {
    return undefined;
  }
  if (OID.test(text)) return { detached: text };
  const branch = /^ref: refs\/heads\/(\S+)$/.exec(text)?.[1];
  return branch === undefined ? undefined : { branch };
}

/** As safety's branchesInUse sees it: checked out, or (HEAD detached) rebased or bisected there. */
function uses(gitDir: string, head: Head, branch: string): boolean {
  if ('branch' in head) return head.branch === branch;
  return ['rebase-merge/head-name', 'rebase-apply/head-name', 'BISECT_START'].some((file) => {
    const name = existsSync(join(gitDir, file)) ? readText(join(gitDir, file))?.trim().replace(/^refs\/heads\//, '') : undefined;
    return name === branch;
  });
}

function entryOf(path: string, head: Head): WorktreeEntry {
  return 'branch' in head ? { path, branch: head.branch, detached: false, bare: false } : { path, head: head.detached, detached: true, bare: false };
}

function linkedEntry(adminDir: string, head: Head): WorktreeEntry | undefined {
  const gitFile = readText(join(adminDir, 'gitdir'));
  // An absolute path to the worktree's .git, one line; git would read any other form its own way.
  const match = gitFile === undefined ? null : /^([^\n\r]*\/\.git)\n?$/.exec(gitFile);
  if (!match || !isAbsolute(match[1]) || match[1] !== match[1].trim()) return undefined;
  const entry = entryOf(match[1].slice(0, -'/.git'.length), head);
  const lockFile = join(adminDir, 'locked');
  if (existsSync(lockFile)) {
    const reason = readText(lockFile);
    return reason === undefined ? undefined : { ...entry, locked: reason.trim() || 'locked' };
  }
  // git's "prunable": the worktree's .git is gone (its folder deleted or moved).
  return existsSync(match[1]) ? entry : { ...entry, prunable: 'gitdir file points to non-existent location' };
}

/**
 * The admin dir (`<common dir>/worktrees/<id>`) the worktree at `path` points to; null when `path`
 * has no `.git` of that form (a deleted worktree is one git lists as prunable: git says so).
 */
function adminDirOf(path: string): string | null {
  const pointer = /^gitdir: (.+)\n?$/.exec(readText(join(path, '.git')) ?? '')?.[1];
  if (!pointer) return null;
  const adminDir = isAbsolute(pointer) ? pointer : resolve(path, pointer);
  return basename(dirname(adminDir)) === 'worktrees' ? adminDir : null;
}

/**
 * No setting that changes what git lists, or how (a bare repository, core.worktree, includes that
 * could set either, another ref store, per-worktree config, case-insensitive sorting): with any of
 * them, or anything but a plain "false" for a flag, git lists.
 */
function plainConfig(commonDir: string): boolean {
  const text = readText(join(commonDir, 'config'));
  if (text === undefined || /^\s*(?:worktree|refstorage|worktreeconfig)\b|^\s*\[\s*include/im.test(text)) return false;
  for (const flag of text.matchAll(/^\s*(?:bare|ignorecase)\b(.*)$/gim)) {
    if (!/^\s*=\s*(?:false|no|off|0)\s*$/i.test(flag[1])) return false;
  }
  return true;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
