// A fresh git repository for a host or UI run: a few files and commits, nothing else.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'Task Worktrees Test',
  GIT_AUTHOR_EMAIL: 'test@task-worktrees.invalid',
  GIT_COMMITTER_NAME: 'Task Worktrees Test',
  GIT_COMMITTER_EMAIL: 'test@task-worktrees.invalid',
};

export function makeWorkspaceRepo(name = 'demo-repo', parent = mkdtempSync(join(tmpdir(), 'tw-workspace-'))) {
  const dir = join(parent, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  const git = (...args) => execFileSync('git', args, { cwd: dir, stdio: 'ignore', env: { ...process.env, ...GIT_IDENTITY } });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', GIT_IDENTITY.GIT_AUTHOR_NAME);
  git('config', 'user.email', GIT_IDENTITY.GIT_AUTHOR_EMAIL);
  writeFileSync(join(dir, 'README.md'), '# Demo repository\n');
  writeFileSync(join(dir, 'src', 'login.js'), 'export function login() {\n  return true;\n}\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'initial commit');
  return dir;
}

/** Removes a repository made by makeWorkspaceRepo, with its sibling worktrees (same temp dir). */
export function removeWorkspaceRepo(dir) {
  rmSync(dirname(dir), { recursive: true, force: true });
}

/** A multi-root workspace: two repositories side by side and the .code-workspace file that opens both. */
export function makeMultiRootWorkspace() {
  const parent = mkdtempSync(join(tmpdir(), 'tw-workspace-'));
  for (const name of ['repo-a', 'repo-b']) makeWorkspaceRepo(name, parent);
  const file = join(parent, 'multi.code-workspace');
  writeFileSync(file, JSON.stringify({ folders: [{ path: 'repo-a' }, { path: 'repo-b' }] }, null, 2));
  return file;
}
