import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { isCoded, TaskWorktreesError } from './errors';
import { GitAdapter, TreeChange } from './git/adapter';
import { Repository } from './repo';
import { validateTaskId } from './tasks/ids';

/** Why a snapshot was taken: named in its commit's subject and shown in the list. */
export type SnapshotReason = 'manual' | 'forced-removal' | 'clean-up' | 'move-changes';

const REASONS: readonly SnapshotReason[] = ['manual', 'forced-removal', 'clean-up', 'move-changes'];
const PREFIX = 'refs/task-worktrees/snapshots/';
const REF_PATTERN = /^refs\/task-worktrees\/snapshots\/([a-z0-9-]+)\/([1-9][0-9]{0,8})$/;
const SUBJECT_PATTERN = /^task-worktrees snapshot of ([a-z0-9-]+) \(([a-z-]+)\)$/;
// Snapshot commits are the extension's records, not the user's work: a fixed name means taking one
// never fails for want of a configured identity.
const SNAPSHOT_IDENTITY = { name: 'Task Worktrees', email: 'task-worktrees@localhost' };
const EMPTY_MODE = '000000';
const GITLINK_MODE = '160000';
// Names the task a snapshot was taken of by its creation time: a task made later under the same id
// (after a delete) must not list, restore over or drop the earlier task's snapshots.
const TASK_CREATED_TRAILER = 'Task-Created';

/**
 * A worktree's files as they were: the commit on `ref` holds every file on disk (uncommitted,
 * staged, untracked; never ignored ones) with the worktree's HEAD as first parent. When the index
 * held something other than both HEAD and the files on disk, the staged state is a second parent.
 */
export interface Snapshot {
  ref: string;
  taskId: string;
  number: number;
  commit: string;
  /** The worktree's HEAD when it was taken. */
  parent: string;
  /** The staged files' state as a commit, when it differed from both HEAD and the files on disk. */
  staged?: string;
  tree: string;
  createdAt: string;
  reason: SnapshotReason;
  /** Taken of an earlier task that had the same id (deleted since): it restores only into a new task. */
  earlierTask?: true;
}

/** What a restore wrote: paths relative to the worktree. */
export interface AppliedSnapshot {
  written: string[];
  deleted: string[];
}

export function isSnapshotRef(ref: unknown): ref is string {
  return typeof ref === 'string' && REF_PATTERN.test(ref);
}

export function validateSnapshotRef(ref: unknown): string {
  if (!isSnapshotRef(ref)) {
    throw new TaskWorktreesError('InvalidInput', `Not a snapshot ref: ${JSON.stringify(String(ref)).slice(0, 120)} (refs/task-worktrees/snapshots/<task id>/<n>).`);
  }
  return ref;
}

/**
 * Snapshots of worktrees on refs of their own, taken and read without touching any worktree's
 * index or files: git works on a private copy of the index (GIT_INDEX_FILE).
 */
export class WorktreeSnapshots {
  private readonly git: GitAdapter;

  constructor(private readonly repo: Repository) {
    this.git = repo.git;
  }

  /** Saves the worktree's files as the task's next snapshot, then drops the oldest beyond the bound. */
  async take(taskId: string, worktreePath: string, reason: SnapshotReason): Promise<Snapshot> {
    validateTaskId(taskId);
    const owner = await this.repo.store.get(taskId).catch(() => undefined);
    const head = await this.git.headCommit(worktreePath);
    const headTree = await this.git.treeOf(head);
    const { tree, stagedTree } = await this.treesOf(worktreePath, headTree);
    const subject = `task-worktrees snapshot of ${taskId} (${reason})`;
    const ownerLine = owner ? `\n${TASK_CREATED_TRAILER}: ${owner.createdAt}` : '';
    const body = `Worktree: ${JSON.stringify(worktreePath)}\nTaken: ${new Date().toISOString()}${ownerLine}`;
    const staged =
      stagedTree && stagedTree !== headTree && stagedTree !== tree
        ? await this.git.commitTree(stagedTree, [head], `${subject}: staged files\n\n${body}`, SNAPSHOT_IDENTITY)
        : undefined;
    const commit = await this.git.commitTree(tree, staged ? [head, staged] : [head], `${subject}\n\n${body}`, SNAPSHOT_IDENTITY);
    const ref = await this.createRef(taskId, commit);
    const snapshots = await this.list(taskId);
    await this.dropBeyondBound(taskId, snapshots);
    return snapshots.find((snapshot) => snapshot.ref === ref)!;
  }

