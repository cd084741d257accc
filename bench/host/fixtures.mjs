// Repositories for the host benchmarks, made fast but real: every worktree is made by
// `git worktree add` on its own branch, every task file is the one the core itself wrote for the
// first task, copied with its id, subject, branch and path changed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GIT_IDENTITY, makeWorkspaceRepo } from '../../test/runner/workspace.mjs';

function git(cwd, ...args) {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_IDENTITY } });
}

/** Names that sort in creation order, so the board's order matches the numbering. */
const numbered = (prefix, i, n) => `${prefix}-${String(i).padStart(String(n).length, '0')}`;

/**
 * A repository with `n` pending tasks, each with its worktree at `.worktrees/<id>` (the default
 * layout). The first is created by the CLI (`dist/cli.js`, the core), which also records the
 * layout and excludes `.worktrees/`; the others copy its task file.
 */
export function repoWithTasks(root, n) {
  const repo = makeWorkspaceRepo(`tasks-${n}`);
  const first = JSON.parse(
    execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), 'create', numbered('Bench task', 1, n), '--worktree', '--json', '--repo', repo], {
      encoding: 'utf8',
      env: { ...process.env, ...GIT_IDENTITY },
    }),
  );
  const tasksDir = join(git(repo, 'rev-parse', '--path-format=absolute', '--git-common-dir').trim(), 'task-worktrees', 'tasks');
  const template = readFileSync(join(tasksDir, `${first.id}.json`), 'utf8');
  const worktreeRoot = dirname(first.worktreePath);
  const branchPrefix = first.branch.slice(0, -first.id.length);
  for (let i = 2; i <= n; i++) {
    const subject = numbered('Bench task', i, n);
    const id = subject.toLowerCase().replace(/ /g, '-');
    const task = { ...JSON.parse(template), id, subject, branch: `${branchPrefix}${id}`, worktreePath: join(worktreeRoot, id) };
    git(repo, 'worktree', 'add', '-q', '-b', task.branch, task.worktreePath, first.baseBranch);
    writeFileSync(join(tasksDir, `${id}.json`), `${JSON.stringify(task, null, 2)}\n`);
  }
  return repo;
}

/** A repository with `n` worktrees made by git alone (no task), in a sibling folder `<repo>.worktrees/`. */
export function repoWithPlainWorktrees(n) {
  const repo = makeWorkspaceRepo(`worktrees-${n}`);
  const siblings = join(dirname(repo), `${basename(repo)}.worktrees`);
  mkdirSync(siblings, { recursive: true });
  for (let i = 1; i <= n; i++) {
    const name = numbered('wt', i, n);
    git(repo, 'worktree', 'add', '-q', '-b', `feature/${name}`, join(siblings, name), 'main');
  }
  return repo;
}

/** How many worktrees git lists besides the main one: the fixture check. */
export function linkedWorktreeCount(repo) {
  return git(repo, 'worktree', 'list', '--porcelain').split('\n').filter((line) => line.startsWith('worktree ')).length - 1;
}
