import { ErrorCode, TaskWorktreesError } from '../errors';

/** A git process that failed; `code` is classified once, from its output, by classifyGitOutput. */
export class GitError extends TaskWorktreesError {
  constructor(
    code: ErrorCode,
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number,
    readonly stdout = '',
    message = describe(code, stdout, stderr),
  ) {
    super(code, message);
    this.name = 'GitError';
  }
}

// "cannot lock ref 'refs/heads/task/bar': 'refs/heads/task/bar/baz' exists; cannot create 'refs/heads/task/bar'":
// git stores refs as paths, so a branch cannot also be a folder of other branches (nor the reverse).
const REF_PREFIX_CONFLICT = /cannot lock ref '([^']+)': '([^']+)' exists; cannot create/;

// Order matters: the first matching pattern wins. Git's messages are matched under LC_ALL=C.
const OUTPUT_CODES: ReadonlyArray<[RegExp, ErrorCode]> = [
  [/detected dubious ownership|unsafe repository/i, 'UnsafeRepository'],
  [/not a git repository/i, 'NotARepository'],
  [/a branch named '.*' already exists|already exists.*branch|cannot lock ref '[^']*': reference already exists/i, 'BranchExists'],
  [REF_PREFIX_CONFLICT, 'BranchExists'],
  [/is already (checked out|used by worktree) at/i, 'BranchCheckedOut'],
  [/'.*' already exists$/m, 'WorktreePathExists'],
  [/contains modified or untracked files|is dirty/i, 'WorktreeDirty'],
  [/cannot (remove|move) a locked working tree|is locked/i, 'WorktreeLocked'],
  [/containing submodules cannot be (moved or )?removed/i, 'WorktreeHasSubmodules'],
  [/invalid reference|not a valid (object name|branch name|ref)|unknown revision|bad revision/i, 'BranchNotFound'],
  [/does not have any commits yet|ambiguous argument 'HEAD'/i, 'NoCommits'],
  [/cannot lock ref|is at [0-9a-f]+ but expected/i, 'RefChanged'],
  // `git merge` reports conflicts on stdout, one "CONFLICT (kind): …" line each.
  [/^CONFLICT \(|^Automatic merge failed/m, 'MergeConflict'],
  [/unknown option|usage: git merge-tree/i, 'GitTooOld'],
  [/refusing to merge unrelated histories/i, 'UnrelatedHistories'],
];

/** The code for a failed git process. Git writes some failures to stdout (merge conflicts), so both are read. */
export function classifyGitOutput(stdout: string, stderr: string): ErrorCode {
  const output = `${stderr}\n${stdout}`;
  for (const [pattern, code] of OUTPUT_CODES) {
    if (pattern.test(output)) return code;
  }
  return 'GitFailed';
}

function describe(code: ErrorCode, stdout: string, stderr: string): string {
  const said = stderr.trim() || stdout.trim();
  const gitSaid = said.split('\n').slice(-3).join(' ').trim();
  switch (code) {
    case 'UnsafeRepository':
      return `Git refuses this repository because it is owned by another user ("dubious ownership"). If you trust it, run: git config --global --add safe.directory <path>. (${gitSaid})`;
    case 'NotARepository':
      return `Not a git repository. (${gitSaid})`;
    case 'BranchExists': {
      const prefix = REF_PREFIX_CONFLICT.exec(stderr);
      if (!prefix) return gitSaid;
      const [wanted, existing] = [prefix[1], prefix[2]].map(shortRef);
      return `Branch "${wanted}" cannot be created because branch "${existing}" exists: git cannot have both a branch and a folder of branches with the same name. (${gitSaid})`;
    }
    case 'MergeConflict': {
      const conflicts = `${stdout}\n${stderr}`.split('\n').filter((line) => line.startsWith('CONFLICT ('));
      return conflicts.length ? `The merge has conflicts: ${conflicts.join(' ')}` : gitSaid;
    }
    default:
      return gitSaid || `git failed (${code})`;
  }
}

function shortRef(ref: string): string {
  return ref.replace(/^refs\/heads\//, '');
}
