import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { existsSync, realpathSync } from 'node:fs';
import { TaskWorktreesError } from './errors';
import { GitAdapter } from './git/adapter';
import { WorktreeEntry } from './git/porcelain';
import { RefFileCache } from './git/refFiles';
import { readWorktreesUsing } from './git/worktreeFiles';
import { validateBranchName } from './tasks/ids';
import { MergeStrategy, PortSettings, RepositoryConfig } from './tasks/model';
import { DEFAULT_PORTS } from './tasks/ports';
import { TaskStore } from './tasks/store';

export interface LifecycleSettings {
  /** Where task worktrees go: relative to the main worktree, absolute, or under `~`. `${repoName}` is replaced. */
  worktreeRoot: string;
  branchPrefix: string;
  /** Empty: the branch checked out where the task is created. */
  defaultBaseBranch: string;
  mergeStrategy: MergeStrategy;
  /** Seeds the repository's port blocks, like the layout: the recorded ones win. */
  ports: PortSettings;
  /** gitignore patterns of ignored files to copy into new worktrees, besides the committed `.worktreeinclude`. */
  includePatterns: string[];
  /** Snapshots kept per task; the oldest go first. */
  maxSnapshots: number;
}

export const DEFAULT_SETTINGS: LifecycleSettings = {
  worktreeRoot: '.worktrees',
  branchPrefix: 'task/',
  defaultBaseBranch: '',
  mergeStrategy: 'merge',
  ports: DEFAULT_PORTS,
  includePatterns: [],
  maxSnapshots: 20,
};

/**
 * Operations hold the repository lock around their git steps, and a merge's hooks (tests in a
 * pre-commit hook) can take minutes: another window or agent waits this long before StoreLocked.
 */
const OPERATION_LOCK_WAIT_MS = 180_000;

/** Where the repository's task worktrees and branches go: the same for every window and process. */
export interface Layout {
  /** Absolute, canonical. */
  root: string;
  branchPrefix: string;
}

/**
 * One repository: its main worktree, its common git dir, and its layout. The layout is the
 * repository's, not a window's: the first task records it in the store (seeded from settings) and
 * from then on every window, agent and CLI reads it from there.
 */
export class Repository {
  /** The worktrees' HEAD files and their branches' files, as worktreesUsing() last read them (where the file system allows). */
  private readonly refFiles: RefFileCache | undefined;

  constructor(
    readonly git: GitAdapter,
    readonly store: TaskStore,
    readonly mainWorktree: string,
    readonly commonDir: string,
    public settings: LifecycleSettings,
  ) {
    this.refFiles = RefFileCache.forFilesUnder(commonDir);
  }

  /**
   * The main worktree comes from git (`--show-toplevel`, the worktree list), never from the git
   * dir's parent: a separate git dir, a submodule or a bare repository put it elsewhere.
   */
  static async open(git: GitAdapter, settings: LifecycleSettings): Promise<Repository> {
    const location = await git.locate();
    // A bare repository has no main worktree: the folder that holds it stands for it, the same for
    // every window (each opened in its own linked worktree) — so task worktrees never nest in one.
    const mainWorktree = location.mainWorktree ?? (location.bare ? dirname(location.commonDir) : location.topLevel);
    if (!mainWorktree) {
      throw new TaskWorktreesError('NotARepository', 'Open a worktree of the repository (a bare repository has no files to work on).');
    }
    const store = new TaskStore(TaskStore.dirFor(location.commonDir), { timeoutMs: OPERATION_LOCK_WAIT_MS });
    return new Repository(git, store, canonicalPath(mainWorktree), canonicalPath(location.commonDir), settings);
  }

  /**
   * `git worktree list`, with the main worktree's real path: git names it after the common dir
   * (wrong for a separate git dir or a submodule), the repository knows it from `--show-toplevel`.
   */
  async worktrees(): Promise<WorktreeEntry[]> {
    const entries = await this.git.listWorktrees();
    if (entries[0] && !entries[0].bare) entries[0] = { ...entries[0], path: this.mainWorktree };
    return entries;
  }

  /**
   * What a merge looks at in worktrees(): the entries that use `branch` (checked out, rebased or
   * bisected) and the one at `path` — read from git's files when it can (see readWorktreesUsing),
   * which costs one file read per worktree instead of a git process that reads five.
   */
  async worktreesUsing(branch: string, path?: string): Promise<WorktreeEntry[]> {
    return (await readWorktreesUsing(this.commonDir, this.mainWorktree, branch, path, this.refFiles)) ?? this.worktrees();
  }

  /**
   * The recorded layout, or the one a first create would record: seeded from `worktreeRoot` (a
   * person's answer for this create) or else the settings.
   */
  layout(worktreeRoot?: string): Layout {
    return this.resolveLayout(this.recordedConfig() ?? this.seedConfig(worktreeRoot));
  }