  /** The task's snapshots, oldest first (not those of an earlier task that had its id). */
  async list(taskId: string): Promise<Snapshot[]> {
    return (await this.listWithEarlier(taskId)).filter((snapshot) => !snapshot.earlierTask);
  }

  /** Every snapshot under the task id, oldest first, those of earlier tasks with the id marked. */
  private async listWithEarlier(taskId: string): Promise<Snapshot[]> {
    validateTaskId(taskId);
    const prefix = `${PREFIX}${taskId}/`;
    const [refs, createdOf, owner] = await Promise.all([
      this.git.refsUnder(prefix),
      this.git.refTrailers(prefix, TASK_CREATED_TRAILER),
      this.repo.store.get(taskId).catch(() => undefined),
    ]);
    const ofOwner = (ref: string, date: string): boolean => {
      if (!owner) return true;
      const created = createdOf.get(ref);
      if (created !== undefined) return created === owner.createdAt;
      // Taken before snapshots named their task: judged by time (a commit's date has whole seconds).
      return Date.parse(date) >= Math.floor(Date.parse(owner.createdAt) / 1000) * 1000;
    };
    return refs
      .map((summary) => {
        const ref = REF_PATTERN.exec(summary.ref);
        const subject = SUBJECT_PATTERN.exec(summary.subject);
        if (!ref || !subject || summary.parents.length === 0) return undefined;
        const snapshot: Snapshot = {
          ref: summary.ref,
          taskId: ref[1],
          number: Number(ref[2]),
          commit: summary.commit,
          parent: summary.parents[0],
          staged: summary.parents[1],
          tree: summary.tree,
          createdAt: summary.date,
          reason: REASONS.includes(subject[2] as SnapshotReason) ? (subject[2] as SnapshotReason) : 'manual',
        };
        if (!ofOwner(summary.ref, summary.date)) snapshot.earlierTask = true;
        return snapshot;
      })
      .filter((snapshot): snapshot is Snapshot => snapshot !== undefined)
      .sort((a, b) => a.number - b.number);
  }

  async get(ref: string): Promise<Snapshot> {
    validateSnapshotRef(ref);
    const taskId = REF_PATTERN.exec(ref)![1];
    const found = (await this.listWithEarlier(taskId)).find((snapshot) => snapshot.ref === ref);
    if (!found) throw new TaskWorktreesError('SnapshotNotFound', `There is no snapshot ${ref}.`);
    return found;
  }

  /** What the snapshot changed against the HEAD it was taken on. */
  changes(snapshot: Snapshot): Promise<TreeChange[]> {
    return this.git.diffTrees(snapshot.parent, snapshot.commit);
  }

  /**
   * The paths that keep the snapshot from being applied on `head` in `worktreePath`: files with
   * uncommitted changes (or ignored files) it would overwrite, and files that commits since the
   * snapshot changed differently. Empty: applying loses nothing.
   */
  async conflicts(snapshot: Snapshot, worktreePath: string | undefined, head: string): Promise<{ toApply: TreeChange[]; conflicts: string[] }> {
    const [changes, since, uncommitted] = await Promise.all([
      this.changes(snapshot),
      head === snapshot.parent ? Promise.resolve([]) : this.git.diffTrees(snapshot.parent, head),
      worktreePath ? this.git.uncommittedPaths(worktreePath) : Promise.resolve([]),
    ]);
    const atHead = new Map(since.map((change) => [change.path, change]));
    const dirty = new Set(uncommitted);
    const toApply: TreeChange[] = [];
    const conflicts: string[] = [];
    for (const change of changes.filter((entry) => entry.newMode !== GITLINK_MODE && entry.oldMode !== GITLINK_MODE)) {
      const committed = atHead.get(change.path);
      // A commit since brought the same content: nothing to do there.
      if (committed && committed.newOid === change.newOid && committed.newMode === change.newMode) continue;
      // A file the snapshot adds may already be there, ignored: git's lists do not show it.
      const added = change.oldMode === EMPTY_MODE;
      const onDisk = worktreePath && added ? await fs.lstat(join(worktreePath, change.path)).catch(() => undefined) : undefined;
      if (committed || dirty.has(change.path) || (onDisk && !onDisk.isDirectory())) {
        conflicts.push(change.path);
      } else {
        toApply.push(change);
      }
    }
    if (worktreePath) conflicts.push(...(await this.blockedPaths(worktreePath, toApply)));
    return { toApply, conflicts: [...new Set(conflicts)] };
  }

