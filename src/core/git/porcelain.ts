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
}

export function isClean(status: WorkingTreeStatus): boolean {
  return status.files.length === 0;
}

/** `git status --porcelain=v2 -z`: one record per path; a rename carries its origin as an extra field. */
export function parseStatusV2(output: string): WorkingTreeStatus {
  const status: WorkingTreeStatus = { staged: 0, unstaged: 0, untracked: 0, unmerged: 0, files: [] };
  const fields = output.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const record = fields[i];
    switch (record[0]) {
      case '1':
      case '2': {
        const parts = record.split(' ');
        const xy = parts[1];
        if (xy[0] !== '.') status.staged++;
        if (xy[1] !== '.') status.unstaged++;
        // Ordinary records have 8 fields before the path, renames 9 (plus the origin in the next field).
        status.files.push(parts.slice(record[0] === '1' ? 8 : 9).join(' '));
        if (record[0] === '2') i++;
        break;
      }
      case 'u':
        status.unmerged++;
        status.files.push(record.split(' ').slice(10).join(' '));
        break;
      case '?':
        status.untracked++;
        status.files.push(record.slice(2));
        break;
    }
  }
  return status;
}

export interface MergeTreeResult {
  tree: string;
  conflicts: string[];
}

/** `git merge-tree --write-tree --name-only --no-messages -z`: the tree, then each conflicted path. */
export function parseMergeTree(output: string): MergeTreeResult {
  const [tree, ...rest] = output.split('\0');
  return { tree: tree.trim(), conflicts: [...new Set(rest.filter((path) => path !== ''))] };
}

export interface BranchHead {
  name: string;
  oid: string;
}

/** `git for-each-ref --format=%(objectname) %(refname:short)` — oids have no spaces, names may not either. */
export function parseBranchHeads(output: string): BranchHead[] {
  return output
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const space = line.indexOf(' ');
      return { oid: line.slice(0, space), name: line.slice(space + 1) };
    });
}

/** `git version` → [major, minor, patch]. */
export function parseGitVersion(output: string): [number, number, number] {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) return [0, 0, 0];
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}
