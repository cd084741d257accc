import { existsSync, FSWatcher, readdirSync, readFileSync, statSync, watch } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { GitAdapter } from './git/adapter';
import type { WorktreeState } from './board';

export type DirtyKind = 'changed' | 'untracked' | 'conflicted';

/** A worktree's uncommitted work, counted by kind. */
export interface DirtyCounts {
  changed: number;
  untracked: number;
  conflicted: number;
  /** The first MAX_LISTED_FILES paths (the counts are exact). */
  files: Array<{ path: string; kind: DirtyKind }>;
}

/** What a task row shows at a glance, kept between board refreshes. */
export interface TaskDetails {
  worktree: WorktreeState;
  /** The reason given to `git worktree lock` (may be empty), when the worktree is locked. */
  locked?: string;
  /** Absent until the worktree's status has been read (or when it has no worktree). */
  dirty?: DirtyCounts;
  /** Commits on the task branch its base lacks, and the reverse; absent while either branch is missing. */
  ahead?: number;
  behind?: number;
  /** The task branch's tip. `date` is ISO 8601. */
  lastCommit?: { subject: string; date: string };
}

/** What the cache needs of a task; a board's TaskView is one. */
export interface TrackedTask {
  id: string;
  baseBranch: string;
  branch?: string;
  worktreePath?: string;
  worktreeState: WorktreeState;
  locked?: string;
}

export interface DetailsCacheOptions {
  /** Bursts of file events (a commit touches index, HEAD and a ref) become one recomputation. */
  debounceMs?: number;
  /**
   * Git processes the cache runs at once (the adapter has its own, repository-wide limit too):
   * 2 by default, so a first reading of many worktrees leaves the machine to the window drawing them.
   */
  parallel?: number;
  /** Off: nothing is watched; only track() and invalidate() mark details stale. */
  watch?: boolean;
}

const MAX_LISTED_FILES = 50;

/** A long recomputation (a first reading of many worktrees) reports what changed after each this many git processes, so rows fill in as it goes. */
const CHANGE_BATCH = 25;

interface BranchTip {
  oid: string;
  date: string;
  subject: string;
}

interface Entry {
  task: TrackedTask;
  details: TaskDetails;
  /** The base and branch commits ahead/behind were counted for. */
  countedPair?: string;
  statusStale: boolean;
  /** Its worktree's status has not been read yet (the first reading is under way or to come). */
  unread: boolean;
  /** The worktree's own git dir (`<common>/worktrees/<name>`), read from its `.git` file. */
  gitDir?: string;
  watchers: FSWatcher[];
}

/**
 * Per-task details (dirty counts, ahead/behind, last commit, missing/locked), recomputed only for
 * the tasks whose worktree or branches changed. Each task worktree's git dir is watched for HEAD,
 * index and lock changes, its folder for its own disappearance, and the branch refs (loose refs
 * and packed-refs) under the common dir for moves — with fs.watch, no polling. A ref move costs one
 * `for-each-ref` plus one `rev-list` per task whose base or branch commit changed; an index change
 * one `status` in that worktree. Reading details never runs git.
 */
export class WorktreeDetailsCache {
  private readonly entries = new Map<string, Entry>();
  private tips = new Map<string, BranchTip>();
  private tipsStale = true;
  /** Branches the tasks named that the last reading of the tips did not have (a deleted base, say). */
  private absentAtLastRead = new Set<string>();
  private readonly listeners = new Set<(taskIds: string[]) => void>();
  private readonly refWatchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private disposed = false;
  private readonly debounceMs: number;
  private readonly parallel: number;

  constructor(
    private readonly git: GitAdapter,
    private readonly commonDir: string,
    private readonly options: DetailsCacheOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 150;
    this.parallel = Math.max(1, options.parallel ?? 2);
    if (options.watch !== false) this.watchRefs();
  }

