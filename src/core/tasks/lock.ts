import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TaskWorktreesError } from '../errors';

const OWNER_FILE = 'owner';
/** A lock is held for a few file operations; one older than this belongs to a stuck or dead writer. */
const STALE_AFTER_MS = 10_000;

/**
 * A cross-process lock: renaming a directory onto an existing one fails atomically on every local
 * file system, so exactly one process (one VS Code window, one agent) holds it. A lock whose owner
 * died (same host, pid gone) is broken at once; one held longer than any change takes, by age.
 */
export class DirectoryLock {
  private readonly owner = `${process.pid}@${hostname()}`;

  constructor(
    private readonly path: string,
    private readonly timeoutMs = 15_000,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }

  private async acquire(): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (await this.tryTake()) return;
      if (await this.isStale()) {
        await this.breakStale();
        continue;
      }
      if (Date.now() > deadline) {
        throw new TaskWorktreesError('StoreLocked', `The task store is locked by another process (${this.path}). Try again.`);
      }
      // Jittered backoff so many windows do not retry in lockstep.
      await delay(Math.min(2 + attempt, 20) * (0.5 + Math.random()));
    }
  }

  /** The lock directory is prepared with its owner inside and renamed into place, so a lock never lacks an owner. */
  private async tryTake(): Promise<boolean> {
    const staging = `${this.path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await fs.mkdir(staging);
    await fs.writeFile(join(staging, OWNER_FILE), this.owner);
    try {
      await fs.rename(staging, this.path);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      await fs.rm(staging, { recursive: true, force: true });
      if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'EISDIR' || code === 'EPERM') return false;
      throw error;
    }
  }

  private async isStale(): Promise<boolean> {
    let ageMs: number;
    try {
      ageMs = Date.now() - (await fs.stat(this.path)).mtimeMs;
    } catch {
      return false; // released meanwhile
    }
    // Unreadable when released meanwhile, or written by another host: then only age can tell.
    const owner = await fs.readFile(join(this.path, OWNER_FILE), 'utf8').catch(() => '');
    const [pid, host] = owner.split('@');
    if (owner && host === hostname() && !isAlive(Number(pid))) return true;
    return ageMs > STALE_AFTER_MS;
  }

  /**
   * Moved aside in one step before deleting: emptied in place, the lock directory could be taken
   * over by another process's rename (onto an empty directory) in the middle of its removal.
   */
  private async release(): Promise<void> {
    await this.removeLockDirectory('released');
  }

  private async breakStale(): Promise<void> {
    // Fails when another process broke or released it first: then there is nothing to do.
    await this.removeLockDirectory('stale').catch(() => undefined);
  }

  private async removeLockDirectory(why: string): Promise<void> {
    const aside = `${this.path}.${why}-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await fs.rename(this.path, aside);
    await fs.rm(aside, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
