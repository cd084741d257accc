import { closeSync, constants, lstatSync, openSync, readFileSync, readSync, Stats, statfsSync } from 'node:fs';
import { join } from 'node:path';

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The commits local branches point at, read from git's ref files (a loose `refs/heads/<name>`,
 * else its line in `packed-refs`) without starting git. Anything unfamiliar — a symbolic ref, a
 * ref store that is not files (reftable), a branch in neither place, an unreadable file — gives
 * `undefined`, and the caller asks git (a symbolic ref, `ref: …` or a link, is an alias of another
 * branch). Git replaces ref files by rename, so a read is never torn; a value that is stale by the
 * time it is used is caught by the guarded ref update that lands it.
 */
export function readBranchOids(commonDir: string, branches: readonly string[]): Map<string, string> | undefined {
  const found = new Map<string, string>();
  const notLoose: string[] = [];
  for (const branch of branches) {
    const loose = readLoose(commonDir, branch);
    if (loose === undefined) return undefined;
    if (loose === 'absent') notLoose.push(branch);
    else found.set(branch, loose);
  }
  if (notLoose.length === 0) return found;
  // Read after every loose one: a `git pack-refs` meanwhile moves a loose ref into a newer file,
  // never an older one, so a branch not loose when it was looked for is there, as new as then.
  const packed = readPacked(commonDir);
  for (const branch of notLoose) {
    const oid = packed?.get(`refs/heads/${branch}`);
    if (!oid) return undefined;
    found.set(branch, oid);
  }
  return found;
}

/** The oid in the loose ref file, 'absent' when there is none, undefined when it is anything else. */
export function readLoose(commonDir: string, branch: string, read: (file: string) => string = readRefFile): string | 'absent' | undefined {
  let text: string;
  try {
    text = read(`${commonDir}/refs/heads/${branch}`); // not join(): one per worktree in a merge
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : undefined;
  }
  const oid = text.trim();
  return OID.test(oid) ? oid : undefined;
}

/** Whether the branch is a symbolic ref — another name for a branch (`ref: …`, or a link): moving it would move that branch. */
export function isBranchAlias(commonDir: string, branch: string): boolean {
  try {
    return readRefFile(join(commonDir, 'refs', 'heads', ...branch.split('/'))).startsWith('ref:');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ELOOP';
  }
}

/**
 * A ref file's text, never through a symbolic link: git writes a symbolic ref as a link where
 * core.preferSymlinkRefs is set (and old gits did), and what the link leads to is another ref, not
 * this one's value. A link throws (ELOOP), so the caller asks git. Opened without waiting: a fifo's
 * open would wait for a writer forever; read, it gives nothing or fails, and the caller asks git.
 */
export function readRefFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | (constants.O_NONBLOCK ?? 0));
  try {
    // One read: a ref file is a line (a merge reads one per worktree, so each system call counts).
    const length = readSync(fd, refBuffer, 0, refBuffer.length, 0);
    if (length === refBuffer.length) throw Object.assign(new Error(`${file} is longer than a ref`), { code: 'EFBIG' });
    return refBuffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

const refBuffer = Buffer.alloc(4096);

/**
 * readRefFile() for files read again and again (every worktree's HEAD, on every merge): a file is
 * read again only when an lstat shows it changed — another device, inode, size, change or
 * modification time than before its last read (the lstat comes first, so a change during the read
 * shows next time). Only a file unchanged for STABLE_MS before it was looked at is kept: a later
 * write, in place or by rename, gives it a later change time even where file times are kept to the
 * second or two. Not stale unless a write leaves the change time alone (a shared memory map whose
 * page is still dirty) or the clock is set back. Holds what the last scan read.
 */
export class RefFileCache {
  private kept = new Map<string, KeptFile>();
  private next = new Map<string, KeptFile>();
  private readCount = 0;

  /**
   * A cache for the ref files under `dir`, or undefined where an lstat may not see every write:
   * only local Linux file systems (a network or FUSE one may answer an lstat from its own cache,
   * where an open asks again).
   */
  static forFilesUnder(dir: string): RefFileCache | undefined {
    if (process.platform !== 'linux') return undefined;
    try {
      return LOCAL_FILE_SYSTEMS.has(statfsSync(dir).type) ? new RefFileCache() : undefined;
    } catch {
      return undefined;
    }
  }

  /** Files actually read (not answered from the cache). */
  get reads(): number {
    return this.readCount;
  }

  /** A new scan: what the last scan read is kept for this one; what it did not read is dropped. */
  startScan(): void {
    this.kept = this.next;
    this.next = new Map();
  }

  read(file: string): string {
    const lookedAt = Date.now();
    const stats = lstatSync(file, { throwIfNoEntry: false });
    if (!stats?.isFile()) return readRefFile(file); // missing, a link, a fifo: as without the cache, never kept
    const kept = this.next.get(file) ?? this.kept.get(file);
    if (kept && sameFile(kept.stats, stats)) {
      this.next.set(file, kept);
      return kept.text;
    }
    this.readCount++;
    const text = readRefFile(file);
    if (stats.ctimeMs < lookedAt - STABLE_MS) this.next.set(file, { stats, text });
    return text;
  }
}

interface KeptFile {
  stats: Stats;
  text: string;
}

/** How long a file must have been unchanged for its read to be kept: above the coarsest file times of the file systems below (2 s). */
export const STABLE_MS = 3000;

// statfs magic numbers: ext2/3/4, xfs, btrfs, tmpfs, overlayfs, zfs, f2fs.
const LOCAL_FILE_SYSTEMS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0x2fc12fc1, 0xf2f52010]);

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.ctimeMs === b.ctimeMs && a.mtimeMs === b.mtimeMs;
}

function readPacked(commonDir: string): Map<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(join(commonDir, 'packed-refs'), 'utf8');
  } catch {
    return undefined;
  }
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    // The header, and the peeled value of the annotated tag above ("^<oid>").
    if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
    const space = line.indexOf(' ');
    const oid = line.slice(0, space);
    if (space < 0 || !OID.test(oid)) return undefined;
    refs.set(line.slice(space + 1), oid);
  }
  return refs;
}
