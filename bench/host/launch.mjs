// The offline host (code-server + headless Chromium, as the e2e tests use) started with user and
// machine settings written before the page loads, and a git wrapper that counts every git process.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromiumPath, launchChromium, startCodeServer } from '../../test/runner/codeServer.mjs';

/**
 * Two copies of one wrapper script in `dir`: `path/git` (put first on PATH) and `setting/git` (given
 * as `git.path`), so a line says which route reached it. Each call appends one line to `log` —
 * route, who spawned it, cwd, arguments — and execs the real git.
 * Who: "ours" carries the environment our core gives git (GIT_OPTIONAL_LOCKS=0, GIT_EDITOR=':'),
 * "vscode-git" the variable VS Code's git extension sets on each of its calls; anything else "other".
 */
export function gitCounter(dir) {
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const log = join(dir, 'git-calls.log');
  const script = (route) => `#!/bin/bash
if [ "$GIT_OPTIONAL_LOCKS" = 0 ] && [ "$GIT_EDITOR" = ":" ]; then who=ours
elif [ -n "$VSCODE_GIT_COMMAND" ]; then who=vscode-git
else who=other; fi
printf '%s\\t${route}\\t%s\\t%s\\t%s\\n' "$EPOCHREALTIME" "$who" "$PWD" "$*" >> '${log}'
exec '${realGit}' "$@"
`;
  const paths = {};
  for (const route of ['path', 'setting']) {
    mkdirSync(join(dir, route), { recursive: true });
    paths[route] = join(dir, route, 'git');
    writeFileSync(paths[route], script(route));
    chmodSync(paths[route], 0o755);
  }
  writeFileSync(log, '');
  /** The calls logged so far: { at (s), route, who, cwd, args }. */
  const calls = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [at, route, who, cwd, args] = line.split('\t');
        return { at: Number(at), route, who, cwd, args };
      });
  return { log, gitPath: paths.setting, pathDir: join(dir, 'path'), calls };
}

function mergeSettings(file, settings) {
  const current = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...current, ...settings }, null, 2));
}

/**
 * code-server + Chromium on `workspace` with the extension at `extensionDevelopmentPath` loaded.
 * `settings` go into the user settings and the machine settings: code-server's window is a remote
 * one, where machine-scoped settings such as `git.path` are read from the machine file only.
 * @param {{ workspace: string, extensionDevelopmentPath: string, settings?: object, env?: object,
 *           extraExtensionPath?: string, log?: (line: string) => void }} options
 */
export async function openWorkbench(options) {
  const browserPath = chromiumPath();
  const playwright = await import('playwright-core');
  const server = await startCodeServer({ env: options.env, log: options.log ?? (() => undefined) });
  let browser;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    server.close();
  };
  try {
    const settings = options.settings ?? {};
    mergeSettings(join(server.dirs.userData, 'User', 'settings.json'), settings);
    mergeSettings(join(server.dirs.userData, 'Machine', 'settings.json'), settings);
    browser = await launchChromium(playwright, browserPath, server);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await page.goto(server.urlFor(options.workspace, options.extensionDevelopmentPath), { timeout: 120_000 });
    return { page, server, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** PATH with `dir` first. */
export function pathWithFirst(dir) {
  return [dir, process.env.PATH].filter(Boolean).join(delimiter);
}

let open;
/** openWorkbench, closed (host, browser and temp dirs) if the benchmark is interrupted (Ctrl+C, kill). */
export async function openUntilSignal(options) {
  const workbench = await openWorkbench(options);
  open = workbench;
  return { ...workbench, close: () => ((open = undefined), workbench.close()) };
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await open?.close();
    process.exit(130);
  });
}
