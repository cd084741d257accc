import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
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
    const holds = holdsOfCallChain.getStore();
    if (holds?.get(this.path)?.active) return fn();
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

  /** Throws LockLost unless this call chain holds the lock and its token is still the one in place. */
  async assertHeld(): Promise<void> {
    const hold = holdsOfCallChain.getStore()?.get(this.path);
    if (!hold?.active) throw new TaskWorktreesError('LockLost', `This operation does not hold the task store lock (${this.path}).`);
    if ((await readToken(this.path)) !== hold.token) throw lockLost(this.path);
  }

  private async acquire(): Promise<Hold> {
    const token = newToken();
    const deadline = Date.now() + this.options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      // Looked at before trying: a failed try costs many more file operations than a look.
      const holder = await readTokenDirectory(this.path);
      if (!holder) {
        const tokenFile = await placeTokenDirectory(this.path, token);
        if (tokenFile) return this.startHeartbeat(token, tokenFile);
        // A lock directory without a token is never a live holder's (one is renamed into place with
        // its token): junk left by hand or by a crash. Removed once it has sat there a moment.
        if (((await tokenlessAge(this.path)) ?? 0) > TOKENLESS_STALE_MS) {
          await this.moveAwayIf(undefined, async () => ((await tokenlessAge(this.path)) ?? 0) > TOKENLESS_STALE_MS, 'stale');
          continue;
        }
      } else if (this.isStale(holder)) {
        // Still stale under the mover: a holder whose heartbeat resumed meanwhile keeps its lock.
        await this.moveAwayIf(holder.token, async (current) => current !== undefined && this.isStale(current), 'stale');
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
    if (!(await this.moveAwayIf(hold.token, async () => true, 'released'))) throw lockLost(this.path);
  }

  /** Under the mover marker: moves the lock away if it holds `token` (undefined: none) and `stillMeant` agrees. */
  private async moveAwayIf(token: string | undefined, stillMeant: (holder: TokenDirectory | undefined) => Promise<boolean>, why: string): Promise<boolean> {
    const moverToken = newToken();
    const deadline = Date.now() + this.options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const moverFile = await placeTokenDirectory(this.moverPath, moverToken);
      if (moverFile) {
        await moverFile.close();
        break;
      }
      const mover = await readTokenDirectory(this.moverPath);
      // The mover is held for a few file operations; only a dead or long-stalled one is stale.
      if (mover && this.isStale(mover)) {
        await removeDirectoryIf(this.moverPath, mover.token, 'stale');
        continue;
      }
      if (Date.now() > deadline) throw new TaskWorktreesError('StoreLocked', `The task store lock is being moved by another process (${this.moverPath}). Try again.`);
      await backoff(attempt);
    }
    try {
      const holder = await readTokenDirectory(this.path);
      if (holder?.token !== token || !(await stillMeant(holder))) return false;
      return await removeDirectory(this.path, why).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return false;
          throw error;
        },
      );
    } finally {
      await removeDirectoryIf(this.moverPath, moverToken, 'released');
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

/**
 * Prepares a directory holding `token` and renames it into place, so a lock is never seen without
 * its token. Returns the open token file, or undefined when `path` is taken.
 */
async function placeTokenDirectory(path: string, token: string): Promise<fs.FileHandle | undefined> {
  const staging = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await fs.mkdir(staging);
  const tokenFile = await fs.open(join(staging, TOKEN_FILE), 'wx');
  try {
    await tokenFile.writeFile(token);
    await fs.rename(staging, path);
    return tokenFile;
  } catch (error) {
    await tokenFile.close();
    await fs.rm(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'EISDIR' || code === 'EPERM') return undefined;
    if (code === 'ENOTDIR') throw new TaskWorktreesError('StoreCorrupt', `${path} is a file, not the store's lock directory; move it away.`);
    throw error;
  }
}

async function readToken(path: string): Promise<string | undefined> {
  return fs.readFile(join(path, TOKEN_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined; // released or moved away meanwhile; or junk
    if (error.code === 'EISDIR') throw new TaskWorktreesError('StoreCorrupt', `${join(path, TOKEN_FILE)} is a directory, not a lock token; move the lock away.`);
    throw error;
  });
}

/** How long a lock directory has sat there without a token; undefined when there is none, or it has one. */
async function tokenlessAge(path: string): Promise<number | undefined> {
  const stats = await fs.stat(path).catch(() => undefined);
  if (!stats?.isDirectory() || (await readToken(path).catch(() => 'unreadable')) !== undefined) return undefined;
  return Date.now() - stats.mtimeMs;
}

async function readTokenDirectory(path: string): Promise<TokenDirectory | undefined> {
  const token = await readToken(path);
  if (token === undefined) return undefined;
  const refreshedAt = await fs.stat(join(path, TOKEN_FILE)).then(
    (stats) => stats.mtimeMs,
    () => undefined,
  );
  return refreshedAt === undefined ? undefined : { token, refreshedAt };
}

/**
 * Moved aside in one step before deleting: emptied in place, the directory could be taken over by
 * another process's rename (onto an empty directory) in the middle of its removal.
 */
async function removeDirectory(path: string, why: string): Promise<void> {
  const aside = `${path}.${why}-${process.pid}-${randomBytes(6).toString('hex')}`;
  await fs.rename(path, aside);
  await fs.rm(aside, { recursive: true, force: true });
}

/**
 * For the mover marker only, which is held for a few file operations: a newer mover can slip in
 * between the check and the move only if this one's holder died or stalled inside that window.
 */
async function removeDirectoryIf(path: string, token: string, why: string): Promise<void> {
  if ((await readToken(path)) !== token) return;
  await removeDirectory(path, why).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
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
