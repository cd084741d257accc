import { constants, promises as fs } from 'node:fs';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { TaskWorktreesError } from '../errors';
import { GitAdapter } from '../git/adapter';
import { canonicalPath, isInside } from '../repo';

/**
 * Copies the ignored files a new worktree needs (`.env`, local config, caches) from the main
 * worktree: those that match the include patterns AND that git ignores. The patterns come from a
 * committed `.worktreeinclude` (gitignore syntax) and from the caller (the window's settings).
 * Tracked files never: git lists only untracked ones, and nothing existing is ever overwritten.
 */

export const INCLUDE_FILE = '.worktreeinclude';
const DEFAULT_CONCURRENCY = 8;

export interface IncludeOptions {
  /** Files copied at once. */
  concurrency?: number;
  /** false: a plain copy even where the file system could clone (the fallback path, for tests). */
  clone?: boolean;
}

export interface IncludeResult {
  /** Files and symlinks copied into the new worktree. */
  copied: number;
  /** Paths that exist in the new worktree already (checked out from the branch): kept as they are. */
  skipped: string[];
  /** Paths that could not be copied, with why; the worktree is still made. */
  failed: Array<{ path: string; error: string }>;
}

interface CompiledPattern {
  negated: boolean;
  directoryOnly: boolean;
  regex: RegExp;
}

/** The patterns of a `.worktreeinclude` text, one per line (comments and blank lines are dropped by the matcher). */
export function includeFileLines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Include patterns given by a caller: a list of one-line strings. */
export function validateIncludePatterns(value: unknown): string[] {
  if (!Array.isArray(value) || value.some((pattern) => typeof pattern !== 'string' || /[\0\r\n]/.test(pattern))) {
    throw new TaskWorktreesError('InvalidInput', 'Include patterns are a list of one-line strings (gitignore syntax).');
  }
  return value as string[];
}

/**
 * VS Code's `git.worktreeIncludeFiles` holds glob patterns relative to the repository root; as
 * gitignore patterns they are anchored (a leading `/`), braces are expanded, and a leading `!` or
 * `#` is literal (globs have no negation or comments).
 */
export function globsToIncludePatterns(globs: readonly string[]): string[] {
  return globs.flatMap(expandBraces).map((glob) => {
    const relative = glob.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
    return relative ? `/${relative.replace(/^[!#]/, '\\$&')}` : '';
  }).filter(Boolean);
}

function expandBraces(glob: string): string[] {
  const match = /\{([^{}]*)\}/.exec(glob);
  if (!match) return [glob];
  const [before, after] = [glob.slice(0, match.index), glob.slice(match.index + match[0].length)];
  return match[1].split(',').flatMap((choice) => expandBraces(before + choice + after));
}

/**
 * gitignore matching: the last pattern that matches decides; a pattern with a `/` before its end
 * is anchored at the root; a trailing `/` matches folders only; `**` spans folders. As in git, a
 * file inside an included folder is included whatever later patterns say (use `folder/**` then
 * `!folder/file` to leave one out).
 */
export class IncludeMatcher {
  private readonly patterns: CompiledPattern[];

  constructor(lines: readonly string[]) {
    this.patterns = lines.map(compilePattern).filter((pattern): pattern is CompiledPattern => pattern !== undefined);
  }

  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  /** `path`: a file (or symlink) relative to the root, '/'-separated. */
  includes(path: string): boolean {
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth++) {
      if (this.verdict(parts.slice(0, depth).join('/'), true)) return true;
    }
    return this.verdict(path, false);
  }

  private verdict(path: string, isDirectory: boolean): boolean {
    for (let i = this.patterns.length - 1; i >= 0; i--) {
      const pattern = this.patterns[i];
      if (pattern.directoryOnly && !isDirectory) continue;
      if (pattern.regex.test(path)) return !pattern.negated;
    }
    return false;
  }
}

