import { constants, promises as fs } from 'node:fs';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { TaskWorktreesError } from '../errors';
import { GitAdapter } from '../git/adapter';
import { canonicalPath, isInside } from '../repo';
import { readSmallRegularFile } from './store';

/**
 * Copies the ignored files a new worktree needs (`.env`, local config, caches) from the main
 * worktree: those that match the include patterns AND that git ignores. The patterns come from a
 * committed `.worktreeinclude` (gitignore syntax) and from the caller (the window's settings).
 * Tracked files never: git lists only untracked ones, and nothing existing is ever overwritten.
 */

export const INCLUDE_FILE = '.worktreeinclude';
const DEFAULT_CONCURRENCY = 8;
const MAX_INCLUDE_FILE_BYTES = 64 * 1024;

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

/** One character of a pattern inside a path segment. */
type Glyph =
  | { kind: 'char'; char: string }
  | { kind: 'any' }
  | { kind: 'star' }
  | { kind: 'set'; negated: boolean; chars: string; ranges: Array<[string, string]> };

/** `**` as a whole segment: any number of folders, none included. */
const ANY_FOLDERS = 'any folders';
type SegmentPattern = Glyph[] | typeof ANY_FOLDERS;

interface CompiledPattern {
  negated: boolean;
  directoryOnly: boolean;
  segments: SegmentPattern[];
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
  return globs.flatMap((glob) => expandBraces(glob, MAX_BRACE_EXPANSIONS) ?? []).map((glob) => {
    const relative = glob.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
    return relative ? `/${relative.replace(/^[!#]/, '\\$&')}` : '';
  }).filter(Boolean);
}

/**
 * A setting can come from a repository's committed `.vscode/settings.json`: each `{a,b}` doubles
 * the patterns, so a glob that would expand past this many is left out rather than expanded.
 */
const MAX_BRACE_EXPANSIONS = 256;

/** The glob's brace alternatives spelled out; undefined when there would be more than `limit`. */
function expandBraces(glob: string, limit: number): string[] | undefined {
  const match = /\{([^{}]*)\}/.exec(glob);
  if (!match) return [glob];
  const [before, after] = [glob.slice(0, match.index), glob.slice(match.index + match[0].length)];
  const expanded: string[] = [];
  for (const choice of match[1].split(',')) {
    const more = expandBraces(before + choice + after, limit - expanded.length);
    if (!more || expanded.length + more.length > limit) return undefined;
    expanded.push(...more);
  }
  return expanded;
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
    const segments = path.split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      if (this.verdict(segments.slice(0, depth), true)) return true;
    }
    return this.verdict(segments, false);
  }

  private verdict(segments: readonly string[], isDirectory: boolean): boolean {
    for (let i = this.patterns.length - 1; i >= 0; i--) {
      const pattern = this.patterns[i];
      if (pattern.directoryOnly && !isDirectory) continue;
      if (matchesPath(pattern.segments, segments)) return !pattern.negated;
    }
    return false;
  }
}

function compilePattern(line: string): CompiledPattern | undefined {
  let pattern = withoutTrailingSpaces(line);
  if (pattern === '' || pattern.startsWith('#')) return undefined;
  const negated = pattern.startsWith('!');
  if (negated) pattern = pattern.slice(1);
  const directoryOnly = pattern.endsWith('/') && !pattern.endsWith('\\/');
  if (directoryOnly) pattern = pattern.slice(0, -1);
  if (pattern === '') return undefined;
  const anchored = pattern.includes('/');
  if (pattern.startsWith('/')) pattern = pattern.slice(1);
  const segments = parseSegments(pattern);
  if (!anchored) segments.unshift(ANY_FOLDERS);
  // `/**` at the end: everything inside, so at least one segment, then any number more.
  if (segments[segments.length - 1] === ANY_FOLDERS) segments.splice(-1, 1, [{ kind: 'star' }], ANY_FOLDERS);
  return { negated, directoryOnly, segments };
}

/** Trailing spaces are dropped unless the last one is escaped (a loop: a regex for it is quadratic on long runs of spaces). */
function withoutTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === ' ') end--;
  if (end < line.length && line[end - 1] === '\\') end++;
  return line.slice(0, end);
}

