import { GitError as SimpleGitError, simpleGit, SimpleGit } from 'simple-git';
import { TaskWorktreesError } from '../errors';
import { classifyGitStderr, GitError } from './errors';
import {
  BRANCH_HEADS_FORMAT,
  BRANCH_OIDS_FORMAT,
  BranchHead,
  MergeTreeResult,
  parseBranchHeads,
  parseGitVersion,
  parseMergeTree,
  parseStatusV2,
  parseWorktreeList,
  WorkingTreeStatus,
  WorktreeEntry,
} from './porcelain';

export type GitLogger = (line: string) => void;

export interface GitAdapterOptions {
  /** VS Code's `git.path`, when the user set one. */
  gitPath?: string;
  log?: GitLogger;
  /** Upper bound on git processes running at once for this repository. */
  maxConcurrentProcesses?: number;
}

interface ExecOptions {
  /** Directory to run in (a worktree); defaults to the repository the adapter was made for. */
  cwd?: string;
  /** Exit codes that are answers, not failures (e.g. merge-tree's 1 = conflicts). */
  okExitCodes?: readonly number[];
}

interface ExecResult {
  stdout: string;
  exitCode: number;
}

/**
 * Raised by simple-git's error hook so exec() sees the exit code even when stderr is empty.
 * It extends simple-git's own error type, which simple-git passes through instead of re-wrapping.
 */
class ExitFailure extends SimpleGitError {
  constructor(
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(undefined, stderr);
  }
}

const MIN_MERGE_TREE_VERSION: [number, number] = [2, 38];

// Only these ambient GIT_* variables reach git; simple-git strips the rest (GIT_DIR in a hook's
// environment must not redirect us). Identity variables let commits work without a global config.
const ALLOWED_GIT_ENVIRONMENT = [
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_AUTHOR_DATE',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_COMMITTER_DATE',
  'GIT_OPTIONAL_LOCKS',
  'GIT_CONFIG_NOSYSTEM',
  'GIT_TRACE',
];

/**
 * The only code that runs git. Every call goes through exec(): argument arrays (never a shell, never
 * simple-git's unsafe options), a stable locale, one log line with the duration, one error type.
 */
export class GitAdapter {
  /** One simple-git client per directory: simple-git forbids `-C`, so each worktree gets its own. */
  private readonly clients = new Map<string, SimpleGit>();
  private readonly spawnListeners = new Set<(args: readonly string[]) => void>();
  private readonly slots: ProcessSlots;
  private versionPromise: Promise<[number, number, number]> | undefined;

  constructor(
    readonly repoDir: string,
    private readonly options: GitAdapterOptions = {},
  ) {
    this.slots = new ProcessSlots(options.maxConcurrentProcesses ?? 6);
  }

  private client(cwd: string): SimpleGit {
    let client = this.clients.get(cwd);
    if (!client) {
      client = simpleGit({
        baseDir: cwd,
        binary: this.options.gitPath || 'git',
        // The adapter's own slots bound concurrency across all directories.
        maxConcurrentProcesses: Number.MAX_SAFE_INTEGER,
        trimmed: false,
        allowEnvironment: ALLOWED_GIT_ENVIRONMENT,
        timeout: { block: 120_000 },
        errors: (error, result) => {
          if (result.exitCode === 0) return error;
          return new ExitFailure(
            result.exitCode,
            Buffer.concat(result.stdOut).toString('utf8'),
            Buffer.concat(result.stdErr).toString('utf8'),
          );
        },
      });
      client.env({
        ...gitEnvironment(process.env),
        LC_ALL: 'C',
        // Status reads must not take index.lock: agents may be committing in the same worktree.
        GIT_OPTIONAL_LOCKS: '0',
        // simple-git waits a fixed 50 ms after a process that printed nothing (update-ref, worktree
        // remove, …). One trace line on stderr per command avoids that wait; it is stripped below.
        GIT_TRACE: '1',
      });
      this.clients.set(cwd, client);
    }
    return client;
  }

  /** Observe every git argument list before it is spawned (tests, benchmark). */
  onSpawn(listener: (args: readonly string[]) => void): () => void {
    this.spawnListeners.add(listener);
    return () => this.spawnListeners.delete(listener);
  }

