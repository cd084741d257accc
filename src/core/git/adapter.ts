import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { TaskWorktreesError } from '../errors';
import type { OperationInProgress } from '../safety';
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
import { gitEnvironment, GitProcesses, ProcessSlots, ReadTimedOut, RunOptions } from './process';

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

export interface ExecOptions extends RunOptions {
  /** Directory to run in (a worktree); defaults to the repository the adapter was made for. */
  cwd?: string;
  /** Exit codes that are answers, not failures (e.g. merge-tree's 1 = conflicts). */
  okExitCodes?: readonly number[];
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
   * submodule, the worktree list otherwise). Undefined when the repository is bare, or when git cannot
   * tell from a linked worktree (a separate git dir not named `.git`).
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

const MIN_MERGE_TREE_VERSION: [number, number] = [2, 38];
const FULL_OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The only code that runs git. Every call goes through exec(): argument arrays (never a shell), one
 * environment, at most `maxConcurrentProcesses` at once, one log line with the duration, one error
 * type classified in one place. How each process is started is GitProcesses' part.
 */
export class GitAdapter {
  private readonly spawnListeners = new Set<(args: readonly string[]) => void>();
  private readonly exitListeners = new Set<(args: readonly string[]) => void>();
  private readonly slots: ProcessSlots;
  private mergeTreeChecked = false;
  private readonly processes: GitProcesses;
  private versionPromise: Promise<[number, number, number]> | undefined;

  constructor(
    readonly repoDir: string,
    private readonly options: GitAdapterOptions = {},
  ) {
    this.slots = new ProcessSlots(options.maxConcurrentProcesses ?? 6);
    this.processes = new GitProcesses(options.gitPath || 'git', gitEnvironment(options.environment ?? process.env), options.readTimeoutMs ?? 120_000);
  }

  /** Observe every git argument list as its process starts (tests, benchmark). */
  onSpawn(listener: (args: readonly string[]) => void): () => void {
    this.spawnListeners.add(listener);
    return () => this.spawnListeners.delete(listener);
  }