function compilePattern(line: string): CompiledPattern | undefined {
  let pattern = line.replace(/(?<!\\) +$/, '');
  if (pattern === '' || pattern.startsWith('#')) return undefined;
  const negated = pattern.startsWith('!');
  if (negated) pattern = pattern.slice(1);
  const directoryOnly = pattern.endsWith('/') && !pattern.endsWith('\\/');
  if (directoryOnly) pattern = pattern.slice(0, -1);
  if (pattern === '') return undefined;
  const anchored = pattern.includes('/');
  if (pattern.startsWith('/')) pattern = pattern.slice(1);
  const body = globBody(pattern);
  return { negated, directoryOnly, regex: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`) };
}

/** The regular expression of one gitignore pattern (without its `!`, leading and trailing `/`). */
function globBody(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*' && pattern[i + 1] === '*') {
      const atStart = i === 0 || pattern[i - 1] === '/';
      const end = i + 2;
      if (atStart && pattern[end] === '/') {
        out += '(?:.*/)?'; // `**/`: any number of folders, none included
        i = end;
        continue;
      }
      if (atStart && end === pattern.length) {
        out += '.*'; // `/**` at the end: everything inside
        i = end - 1;
        continue;
      }
      out += '[^/]*'; // elsewhere two stars are one
      i = end - 1;
      continue;
    }
    if (char === '*') out += '[^/]*';
    else if (char === '?') out += '[^/]';
    else if (char === '\\' && i + 1 < pattern.length) out += escapeRegex(pattern[++i]);
    else if (char === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let set = pattern.slice(i + 1, close);
      const negatedSet = set.startsWith('!') || set.startsWith('^');
      if (negatedSet) set = set.slice(1);
      out += `[${negatedSet ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else out += escapeRegex(char);
  }
  return out;
}

function escapeRegex(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Copies what the patterns (the new worktree's `.worktreeinclude` plus `extraPatterns`) select
 * among the files git ignores in `from`, into `to`. Copy-on-write where the file system can;
 * symlinks are copied as symlinks (never followed); nothing lands outside `to`, through `..` or
 * a symlinked folder; nothing existing is replaced. One git call; failures are collected, not thrown.
 * Undefined when there are no patterns at all.
 */
export async function copyIncludedFiles(git: GitAdapter, from: string, to: string, extraPatterns: readonly string[], options: IncludeOptions = {}): Promise<IncludeResult | undefined> {
  const committed = await fs.readFile(join(to, INCLUDE_FILE), 'utf8').then(includeFileLines, () => []);
  const matcher = new IncludeMatcher([...committed, ...extraPatterns]);
  if (matcher.isEmpty) return undefined;
  const result: IncludeResult = { copied: 0, skipped: [], failed: [] };
  const source = canonicalPath(from);
  const target = canonicalPath(to);
  const candidates = (await git.ignoredUntrackedFiles(source)).filter(
    // `dir/`: a nested repository or worktree (the new one among them): never copied into another.
    (path) => !path.endsWith('/') && isSafeRelative(path) && !isInside(join(source, path), target) && matcher.includes(path),
  );
  const flags = constants.COPYFILE_EXCL | (options.clone === false ? 0 : constants.COPYFILE_FICLONE);
  const sourceFolders = new Map<string, Promise<boolean>>();
  const insideSource = (folder: string): Promise<boolean> => {
    let answer = sourceFolders.get(folder);
    if (!answer) {
      answer = fs.realpath(folder).then((real) => isInside(real, source), () => false);
      sourceFolders.set(folder, answer);
    }
    return answer;
  };
  const copyOne = async (path: string): Promise<void> => {
    const sourceFile = join(source, ...path.split('/'));
    if (!(await insideSource(dirname(sourceFile)))) throw new Error('its folder in the main worktree is a symlink to elsewhere');
    const stats = await fs.lstat(sourceFile);
    const destination = await safeDestination(target, path);
    if (stats.isSymbolicLink()) await fs.symlink(await fs.readlink(sourceFile), destination);
    else if (stats.isFile()) await fs.copyFile(sourceFile, destination, flags);
    else throw new Error('not a regular file or a symlink');
    result.copied++;
  };
  await inParallel(candidates, options.concurrency ?? DEFAULT_CONCURRENCY, async (path) => {
    try {
      await copyOne(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') result.skipped.push(path);
      else result.failed.push({ path, error: (error as Error).message });
    }
  });
  result.skipped.sort();
  result.failed.sort((a, b) => a.path.localeCompare(b.path));
  return result;
}

function isSafeRelative(path: string): boolean {
  return !isAbsolute(path) && !path.includes('\0') && !path.includes('\\') && path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/**
 * The destination of `path` in `root`, its folders made as needed: each must be a real folder
 * (not a symlink), so the copy cannot be led outside the worktree.
 */
async function safeDestination(root: string, path: string): Promise<string> {
  const parts = path.split('/');
  let folder = root;
  for (const part of parts.slice(0, -1)) {
    folder = join(folder, part);
    let stats = await fs.lstat(folder).catch(() => undefined);
    if (!stats) {
      await fs.mkdir(folder).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      stats = await fs.lstat(folder);
    }
    if (!stats.isDirectory()) throw new Error(`${folder.slice(root.length + sep.length)} in the new worktree is ${stats.isSymbolicLink() ? 'a symlink' : 'not a folder'}`);
  }
  return join(folder, parts[parts.length - 1]);
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