/** The segments of one gitignore pattern (without its `!`, leading and trailing `/`). */
function parseSegments(pattern: string): SegmentPattern[] {
  const segments: SegmentPattern[] = [];
  let glyphs: Glyph[] = [];
  let segmentStart = 0;
  const endSegment = (end: number, next: number): void => {
    const collapsed = glyphs.filter((glyph, i) => glyph.kind !== 'star' || glyphs[i - 1]?.kind !== 'star'); // `**` inside a name is one `*`
    segments.push(pattern.slice(segmentStart, end) === '**' ? ANY_FOLDERS : collapsed);
    glyphs = [];
    segmentStart = next;
  };
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '/') endSegment(i, i + 1);
    else if (char === '\\' && pattern[i + 1] === '/') endSegment(i, ++i + 1);
    else if (char === '*') glyphs.push({ kind: 'star' });
    else if (char === '?') glyphs.push({ kind: 'any' });
    else if (char === '\\' && i + 1 < pattern.length) glyphs.push({ kind: 'char', char: pattern[++i] });
    else if (char === '[' && pattern.indexOf(']', i + 2) !== -1) {
      const close = pattern.indexOf(']', i + 2);
      glyphs.push(parseSet(pattern.slice(i + 1, close)));
      i = close;
    } else glyphs.push({ kind: 'char', char });
  }
  endSegment(pattern.length, pattern.length);
  return segments;
}

/** `[...]` without its brackets: `!` or `^` first negates; `a-z` is a range (a reversed one matches nothing). */
function parseSet(text: string): Glyph {
  const negated = text.startsWith('!') || text.startsWith('^');
  const body = negated ? text.slice(1) : text;
  let chars = '';
  const ranges: Array<[string, string]> = [];
  for (let i = 0; i < body.length; i++) {
    if (body[i + 1] === '-' && i + 2 < body.length) {
      ranges.push([body[i], body[i + 2]]);
      i += 2;
    } else chars += body[i];
  }
  return { kind: 'set', negated, chars, ranges };
}

function matchesGlyph(glyph: Glyph, char: string): boolean {
  switch (glyph.kind) {
    case 'char':
      return glyph.char === char;
    case 'any':
      return true;
    case 'set':
      return glyph.negated !== (glyph.chars.includes(char) || glyph.ranges.some(([low, high]) => low <= char && char <= high));
    case 'star':
      return false;
  }
}

function matchesPath(pattern: readonly SegmentPattern[], segments: readonly string[]): boolean {
  return matchesWithStars(pattern, segments, (unit) => unit === ANY_FOLDERS, (unit, segment) => unit !== ANY_FOLDERS && matchesSegment(unit, segment));
}

function matchesSegment(glyphs: readonly Glyph[], segment: string): boolean {
  return matchesWithStars(glyphs, segment, (glyph) => glyph.kind === 'star', matchesGlyph);
}

/**
 * Wildcard matching without a regex: a unit matches one item, a star any run of items. On a
 * mismatch only the latest star takes one more item (earlier stars never need to: what follows
 * the latest one matched leftmost), so the work is at most items x units, never exponential as a
 * backtracking regex of nested `.*` is. Used for characters in a segment and for segments in a path.
 */
function matchesWithStars<Unit, Item>(units: readonly Unit[], items: ArrayLike<Item>, isStar: (unit: Unit) => boolean, matches: (unit: Unit, item: Item) => boolean): boolean {
  let unit = 0;
  let item = 0;
  let lastStar = -1;
  let itemsTakenByStar = 0;
  while (item < items.length) {
    if (unit < units.length && isStar(units[unit])) {
      lastStar = unit++;
      itemsTakenByStar = item;
    } else if (unit < units.length && matches(units[unit], items[item])) {
      unit++;
      item++;
    } else if (lastStar >= 0) {
      unit = lastStar + 1;
      item = ++itemsTakenByStar;
    } else return false;
  }
  while (unit < units.length && isStar(units[unit])) unit++;
  return unit === units.length;
}

/**
 * Copies what the patterns (the new worktree's `.worktreeinclude` plus `extraPatterns`) select
 * among the files git ignores in `from`, into `to`. Copy-on-write where the file system can;
 * symlinks are copied as symlinks (never followed); nothing lands outside `to`, through `..` or
 * a symlinked folder; nothing existing is replaced. One git call; failures are collected, not thrown.
 * Undefined when there are no patterns at all.
 */
export async function copyIncludedFiles(git: GitAdapter, from: string, to: string, extraPatterns: readonly string[], options: IncludeOptions = {}): Promise<IncludeResult | undefined> {
  const matcher = new IncludeMatcher([...committedPatterns(to), ...extraPatterns]);
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

/**
 * The patterns of the new worktree's `.worktreeinclude`, none if there is none. Whoever can push to
 * the base writes it, so it is read only as a small regular file: a symlink (to a FIFO, a device,
 * anything) or a huge file would block or flood the create under the repository lock; it throws
 * instead, and the create records that nothing was copied.
 */
function committedPatterns(worktree: string): string[] {
  try {
    return includeFileLines(readSmallRegularFile(join(worktree, INCLUDE_FILE), MAX_INCLUDE_FILE_BYTES));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    const reason = (error as NodeJS.ErrnoException).code === 'ELOOP' ? 'it is a symlink' : (error as Error).message;
    throw new Error(`${INCLUDE_FILE} is not read, so nothing was copied: it must be a regular file of at most ${MAX_INCLUDE_FILE_BYTES / 1024} KB (${reason}).`);
  }
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
