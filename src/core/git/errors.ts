import { ErrorCode, TaskWorktreesError } from '../errors';

/** A git process that failed; `code` is classified once, from stderr, by classifyGitStderr. */
export class GitError extends TaskWorktreesError {
  constructor(
    code: ErrorCode,
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number,
    readonly stdout = '',
  ) {
    super(code, describe(code, stderr));
    this.name = 'GitError';
  }
}

// Order matters: the first matching pattern wins. Git's messages are matched under LC_ALL=C.
const STDERR_CODES: ReadonlyArray<[RegExp, ErrorCode]> = [
  [/detected dubious ownership|unsafe repository/i, 'UnsafeRepository'],
  [/not a git repository/i, 'NotARepository'],
  [/a branch named '.*' already exists|already exists.*branch/i, 'BranchExists'],
  [/is already (checked out|used by worktree) at/i, 'BranchCheckedOut'],
  [/'.*' already exists$/m, 'WorktreePathExists'],
  [/contains modified or untracked files|is dirty/i, 'WorktreeDirty'],
  [/cannot (remove|move) a locked working tree|is locked/i, 'WorktreeLocked'],
  [/containing submodules cannot be (moved or )?removed/i, 'WorktreeHasSubmodules'],
  [/invalid reference|not a valid (object name|branch name|ref)|unknown revision|bad revision/i, 'BranchNotFound'],
  [/does not have any commits yet|ambiguous argument 'HEAD'/i, 'NoCommits'],
  [/cannot lock ref|is at [0-9a-f]+ but expected/i, 'RefChanged'],
  [/CONFLICT|Automatic merge failed/, 'MergeConflict'],
  [/unknown option|usage: git merge-tree/i, 'GitTooOld'],
];

export function classifyGitStderr(stderr: string): ErrorCode {
  for (const [pattern, code] of STDERR_CODES) {
    if (pattern.test(stderr)) return code;
  }
  return 'GitFailed';
}

function describe(code: ErrorCode, stderr: string): string {
  const gitSaid = stderr.trim().split('\n').slice(-3).join(' ').trim();
  switch (code) {
    case 'UnsafeRepository':
      return `Git refuses this repository because it is owned by another user ("dubious ownership"). If you trust it, run: git config --global --add safe.directory <path>. (${gitSaid})`;
    case 'NotARepository':
      return `Not a git repository. (${gitSaid})`;
    default:
      return gitSaid || `git failed (${code})`;
  }
}
