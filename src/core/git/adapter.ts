import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { GitError as SimpleGitError, GitPluginError, simpleGit, SimpleGit, SimpleGitOptions } from 'simple-git';
import { TaskWorktreesError } from '../errors';
import { classifyGitOutput, GitError } from './errors';
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
  /**
   * A read-only git command that prints nothing for this long is stopped and fails with `Timeout`.
   * Commands that change the repository have no limit: they run hooks, which take what they take.
   */
  readTimeoutMs?: number;
  /** The environment git starts from (see gitEnvironment); the process's own by default. */
  environment?: NodeJS.ProcessEnv;
}

export interface ExecOptions {
  /** Directory to run in (a worktree); defaults to the repository the adapter was made for. */
  cwd?: string;
  /** Exit codes that are answers, not failures (e.g. merge-tree's 1 = conflicts). */
  okExitCodes?: readonly number[];
  /** The command changes nothing and runs no hook: it gets the read time limit. */
  readOnly?: boolean;
  /** The command can succeed without printing anything. */
  mayPrintNothing?: boolean;
  /** Written to git's standard input. */
  input?: string;
}

export interface ExecResult {
  stdout: string;
  exitCode: number;
}

/** Where the adapter's repository is; every path absolute. */
export interface RepositoryLocation {
  /** The worktree that contains the adapter's directory; undefined in a bare repository's own directory. */
  topLevel?: string;
  /** That worktree's git dir (`<common>/worktrees/<name>` for a linked worktree). */
  gitDir: string;
  /** The git dir every worktree shares (refs, objects, config). */
  commonDir: string;
  /** The repository has no main worktree (`git clone --bare`); it may still have linked ones. */
  bare: boolean;
  /**
   * The main worktree: this one when it is the main one, else the one git names (core.worktree for a
   * submodule, the worktree list otherwise). Undefined when the repository is bare.
   */
  mainWorktree?: string;
}

/** One compare-and-swap on a ref; all of one updateRefs() call land together or none does. */
export interface RefUpdate {
  /** Full ref name, e.g. `refs/heads/task/x`. */
  ref: string;
  /** The commit the ref must point at now; null: the ref must not exist yet. */
  oldOid: string | null;
  /** The commit the ref will point at; null: delete the ref. */
  newOid: string | null;
}

interface Finished {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Raised by simple-git's error hook so the adapter sees the exit code even when stderr is empty.
 * It extends simple-git's own error type, which simple-git passes through instead of re-wrapping.
 */
class ExitFailure extends SimpleGitError {
  constructor(readonly finished: Finished) {
    super(undefined, finished.stderr);
  }
}

/** A read-only command was stopped by the read time limit. */
class ReadTimedOut extends Error {}

const MIN_MERGE_TREE_VERSION: [number, number] = [2, 38];
const FULL_OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
// After git exits, its pipes normally close at once; a hook's background process may hold them open.
const PIPE_GRACE_MS = 50;

// Set for a hook (or by a hook that started VS Code), these would point our commands at another
// repository, index or object store.
const REDIRECTING_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_PREFIX',
  'GIT_NAMESPACE',
  'GIT_QUARANTINE_PATH',
  'GIT_SHALLOW_FILE',
  'GIT_GRAFT_FILE',
  'GIT_REPLACE_REF_BASE',
  'GIT_REFLOG_ACTION',
];

/**
 * What git sees: the user's own environment (their config files, identities, ssh command, …), minus
 * the variables that would redirect it to another repository, plus a stable locale (errors are
 * classified from git's English messages), no terminal prompts and no editor or pager.
 */
export function gitEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const redirecting = new Set(REDIRECTING_VARIABLES);
  return {
    ...Object.fromEntries(Object.entries(env).filter(([key]) => !redirecting.has(key.toUpperCase()))),
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_EDITOR: ':',
    GIT_PAGER: 'cat',
    // Status reads must not take index.lock: agents may be committing in the same worktree.
    GIT_OPTIONAL_LOCKS: '0',
  };
}

