import { closeSync, constants, lstatSync, openSync, readFileSync, readSync, Stats } from 'node:fs';
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
 * this one's value. A link throws (ELOOP), so the caller asks git.
 */
export function readRefFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
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
 * read again only when an lstat shows it changed — another inode, size, change or modification
 * time than at its last read (the lstat is taken before that read, so a change during the read
 * shows next time). Only a file unchanged for over a second when it was read is kept: any later
 * write, in place or by rename, gives it a later change time (the kernel's clock is coarse by
 * milliseconds, not a second), so a kept text is never stale. Holds what the last scan read.
 */
export class RefFileCache {
  private kept = new Map<string, KeptFile>();
  private next = new Map<string, KeptFile>();
  /** Files actually read (not answered from the cache): what the cache saves can be counted. */
  reads = 0;

  /** A new scan: what the last scan read is kept for this one; what it did not read is dropped. */
  startScan(): void {
    this.kept = this.next;
    this.next = new Map();
  }

  read(file: string): string {
    const stats = lstatSync(file, { throwIfNoEntry: false });
    if (!stats) throw Object.assign(new Error(`${file} does not exist`), { code: 'ENOENT' });
    // A link throws as readRefFile's O_NOFOLLOW does; anything else that is not a file is not opened (a fifo would block).
    if (!stats.isFile()) throw Object.assign(new Error(`${file} is not a ref file`), { code: stats.isSymbolicLink() ? 'ELOOP' : 'EINVAL' });
    const kept = this.next.get(file) ?? this.kept.get(file);
    if (kept && sameFile(kept.stats, stats)) {
      this.next.set(file, kept);
      return kept.text;
    }
    this.reads++;
    const text = readRefFile(file);
    if (stats.ctimeMs < Date.now() - STABLE_MS) this.next.set(file, { stats, text });
    return text;
  }
}

interface KeptFile {
  stats: Stats;
  text: string;
}

// How long a file must have been unchanged for its read to be kept (see RefFileCache).
const STABLE_MS = 1000;

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
