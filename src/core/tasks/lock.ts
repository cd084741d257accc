import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { promises as fs, mkdirSync, readFileSync, renameSync, rmSync, Stats, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { isCoded, TaskWorktreesError } from '../errors';

export interface LockOptions {
  /** How long to wait for another holder before giving up with StoreLocked. */
  timeoutMs?: number;
  /** How often a holder refreshes its heartbeat, however long it holds the lock (git steps can take minutes). */
  heartbeatMs?: number;
  /** A lock whose heartbeat is older than this belongs to a stalled holder (or a dead one on another host). */
  staleAfterMs?: number;
}

const DEFAULTS: Required<LockOptions> = { timeoutMs: 15_000, heartbeatMs: 1_000, staleAfterMs: 10_000 };
const TOKEN_FILE = 'owner';
/** A lock directory without a token is junk (a real one is renamed into place with its token); this long settles any doubt. */
const TOKENLESS_STALE_MS = 1_000;

interface Hold {
  token: string;
  active: boolean;
  heartbeat: NodeJS.Timeout;
  /** Open on the token file the hold placed: it follows that file, so a heartbeat never refreshes another holder's lock. */
  tokenFile: fs.FileHandle;
}

/** The locks the current async call chain holds, by path: what makes a lock re-entrant within one operation. */
const holdsOfCallChain = new AsyncLocalStorage<ReadonlyMap<string, Hold>>();

/**
 * A cross-process lock: renaming a directory onto an existing one fails atomically on every local
 * file system, so exactly one acquisition (of one VS Code window, one agent) holds it. Each
 * acquisition has its own token (pid@host#random) in the directory and refreshes the token file's
 * time while it holds the lock. A lock is stale when its owner process is dead on this host (taken
 * over at once) or its heartbeat is older than `staleAfterMs`.
 *
 * The lock directory is only ever moved away (released or broken) by whoever holds a second
 * marker, the mover, after checking under it that the lock still holds the token it means to move:
 * two breakers of one stale lock, or a breaker and a late release, can never remove a newer holder's lock.
 */
export class DirectoryLock {
  private readonly path: string;
  private readonly moverPath: string;
  private readonly options: Required<LockOptions>;

  constructor(path: string, options: LockOptions = {}) {
    this.path = resolve(path);
    this.moverPath = `${this.path}-mover`;
    this.options = { ...DEFAULTS, ...options };
  }

  /**
   * Runs `fn` holding the lock. Within `fn`'s call chain the lock is re-entrant (nested `run`s just
   * run); any other caller, in this process or another, waits for it.
   */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.isHeldHere()) return fn();
    const holds = holdsOfCallChain.getStore();
    const hold = await this.acquire();
    let result: T;
    try {
      result = await holdsOfCallChain.run(new Map(holds).set(this.path, hold), fn);
    } catch (error) {
      // fn's failure is what the caller must see; a lost lock only adds that nothing more was written.
      await this.release(hold).catch(() => undefined);
      throw error;
    }
    // Each write of fn checked the lock (assertHeld) before it landed: a lock taken after fn's last
    // write leaves what fn did done under it, and a call that reports failure must have changed nothing.
    await this.release(hold).catch((error: unknown) => {
      if (!isCoded(error, 'LockLost')) throw error;
    });
    return result;
  }

  /** Whether this call chain holds the lock (a run() inside it just runs). */
  isHeldHere(): boolean {
    return holdsOfCallChain.getStore()?.get(this.path)?.active === true;
  }

  /** Throws LockLost unless this call chain holds the lock and its token is still the one in place. */
  async assertHeld(): Promise<void> {
    const hold = holdsOfCallChain.getStore()?.get(this.path);
    if (!hold?.active) throw new TaskWorktreesError('LockLost', `This operation does not hold the task store lock (${this.path}).`);
    if (readToken(this.path) !== hold.token) throw lockLost(this.path);
  }

  private async acquire(): Promise<Hold> {
    const token = newToken();
    const deadline = Date.now() + this.options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      // Looked at before trying: a failed try costs many more file operations than a look.
      const holder = readTokenDirectory(this.path);
      if (!holder) {
        const tokenFile = await placeTokenDirectory(this.path, token);
        if (tokenFile) return this.startHeartbeat(token, tokenFile);
        // A lock directory without a token is never a live holder's (one is renamed into place with
        // its token): junk left by hand or by a crash. Removed once it has sat there a moment.
        if ((tokenlessAge(this.path) ?? 0) > TOKENLESS_STALE_MS) {
          await this.moveAwayIf(undefined, () => (tokenlessAge(this.path) ?? 0) > TOKENLESS_STALE_MS, 'stale');
          continue;
        }
      } else if (this.isStale(holder)) {
        // Still stale under the mover: a holder whose heartbeat resumed meanwhile keeps its lock.
        await this.moveAwayIf(holder.token, (current) => current !== undefined && this.isStale(current), 'stale');
        continue;
      }
      if (Date.now() > deadline) {
        throw new TaskWorktreesError('StoreLocked', `The task store is locked by another process (${holder ? ownerOf(holder.token) : "an unreadable lock"}, ${this.path}). Try again.`);
      }
      await backoff(attempt);
    }
  }

  private startHeartbeat(token: string, tokenFile: fs.FileHandle): Hold {
    const heartbeat = setInterval(() => {
      const now = new Date();
      // A failed refresh only makes the lock look older; assertHeld tells whether it was taken.
      tokenFile.utimes(now, now).catch(() => undefined);
    }, this.options.heartbeatMs);
    heartbeat.unref(); // a held lock must not keep a finished process alive
    return { token, active: true, heartbeat, tokenFile };
  }

  /** Removes the lock only if it still holds this acquisition's token; LockLost otherwise. */
  private async release(hold: Hold): Promise<void> {
    hold.active = false;
    clearInterval(hold.heartbeat);
    await hold.tokenFile.close();
    if (!(await this.moveAwayIf(hold.token, () => true, 'released'))) throw lockLost(this.path);
  }

  /** Under the mover marker: moves the lock away if it holds `token` (undefined: none) and `stillMeant` agrees. */
  private async moveAwayIf(token: string | undefined, stillMeant: (holder: TokenDirectory | undefined) => boolean, why: string): Promise<boolean> {
    const moverToken = newToken();
    const deadline = Date.now() + this.options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (placeMarker(this.moverPath, moverToken)) break;
      const mover = readTokenDirectory(this.moverPath);
      // The mover is held for a few file operations; only a dead or long-stalled one is stale.
      if (mover && this.isStale(mover)) {
        removeDirectoryIf(this.moverPath, mover.token, 'stale');
        continue;
      }
      if (Date.now() > deadline) throw new TaskWorktreesError('StoreLocked', `The task store lock is being moved by another process (${this.moverPath}). Try again.`);
      await backoff(attempt);
    }
    try {
      const holder = readTokenDirectory(this.path);
      if (holder?.token !== token || !stillMeant(holder)) return false;
      try {
        removeDirectory(this.path, why);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    } finally {
      removeDirectoryIf(this.moverPath, moverToken, 'released');
    }
  }

  private isStale(holder: TokenDirectory): boolean {
    const [pid, host] = ownerOf(holder.token).split('@');
    if (host === hostname() && !isAlive(Number(pid))) return true;
    return Date.now() - holder.refreshedAt > this.options.staleAfterMs;
  }
}