// simple-git's guard refuses an environment that names config files, an ssh command, env-given
// config and the like unless these are on: it cannot tell the user's own environment from an
// attacker's. Its client runs only read-only commands (see run()): their arguments are built here
// from fixed options, object ids, refs/heads/<branch> and no user text, and never start with an
// option of git itself (exec() refuses that), so no argument can reach what these flags allow.
const USER_ENVIRONMENT_ALLOWED: Required<Omit<NonNullable<SimpleGitOptions['unsafe']>, 'allowUnsafeCustomBinary' | 'allowAbbreviatedOptions'>> = {
  allowUnsafeAlias: true,
  allowUnsafeAskPass: true,
  allowUnsafeCommandBinaries: true,
  allowUnsafeConfigPaths: true,
  allowUnsafeConfigEnvCount: true,
  allowUnsafeCredentialHelper: true,
  allowUnsafeEditor: true,
  allowUnsafeMergeDriver: true,
  allowUnsafePager: true,
  allowUnsafeProtocolOverride: true,
  allowUnsafePack: true,
  allowUnsafeSshCommand: true,
  allowUnsafeGitProxy: true,
  allowUnsafeExec: true,
  allowUnsafeHooksPath: true,
  allowUnsafeDiffExternal: true,
  allowUnsafeDiffTextConv: true,
  allowUnsafeFilter: true,
  allowUnsafeFsMonitor: true,
  allowUnsafeGpgProgram: true,
  allowUnsafeTemplateDir: true,
  allowUnsafeInclude: true,
  allowUnsafeSubmodule: true,
  allowUnsafeUrlRewrite: true,
};

/**
 * The only code that runs git. Every call goes through exec(): argument arrays (never a shell),
 * one environment, one log line with the duration, one error type classified in one place.
 *
 * Read-only commands that print run through simple-git. The others run through child_process
 * with the same environment: commands that change the repository run hooks, which must see no
 * variable of simple-git's and no time limit; and simple-git waits a fixed 50 ms after any
 * process that printed nothing (update-ref, worktree remove, merge-base --is-ancestor, …).
 */
export class GitAdapter {
  /** One simple-git client per directory: simple-git forbids `-C`, so each worktree gets its own. */
  private readonly clients = new Map<string, SimpleGit>();
  private readonly spawnListeners = new Set<(args: readonly string[]) => void>();
  private readonly exitListeners = new Set<(args: readonly string[]) => void>();
  private readonly slots: ProcessSlots;
  private readonly environment: NodeJS.ProcessEnv;
  private readonly readTimeoutMs: number;
  private versionPromise: Promise<[number, number, number]> | undefined;

  constructor(
    readonly repoDir: string,
    private readonly options: GitAdapterOptions = {},
  ) {
    this.slots = new ProcessSlots(options.maxConcurrentProcesses ?? 6);
    this.environment = gitEnvironment(options.environment ?? process.env);
    this.readTimeoutMs = options.readTimeoutMs ?? 120_000;
  }

  private get binary(): string {
    return this.options.gitPath || 'git';
  }

  private client(cwd: string): SimpleGit {
    let client = this.clients.get(cwd);
    if (!client) {
      client = simpleGit({
        baseDir: cwd,
        binary: this.binary,
        // The adapter's own slots bound concurrency across all directories.
        maxConcurrentProcesses: Number.MAX_SAFE_INTEGER,
        trimmed: false,
        allowEnvironment: Object.keys(this.environment),
        unsafe: USER_ENVIRONMENT_ALLOWED,
        timeout: { block: this.readTimeoutMs },
        errors: (error, result) => {
          if (error instanceof GitPluginError || result.exitCode === 0) return error;
          return new ExitFailure({
            exitCode: result.exitCode,
            stdout: Buffer.concat(result.stdOut).toString('utf8'),
            stderr: Buffer.concat(result.stdErr).toString('utf8'),
          });
        },
      });
      client.env(this.environment);
      this.clients.set(cwd, client);
    }
    return client;
  }

  /** Observe every git argument list as its process starts (tests, benchmark). */
  onSpawn(listener: (args: readonly string[]) => void): () => void {
    this.spawnListeners.add(listener);
    return () => this.spawnListeners.delete(listener);
  }