  /**
   * What writing the snapshot's files would delete beyond its own deletions: a file or symlink
   * where it needs a folder (any parent of a path it writes), or a folder with other files in it
   * where it writes a file. Git's lists name neither (they name the file, or nothing for the folder).
   */
  private async blockedPaths(worktreePath: string, toApply: readonly TreeChange[]): Promise<string[]> {
    const deleted = new Set(toApply.filter((change) => change.newMode === EMPTY_MODE).map((change) => change.path));
    const blocked = new Set<string>();
    for (const change of toApply.filter((entry) => entry.newMode !== EMPTY_MODE)) {
      const parts = change.path.split('/');
      for (let depth = 1; depth < parts.length; depth++) {
        const parent = parts.slice(0, depth).join('/');
        const stat = await fs.lstat(join(worktreePath, parent)).catch(() => undefined);
        if (stat && !stat.isDirectory() && !deleted.has(parent)) blocked.add(parent);
        if (!stat || !stat.isDirectory()) break;
      }
      const stat = await fs.lstat(join(worktreePath, change.path)).catch(() => undefined);
      if (stat?.isDirectory() && (await filesUnder(worktreePath, change.path)).some((path) => !deleted.has(path))) blocked.add(change.path);
    }
    return [...blocked];
  }

  /**
   * Writes the snapshot's files into the worktree (byte for byte, with their modes) and deletes
   * what it deleted; the worktree's index is not touched, so everything shows as unstaged or
   * untracked. Refuses (SnapshotConflict) before writing anything when that would lose work.
   */
  async applyTo(snapshot: Snapshot, worktreePath: string): Promise<AppliedSnapshot> {
    const head = await this.git.headCommit(worktreePath);
    const { toApply, conflicts } = await this.conflicts(snapshot, worktreePath, head);
    if (conflicts.length > 0) {
      throw new TaskWorktreesError(
        'SnapshotConflict',
        `Restoring ${snapshot.ref} into ${worktreePath} would overwrite ${conflicts.length} file(s) changed there since; nothing was written. Commit or move those changes, or restore into a new task.`,
        conflicts,
      );
    }
    const deleted = toApply.filter((change) => change.newMode === EMPTY_MODE).map((change) => change.path);
    const written = toApply.filter((change) => change.newMode !== EMPTY_MODE).map((change) => change.path);
    await removeFiles(worktreePath, deleted);
    await this.withPrivateIndex(worktreePath, false, async (indexFile) => {
      await this.git.readTreeInto(worktreePath, indexFile, snapshot.tree);
      await this.git.checkoutPaths(worktreePath, written, indexFile);
    });
    return { written, deleted };
  }

  /**
   * Takes the snapshot's changes out of the worktree it was taken from: each path goes back to
   * HEAD, index and file, but only while it is still exactly as snapshotted (a file changed since
   * stays, and is returned in `kept`), and only while HEAD is still the snapshot's parent.
   */
  async removeFrom(snapshot: Snapshot, worktreePath: string): Promise<{ removed: string[]; kept: string[] }> {
    const changes = (await this.changes(snapshot)).filter((change) => change.newMode !== GITLINK_MODE && change.oldMode !== GITLINK_MODE);
    const head = await this.git.headCommit(worktreePath);
    if (head !== snapshot.parent) return { removed: [], kept: changes.map((change) => change.path) };
    const { tree } = await this.treesOf(worktreePath, await this.git.treeOf(head));
    const changedSince = new Set((await this.git.diffTrees(snapshot.tree, tree)).map((change) => change.path));
    const removable = changes.filter((change) => !changedSince.has(change.path));
    const paths = removable.map((change) => change.path);
    await this.git.resetPaths(worktreePath, head, paths);
    await removeFiles(worktreePath, removable.filter((change) => change.oldMode === EMPTY_MODE).map((change) => change.path));
    await this.git.checkoutPaths(worktreePath, removable.filter((change) => change.oldMode !== EMPTY_MODE).map((change) => change.path));
    return { removed: paths, kept: changes.filter((change) => changedSince.has(change.path)).map((change) => change.path) };
  }