  /**
   * Records the layout on first use, so the next window or process uses the same one. `worktreeRoot`
   * seeds it in place of the settings' for this call alone; once a layout is recorded it wins.
   */
  async ensureLayout(worktreeRoot?: string): Promise<Layout> {
    const recorded = this.recordedConfig();
    if (recorded) return this.resolveLayout(recorded);
    const config = this.seedConfig(worktreeRoot);
    const layout = this.resolveLayout(config);
    await this.store.writeConfig(config);
    return layout;
  }

  /** Refuses (InvalidInput) a worktree root that is the repository, contains it, or lies in its git directory. */
  checkWorktreeRoot(worktreeRoot: string): void {
    this.resolveRoot(worktreeRoot);
  }

  private seedConfig(worktreeRoot = this.settings.worktreeRoot): RepositoryConfig {
    return { worktreeRoot: worktreeRoot || DEFAULT_SETTINGS.worktreeRoot, branchPrefix: this.settings.branchPrefix, ports: this.settings.ports };
  }

  /** A damaged record is kept and shown, never replaced by (or mistaken for) this window's settings. */
  private recordedConfig(): RepositoryConfig | undefined {
    const recorded = this.store.readConfig();
    if (!recorded && existsSync(this.store.configFile)) {
      throw new TaskWorktreesError('StoreCorrupt', `${this.store.configFile} cannot be read, so where this repository's worktrees go is unknown; fix or delete it.`);
    }
    return recorded;
  }

  /** The recorded port blocks, or the ones the settings would record. */
  portSettings(): PortSettings {
    return this.recordedConfig()?.ports ?? this.settings.ports;
  }

  branchFor(id: string, layout: Layout): string {
    return validateBranchName(`${layout.branchPrefix}${id}`, 'branch name (check the branch prefix)');
  }

  worktreePathFor(id: string, layout: Layout = this.layout()): string {
    return join(layout.root, id);
  }

  isInsideRoot(path: string, layout: Layout): boolean {
    const canonical = canonicalPath(path);
    return canonical !== layout.root && isInside(canonical, layout.root);
  }

  /** A root inside the main worktree goes into info/exclude (escaped), so the main worktree stays clean. */
  async excludeWorktreeRoot(layout: Layout): Promise<void> {
    const rel = relative(this.mainWorktree, layout.root);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return;
    const pattern = `/${rel.split(sep).map(escapeGitignore).join('/')}/`;
    const excludeFile = join(this.commonDir, 'info', 'exclude');
    const current = await fs.readFile(excludeFile, 'utf8').catch(() => '');
    if (current.split('\n').includes(pattern)) return;
    await fs.mkdir(join(this.commonDir, 'info'), { recursive: true });
    await fs.appendFile(excludeFile, `${current && !current.endsWith('\n') ? '\n' : ''}${pattern}\n`);
  }

  private resolveLayout(config: RepositoryConfig): Layout {
    const branchPrefix = config.branchPrefix;
    if (branchPrefix) validateBranchName(`${branchPrefix}x`, 'branch prefix');
    return { root: this.resolveRoot(config.worktreeRoot), branchPrefix };
  }

  private resolveRoot(worktreeRoot: string): string {
    const expanded = (worktreeRoot || DEFAULT_SETTINGS.worktreeRoot)
      .replace(/\$\{repoName\}/g, basename(this.mainWorktree))
      .replace(/^~(?=$|[\\/])/, homedir());
    const root = canonicalPath(resolve(this.mainWorktree, expanded));
    if (root === this.mainWorktree || isInside(this.mainWorktree, root)) {
      throw new TaskWorktreesError('InvalidInput', `The worktree root "${worktreeRoot}" is the repository itself or contains it; choose a folder such as ".worktrees" or "../${basename(this.mainWorktree)}.worktrees".`);
    }
    if (isInside(root, this.commonDir)) {
      throw new TaskWorktreesError('InvalidInput', `The worktree root "${worktreeRoot}" is inside the git directory; choose another folder.`);
    }
    return root;
  }
}

/** gitignore treats these as patterns; a folder name holding them must match only itself. */
function escapeGitignore(component: string): string {
  return component.replace(/[\\*?[\]!#]/g, '\\$&').replace(/ $/, '\\ ');
}

const canonicalPaths = new Map<string, string>();

/**
 * Git reports real paths; the store and the UI may hold symlinked ones (/tmp on macOS). Cached:
 * the board compares every worktree path on each refresh, and realpath is a syscall per path.
 * A path that does not exist (yet) is resolved through its nearest existing parent.
 */
export function canonicalPath(path: string): string {
  let canonical = canonicalPaths.get(path);
  if (canonical === undefined) {
    try {
      canonical = realpathSync.native(path);
    } catch {
      const parent = resolve(path, '..');
      return parent === resolve(path) ? resolve(path) : join(canonicalPath(parent), basename(path));
    }
    if (canonicalPaths.size > 10_000) canonicalPaths.clear();
    canonicalPaths.set(path, canonical);
  }
  return canonical;
}

export function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}