  /** How many more git processes could start now without waiting for one to end. */
  freeProcessSlots(): number {
    return this.slots.free;
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
    if (options.env) checkGitVariables(options.env);
    const cwd = options.cwd ?? this.repoDir;
    const release = this.slots.tryAcquire() ?? (await this.slots.acquire());
    for (const listener of this.spawnListeners) listener(args);
    const started = performance.now();
    let outcome = '';
    try {
      const finished = await this.processes.run(args, cwd, options).catch((error: unknown) => {
        throw this.toSpawnError(error, args, cwd);
      });
      if (finished.exitCode !== 0) outcome = finished.withdrawn ? ' stopped before reading its input (not needed)' : ` exit ${finished.exitCode}`;
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

  private toSpawnError(error: unknown, args: string[], cwd: string): Error {
    if (error instanceof ReadTimedOut) {
      const seconds = this.processes.readTimeoutMs / 1000;
      return new GitError('Timeout', args, '', -1, '', `git ${args[0]} timed out: it printed nothing for ${seconds} s (the limit for commands that only read) and was stopped.`);
    }
    const message = error instanceof Error ? error.message : String(error);
    if (!existsSync(cwd) || /directory that does not exist/i.test(message)) {
      return new TaskWorktreesError('WorktreeNotFound', `${cwd} does not exist.`);
    }
    if (/ENOENT|EACCES|spawn/i.test(message)) {
      return new GitError('GitNotFound', args, `git was not found (${this.processes.binary}): ${message}`, -1);
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
   * list would name the git dir), else the first entry of the worktree list. That entry is git's
   * guess from the common dir's name; when it is the common dir itself (a separate git dir not named
   * `.git`), git does not know where the main worktree is, and neither do we.
   */
  private async mainWorktreeFromCommonDir(commonDir: string, worktrees: WorktreeEntry[]): Promise<string | undefined> {
    try {
      return await this.revParsePath('--show-toplevel', commonDir);
    } catch (error) {
      if (!(error instanceof GitError && /must be run in a work tree/.test(error.stderr))) throw error;
      const listed = worktrees[0]?.path;
      return listed === commonDir ? undefined : listed;
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
    // The full name: with a tag named like the branch, `--short` answers "heads/<name>".
    const { stdout, exitCode } = await this.exec(['symbolic-ref', '--quiet', 'HEAD'], { cwd, readOnly: true, mayPrintNothing: true, okExitCodes: [1] });
    const ref = stdout.trim();
    return exitCode === 0 && ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
  }

  async status(cwd: string): Promise<WorkingTreeStatus> {
    const { stdout } = await this.exec(['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all'], { cwd, readOnly: true, immediate: true });
    return parseStatusV2(stdout);
  }

  /** Commits `branch` has that `base` lacks (ahead) and the reverse (behind). Branch names (a branch may look like an object id). */
  async aheadBehind(base: string, branch: string): Promise<{ ahead: number; behind: number }> {
    const range = `${branchRef(base)}...${branchRef(branch)}`;
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
   * where the caller saw it; if any is not, none moves and the error is `RefChanged`. Given as a
   * promise, the updates may be decided after git has started (it waits for them; see
   * MergeEngine.startRefLanding); a rejected promise stops git before it reads anything.
   */
  async updateRefs(updates: RefUpdate[] | Promise<RefUpdate[]>, reason: string, options: { checkOnly?: boolean } = {}): Promise<void> {
    const commands = (list: RefUpdate[]): string => {
      const lines = list.map(refCommand).join('');
      // checkOnly: git prepares the transaction (old values checked, reference-transaction hooks
      // asked) and aborts it — whether it would go through, changing nothing.
      return options.checkOnly && lines ? `start\0${lines}prepare\0abort\0` : lines;
    };
    if (Array.isArray(updates) && updates.length === 0) return;
    // Bad input given at once is refused before git starts.
    const input = Array.isArray(updates) ? commands(updates) : updates.then(commands);
    if (typeof input === 'object') input.catch(() => undefined); // rethrown below, once git has exited
    await this.exec(['update-ref', '-m', reason, '--stdin', '-z'], { input });
    await input;
  }

  /** Deletes a branch only if it still points at `expectedOid` (git checks atomically); `checkOnly`: only whether git would. */
  deleteBranch(branch: string, expectedOid: string, options: { checkOnly?: boolean } = {}): Promise<void> {
    return this.updateRefs([{ ref: branchRef(branch), oldOid: expectedOid, newOid: null }], `task-worktrees: delete ${branch}`, options);
  }

  /** Moves a branch only if it still points at `oldOid`. */
  updateBranch(branch: string, newOid: string, oldOid: string, reason: string): Promise<void> {
    return this.updateRefs([{ ref: branchRef(branch), oldOid, newOid }], reason);
  }

  /** updateBranch() with git started now, before the new commit is known (see MergeEngine.startRefLanding); a rejection changes nothing. */
  updateBranchOnceKnown(branch: string, oldOid: string, reason: string, newOid: Promise<string>): Promise<void> {
    const ref = branchRef(branch);
    return this.updateRefs(newOid.then((oid) => [{ ref, oldOid, newOid: oid }]), reason);
  }

  /** Merges in memory: no index, no working tree is touched. Exit 1 means conflicts. Branch names or full object ids. */
  async mergeTree(base: string, branch: string): Promise<MergeTreeResult> {
    // Checked once: later merges start git at once, ahead of the reads started just after them.
    if (!this.mergeTreeChecked) {
      await this.requireMergeTree();
      this.mergeTreeChecked = true;
    }
    const { stdout, exitCode } = await this.exec(['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', branchOrCommit(base), branchOrCommit(branch)], {
      readOnly: true,
      immediate: true,
      okExitCodes: [1],
    });
    return { clean: exitCode === 0, ...parseMergeTree(stdout) };
  }

  /** `identity`: author and committer of the commit instead of the user's (whose configuration may name none). */
  async commitTree(tree: string, parents: string[], message: string, identity?: { name: string; email: string }): Promise<string> {
    const parentArgs = parents.flatMap((parent) => ['-p', objectId(parent)]);
    const env = identity && {
      GIT_AUTHOR_NAME: identity.name,
      GIT_AUTHOR_EMAIL: identity.email,
      GIT_COMMITTER_NAME: identity.name,
      GIT_COMMITTER_EMAIL: identity.email,
    };
    const { stdout } = await this.exec(['commit-tree', objectId(tree), ...parentArgs, '-m', message], { env });
    return stdout.trim();
  }

  /** Merges a branch (never a tag of the same name) or a full commit id into the branch checked out in `cwd`. */
  async merge(cwd: string, branchOrOid: string, message: string, squash: boolean): Promise<void> {
    const ref = branchOrCommit(branchOrOid);
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

  /**
   * The untracked files git ignores in the worktree `cwd`, relative to it, '/'-separated (one
   * process for the whole tree). Nested repositories and worktrees come as `dir/` and are left to the caller.
   */
  async ignoredUntrackedFiles(cwd: string): Promise<string[]> {
    const { stdout } = await this.exec(['ls-files', '--others', '--ignored', '--exclude-standard', '-z'], { cwd, readOnly: true, mayPrintNothing: true });
    return stdout.split('\0').filter(Boolean);
  }

  async headCommit(cwd: string): Promise<string> {
    return (await this.exec(['rev-parse', 'HEAD'], { cwd, readOnly: true })).stdout.trim();
  }

  /** `git config user.name` as git resolves it here (repository, then global); undefined when unset. */
  async userName(): Promise<string | undefined> {
    const { stdout, exitCode } = await this.exec(['config', '--get', 'user.name'], { readOnly: true, mayPrintNothing: true, okExitCodes: [1] });
    return exitCode === 0 ? stdout.trim() || undefined : undefined;
  }

  // ---- working with a worktree's files through a private index (snapshots) --------------------

  /** The tree of what the index file holds (`write-tree`); fails while it has conflicts. */
  async writeTree(cwd: string, indexFile: string): Promise<string> {
    const { stdout } = await this.exec(['write-tree'], { cwd, env: { GIT_INDEX_FILE: indexPath(indexFile) } });
    return stdout.trim();
  }

  /** Stages every file of the worktree as it is on disk (ignored ones excepted) into `indexFile`, never the worktree's own index. */
  async stageAllInto(cwd: string, indexFile: string): Promise<void> {
    await this.exec(['add', '--all', '--', '.'], { cwd, env: { GIT_INDEX_FILE: indexPath(indexFile) } });
  }

  /** Loads a tree into `indexFile` (`read-tree`), replacing what it held. */
  async readTreeInto(cwd: string, indexFile: string, tree: string): Promise<void> {
    await this.exec(['read-tree', objectId(tree)], { cwd, env: { GIT_INDEX_FILE: indexPath(indexFile) } });
  }

  /**
   * Writes these paths from an index (the worktree's own, or `indexFile`) to the worktree, over
   * what is there. Paths go through standard input, taken literally (never as options or patterns).
   */
  async checkoutPaths(cwd: string, paths: readonly string[], indexFile?: string): Promise<void> {
    if (paths.length === 0) return;
    const env = indexFile === undefined ? undefined : { GIT_INDEX_FILE: indexPath(indexFile) };
    await this.exec(['checkout-index', '--force', '-z', '--stdin'], { cwd, env, input: nulList(paths) });
  }

  /** Puts the worktree's index entries of these paths back to what `commit` has (absent there: removed); files are not touched. */
  async resetPaths(cwd: string, commit: string, paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return;
    await this.exec(['reset', '--quiet', objectId(commit), '--pathspec-from-file=-', '--pathspec-file-nul'], {
      cwd,
      env: { GIT_LITERAL_PATHSPECS: '1' },
      input: nulList(paths),
    });
  }

  /** Every path whose entry differs between two trees or commits, with both sides (no rename detection). */
  async diffTrees(from: string, to: string): Promise<TreeChange[]> {
    const { stdout } = await this.exec(['diff-tree', '-r', '-z', '--raw', '--no-abbrev', '--no-renames', objectId(from), objectId(to)], {
      readOnly: true,
      mayPrintNothing: true,
    });
    return parseRawDiff(stdout);
  }

  /** Paths that differ from `commit` in the worktree `cwd` (committed since, staged or not), renames detected. */
  async diffWorktreeAgainst(cwd: string, commit: string): Promise<NameStatus[]> {
    const { stdout } = await this.exec(['diff', '--name-status', '-z', '-M', '--no-ext-diff', objectId(commit), '--'], { cwd, readOnly: true, mayPrintNothing: true });
    return parseNameStatus(stdout);
  }

  /** Paths that differ between two commits, renames detected. */
  async diffCommits(from: string, to: string): Promise<NameStatus[]> {
    const { stdout } = await this.exec(['diff-tree', '-r', '-z', '-M', '--name-status', objectId(from), objectId(to)], { readOnly: true, mayPrintNothing: true });
    return parseNameStatus(stdout);
  }

  /** Untracked files that are not ignored, relative to the worktree `cwd`. */
  async untrackedFiles(cwd: string): Promise<string[]> {
    const { stdout } = await this.exec(['ls-files', '--others', '--exclude-standard', '-z'], { cwd, readOnly: true, mayPrintNothing: true });
    return stdout.split('\0').filter((path) => path !== '');
  }

  /** Paths whose file differs from HEAD in the worktree `cwd`, staged or not, or that are untracked (not ignored). */
  async uncommittedPaths(cwd: string): Promise<string[]> {
    const [{ stdout }, untracked] = await Promise.all([
      this.exec(['diff', '--name-only', '-z', '--no-renames', 'HEAD', '--'], { cwd, readOnly: true, mayPrintNothing: true }),
      this.untrackedFiles(cwd),
    ]);
    return [...stdout.split('\0').filter((path) => path !== ''), ...untracked];
  }

  /** A file's content at a commit, as text; undefined when the commit has no such file. */
  async fileAt(commit: string, path: string): Promise<string | undefined> {
    if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new TaskWorktreesError('InvalidInput', `Not a file path: ${JSON.stringify(path)}.`);
    const { stdout, exitCode } = await this.exec(['cat-file', 'blob', `${objectId(commit)}:${path}`], { readOnly: true, mayPrintNothing: true, okExitCodes: [128] });
    return exitCode === 0 ? stdout : undefined;
  }

  /** Refs under a prefix with their commit, parents, date and subject (refs whose subject holds no newline). */
  async refsUnder(prefix: string): Promise<RefSummary[]> {
    if (!/^refs\/[\w./-]+\/$/.test(prefix)) throw new TaskWorktreesError('InvalidInput', `Not a ref prefix: ${JSON.stringify(prefix)}.`);
    const { stdout } = await this.exec(['for-each-ref', '--format=%(refname)%00%(objectname)%00%(parent)%00%(tree)%00%(creatordate:iso-strict)%00%(contents:subject)', prefix], {
      readOnly: true,
      mayPrintNothing: true,
    });
    return stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [ref, commit, parents, tree, date, subject] = line.split('\0');
        return { ref, commit, parents: parents.split(' ').filter(Boolean), tree, date, subject };
      });
  }

  // ---- merge flow: a merge's two refs, the queue's gate, the conflict resolver ------------

  /**
   * The commit and tree of each of a few branches in one `rev-parse` (much cheaper than listing
   * every head when there are hundreds); undefined when any of them does not exist.
   */
  async branchTips(branches: string[]): Promise<Map<string, BranchHead> | undefined> {
    // Each starts with refs/heads/, so none reads as an option (this rev-parse echoes --end-of-options).
    const revs = branches.flatMap((branch) => [`${branchRef(branch)}^{commit}`, `${branchRef(branch)}^{tree}`]);
    const { stdout, exitCode } = await this.exec(['rev-parse', ...revs], { readOnly: true, okExitCodes: [128] });
    const lines = stdout.split('\n');
    if (exitCode !== 0 || lines.length < revs.length) return undefined;
    return new Map(branches.map((name, index) => [name, { name, oid: lines[2 * index], tree: lines[2 * index + 1] }]));
  }

  /** The subjects of the commits `to` has that `from` lacks, newest first (at most `limit`). Branch names or full object ids. */
  async commitSubjects(from: string, to: string, limit = 50): Promise<string[]> {
    const range = `${branchOrCommit(from)}..${branchOrCommit(to)}`;
    const { stdout } = await this.exec(['log', `--max-count=${limit}`, '--no-decorate', '--format=%s', '-z', '--end-of-options', range, '--'], {
      readOnly: true,
      mayPrintNothing: true,
    });
    return stdout.split('\0').filter((subject) => subject !== '');
  }

  /** Checks out a commit on a detached HEAD in `cwd` (its files follow; the branch does not move). */
  async detachAt(cwd: string, oid: string): Promise<void> {
    await this.exec(['switch', '--quiet', '--detach', objectId(oid)], { cwd });
  }

  /** Checks the branch out again in `cwd`; `discardChanges`: tracked files changed since are put back. */
  async switchTo(cwd: string, branch: string, options: { discardChanges?: boolean } = {}): Promise<void> {
    branchRef(branch);
    await this.exec(['switch', '--quiet', '--no-guess', ...(options.discardChanges ? ['--discard-changes'] : []), branch], { cwd });
  }

  /** Moves the branch checked out in `cwd` forward to `oid`, files included; refused by git unless it is a fast-forward. */
  async fastForward(cwd: string, oid: string): Promise<void> {
    await this.exec(['merge', '--ff-only', '--quiet', objectId(oid)], { cwd });
  }

  /** Paths tracked in `to` and not in `from` (commits or trees), '/'-separated: where checking `to` out writes over whatever is there. */
  async addedPaths(from: string, to: string): Promise<string[]> {
    const { stdout } = await this.exec(['diff', '--name-only', '--no-renames', '--diff-filter=A', '-z', objectId(from), objectId(to), '--'], { readOnly: true });
    return stdout.split('\0').filter((path) => path !== '');
  }

  /** git's own abort of an operation waiting in `cwd`: back to where it started, keeping local changes it did not touch. */
  async abortOperation(cwd: string, operation: OperationInProgress): Promise<void> {
    const abort: Record<OperationInProgress, string[]> = {
      merge: ['merge', '--abort'],
      rebase: ['rebase', '--abort'],
      'cherry-pick': ['cherry-pick', '--abort'],
      revert: ['revert', '--abort'],
      bisect: ['bisect', 'reset'],
    };
    await this.exec(abort[operation], { cwd });
  }
  // ---- snapshots: files git was told not to look at, and whose snapshot a ref is ------------

  /**
   * Index entries marked assume-unchanged or skip-worktree: status, diff and `add` do not look at
   * their files, so an edit there is invisible to them. Read from `indexFile` when given.
   */
  async hiddenIndexEntries(cwd: string, indexFile?: string): Promise<HiddenIndexEntry[]> {
    const env = indexFile === undefined ? undefined : { GIT_INDEX_FILE: indexPath(indexFile) };
    const { stdout } = await this.exec(['ls-files', '-v', '-s', '-z'], { cwd, env, readOnly: true, mayPrintNothing: true });
    const hidden: HiddenIndexEntry[] = [];
    for (const record of stdout.split('\0')) {
      // "<tag> <mode> <oid> <stage>\t<path>": the tag is lower case for assume-unchanged, S/s for skip-worktree.
      const match = /^(\S) \d+ ([0-9a-f]+) (\d)\t(.+)$/s.exec(record);
      if (!match) continue;
      const [, tag, oid, , path] = match;
      const skipWorktree = tag === 'S' || tag === 's';
      const assumeUnchanged = tag !== tag.toUpperCase();
      if (skipWorktree || assumeUnchanged) hidden.push({ path, oid, skipWorktree, assumeUnchanged });
    }
    return hidden;
  }

  /**
   * The object ids of these files as they are on disk: as git would store them (their attributes'
   * conversions and filters applied), or with `asIs` their bytes unchanged. `store` writes the objects.
   */
  async hashFiles(cwd: string, paths: readonly string[], options: { asIs?: boolean; store?: boolean } = {}): Promise<string[]> {
    if (paths.length === 0) return [];
    for (const path of paths) {
      if (typeof path !== 'string' || path === '' || /[\0\n]/.test(path)) throw new TaskWorktreesError('InvalidInput', `Not a file path: ${JSON.stringify(path)}.`);
    }
    const args = ['hash-object', ...(options.asIs ? ['--no-filters'] : []), ...(options.store ? ['-w'] : []), '--stdin-paths'];
    const { stdout } = await this.exec(args, { cwd, readOnly: !options.store, input: paths.map((path) => `${path}\n`).join('') });
    return stdout.split('\n').filter(Boolean);
  }

  /** Sets these entries (mode, blob, path) in `indexFile` (a private copy, never a worktree's own index). */
  async setIndexEntries(cwd: string, indexFile: string, entries: ReadonlyArray<{ mode: string; oid: string; path: string }>): Promise<void> {
    if (entries.length === 0) return;
    nulList(entries.map((entry) => entry.path));
    const input = entries.map((entry) => `${/^[0-7]{6}$/.test(entry.mode) ? entry.mode : '100644'} ${objectId(entry.oid)}\t${entry.path}\0`).join('');
    await this.exec(['update-index', '-z', '--index-info'], { cwd, env: { GIT_INDEX_FILE: indexPath(indexFile) }, input });
  }

  /** The size in bytes of a file at a commit; undefined when the commit has no such file. */
  async blobSize(commit: string, path: string): Promise<number | undefined> {
    if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new TaskWorktreesError('InvalidInput', `Not a file path: ${JSON.stringify(path)}.`);
    const { stdout, exitCode } = await this.exec(['cat-file', '-s', `${objectId(commit)}:${path}`], { readOnly: true, okExitCodes: [128] });
    return exitCode === 0 ? Number(stdout.trim()) : undefined;
  }

  /** The paths among these that have one of `attributes` set (to anything but unset or unspecified). */
  async pathsWithAttributes(cwd: string, paths: readonly string[], attributes: readonly string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    for (const attribute of attributes) {
      if (!/^[a-z][a-z-]*$/.test(attribute)) throw new TaskWorktreesError('InvalidInput', `Not an attribute name: ${JSON.stringify(attribute)}.`);
    }
    const { stdout } = await this.exec(['check-attr', '-z', '--stdin', ...attributes], { cwd, readOnly: true, mayPrintNothing: true, input: nulList(paths) });
    const fields = stdout.split('\0');
    const found = new Set<string>();
    for (let index = 0; index + 2 < fields.length; index += 3) {
      if (fields[index + 2] !== 'unspecified' && fields[index + 2] !== 'unset') found.add(fields[index]);
    }
    return paths.filter((path) => found.has(path));
  }

  /** Clears the assume-unchanged and skip-worktree marks of these paths in `indexFile` (a private copy, never a worktree's own index). */
  async clearHiddenMarks(cwd: string, indexFile: string, paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return;
    const env = { GIT_INDEX_FILE: indexPath(indexFile) };
    // update-index applies one kind of mark per run.
    for (const option of ['--no-assume-unchanged', '--no-skip-worktree']) {
      await this.exec(['update-index', option, '-z', '--stdin'], { cwd, env, input: nulList(paths) });
    }
  }

  /** The value of the trailer `key` in the message of each commit on a ref under `prefix` (refs without it are left out). */
  async refTrailers(prefix: string, key: string): Promise<Map<string, string>> {
    if (!/^refs\/[\w./-]+\/$/.test(prefix)) throw new TaskWorktreesError('InvalidInput', `Not a ref prefix: ${JSON.stringify(prefix)}.`);
    if (!/^[A-Za-z][\w-]*$/.test(key)) throw new TaskWorktreesError('InvalidInput', `Not a trailer key: ${JSON.stringify(key)}.`);
    const { stdout } = await this.exec(['for-each-ref', `--format=%(refname)%00%(trailers:key=${key},valueonly,separator=%x20)`, prefix], {
      readOnly: true,
      mayPrintNothing: true,
    });
    const values = new Map<string, string>();
    for (const line of stdout.split('\n')) {
      const [ref, value] = line.split('\0');
      if (ref && value) values.set(ref, value.trim());
    }
    return values;
  }
}

/** An index entry whose file git does not look at (see hiddenIndexEntries). */
export interface HiddenIndexEntry {
  path: string;
  /** The blob the index holds for it. */
  oid: string;
  skipWorktree: boolean;
  assumeUnchanged: boolean;
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

/** One changed path between two trees, as `diff-tree --raw` tells it (modes in octal, absent side: mode 000000). */
export interface TreeChange {
  path: string;
  oldMode: string;
  newMode: string;
  oldOid: string;
  newOid: string;
  status: string;
}

/** One path of a `--name-status` diff; `originalPath` for renames and copies. */
export interface NameStatus {
  status: string;
  path: string;
  originalPath?: string;
}

export interface RefSummary {
  ref: string;
  commit: string;
  parents: string[];
  tree: string;
  date: string;
  subject: string;
}

/** `diff-tree -z --raw`: ":oldmode newmode oldoid newoid status" NUL path NUL, per path. */
export function parseRawDiff(output: string): TreeChange[] {
  const fields = output.split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (!fields[i].startsWith(':')) break;
    const [oldMode, newMode, oldOid, newOid, status] = fields[i].slice(1).split(' ');
    changes.push({ path: fields[i + 1], oldMode, newMode, oldOid, newOid, status });
  }
  return changes;
}

/** `--name-status -z`: status NUL path NUL, with a second path after renames (R…) and copies (C…). */
export function parseNameStatus(output: string): NameStatus[] {
  const fields = output.split('\0');
  const files: NameStatus[] = [];
  for (let i = 0; i < fields.length; ) {
    const status = fields[i];
    if (!status) break;
    if (status[0] === 'R' || status[0] === 'C') {
      files.push({ status: status[0], originalPath: fields[i + 1], path: fields[i + 2] });
      i += 3;
    } else {
      files.push({ status: status[0], path: fields[i + 1] });
      i += 2;
    }
  }
  return files;
}

// The only variables a caller may set for one process: which index file, whose name on a commit,
// pathspecs taken literally. Nothing that names a program, a config file or another repository.
const GIT_VARIABLES = new Set(['GIT_INDEX_FILE', 'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL', 'GIT_LITERAL_PATHSPECS']);

function checkGitVariables(env: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(env)) {
    if (!GIT_VARIABLES.has(key) || typeof value !== 'string' || value.includes('\0')) {
      throw new TaskWorktreesError('InvalidInput', `${key} is not a variable the adapter sets for git.`);
    }
  }
}

function indexPath(file: string): string {
  if (typeof file !== 'string' || !isAbsolute(file)) throw new TaskWorktreesError('InvalidInput', `An index file is an absolute path, not ${JSON.stringify(file)}.`);
  return file;
}

function nulList(paths: readonly string[]): string {
  for (const path of paths) {
    if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new TaskWorktreesError('InvalidInput', `Not a file path: ${JSON.stringify(path)}.`);
  }
  return paths.map((path) => `${path}\0`).join('');
}

function quoteForLog(arg: string): string {
  return /^[\w@%+=:,./^{}-]+$/.test(arg) ? arg : JSON.stringify(arg);
}

/** One line of `update-ref --stdin -z`: create, update or delete, each guarded by the value the caller saw. */
function refCommand({ ref, oldOid, newOid }: RefUpdate): string {
  if (typeof ref !== 'string' || !/^refs\/[^\0-\x20\x7f]+$/.test(ref)) {
    throw new TaskWorktreesError('InvalidInput', `Not a full ref name: ${JSON.stringify(ref)}.`);
  }
  if (newOid === null) {
    if (oldOid === null) throw new TaskWorktreesError('InvalidInput', `Deleting ${ref} needs the commit it must point at.`);
    return `delete ${ref}\0${objectId(oldOid)}\0`;
  }
  if (oldOid === null) return `create ${ref}\0${objectId(newOid)}\0`;
  return `update ${ref}\0${objectId(newOid)}\0${objectId(oldOid)}\0`;
}
