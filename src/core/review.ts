import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { worktreeAt } from './board';
import { TaskWorktreesError } from './errors';
import { canonicalPath, isInside, Repository } from './repo';
import { Task } from './tasks/model';

/** One file a task changed. Status letters as git's: A added, M modified, D deleted, R renamed, T type changed. */
export interface ChangedFile {
  status: 'A' | 'M' | 'D' | 'R' | 'T';
  /** Relative to the worktree (or the repository), `/`-separated. */
  path: string;
  /** A rename's path at the merge-base. */
  originalPath?: string;
  /** Changed by the branch's commits. */
  committed: boolean;
  /** Changed in the worktree: staged, unstaged or untracked. */
  uncommitted: boolean;
}

/** What a review shows: each file at `base` against the task's worktree (or its branch, without one). */
export interface TaskChanges {
  taskId: string;
  /** The merge-base of the task's branch (or worktree HEAD) and its base: the original side of every diff. */
  base: string;
  /** The commit the task is at: the worktree's HEAD, or its branch. */
  head: string;
  /** Set when the modified side is the files on disk (uncommitted changes included). */
  worktreePath?: string;
  files: ChangedFile[];
}

const STATUSES = new Set(['A', 'M', 'D', 'R', 'T']);

/** The task's changes against the merge-base with its base: committed, and in its worktree. */
export async function changedFiles(repo: Repository, task: Task): Promise<TaskChanges> {
  const git = repo.git;
  const entry = task.worktreePath ? worktreeAt(await repo.worktrees(), task.worktreePath) : undefined;
  const worktreePath = entry && !entry.prunable ? entry.path : undefined;
  const [head, baseOid] = await Promise.all([
    worktreePath ? git.headCommit(worktreePath) : task.branch ? git.branchCommit(task.branch) : undefined,
    git.branchCommit(task.baseBranch),
  ]);
  if (!head) throw new TaskWorktreesError('TaskHasNoWorktree', `Task "${task.id}" has neither a worktree nor a branch to review.`);
  const base = (baseOid && (await git.mergeBase(baseOid, head))) ?? head;
  const [committed, all, untracked, uncommitted] = await Promise.all([
    base === head ? Promise.resolve([]) : git.diffCommits(base, head),
    worktreePath ? git.diffWorktreeAgainst(worktreePath, base) : git.diffCommits(base, head),
    worktreePath ? git.untrackedFiles(worktreePath) : Promise.resolve([]),
    worktreePath ? git.uncommittedPaths(worktreePath) : Promise.resolve([]),
  ]);
  const committedPaths = new Set(committed.flatMap((file) => [file.path, file.originalPath ?? file.path]));
  const uncommittedPaths = new Set(uncommitted);
  const found = new Map<string, Omit<ChangedFile, 'committed' | 'uncommitted'>>();
  for (const file of all.filter((entry) => STATUSES.has(entry.status))) found.set(file.path, { ...file, status: file.status as ChangedFile['status'] });
  for (const path of untracked) {
    // Removed from the index yet still on disk (`git rm --cached`): one file, there on both sides.
    found.set(path, found.get(path)?.status === 'D' ? { status: 'M', path } : { status: 'A', path });
  }
  const files: ChangedFile[] = [...found.values()].map((file) => ({
    ...file,
    committed: committedPaths.has(file.path) || (file.originalPath !== undefined && committedPaths.has(file.originalPath)),
    uncommitted: uncommittedPaths.has(file.path) || (file.originalPath !== undefined && uncommittedPaths.has(file.originalPath)),
  }));
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { taskId: task.id, base, head, worktreePath, files };
}

/** The largest file a review reads whole (fileAtCommit): 64 MiB. */
export const MAX_REVIEW_FILE_BYTES = 64 * 1024 * 1024;

export interface DiskUsage {
  /** Bytes the worktree's files take on disk (allocated blocks; `.git` excluded). */
  bytes: number;
  files: number;
  measuredAt: number;
}

/**
 * Only a worktree of this repository is measured (never any folder: `/` would walk the machine),
 * and without the other worktrees nested in it (the main one holds the task worktrees), which
 * count for themselves.
 */
export async function measurableWorktree(repo: Repository, path: string): Promise<{ root: string; nested: string[] }> {
  const entries = await repo.worktrees();
  const entry = worktreeAt(entries, path);
  if (!existsSync(path) || entry?.prunable) throw new TaskWorktreesError('WorktreeNotFound', `${path} does not exist.`);
  if (!entry || entry.bare) throw new TaskWorktreesError('InvalidInput', `${path} is not one of the repository's worktrees.`);
  const root = canonicalPath(entry.path);
  const nested = entries.map((other) => canonicalPath(other.path)).filter((other) => other !== root && isInside(other, root));
  return { root, nested };
}

/** At most this many file-system calls in flight per measurement: the walk never floods the thread pool. */
const WALK_CONCURRENCY = 8;

/**
 * Disk use of worktrees, measured by an asynchronous walk (bounded concurrency, `.git` skipped) and
 * kept while the worktree's HEAD is the same and the measurement is younger than `maxAgeMs`.
 * Concurrent asks for one worktree share one walk.
 */
export class DiskUsageCache {
  private readonly measured = new Map<string, { key: string; usage: DiskUsage }>();
  private readonly walking = new Map<string, Promise<DiskUsage>>();

  constructor(private readonly maxAgeMs = 5 * 60_000) {}

  /** `skipped`: folders inside it not to walk (other worktrees nested in it). */
  async measure(worktreePath: string, head: string, skipped: readonly string[] = []): Promise<DiskUsage> {
    const cached = this.measured.get(worktreePath);
    if (cached && cached.key === head && Date.now() - cached.usage.measuredAt < this.maxAgeMs) return cached.usage;
    let walk = this.walking.get(worktreePath);
    if (!walk) {
      walk = walkSize(worktreePath, new Set(skipped)).finally(() => this.walking.delete(worktreePath));
      this.walking.set(worktreePath, walk);
    }
    const usage = await walk;
    this.measured.set(worktreePath, { key: head, usage });
    return usage;
  }
}

async function walkSize(root: string, skipped: ReadonlySet<string>): Promise<DiskUsage> {
  let bytes = 0;
  let files = 0;
  const pending: string[] = [root];
  let active = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      if (pending.length === 0 && active === 0) return resolve();
      while (active < WALK_CONCURRENCY && pending.length > 0) {
        const dir = pending.pop()!;
        active++;
        fs.readdir(dir, { withFileTypes: true })
          .then(async (entries) => {
            for (const entry of entries) {
              if (entry.name === '.git') continue;
              const path = join(dir, entry.name);
              if (entry.isDirectory()) {
                if (!skipped.has(path)) pending.push(path);
              }
              else {
                const stat = await fs.lstat(path).catch(() => undefined);
                if (!stat) continue;
                files++;
                bytes += stat.blocks !== undefined && stat.blocks > 0 ? stat.blocks * 512 : stat.size;
              }
            }
          })
          // A folder that vanished or cannot be read while walking counts as empty.
          .catch(() => undefined)
          .then(() => {
            active--;
            pump();
          }, reject);
      }
    };
    pump();
  });
  return { bytes, files, measuredAt: Date.now() };
}