interface TokenDirectory {
  token: string;
  /** When its holder last showed it is alive (the token file's modification time). */
  refreshedAt: number;
}

function newToken(): string {
  return `${process.pid}@${hostname()}#${randomBytes(8).toString('hex')}`;
}

/** "pid@host" of a token (tokens of older versions are just that). */
function ownerOf(token: string): string {
  return token.split('#')[0];
}

/*
 * The few file operations of taking and giving back the lock are synchronous: each is a small
 * metadata call, and a round trip through the thread pool for each cost more than the calls
 * themselves (a merge waited on about 25 of them).
 */

/**
 * Prepares a directory holding `token` and renames it into place, so a lock is never seen without
 * its token. Returns the open token file, or undefined when `path` is taken.
 */
async function placeTokenDirectory(path: string, token: string): Promise<fs.FileHandle | undefined> {
  const staging = stagingFor(path);
  mkdirSync(staging);
  const tokenFile = await fs.open(join(staging, TOKEN_FILE), 'wx');
  let placed = false;
  try {
    writeFileSync(tokenFile.fd, token);
    placed = renameIntoPlace(staging, path);
  } finally {
    if (!placed) {
      await tokenFile.close();
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return placed ? tokenFile : undefined;
}

/** placeTokenDirectory for the mover marker, whose token file is not kept open: true when placed. */
function placeMarker(path: string, token: string): boolean {
  const staging = stagingFor(path);
  mkdirSync(staging);
  let placed = false;
  try {
    writeFileSync(join(staging, TOKEN_FILE), token, { flag: 'wx' });
    placed = renameIntoPlace(staging, path);
  } finally {
    if (!placed) rmSync(staging, { recursive: true, force: true });
  }
  return placed;
}

function stagingFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
}

/** False when `path` is taken (renaming onto an existing directory fails, atomically). */
function renameIntoPlace(staging: string, path: string): boolean {
  try {
    renameSync(staging, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'EISDIR' || code === 'EPERM') return false;
    if (code === 'ENOTDIR') throw new TaskWorktreesError('StoreCorrupt', `${path} is a file, not the store's lock directory; move it away.`);
    throw error;
  }
}

function readToken(path: string): string | undefined {
  try {
    return readFileSync(join(path, TOKEN_FILE), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // released or moved away meanwhile; or junk
    if (code === 'EISDIR') throw new TaskWorktreesError('StoreCorrupt', `${join(path, TOKEN_FILE)} is a directory, not a lock token; move the lock away.`);
    throw error;
  }
}

/** How long a lock directory has sat there without a token; undefined when there is none, or it has one. */
function tokenlessAge(path: string): number | undefined {
  const stats = statIfAny(path);
  if (!stats?.isDirectory()) return undefined;
  let token: string | undefined;
  try {
    token = readToken(path);
  } catch {
    return undefined; // unreadable: not token-less
  }
  return token === undefined ? Date.now() - stats.mtimeMs : undefined;
}

function readTokenDirectory(path: string): TokenDirectory | undefined {
  const token = readToken(path);
  if (token === undefined) return undefined;
  const refreshedAt = statIfAny(join(path, TOKEN_FILE))?.mtimeMs;
  return refreshedAt === undefined ? undefined : { token, refreshedAt };
}

function statIfAny(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Moved aside in one step before deleting: emptied in place, the directory could be taken over by
 * another process's rename (onto an empty directory) in the middle of its removal.
 */
function removeDirectory(path: string, why: string): void {
  const aside = `${path}.${why}-${process.pid}-${randomBytes(6).toString('hex')}`;
  renameSync(path, aside);
  rmSync(aside, { recursive: true, force: true });
}

/**
 * For the mover marker only, which is held for a few file operations: a newer mover can slip in
 * between the check and the move only if this one's holder died or stalled inside that window.
 */
function removeDirectoryIf(path: string, token: string, why: string): void {
  if (readToken(path) !== token) return;
  try {
    removeDirectory(path, why);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function lockLost(path: string): TaskWorktreesError {
  return new TaskWorktreesError(
    'LockLost',
    `The task store lock was taken from this process while it worked (it stalled past the heartbeat); its change was not made. Try again. (${path})`,
  );
}

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Jittered, so many windows do not retry in lockstep. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(2 + attempt, 20) * (0.5 + Math.random())));
}
