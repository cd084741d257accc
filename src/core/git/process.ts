import { GitError as SimpleGitError, GitPluginError, simpleGit, SimpleGit, SimpleGitOptions } from 'simple-git';
import { processThread } from './processThread';

/** How a command is run; GitAdapter.exec() chooses from what the command is. */
export interface RunOptions {
  /** The command changes nothing and runs no hook: it gets the read time limit. */
  readOnly?: boolean;
  /** The command can succeed without printing anything. */
  mayPrintNothing?: boolean;
  /**
   * Written to git's standard input; a promise: once it resolves (the process waits for it
   * meanwhile). A rejection stops the process before it has read anything: an `update-ref --stdin`
   * given no input at all would still run an (empty) transaction, and its hooks.
   */
  input?: string | Promise<string>;
  /** Variables added to the environment of this one process (see GitAdapter's GitVariables). */
  env?: Readonly<Record<string, string>>;
  /**
   * Start the process in the caller's turn, not through simple-git's task queue: for the reads a
   * merge waits on (in a merge, simple-git started them 3–8 ms after the call; directly, at once).
   */
  immediate?: boolean;
}

export interface Finished {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Stopped unread, its input withdrawn: the caller no longer needed it. */
  withdrawn?: boolean;
}

/** A read-only command was stopped by the read time limit. */
export class ReadTimedOut extends Error {}

/**
 * Raised by simple-git's error hook so the adapter sees the exit code even when stderr is empty.
 * It extends simple-git's own error type, which simple-git passes through instead of re-wrapping.
 */
class ExitFailure extends SimpleGitError {
  constructor(readonly finished: Finished) {
    super(undefined, finished.stderr);
  }
}

// Git sets these for the programs it starts (hooks); inherited by VS Code started from a hook, they
// would point our commands at another repository, index or object store, or change what they record.
const REDIRECTING_VARIABLES = new Set([
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
]);

/**
 * What git sees: the user's own environment (their config files, identities, ssh command, …), minus
 * the variables that would redirect it to another repository, plus a stable locale (errors are
 * classified from git's English messages), no terminal prompt and no editor or pager.
 */
export function gitEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(env).filter(([key]) => !REDIRECTING_VARIABLES.has(key.toUpperCase()))),
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_EDITOR: ':',
    GIT_PAGER: 'cat',
    // Status reads must not take index.lock: agents may be committing in the same worktree.
    GIT_OPTIONAL_LOCKS: '0',
  };
}

// simple-git's guard refuses an environment that names config files, an ssh command, config given
// through variables and the like unless these are on: it cannot tell the user's own environment from
// an attacker's. Its client runs only read-only commands, whose arguments the adapter builds from
// fixed options, object ids and refs/heads/<branch>: no subject or message, nothing from a user or
// a repository in the place of an option, never a global option of git (exec() refuses one). So no
// argument can reach what these flags allow; they let the user's environment through, nothing more.
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
 * Starts git processes, all with one environment. Read-only commands that print run through
 * simple-git, under the read time limit. The others run through child_process: commands that change
 * the repository run hooks, which must see no variable of simple-git's and no time limit; and
 * simple-git waits a fixed 50 ms after any process that printed nothing (update-ref, worktree
 * remove, merge-base --is-ancestor, …), whatever its `completion` option says.
 */
export class GitProcesses {
  /** One simple-git client per directory: simple-git forbids `-C`, so each worktree gets its own. */
  private readonly clients = new Map<string, SimpleGit>();

  constructor(
    readonly binary: string,
    private readonly environment: NodeJS.ProcessEnv,
    readonly readTimeoutMs: number,
  ) {}

  /** Resolves with any exit code; rejects when git could not run or the read time limit stopped it (ReadTimedOut). */
  run(args: string[], cwd: string, options: RunOptions): Promise<Finished> {
    const readOnly = options.readOnly === true;
    // simple-git's clients keep one environment per directory: a process with its own variables runs directly.
    if (readOnly && !options.immediate && !options.mayPrintNothing && options.input === undefined && !options.env) return this.runWithSimpleGit(args, cwd);
    return this.runDirectly(args, cwd, readOnly ? this.readTimeoutMs : undefined, options.input, options.env);
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

  private async runWithSimpleGit(args: string[], cwd: string): Promise<Finished> {
    try {
      return { stdout: await this.client(cwd).raw(args), stderr: '', exitCode: 0 };
    } catch (error) {
      if (error instanceof ExitFailure) return error.finished;
      if (error instanceof GitPluginError && error.plugin === 'timeout') throw new ReadTimedOut();
      throw error;
    }
  }

  /** `silenceLimitMs`: stop the process after that long without output. */
  private async runDirectly(args: string[], cwd: string, silenceLimitMs: number | undefined, input: RunOptions['input'], extra?: Readonly<Record<string, string>>): Promise<Finished> {
    const { timedOut, ...finished } = await processThread().run({ binary: this.binary, args, cwd, env: this.environment, extraEnv: extra, silenceLimitMs }, input);
    if (timedOut) throw new ReadTimedOut();
    return finished;
  }
}

/** A counting semaphore: at most `limit` git processes at once, whatever directory they run in. */
export class ProcessSlots {
  private available: number;
  private readonly waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.available = Math.max(1, limit);
  }

  get free(): number {
    return this.available;
  }

  /** A free slot at once (so a process can start in the caller's own turn), else undefined. */
  tryAcquire(): (() => void) | undefined {
    if (this.available === 0) return undefined;
    this.available--;
    return this.releaser();
  }

  async acquire(): Promise<() => void> {
    const free = this.tryAcquire();
    if (free) return free;
    // A releasing holder hands its slot straight to the first waiter, so no acquire can slip in between.
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.releaser();
  }

  private releaser(): () => void {
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.waiting.shift();
      if (next) next();
      else this.available++;
    };
  }
}