  /** Observe every git process as it ends, before its slot is given to the next one. */
  onExit(listener: (args: readonly string[]) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  async exec(args: string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (args.length === 0 || args[0].startsWith('-')) {
      throw new TaskWorktreesError('InvalidInput', `A git command must start with a subcommand, not ${JSON.stringify(args[0] ?? '')}.`);
    }
    const cwd = options.cwd ?? this.repoDir;
    const release = await this.slots.acquire();
    for (const listener of this.spawnListeners) listener(args);
    const started = performance.now();
    let outcome = '';
    try {
      const finished = await this.run(args, cwd, options).catch((error: unknown) => {
        throw this.toSpawnError(error, args, cwd);
      });
      if (finished.exitCode !== 0) outcome = ` exit ${finished.exitCode}`;
      if (finished.exitCode === 0 || options.okExitCodes?.includes(finished.exitCode)) {
        return { stdout: finished.stdout, exitCode: finished.exitCode };
      }
      throw new GitError(classifyGitOutput(finished.stdout, finished.stderr), args, finished.stderr, finished.exitCode, finished.stdout);
    } catch (error) {
      if (!outcome && error instanceof TaskWorktreesError) outcome = ` ${error.code}`;
      throw error;
    } finally {
      for (const listener of this.exitListeners) listener(args);
      release();
      const ms = Math.round(performance.now() - started);
      const where = cwd === this.repoDir ? '' : ` (in ${cwd})`;
      this.options.log?.(`> git ${args.map(quoteForLog).join(' ')} [${ms}ms]${where}${outcome}`);
    }
  }

  private run(args: string[], cwd: string, options: ExecOptions): Promise<Finished> {
    const readOnly = options.readOnly === true;
    if (readOnly && !options.mayPrintNothing && options.input === undefined) return this.runWithSimpleGit(args, cwd);
    return this.runDirectly(args, cwd, readOnly ? this.readTimeoutMs : undefined, options.input);
  }

  private async runWithSimpleGit(args: string[], cwd: string): Promise<Finished> {
    try {
      return { stdout: await this.client(cwd).raw(args), stderr: '', exitCode: 0 };
    } catch (error) {
      if (error instanceof ExitFailure) return error.finished;
      if (error instanceof GitPluginError && error.plugin === 'timeout') throw new ReadTimedOut();
      throw error;
    }
  }

  /** child_process with the same environment; `silenceLimitMs` stops it after that long without output. */
  private runDirectly(args: string[], cwd: string, silenceLimitMs: number | undefined, input: string | undefined): Promise<Finished> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, {
        cwd,
        env: this.environment,
        stdio: 'pipe',
        windowsHide: true,
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      let silence: NodeJS.Timeout | undefined;
      let grace: NodeJS.Timeout | undefined;
      let exitCode = -1;
      let settled = false;
      const restartSilence = (): void => {
        if (silenceLimitMs === undefined) return;
        clearTimeout(silence);
        silence = setTimeout(() => {
          timedOut = true;
          child.kill();
        }, silenceLimitMs);
      };
      const settle = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(silence);
        clearTimeout(grace);
        child.stdout.destroy();
        child.stderr.destroy();
        if (error !== undefined) reject(error);
        else if (timedOut) reject(new ReadTimedOut());
        else resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), exitCode });
      };
      child.stdout.on('data', (chunk: Buffer) => {
        stdout.push(chunk);
        restartSilence();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr.push(chunk);
        restartSilence();
      });
      child.on('error', settle);
      child.on('exit', (code) => {
        exitCode = code ?? -1;
        grace = setTimeout(() => settle(), PIPE_GRACE_MS);
      });
      child.on('close', () => settle());
      // git may exit before reading its input (a failed lock); its exit code says what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
      restartSilence();
    });
  }

  private toSpawnError(error: unknown, args: string[], cwd: string): Error {
    if (error instanceof ReadTimedOut) {
      const seconds = this.readTimeoutMs / 1000;
      return new GitError('Timeout', args, '', -1, '', `git ${args[0]} timed out: it printed nothing for ${seconds} s (the limit for commands that only read) and was stopped.`);
    }
    const message = error instanceof Error ? error.message : String(error);
    if (!existsSync(cwd) || /directory that does not exist/i.test(message)) {
      return new TaskWorktreesError('WorktreeNotFound', `${cwd} does not exist.`);
    }
    if (/ENOENT|EACCES|spawn/i.test(message)) {
      return new GitError('GitNotFound', args, `git was not found (${this.binary}): ${message}`, -1);
    }
    if (/custom binary/i.test(message)) {
      return new TaskWorktreesError('InvalidInput', `The git path "${this.options.gitPath}" is not usable: ${message}`);
    }
    return new GitError('GitFailed', args, message, -1);
  }

  version(): Promise<[number, number, number]> {
    this.versionPromise ??= this.exec(['version'], { readOnly: true }).then(({ stdout }) => parseGitVersion(stdout));
    return this.versionPromise;
  }

  async requireMergeTree(): Promise<void> {
    const [major, minor] = await this.version();
    const [needMajor, needMinor] = MIN_MERGE_TREE_VERSION;
    if (major < needMajor || (major === needMajor && minor < needMinor)) {
      throw new GitError('GitTooOld', ['merge-tree'], `git ${major}.${minor} is too old: merging needs git ${needMajor}.${needMinor} or newer (merge-tree --write-tree).`, -1);
    }
  }

  /**
   * Where the repository is. Each path comes from its own `rev-parse` (one path per output, so a
   * newline in a path cannot split it), and the main worktree never from the git dir's parent.
   */
  async locate(): Promise<RepositoryLocation> {
    const [gitDir, commonDir, worktrees] = await Promise.all([this.gitDir(), this.revParsePath('--git-common-dir'), this.listWorktrees()]);
    const bare = worktrees[0]?.bare === true;
    const inMainGitDir = gitDir === commonDir;
    // A bare repository's own directory is no worktree: there is no top level to show.
    const topLevel = bare && inMainGitDir ? undefined : await this.revParsePath('--show-toplevel');
    let mainWorktree: string | undefined;
    if (!bare) mainWorktree = inMainGitDir ? topLevel : await this.mainWorktreeFromCommonDir(commonDir, worktrees);
    return { topLevel, gitDir, commonDir, bare, mainWorktree };
  }

  /**
   * From a linked worktree: core.worktree when the repository sets it (a submodule: git's worktree
   * list would name the git dir), else the first entry of the worktree list.
   */
  private async mainWorktreeFromCommonDir(commonDir: string, worktrees: WorktreeEntry[]): Promise<string | undefined> {
    try {
      return await this.revParsePath('--show-toplevel', commonDir);
    } catch (error) {
      if (error instanceof GitError && /must be run in a work tree/.test(error.stderr)) return worktrees[0]?.path;
      throw error;
    }
  }

  /** The absolute git dir of a worktree (`.git/worktrees/<name>` for a linked one); the adapter's by default. */
  gitDir(worktreePath?: string): Promise<string> {
    return this.revParsePath('--git-dir', worktreePath);
  }

  private async revParsePath(option: '--git-dir' | '--git-common-dir' | '--show-toplevel', cwd?: string): Promise<string> {
    const { stdout } = await this.exec(['rev-parse', '--path-format=absolute', option], { cwd, readOnly: true });
    return stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout;
  }

  async listWorktrees(): Promise<WorktreeEntry[]> {
    return parseWorktreeList((await this.exec(['worktree', 'list', '--porcelain', '-z'], { readOnly: true })).stdout);
  }

  /** Every local branch with its commit (and, on request, the worktree it is checked out in): one process for all. */
  async branchHeads(options: { withWorktrees?: boolean } = {}): Promise<BranchHead[]> {
    const { stdout } = await this.exec(['for-each-ref', options.withWorktrees ? BRANCH_HEADS_FORMAT : BRANCH_OIDS_FORMAT, 'refs/heads'], { readOnly: true });
    return parseBranchHeads(stdout);
  }

  /** The commit a branch points at, or undefined when there is no such branch. */
  async branchCommit(branch: string): Promise<string | undefined> {
    const { stdout, exitCode } = await this.exec(['rev-parse', '--verify', '--quiet', '--end-of-options', `${branchRef(branch)}^{commit}`], {
      readOnly: true,
      mayPrintNothing: true,
      okExitCodes: [1],
    });
    return exitCode === 0 ? stdout.trim() : undefined;
  }

  /** The branch checked out in `cwd`, or undefined when HEAD is detached. */
  async currentBranch(cwd?: string): Promise<string | undefined> {
    const { stdout, exitCode } = await this.exec(['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd, readOnly: true, mayPrintNothing: true, okExitCodes: [1] });
    return exitCode === 0 ? stdout.trim() : undefined;
  }

  async status(cwd: string): Promise<WorkingTreeStatus> {
    const { stdout } = await this.exec(['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all'], { cwd, readOnly: true });
    return parseStatusV2(stdout);
  }

  /** Commits `branch` has that `base` lacks (ahead) and the reverse (behind). Branch names or full object ids. */
  async aheadBehind(base: string, branch: string): Promise<{ ahead: number; behind: number }> {
    const range = `${branchOrCommit(base)}...${branchOrCommit(branch)}`;
    const { stdout } = await this.exec(['rev-list', '--left-right', '--count', '--end-of-options', range], { readOnly: true });
    const [behind, ahead] = stdout.trim().split(/\s+/).map(Number);
    return { ahead, behind };
  }

  /** Whether `ancestor` is reachable from `descendant`. Branch names or full object ids. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const { exitCode } = await this.exec(['merge-base', '--is-ancestor', '--end-of-options', branchOrCommit(ancestor), branchOrCommit(descendant)], {
      readOnly: true,
      mayPrintNothing: true,
      okExitCodes: [1],
    });
    return exitCode === 0;
  }

  /** The best common ancestor of two branches or commits; undefined when their histories never meet. */
  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const { stdout, exitCode } = await this.exec(['merge-base', '--end-of-options', branchOrCommit(a), branchOrCommit(b)], {
      readOnly: true,
      mayPrintNothing: true,
      okExitCodes: [1],
    });
    return exitCode === 0 ? stdout.trim() : undefined;
  }

  /** The tree of a branch's or a commit's snapshot. */
  async treeOf(rev: string): Promise<string> {
    const { stdout } = await this.exec(['rev-parse', '--verify', '--end-of-options', `${branchOrCommit(rev)}^{tree}`], { readOnly: true });
    return stdout.trim();
  }

  /** Whether any local branch contains the commit (so a detached HEAD there loses nothing). */
  async isOnSomeBranch(oid: string): Promise<boolean> {
    const { stdout } = await this.exec(['for-each-ref', '--count=1', `--contains=${objectId(oid)}`, '--format=%(refname)', 'refs/heads'], {
      readOnly: true,
      mayPrintNothing: true,
    });
    return stdout.trim().length > 0;
  }

  /** `base`: a branch name or a full object id. */
  async addWorktreeWithNewBranch(path: string, branch: string, base: string): Promise<void> {
    await this.exec(['worktree', 'add', '-b', branch, '--', path, branchOrCommit(base)]);
  }

  /** Checks out an existing branch: git takes a branch name here as a branch, so it stays short. */
  async addWorktreeForBranch(path: string, branch: string): Promise<void> {
    branchRef(branch);
    await this.exec(['worktree', 'add', '--', path, branch]);
  }

  async removeWorktree(path: string, force: boolean): Promise<void> {
    await this.exec(['worktree', 'remove', ...(force ? ['--force'] : []), '--', path]);
  }

  /** Moves a worktree; git keeps its record's name (see TaskRemoval.recreate for why that matters). */
  async moveWorktree(from: string, to: string): Promise<void> {
    await this.exec(['worktree', 'move', '--', from, to]);
  }

  async pruneWorktrees(): Promise<void> {
    await this.exec(['worktree', 'prune']);
  }

  /** Reconnects worktrees that were moved (or whose repository was): `git worktree repair -- <paths>`. */
  async repairWorktrees(paths: string[]): Promise<void> {
    for (const path of paths) {
      if (typeof path !== 'string' || path === '' || path.includes('\0')) {
        throw new TaskWorktreesError('InvalidInput', `Not a worktree path: ${JSON.stringify(path)}.`);
      }
    }
    await this.exec(['worktree', 'repair', '--', ...paths]);
  }

  /**
   * Compare-and-swap on several refs in one transaction (`update-ref --stdin`): each must still be
   * where the caller saw it; if any is not, none moves and the error is `RefChanged`.
   */
  async updateRefs(updates: RefUpdate[], reason: string): Promise<void> {
    if (updates.length === 0) return;
    const commands = updates.map(({ ref, oldOid, newOid }) => {
      if (typeof ref !== 'string' || !/^refs\/[^\0\n]+$/.test(ref)) throw new TaskWorktreesError('InvalidInput', `Not a full ref name: ${JSON.stringify(ref)}.`);
      if (newOid === null && oldOid === null) throw new TaskWorktreesError('InvalidInput', `Deleting ${ref} needs the commit it must point at.`);
      if (newOid === null) return `delete ${ref}\0${objectId(oldOid!)}\0`;
      if (oldOid === null) return `create ${ref}\0${objectId(newOid)}\0`;
      return `update ${ref}\0${objectId(newOid)}\0${objectId(oldOid)}\0`;
    });
    await this.exec(['update-ref', '-m', reason, '--stdin', '-z'], { input: commands.join('') });
  }

  /** Deletes a branch only if it still points at `expectedOid` (git checks atomically). */
  deleteBranch(branch: string, expectedOid: string): Promise<void> {
    return this.updateRefs([{ ref: branchRef(branch), oldOid: expectedOid, newOid: null }], `task-worktrees: delete ${branch}`);
  }

  /** Moves a branch only if it still points at `oldOid`. */
  updateBranch(branch: string, newOid: string, oldOid: string, reason: string): Promise<void> {
    return this.updateRefs([{ ref: branchRef(branch), oldOid, newOid }], reason);
  }

  /** Merges in memory: no index, no working tree is touched. Exit 1 means conflicts. Branch names or full object ids. */
  async mergeTree(base: string, branch: string): Promise<MergeTreeResult> {
    await this.requireMergeTree();
    const { stdout } = await this.exec(['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', branchOrCommit(base), branchOrCommit(branch)], {
      readOnly: true,
      okExitCodes: [1],
    });
    return parseMergeTree(stdout);
  }

  async commitTree(tree: string, parents: string[], message: string): Promise<string> {
    const parentArgs = parents.flatMap((parent) => ['-p', objectId(parent)]);
    const { stdout } = await this.exec(['commit-tree', objectId(tree), ...parentArgs, '-m', message]);
    return stdout.trim();
  }

  /** Merges the branch `branch` (never a tag of the same name) into the branch checked out in `cwd`. */
  async merge(cwd: string, branch: string, message: string, squash: boolean): Promise<void> {
    const ref = branchRef(branch);
    if (squash) {
      await this.exec(['merge', '--squash', '--', ref], { cwd });
      await this.exec(['commit', '-m', message], { cwd });
    } else {
      await this.exec(['merge', '--no-ff', '--no-edit', '-m', message, '--', ref], { cwd });
    }
  }

  /** Puts back the index and files of an interrupted merge (plain or squash). */
  async abortMerge(cwd: string): Promise<void> {
    await this.exec(['reset', '--merge'], { cwd });
  }

  async headCommit(cwd: string): Promise<string> {
    return (await this.exec(['rev-parse', 'HEAD'], { cwd, readOnly: true })).stdout.trim();
  }
}

/** A counting semaphore: at most `limit` git processes at once, whatever directory they run in. */
class ProcessSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.free = Math.max(1, limit);
  }

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    // A releasing holder hands its slot straight to the first waiter, so no acquire can slip in between.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/** The full ref of a branch, so a tag or a remote-tracking branch of the same name is never taken instead. */
function branchRef(branch: string): string {
  if (typeof branch !== 'string' || branch === '' || /[\0-\x1f\x7f]/.test(branch)) {
    throw new TaskWorktreesError('InvalidInput', `Not a branch name: ${JSON.stringify(branch)}.`);
  }
  return `refs/heads/${branch}`;
}

/** A full object id as it is; anything else is a branch name. */
function branchOrCommit(value: string): string {
  return typeof value === 'string' && FULL_OID.test(value) ? value : branchRef(value);
}

function objectId(oid: string): string {
  if (typeof oid !== 'string' || !FULL_OID.test(oid)) throw new TaskWorktreesError('InvalidInput', `Not a full object id: ${JSON.stringify(oid)}.`);
  return oid;
}

function quoteForLog(arg: string): string {
  return /^[\w@%+=:,./^{}-]+$/.test(arg) ? arg : JSON.stringify(arg);
}