  /** The tree of the files on disk (bytes as they are) and, when the index has no conflicts, of the staged files. */
  private async treesOf(worktreePath: string, headTree: string): Promise<{ tree: string; stagedTree?: string }> {
    const { tree: added, stagedTree } = await this.withPrivateIndex(worktreePath, true, async (indexFile) => {
      const stagedTree = await this.git.writeTree(worktreePath, indexFile).catch(() => undefined);
      await this.revealHiddenFiles(worktreePath, indexFile);
      await this.git.stageAllInto(worktreePath, indexFile);
      return { tree: await this.git.writeTree(worktreePath, indexFile), stagedTree };
    });
    const changes = await this.git.diffTrees(headTree, added);
    refuseNestedRepositories(changes, worktreePath);
    return { tree: await this.keepBytes(worktreePath, added, changes), stagedTree };
  }

  /**
   * Files marked assume-unchanged or skip-worktree are staged as they are on disk: their marks are
   * cleared in the private index only. A skip-worktree file absent from disk (a sparse checkout)
   * keeps its mark, so it is not taken for deleted.
   */
  private async revealHiddenFiles(worktreePath: string, indexFile: string): Promise<void> {
    const hidden = await this.git.hiddenIndexEntries(worktreePath, indexFile);
    const shown: string[] = [];
    for (const entry of hidden) {
      if (!entry.skipWorktree || (await exists(join(worktreePath, entry.path)))) shown.push(entry.path);
    }
    await this.git.clearHiddenMarks(worktreePath, indexFile, shown);
  }

  /**
   * `git add` stores a file as its attributes say (`text=auto` turns CRLF into LF): such files are
   * stored again with their bytes as they are on disk, so a restore writes them back identical.
   * A file with a `filter` keeps the filter's form (its clean and smudge undo each other, as for
   * Git LFS). A file with `ident` and a `$Id` in it would come back rewritten by the restore: the
   * snapshot fails (SnapshotFailed naming it) rather than keep other bytes than the user's.
   */
  private async keepBytes(worktreePath: string, tree: string, changes: readonly TreeChange[]): Promise<string> {
    // A name with a newline cannot be handed to hash-object: it keeps git's stored form.
    const files = changes.filter((change) => (change.newMode === '100644' || change.newMode === '100755') && !change.path.includes('\n'));
    const paths = files.map((change) => change.path);
    const [asIs, filtered, withIdent] = await Promise.all([
      this.git.hashFiles(worktreePath, paths, { asIs: true }),
      this.git.pathsWithAttributes(worktreePath, paths, ['filter']).then((found) => new Set(found)),
      this.git.pathsWithAttributes(worktreePath, paths, ['ident']),
    ]);
    const rewritten: string[] = [];
    for (const path of withIdent) {
      if ((await fs.readFile(join(worktreePath, path))).includes('$Id')) rewritten.push(path);
    }
    if (rewritten.length > 0) {
      throw new TaskWorktreesError(
        'SnapshotFailed',
        `${rewritten.join(', ')} in ${worktreePath} ${rewritten.length === 1 ? 'has' : 'have'} the ident attribute and a $Id: a snapshot could not give back its bytes as they are. Commit or copy ${rewritten.length === 1 ? 'it' : 'them'} first.`,
        rewritten,
      );
    }
    const converted = files.filter((change, index) => asIs[index] !== change.newOid && !filtered.has(change.path));
    if (converted.length === 0) return tree;
    const stored = await this.git.hashFiles(worktreePath, converted.map((change) => change.path), { asIs: true, store: true });
    return this.withPrivateIndex(worktreePath, false, async (indexFile) => {
      await this.git.readTreeInto(worktreePath, indexFile, tree);
      await this.git.setIndexEntries(worktreePath, indexFile, converted.map((change, index) => ({ mode: change.newMode, oid: stored[index], path: change.path })));
      return this.git.writeTree(worktreePath, indexFile);
    });
  }

