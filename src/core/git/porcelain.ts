/** Parsers for git's machine-readable (-z) outputs. Pure functions: tested on their own. */

export interface WorktreeEntry {
  path: string;
  head?: string;
  /** Short branch name (without refs/heads/); undefined when detached or bare. */
  branch?: string;
  detached: boolean;
  bare: boolean;
  locked?: string;
  /** git's reason when the worktree's directory is gone (`git worktree prune` would remove it). */
  prunable?: string;
}

/** `git worktree list --porcelain -z`: attributes NUL-terminated, records end with an empty one. */
export function parseWorktreeList(output: string): WorktreeEntry[] {
  const entries: WorktreeEntry[] = [];
  let current: WorktreeEntry | undefined;
  for (const field of output.split('\0')) {
    if (field === '') {
      if (current) entries.push(current);
      current = undefined;
      continue;
    }
    const space = field.indexOf(' ');
    const key = space === -1 ? field : field.slice(0, space);
    const value = space === -1 ? '' : field.slice(space + 1);
    if (key === 'worktree') {
      current = { path: value, detached: false, bare: false };
      continue;
    }
    if (!current) continue;
    switch (key) {
      case 'HEAD':
        current.head = value;
        break;
      case 'branch':
        current.branch = value.replace(/^refs\/heads\//, '');
        break;
      case 'detached':
        current.detached = true;
        break;
      case 'bare':
        current.bare = true;
        break;
      case 'locked':
        current.locked = value || 'locked';
        break;
      case 'prunable':
        current.prunable = value || 'prunable';
        break;
    }
  }
  if (current) entries.push(current);
  return entries;
}

export interface WorkingTreeStatus {
  staged: number;
  unstaged: number;
  untracked: number;
  unmerged: number;
  /** Every path with a change, untracked or conflict, as git reports it (relative to the worktree). */
  files: string[];
  /** The same paths, each with what it is. */
  entries: Array<{ path: string; kind: 'changed' | 'untracked' | 'conflicted' }>;
  /** The commit checked out (absent in a repository without commits). */
  head?: string;
  detached: boolean;
}

/** `git status --porcelain=v2 --branch -z`: headers, then one record per path; a rename carries its origin as an extra field. */
export function parseStatusV2(output: string): WorkingTreeStatus {
  const status: WorkingTreeStatus = { staged: 0, unstaged: 0, untracked: 0, unmerged: 0, files: [], entries: [], detached: false };
  const add = (path: string, kind: 'changed' | 'untracked' | 'conflicted'): void => {
    status.files.push(path);
    status.entries.push({ path, kind });
  };
  const fields = output.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const record = fields[i];
    switch (record[0]) {
      case '#': {
        const [, key, value] = record.split(' ');
        if (key === 'branch.oid' && value !== '(initial)') status.head = value;
        if (key === 'branch.head') status.detached = value === '(detached)';
        break;
      }
      case '1':
      case '2': {
        const parts = record.split(' ');
        const xy = parts[1];
        if (xy[0] !== '.') status.staged++;
        if (xy[1] !== '.') status.unstaged++;
        // Ordinary records have 8 fields before the path, renames 9 (plus the origin in the next field).
        add(parts.slice(record[0] === '1' ? 8 : 9).join(' '), 'changed');
        if (record[0] === '2') i++;
        break;
      }
      case 'u':
        status.unmerged++;
        add(record.split(' ').slice(10).join(' '), 'conflicted');
        break;
      case '?':
        status.untracked++;
        add(record.slice(2), 'untracked');
        break;
    }
  }
  return status;
}

export interface MergeTreeResult {
  /** git's own verdict (exit code 0), not inferred from the list of paths. */
  clean: boolean;
  tree: string;
  conflicts: string[];
}

/** `git merge-tree --write-tree --name-only --no-messages -z`: the tree, then each conflicted path. */
export function parseMergeTree(output: string): Omit<MergeTreeResult, 'clean'> {
  const [tree, ...rest] = output.split('\0');
  return { tree: tree.trim(), conflicts: [...new Set(rest.filter((path) => path !== ''))] };
}

export interface BranchHead {
  name: string;
  oid: string;
  /** The tree of the branch's commit: tells "nothing to merge" without another git process. */
  tree: string;
  /** The worktree that has the branch checked out, if any. */
  worktreePath?: string;
}

// `lstrip=2`, not `short`: a tag named like a branch makes `short` answer "heads/<name>".
/** With the worktree each branch is checked out in: git reads every worktree's HEAD for that. */
export const BRANCH_HEADS_FORMAT = '--format=%(objectname) %(tree)%00%(refname:lstrip=2)%00%(worktreepath)';
/** Without worktree paths: about three times faster with many worktrees (parsed the same way, paths empty). */
export const BRANCH_OIDS_FORMAT = '--format=%(objectname) %(tree)%00%(refname:lstrip=2)%00';

/**
 * `git for-each-ref` with BRANCH_HEADS_FORMAT: "oid tree NUL name NUL worktree-path LF" per branch. Paths
 * may contain newlines, so records are cut at the NULs and the oid is taken from the end of the
 * field that joins one record's path to the next one's oid.
 */
export function parseBranchHeads(output: string): BranchHead[] {
  const fields = output.split('\0');
  const heads: BranchHead[] = [];
  let oid = fields[0];
  for (let i = 1; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    const joined = fields[i + 1];
    const cut = joined.lastIndexOf('\n', joined.length - 2);
    const last = i + 2 >= fields.length;
    const path = last ? joined.replace(/\n$/, '') : joined.slice(0, cut);
    const [commit, tree] = oid.trim().split(' ');
    heads.push({ name, oid: commit, tree, worktreePath: path || undefined });
    oid = last ? '' : joined.slice(cut + 1);
  }
  return heads;
}

/** `git version` → [major, minor, patch]. */
export function parseGitVersion(output: string): [number, number, number] {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) return [0, 0, 0];
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}
