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

export function makeWorkspaceRepo(name = 'demo-repo') {
  const dir = join(mkdtempSync(join(tmpdir(), 'tw-workspace-')), name);
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
