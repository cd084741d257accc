// `npm test`: type-check, unit tests (plain Node), host tests (a real VS Code extension host),
// UI end-to-end (Playwright on the workbench); then one line "N passed, N failed, N skipped" for CI.
// TEST_HOST=offline|desktop picks the host route; TEST_SKIP=e2e,host skips stages (local use).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureHost } from './hostCache.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const skip = new Set((process.env.TEST_SKIP ?? '').split(',').filter(Boolean));
const offlineHost = (process.env.TEST_HOST || 'offline') === 'offline';
const mocha = ['node_modules/mocha/bin/mocha.js', '--ui', 'tdd', '--no-color'];

// `needsHost`: the stage runs in code-server, which ensureHost() installs once, before the first such stage.
const stages = [
  { name: 'typecheck', command: ['node_modules/typescript/bin/tsc', '-p', '.'], counts: false },
  { name: 'build', command: ['esbuild.config.mjs'], counts: false },
  { name: 'unit', command: [...mocha, '--timeout', '120000', 'out/test/unit/**/*.test.js', 'test/runner/**/*.test.mjs'], counts: true },
  { name: 'host', command: ['test/runner/runHost.mjs'], counts: true, needsHost: offlineHost },
  { name: 'e2e', command: [...mocha, '--timeout', '180000', 'test/e2e/**/*.test.mjs'], counts: true, needsHost: true },
];

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** mocha's summary counts in a stage's output (the host's arrive through its log), summed over its runs. */
export function mochaCounts(output) {
  const total = (word) => [...output.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\b`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  return { passed: total('passing'), failed: total('failing'), skipped: total('pending') };
}

function run(stage) {
  return new Promise((resolveStage) => {
    const started = Date.now();
    console.log(`\n=== ${stage.name}: node ${stage.command.join(' ')}`);
    const child = spawn(process.execPath, stage.command, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const forward = (stream) => (data) => {
      output += data.toString();
      stream.write(data);
    };
    child.stdout.on('data', forward(process.stdout));
    child.stderr.on('data', forward(process.stderr));
    child.on('close', (code) => {
      const counts = stage.counts ? mochaCounts(output) : { passed: 0, failed: 0, skipped: 0 };
      // A stage that fails without a test failure (crash, no host, type error) still counts as one.
      if (code !== 0 && counts.failed === 0) counts.failed = 1;
      if (code === 0 && stage.counts && counts.passed === 0) counts.failed = 1; // a stage that ran no test is a failure
      console.log(`=== ${stage.name}: exit ${code}, ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped, ${seconds(started)}`);
      resolveStage({ code, ...counts });
    });
  });
}

/** Installs the offline host when the cache lacks it; the install's error message when that fails. */
function ensureHostOnce() {
  const started = Date.now();
  console.log('\n=== host install: the offline test host (Node 24 + code-server) in the host cache');
  try {
    const { dir } = ensureHost((line) => console.log(line));
    console.log(`=== host install: ready in ${dir}, ${seconds(started)}`);
    return undefined;
  } catch (error) {
    console.log(`=== host install: failed after ${seconds(started)}:\n${error.message}`);
    return error.message;
  }
}

async function main() {
  // A test file deleted from test/ must not keep running from a stale out/.
  rmSync(resolve(root, 'out'), { recursive: true, force: true });

  const total = { passed: 0, failed: 0, skipped: 0 };
  let hostError; // undefined until the install is attempted, then null or its message
  for (const stage of stages) {
    if (skip.has(stage.name)) {
      console.log(`\n=== ${stage.name}: skipped (TEST_SKIP)`);
      continue;
    }
    if (stage.needsHost) {
      if (hostError === undefined) hostError = ensureHostOnce() ?? null;
      if (hostError !== null) {
        console.log(`\n=== ${stage.name}: not run, 1 failed: the test host could not be installed: ${hostError.split('\n')[0]}`);
        total.failed += 1;
        continue;
      }
    }
    const result = await run(stage);
    total.passed += result.passed;
    total.failed += result.failed;
    total.skipped += result.skipped;
    // Later stages need a compiled tree and a bundle.
    if (result.code !== 0 && !stage.counts) break;
  }
  console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  return total.failed > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await main());
}