  async exec(args: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const cwd = options.cwd ?? this.repoDir;
    for (const listener of this.spawnListeners) listener(args);
    const release = await this.slots.acquire();
    const started = performance.now();
    let exitCode = 0;
    try {
      const stdout = await this.client(cwd).raw(args);
      return { stdout, exitCode };
    } catch (error) {
      if (!(error instanceof ExitFailure)) throw this.toSpawnError(error, args, cwd);
      exitCode = error.exitCode;
      if (options.okExitCodes?.includes(exitCode)) return { stdout: error.stdout, exitCode };
      const stderr = withoutTraceLines(error.stderr);
      throw new GitError(classifyGitStderr(stderr), args, stderr, exitCode, error.stdout);
    } finally {
      release();
      const ms = Math.round(performance.now() - started);
      const where = cwd === this.repoDir ? '' : ` (in ${cwd})`;
      this.options.log?.(`> git ${args.map(quoteForLog).join(' ')} [${ms}ms]${where}${exitCode ? ` exit ${exitCode}` : ''}`);
    }
  }

  private toSpawnError(error: unknown, args: string[], cwd: string): Error {
    const message = error instanceof Error ? error.message : String(error);
    if (/directory that does not exist/i.test(message)) {
      return new TaskWorktreesError('WorktreeNotFound', `${cwd} does not exist.`);
    }
    if (/ENOENT|spawn/i.test(message)) {
      return new GitError('GitNotFound', args, `git was not found (${this.options.gitPath || 'git'}): ${message}`, -1);
    }
    if (/custom binary/i.test(message)) {
      return new TaskWorktreesError('InvalidInput', `The git path "${this.options.gitPath}" is not usable: ${message}`);
    }
    return new GitError('GitFailed', args, message, -1);
  }

  version(): Promise<[number, number, number]> {
    this.versionPromise ??= this.exec(['version']).then(({ stdout }) => parseGitVersion(stdout));
    return this.versionPromise;
  }

  async requireMergeTree(): Promise<void> {
    const [major, minor] = await this.version();
    const [needMajor, needMinor] = MIN_MERGE_TREE_VERSION;
    if (major < needMajor || (major === needMajor && minor < needMinor)) {
      throw new GitError('GitTooOld', ['merge-tree'], `git ${major}.${minor} is too old: merging needs git ${needMajor}.${needMinor} or newer (merge-tree --write-tree).`, -1);
    }
  }

  /** The repository's main worktree root and its common git dir, both absolute. */
  async locate(): Promise<{ topLevel: string; commonDir: string }> {
    const { stdout } = await this.exec(['rev-parse', '--path-format=absolute', '--show-toplevel', '--git-common-dir']);
    const [topLevel, commonDir] = stdout.split('\n');
    return { topLevel, commonDir };
  }

  async listWorktrees(): Promise<WorktreeEntry[]> {
    return parseWorktreeList((await this.exec(['worktree', 'list', '--porcelain', '-z'])).stdout);
  }

  /** Every local branch with its commit (and, on request, the worktree it is checked out in): one process for all. */
  async branchHeads(options: { withWorktrees?: boolean } = {}): Promise<BranchHead[]> {
    const { stdout } = await this.exec(['for-each-ref', options.withWorktrees ? BRANCH_HEADS_FORMAT : BRANCH_OIDS_FORMAT, 'refs/heads']);
    return parseBranchHeads(stdout);
  }