  /** Called with the ids of the tasks whose details changed, after each recomputation that changed any. */
  onDidChange(listener: (taskIds: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(taskId: string): TaskDetails | undefined {
    return this.entries.get(taskId)?.details;
  }

  /** Whether the task's worktree state is still to be read for the first time: not tracked yet, or its first status is to come. */
  reading(taskId: string): boolean {
    return this.entries.get(taskId)?.unread ?? true;
  }

  /**
   * The tasks to keep details for (a board's tasks): new ones and ones whose worktree or branches
   * changed are computed; the others keep what they have, so reading an unchanged board runs no git.
   */
  track(tasks: readonly TrackedTask[]): void {
    const seen = new Set<string>();
    let work = false;
    for (const task of tasks) {
      seen.add(task.id);
      const entry = this.entries.get(task.id);
      if (!entry) {
        this.entries.set(task.id, this.newEntry(task));
        work = true;
        continue;
      }
      const previous = entry.task;
      entry.task = task;
      if (previous.worktreePath !== task.worktreePath || entry.details.worktree !== task.worktreeState) {
        this.unwatch(entry);
        entry.details = { worktree: task.worktreeState, locked: task.locked };
        entry.statusStale = entry.unread = true;
        this.watchWorktree(entry);
        work = true;
      } else if (previous.locked !== task.locked) {
        entry.details = { ...entry.details, locked: task.locked };
      }
      if (previous.branch !== task.branch || previous.baseBranch !== task.baseBranch) work = true;
      if (this.unknownBranch(task)) this.tipsStale = work = true;
    }
    for (const [id, entry] of this.entries) {
      if (seen.has(id)) continue;
      this.unwatch(entry);
      this.entries.delete(id);
    }
    if (work) this.schedule(0);
  }

  /** Marks tasks' worktree status stale (all tasks' when no ids are given) and recomputes them. */
  invalidate(taskIds?: readonly string[]): void {
    for (const id of taskIds ?? [...this.entries.keys()]) {
      const entry = this.entries.get(id);
      if (entry) entry.statusStale = true;
    }
    if (!taskIds) this.tipsStale = true;
    this.schedule(0);
  }

  /** Resolves once no recomputation is pending or running (tests, the benchmark). */
  async settled(): Promise<void> {
    while (this.timer || this.running) {
      if (this.running) await this.running;
      else await new Promise((resolve) => setTimeout(resolve, this.debounceMs));
    }
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of this.entries.values()) this.unwatch(entry);
    for (const watcher of this.refWatchers.values()) watcher.close();
    this.refWatchers.clear();
    this.listeners.clear();
  }

  private newEntry(task: TrackedTask): Entry {
    const entry: Entry = { task, details: { worktree: task.worktreeState, locked: task.locked }, statusStale: true, unread: true, watchers: [] };
    this.watchWorktree(entry);
    return entry;
  }

  /** A branch neither the tips nor their absences account for: the refs moved since they were read. */
  private unknownBranch(task: TrackedTask): boolean {
    const names = task.branch === undefined ? [task.baseBranch] : [task.baseBranch, task.branch];
    return !this.tipsStale && names.some((name) => !this.tips.has(name) && !this.absentAtLastRead.has(name));
  }

  private schedule(delayMs = this.debounceMs): void {
    if (this.disposed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.recompute().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule(0);
        }
      });
    }, delayMs);
  }

  private async recompute(): Promise<void> {
    const changed = new Set<string>();
    if (this.tipsStale) {
      this.tipsStale = false;
      this.tips = await this.readTips().catch(() => {
        this.tipsStale = true;
        return this.tips;
      });
      this.absentAtLastRead = new Set();
      for (const { task } of this.entries.values()) {
        for (const name of [task.baseBranch, task.branch]) if (name !== undefined && !this.tips.has(name)) this.absentAtLastRead.add(name);
      }
    }
    const jobs: Array<() => Promise<void>> = [];
    for (const entry of this.entries.values()) {
      const { task } = entry;
      const before = JSON.stringify(entry.details);
      const tip = task.branch ? this.tips.get(task.branch) : undefined;
      const base = this.tips.get(task.baseBranch);
      const lastCommit = tip && { subject: tip.subject, date: tip.date };
      const pair = tip && base ? `${base.oid} ${tip.oid}` : undefined;
      entry.details = { ...entry.details, lastCommit };
      if (!pair) {
        entry.countedPair = undefined;
        entry.details = { ...entry.details, ahead: undefined, behind: undefined };
      } else if (base!.oid === tip!.oid) {
        // A branch still at its base's commit (a task not begun): level with it, no count to run.
        entry.countedPair = pair;
        entry.details = { ...entry.details, ahead: 0, behind: 0 };
      } else if (pair !== entry.countedPair) {
        jobs.push(() => this.countAheadBehind(entry, pair, changed));
      }
      if (entry.statusStale) {
        entry.statusStale = false;
        jobs.push(() => this.readStatus(entry, changed));
      }
      if (JSON.stringify(entry.details) !== before) changed.add(task.id);
    }
    const report = (): void => {
      const ids = [...changed].filter((id) => this.entries.has(id));
      changed.clear();
      if (ids.length === 0 || this.disposed) return;
      for (const listener of this.listeners) listener(ids);
    };
    let finished = 0;
    await runLimited(jobs, this.parallel, () => ++finished % CHANGE_BATCH === 0 && report());
    report();
  }

  private async countAheadBehind(entry: Entry, pair: string, changed: Set<string>): Promise<void> {
    const { task } = entry;
    try {
      const { ahead, behind } = await this.git.aheadBehind(task.baseBranch, task.branch!);
      entry.countedPair = pair;
      if (entry.details.ahead === ahead && entry.details.behind === behind) return;
      entry.details = { ...entry.details, ahead, behind };
      changed.add(task.id);
    } catch {
      // A branch deleted since its tip was read: the refs watcher brings the next reading.
    }
  }

  private async readStatus(entry: Entry, changed: Set<string>): Promise<void> {
    const { task } = entry;
    const before = JSON.stringify(entry.details);
    if (task.worktreeState !== 'present' || !task.worktreePath) {
      entry.details = { ...entry.details, dirty: undefined };
    } else if (!existsSync(join(task.worktreePath, '.git'))) {
      entry.details = { ...entry.details, worktree: 'missing', dirty: undefined };
    } else {
      try {
        const status = await this.git.status(task.worktreePath);
        const count = (kind: DirtyKind): number => status.entries.filter((file) => file.kind === kind).length;
        entry.details = {
          ...entry.details,
          worktree: 'present',
          locked: entry.gitDir ? readLockReason(entry.gitDir) : entry.details.locked,
          dirty: { changed: count('changed'), untracked: count('untracked'), conflicted: count('conflicted'), files: status.entries.slice(0, MAX_LISTED_FILES) },
        };
      } catch {
        if (!existsSync(task.worktreePath)) entry.details = { ...entry.details, worktree: 'missing', dirty: undefined };
      }
    }
    // Only now, with the state read: a row drawn while git answered still says "reading", not nothing.
    // The row said "reading" until now: it changes even when the details read as they were.
    const wasUnread = entry.unread;
    entry.unread = false;
    if (wasUnread || JSON.stringify(entry.details) !== before) changed.add(task.id);
  }

  /** Every branch's tip with its subject and date: one process for all. */
  private async readTips(): Promise<Map<string, BranchTip>> {
    const { stdout } = await this.git.exec(['for-each-ref', TIPS_FORMAT, 'refs/heads'], { readOnly: true, mayPrintNothing: true });
    return parseTips(stdout);
  }

  private watchWorktree(entry: Entry): void {
    const { task } = entry;
    if (task.worktreeState !== 'present' || !task.worktreePath) return;
    const root = task.worktreePath;
    const gitDir = (entry.gitDir = worktreeGitDir(root));
    if (this.options.watch === false) return;
    const onGitDirEvent = (name: string | undefined): void => {
      if (name === 'HEAD' || name === 'index' || name === 'locked') this.markStatusStale(entry);
    };
    // Watching the directories, not the files: git replaces HEAD and index by renaming a lock file over them.
    for (const [dir, onEvent] of [
      [gitDir, onGitDirEvent],
      [root, (name: string | undefined) => (name === '.git' || name === basename(root)) && this.markStatusStale(entry)],
    ] as const) {
      if (!dir) continue;
      const watcher = tryWatch(dir, onEvent);
      if (watcher) entry.watchers.push(watcher);
    }
  }

  private markStatusStale(entry: Entry): void {
    if (!this.entries.has(entry.task.id)) return;
    entry.statusStale = true;
    this.schedule();
  }

  private unwatch(entry: Entry): void {
    entry.watchers.forEach((watcher) => watcher.close());
    entry.watchers = [];
  }

  /** packed-refs in the common dir, and every directory under refs/heads (a branch `task/x` is the file refs/heads/task/x). */
  private watchRefs(): void {
    const onRefsChanged = (): void => {
      this.tipsStale = true;
      this.schedule();
    };
    const commonWatcher = tryWatch(this.commonDir, (name) => {
      if (name === 'packed-refs') onRefsChanged();
      else if (name === 'refs') this.watchRefDirectory(join(this.commonDir, 'refs', 'heads'), onRefsChanged);
    });
    if (commonWatcher) this.refWatchers.set(this.commonDir, commonWatcher);
    this.watchRefDirectory(join(this.commonDir, 'refs', 'heads'), onRefsChanged);
  }

  private watchRefDirectory(dir: string, onRefsChanged: () => void): void {
    if (this.disposed || this.refWatchers.has(dir)) return;
    const watcher = tryWatch(dir, (name) => {
      if (name === undefined || name.endsWith('.lock')) return;
      const child = join(dir, name);
      if (isDirectory(child)) this.watchRefDirectory(child, onRefsChanged);
      onRefsChanged();
    });
    if (!watcher) return;
    this.refWatchers.set(dir, watcher);
    watcher.on('close', () => this.refWatchers.get(dir) === watcher && this.refWatchers.delete(dir));
    for (const child of readdirSync(dir, { withFileTypes: true })) {
      if (child.isDirectory()) this.watchRefDirectory(join(dir, child.name), onRefsChanged);
    }
  }
}

