// Runs test/host/** inside a real VS Code extension host through @vscode/test-electron's runTests.
// TEST_HOST=offline (default): code-server + headless Chromium via our launcher (no download).
// TEST_HOST=desktop: VS Code downloaded by test-electron (needs network and a display, e.g. xvfb-run).
import { runTests } from '@vscode/test-electron';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeMultiRootWorkspace, makeWorkspaceRepo, removeWorkspaceRepo } from './workspace.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const route = process.env.TEST_HOST || 'offline';
const options = {
  extensionDevelopmentPath: root,
  extensionTestsPath: join(root, 'out', 'test', 'host', 'index.js'),
  launchArgs: ['<workspace>', '--disable-extensions'],
  extensionTestsEnv: { TASK_WORKTREES_ROOT: root },
};
if (route === 'offline') {
  options.vscodeExecutablePath = join(root, 'test', 'runner', 'codeServerHost.mjs');
} else if (route === 'desktop') {
  options.version = process.env.TEST_VSCODE_VERSION || 'stable';
} else {
  console.error(`TEST_HOST must be "offline" or "desktop", not "${route}"`);
  process.exit(2);
}

// The offline route adds a pass opened without workspace trust (test-electron always disables
// trust for the desktop route). The multiroot pass opens a workspace of two repositories.
const passes = route === 'offline' ? ['trusted', 'untrusted', 'multiroot'] : ['trusted', 'multiroot'];
let failed = false;
for (const pass of passes) {
  const workspace = pass === 'multiroot' ? makeMultiRootWorkspace() : makeWorkspaceRepo();
  try {
    await runTests({
      ...options,
      launchArgs: [workspace, ...options.launchArgs.slice(1)],
      extensionTestsEnv: { ...options.extensionTestsEnv, TASK_WORKTREES_HOST_PASS: pass },
    });
  } catch (error) {
    console.error(`[host] ${route} host tests (${pass} pass) failed: ${error.message}`);
    failed = true;
  } finally {
    removeWorkspaceRepo(workspace);
  }
}
process.exit(failed ? 1 : 0);
