// `npm start`: build, make a demo repository with a few tasks and worktrees, and open it in VS Code
// with the extension loaded from this folder: desktop `code` when it is on PATH, otherwise
// code-server on 127.0.0.1 (the same offline VS Code the tests use) with the URL printed.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCodeServer } from './codeServer.mjs';
import { makeWorkspaceRepo } from './workspace.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: 'inherit' });

const { TaskService } = createRequire(import.meta.url)(join(root, 'out', 'src', 'core', 'index.js'));
const repo = makeWorkspaceRepo('demo-repo');
const service = await TaskService.open(repo);
const login = await service.createWorktree((await service.createTask({ subject: 'Fix login redirect', description: 'Users land on / after login instead of the page they asked for.' })).id);
await service.setStatus(login.id, 'in_progress', 'claude-code');
await service.createWorktree((await service.createTask({ subject: 'Add search box' })).id);
const docs = await service.createWorktree((await service.createTask({ subject: 'Document the API' })).id);
await service.completeTask(docs.id);
await service.createTask({ subject: 'Write release notes' });
console.log(`Demo repository with 4 tasks: ${repo}`);

const hasCode = spawnSync('code', ['--version'], { stdio: 'ignore' }).status === 0;
if (hasCode && !process.env.TASK_WORKTREES_USE_CODE_SERVER) {
  execFileSync('code', ['--new-window', `--extensionDevelopmentPath=${root}`, repo], { stdio: 'inherit' });
} else {
  const server = await startCodeServer({ log: (line) => console.log(line) });
  console.log(`\nOpen this URL in a browser (Ctrl+C stops the server):\n\n  ${server.urlFor(repo, root)}\n`);
  const stop = () => {
    server.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await new Promise(() => undefined);
}