  /** The commit a branch points at, or undefined when there is no such branch. */
  async branchCommit(branch: string): Promise<string | undefined> {
    const { stdout, exitCode } = await this.exec(
      ['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}^{commit}`],
      { okExitCodes: [1] },
    );
    return exitCode === 0 ? stdout.trim() : undefined;
  }

  /** The branch checked out in `cwd`, or undefined when HEAD is detached. */
  async currentBranch(cwd?: string): Promise<string | undefined> {
    const { stdout, exitCode } = await this.exec(['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd, okExitCodes: [1] });
    return exitCode === 0 ? stdout.trim() : undefined;
  }

  async status(cwd: string): Promise<WorkingTreeStatus> {
    const { stdout } = await this.exec(['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all'], { cwd });
    return parseStatusV2(stdout);
  }

  /** Commits `branch` has that `base` lacks (ahead) and the reverse (behind). */
  async aheadBehind(base: string, branch: string): Promise<{ ahead: number; behind: number }> {
    const { stdout } = await this.exec(['rev-list', '--left-right', '--count', '--end-of-options', `${base}...${branch}`]);
    const [behind, ahead] = stdout.trim().split(/\s+/).map(Number);
    return { ahead, behind };
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const { exitCode } = await this.exec(['merge-base', '--is-ancestor', ancestor, descendant], { okExitCodes: [1] });
    return exitCode === 0;
  }

  /** Whether any local branch contains the commit (so a detached HEAD there loses nothing). */
  async isOnSomeBranch(oid: string): Promise<boolean> {
    const { stdout } = await this.exec(['for-each-ref', '--count=1', `--contains=${oid}`, '--format=%(refname)', 'refs/heads']);
    return stdout.trim().length > 0;
  }

  async addWorktreeWithNewBranch(path: string, branch: string, base: string): Promise<void> {
    await this.exec(['worktree', 'add', '-b', branch, '--', path, base]);
  }

  async addWorktreeForBranch(path: string, branch: string): Promise<void> {
    await this.exec(['worktree', 'add', '--', path, branch]);
  }

  async removeWorktree(path: string, force: boolean): Promise<void> {
    await this.exec(['worktree', 'remove', ...(force ? ['--force'] : []), '--', path]);
  }

  async pruneWorktrees(): Promise<void> {
    await this.exec(['worktree', 'prune']);
  }

  /** Deletes a branch only if it still points at `expectedOid` (git checks atomically). */
  async deleteBranch(branch: string, expectedOid: string): Promise<void> {
    await this.exec(['update-ref', '-d', `refs/heads/${branch}`, expectedOid]);
  }

  /** Moves a branch only if it still points at `oldOid`. */
  async updateBranch(branch: string, newOid: string, oldOid: string, reason: string): Promise<void> {
    await this.exec(['update-ref', '-m', reason, `refs/heads/${branch}`, newOid, oldOid]);
  }

  /** Merges in memory: no index, no working tree is touched. Exit 1 means conflicts. */
  async mergeTree(base: string, branch: string): Promise<MergeTreeResult> {
    await this.requireMergeTree();
    const { stdout } = await this.exec(['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', base, branch], {
      okExitCodes: [1],
    });
    return parseMergeTree(stdout);
  }

  async commitTree(tree: string, parents: string[], message: string): Promise<string> {
    const parentArgs = parents.flatMap((parent) => ['-p', parent]);
    const { stdout } = await this.exec(['commit-tree', tree, ...parentArgs, '-m', message]);
    return stdout.trim();
  }

  async merge(cwd: string, branch: string, message: string, squash: boolean): Promise<void> {
    if (squash) {
      await this.exec(['merge', '--squash', '--', branch], { cwd });
      await this.exec(['commit', '-m', message], { cwd });
    } else {
      await this.exec(['merge', '--no-ff', '--no-edit', '-m', message, '--', branch], { cwd });
    }
  }

  /** Puts back the index and files of an interrupted merge (plain or squash). */
  async abortMerge(cwd: string): Promise<void> {
    await this.exec(['reset', '--merge'], { cwd });
  }

  async headCommit(cwd: string): Promise<string> {
    return (await this.exec(['rev-parse', 'HEAD'], { cwd })).stdout.trim();
  }
}

/** A counting semaphore: at most `limit` git processes at once, whatever directory they run in. */
class ProcessSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    return () => {
      this.running--;
      this.waiting.shift()?.();
    };
  }
}

// Variables that make git start programs (editors, pagers, askpass) or read other config; we never
// need one, and simple-git refuses them.
const PROGRAM_LAUNCHING_VARIABLES = new Set(['editor', 'visual', 'pager', 'prefix', 'ssh_askpass']);

function gitEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const allowed = new Set(ALLOWED_GIT_ENVIRONMENT);
  return Object.fromEntries(
    Object.entries(env).filter(([key]) => {
      const lower = key.toLowerCase();
      if (lower.startsWith('git_')) return allowed.has(key.toUpperCase());
      return !PROGRAM_LAUNCHING_VARIABLES.has(lower);
    }),
  );
}

/** GIT_TRACE lines look like "12:34:56.789012 git.c:455   trace: built-in: git …". */
function withoutTraceLines(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !/^\d\d:\d\d:\d\d\.\d+ [\w./-]+:\d+ +trace: /.test(line))
    .join('\n');
}

function quoteForLog(arg: string): string {
  return /^[\w@%+=:,./^{}-]+$/.test(arg) ? arg : JSON.stringify(arg);
}
