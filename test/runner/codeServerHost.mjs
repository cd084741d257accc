#!/usr/bin/env node
// A stand-in "VS Code executable" for @vscode/test-electron's runTests on machines without a
// desktop VS Code: it takes the same arguments (--extensionDevelopmentPath=, --extensionTestsPath=,
// a folder), runs them in code-server + headless Chromium, forwards the extension host's output
// to stdout and exits with the host's exit code.
import { existsSync } from 'node:fs';
import { HostSetupError, startWorkbench } from './codeServer.mjs';
import { makeWorkspaceRepo, removeWorkspaceRepo } from './workspace.mjs';

const TIMEOUT_MS = Number(process.env.TASK_WORKTREES_HOST_TIMEOUT_MS || 300_000);

function option(name) {
  const prefix = `--${name}=`;
  return process.argv.slice(2).find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

async function main() {
  const extensionDevelopmentPath = option('extensionDevelopmentPath');
  const extensionTestsPath = option('extensionTestsPath');
  if (!extensionDevelopmentPath || !extensionTestsPath) {
    throw new HostSetupError('usage: codeServerHost.mjs --extensionDevelopmentPath=DIR --extensionTestsPath=FILE [FOLDER]');
  }
  const given = process.argv.slice(2).find((arg) => !arg.startsWith('-') && existsSync(arg));
  const folder = given ?? makeWorkspaceRepo();
  // The untrusted host pass keeps workspace trust on, so the folder opens in restricted mode.
  const workspaceTrust = process.env.TASK_WORKTREES_HOST_PASS === 'untrusted';
  const workbench = await startWorkbench({ workspace: folder, extensionDevelopmentPath, extensionTestsPath, workspaceTrust });
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => {
      process.stderr.write(`[host] the extension host did not finish within ${TIMEOUT_MS / 1000}s: stopping it (set TASK_WORKTREES_HOST_TIMEOUT_MS to change).\n`);
      resolve(124);
    }, TIMEOUT_MS);
  });
  try {
    const code = await Promise.race([workbench.exitCode, timeout]);
    process.stdout.write(`[host] extension host exited with ${code}; wall time from code-server start to results: ${((Date.now() - workbench.startedAt) / 1000).toFixed(1)} s\n`);
    return code;
  } finally {
    clearTimeout(timer);
    await workbench.close();
    if (!given) removeWorkspaceRepo(folder);
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`[host] ${error instanceof HostSetupError ? '' : 'failed: '}${error.message}\n`);
    process.exit(error instanceof HostSetupError ? 3 : 1);
  },
);