  /** Runs `work` with an index file of its own: a copy of the worktree's index (so git need not hash unchanged files again), or an empty one. */
  private async withPrivateIndex<T>(worktreePath: string, copyWorktreeIndex: boolean, work: (indexFile: string) => Promise<T>): Promise<T> {
    const dir = await fs.mkdtemp(join(tmpdir(), 'task-worktrees-index-'));
    const indexFile = join(dir, 'index');
    try {
      if (copyWorktreeIndex) {
        const own = join(await this.git.gitDir(worktreePath), 'index');
        await fs.copyFile(own, indexFile).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      }
      return await work(indexFile);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** The next number, on a ref that must not exist yet: a concurrent taker gets the one after. */
  private async createRef(taskId: string, commit: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const existing = await this.listWithEarlier(taskId);
      const ref = `${PREFIX}${taskId}/${(existing.at(-1)?.number ?? 0) + 1}`;
      try {
        await this.git.updateRefs([{ ref, oldOid: null, newOid: commit }], `task-worktrees: snapshot of ${taskId}`);
        return ref;
      } catch (error) {
        if (attempt >= 2 || !isCoded(error, 'RefChanged')) throw error;
      }
    }
  }

  /**
   * Only manual snapshots count toward the bound: one taken before a removal, a clean-up or a move
   * may be the only copy of work that is gone from disk, so it is never dropped.
   */
  private async dropBeyondBound(taskId: string, snapshots: readonly Snapshot[]): Promise<void> {
    const bound = Math.max(1, Math.floor(this.repo.settings.maxSnapshots || 20));
    const manual = snapshots.filter((snapshot) => snapshot.reason === 'manual');
    const dropped = manual.slice(0, Math.max(0, manual.length - bound));
    await this.git.updateRefs(
      dropped.map((snapshot) => ({ ref: snapshot.ref, oldOid: snapshot.commit, newOid: null })),
      `task-worktrees: more than ${bound} snapshots of ${taskId}`,
    );
  }
}

/** Every non-folder under `folder` (relative to `root`, `/`-separated). */
async function filesUnder(root: string, folder: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await fs.readdir(join(root, folder), { withFileTypes: true })) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await filesUnder(root, path)));
    else files.push(path);
  }
  return files;
}

/**
 * A git repository inside the worktree that HEAD does not have as a submodule would be saved as a
 * bare commit id (a gitlink), its files left out: the snapshot fails, so nothing is removed.
 */
function refuseNestedRepositories(changes: readonly TreeChange[], worktreePath: string): void {
  const nested = changes.filter((change) => change.newMode === GITLINK_MODE && change.oldMode !== GITLINK_MODE).map((change) => change.path);
  if (nested.length > 0) {
    throw new TaskWorktreesError(
      'SnapshotFailed',
      `${nested.join(', ')} in ${worktreePath} ${nested.length === 1 ? 'is a git repository' : 'are git repositories'} of its own: a snapshot cannot hold its files. Move it out of the worktree (or add it as a submodule) first.`,
      nested,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  return fs.lstat(path).then(
    () => true,
    () => false,
  );
}

/** Deletes files (never directories), then the folders their deletion left empty, up to the worktree. */
async function removeFiles(root: string, paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const file = join(root, path);
    const stat = await fs.lstat(file).catch(() => undefined);
    if (!stat || stat.isDirectory()) continue;
    await fs.rm(file, { force: true });
    for (let dir = dirname(file); dir.startsWith(root + sep); dir = dirname(dir)) {
      if (!(await fs.rmdir(dir).then(() => true, () => false))) break;
    }
  }
}
