// Starts a real VS Code offline: code-server (VS Code's server + web workbench, Node extension
// host) on 127.0.0.1, and headless Chromium on it, all isolated in one temp dir that close() removes.
// Used by the host-test launcher and by the UI end-to-end test.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { format } from 'node:util';
import { join } from 'node:path';
import { ensureHost } from './hostCache.mjs';
import { GIT_IDENTITY } from './workspace.mjs';

export class HostSetupError extends Error {}

export function chromiumPath() {
  const path = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new HostSetupError(
      `Chromium is missing (looked for ${path}). Install it with: apt-get install -y chromium ` +
        `(or set CHROMIUM_PATH to a Chromium/Chrome binary).`,
    );
  }
  return path;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function isolatedDirs() {
  const root = mkdtempSync(join(tmpdir(), 'tw-host-'));
  const dirs = {
    root,
    home: join(root, 'home'),
    config: join(root, 'config'),
    data: join(root, 'data'),
    cache: join(root, 'cache'),
    tmp: join(root, 'tmp'),
    userData: join(root, 'user-data'),
    extensions: join(root, 'extensions'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(
    join(dirs.userData, 'User', 'settings.json'),
    JSON.stringify({
      'chat.disableAIFeatures': true,
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'git.openRepositoryInParentFolders': 'never',
      'workbench.tips.enabled': false,
    }),
  );
  return dirs;
}

function waitForListening(child, timeoutMs) {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(`code-server did not start within ${timeoutMs / 1000}s`), timeoutMs);
    const fail = (why) => {
      clearTimeout(timer);
      reject(new HostSetupError(`${why}.\n--- code-server output ---\n${output.slice(-2000)}`));
    };
    const onData = (data) => {
      output += data.toString();
      if (output.includes('HTTP server listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => fail(`code-server could not be spawned: ${error.message}`));
    child.on('exit', (code, signal) => fail(`code-server exited early (${code ?? signal})`));
  });
}

/**
 * Starts code-server alone (isolated HOME/XDG/TMPDIR, a free port on 127.0.0.1) and resolves once
 * it listens. `close()` kills its whole process group and removes its temp dirs.
 * @param {{ env?: Record<string,string>, log?: (line: string) => void, workspaceTrust?: boolean }} options
 */
export async function startCodeServer(options = {}) {
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const host = ensureHost(log);
  const dirs = isolatedDirs();
  const port = await freePort();
  const startedAt = Date.now();
  const env = {
    ...process.env,
    ...GIT_IDENTITY,
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    TMPDIR: dirs.tmp,
    EXTENSIONS_GALLERY: '{}',
    ...options.env,
  };
  const server = spawn(
    host.node,
    [
      host.codeServerEntry,
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
      '--ignore-last-opened',
      '--user-data-dir', dirs.userData,
      '--extensions-dir', dirs.extensions,
      // Without the smoke-test driver a built workbench ignores the URL payload (tests path etc.).
      '--vscode-option', 'enable-smoke-test-driver',
    ],
    { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const close = () => {
    try {
      process.kill(-server.pid, 'SIGKILL'); // the whole process group: server, extension host, watchers
    } catch {
      // already gone
    }
    rmSync(dirs.root, { recursive: true, force: true });
  };
  try {
    await waitForListening(server, 30_000);
  } catch (error) {
    close();
    throw new HostSetupError(`${error.message}\nIf the host install is broken, delete ${host.dir} and run again to reinstall it.`);
  }
  log(`[host] code-server ${host.dir.split('/').pop()} listening on 127.0.0.1:${port} (${Date.now() - startedAt} ms)`);
  /** The workbench URL for a folder, loading the extension under development (and its tests). */
  const urlFor = (workspace, extensionDevelopmentPath, extensionTestsPath) => {
    const remote = (path) => `vscode-remote://127.0.0.1:${port}${path}`;
    const payload = [
      ['extensionDevelopmentPath', remote(extensionDevelopmentPath)],
      ...(extensionTestsPath ? [['extensionTestsPath', remote(extensionTestsPath)]] : []),
      ['skipWelcome', 'true'],
      ['skipReleaseNotes', 'true'],
    ];
    // A .code-workspace file opens as a (multi-root) workspace, anything else as a folder.
    const opened = workspace.endsWith('.code-workspace') ? 'workspace' : 'folder';
    return `http://127.0.0.1:${port}/?${opened}=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  };
  return { port, env, dirs, startedAt, urlFor, close };
}

/** Debian's Chromium, headless, with the environment of `server` and nothing that reaches the network. */
export function launchChromium(playwright, browserPath, server) {
  return playwright.chromium.launch({
    executablePath: browserPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    env: server.env,
    timeout: 30_000,
  });
}

/**
 * code-server plus headless Chromium on a folder; resolves with the page once it is navigating.
 * @param {{ workspace: string, extensionDevelopmentPath: string, extensionTestsPath?: string,
 *           env?: Record<string,string>, log?: (line: string) => void, onHostLog?: (line: string) => void }} options
 */
export async function startWorkbench(options) {
  const browserPath = chromiumPath(); // fail fast, before anything is started
  let playwright;
  try {
    playwright = await import('playwright-core');
  } catch {
    throw new HostSetupError('playwright-core is missing: run npm ci (it is a devDependency).');
  }
  const server = await startCodeServer(options);
  let browser;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    server.close();
  };
  try {
    browser = await launchChromium(playwright, browserPath, server);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    let resolveExit;
    const exitCode = new Promise((resolve) => (resolveExit = resolve));
    await page.exposeFunction('codeAutomationLog', (_level, args) => {
      // The host forwards console calls as (format, ...values).
      const line = Array.isArray(args) ? format(...args) : String(args);
      (options.onHostLog ?? ((text) => process.stdout.write(`${text}\n`)))(line);
    });
    await page.exposeFunction('codeAutomationExit', (code) => resolveExit(Number(code)));
    await page.goto(server.urlFor(options.workspace, options.extensionDevelopmentPath, options.extensionTestsPath));
    /** Opens another folder in the same page, with the same extension loaded. */
    const openFolder = (folder) => page.goto(server.urlFor(folder, options.extensionDevelopmentPath, options.extensionTestsPath));
    return { page, context, port: server.port, exitCode, startedAt: server.startedAt, openFolder, close };
  } catch (error) {
    await close();
    throw error;
  }
}