/** oid, committer date, branch name and subject, each ended by a NUL (a subject has no NUL). */
const TIPS_FORMAT = '--format=%(objectname)%00%(committerdate:iso-strict)%00%(refname:lstrip=2)%00%(contents:subject)%00';

function parseTips(output: string): Map<string, BranchTip> {
  const fields = output.split('\0');
  const tips = new Map<string, BranchTip>();
  for (let i = 0; i + 3 < fields.length; i += 4) {
    tips.set(fields[i + 2], { oid: fields[i].trim(), date: fields[i + 1], subject: fields[i + 3] });
  }
  return tips;
}

/** A linked worktree's `.git` file names its git dir (absolute, or relative to the worktree). */
function worktreeGitDir(root: string): string | undefined {
  try {
    const match = /^gitdir: (.*)$/m.exec(readFileSync(join(root, '.git'), 'utf8'));
    return match ? resolve(root, match[1].trim()) : undefined;
  } catch {
    return undefined;
  }
}

/** `git worktree lock` writes its reason (maybe none) into the git dir's `locked` file; no file, no lock. */
function readLockReason(gitDir: string): string | undefined {
  try {
    return readFileSync(join(gitDir, 'locked'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function tryWatch(dir: string, onEvent: (name: string | undefined) => void): FSWatcher | undefined {
  try {
    const watcher = watch(dir, (_event, name) => onEvent(name?.toString()));
    // A watched directory that goes away (a worktree deleted by hand) ends its watcher; that is not an error.
    watcher.on('error', () => watcher.close());
    return watcher;
  } catch {
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Runs the jobs, at most `limit` at a time, calling `afterEach` as each ends. */
async function runLimited(jobs: Array<() => Promise<void>>, limit: number, afterEach: () => void): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      await jobs[next++]();
      afterEach();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}
