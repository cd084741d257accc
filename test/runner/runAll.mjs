// `npm test`: type-check, unit tests (plain Node), host tests (a real VS Code extension host),
// UI end-to-end (Playwright on the workbench); then one line "N passed, N failed" for CI.
// TEST_HOST=offline|desktop picks the host route; TEST_SKIP=e2e,host skips stages (local use).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const skip = new Set((process.env.TEST_SKIP ?? '').split(',').filter(Boolean));
const mocha = ['node_modules/mocha/bin/mocha.js', '--ui', 'tdd', '--no-color'];

const stages = [
  { name: 'typecheck', command: ['node_modules/typescript/bin/tsc', '-p', '.'], counts: false },
  { name: 'build', command: ['esbuild.config.mjs'], counts: false },
  { name: 'unit', command: [...mocha, '--timeout', '120000', 'out/test/unit/**/*.test.js'], counts: true },
  { name: 'host', command: ['test/runner/runHost.mjs'], counts: true },
  { name: 'e2e', command: [...mocha, '--timeout', '180000', 'test/e2e/**/*.test.mjs'], counts: true },
];

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
      // mocha's own summary lines (the host's arrive through its log); the last ones of a stage win.
      const passing = [...output.matchAll(/^\s*(\d+) passing/gm)].map((m) => Number(m[1]));
      const failing = [...output.matchAll(/^\s*(\d+) failing/gm)].map((m) => Number(m[1]));
      const passed = stage.counts ? passing.reduce((a, b) => a + b, 0) : 0;
      let failed = stage.counts ? failing.reduce((a, b) => a + b, 0) : 0;
      // A stage that fails without a test failure (crash, no host, type error) still counts as one.
      if (code !== 0 && failed === 0) failed = 1;
      if (code === 0 && stage.counts && passed === 0) failed = 1; // a stage that ran no test is a failure
      console.log(`=== ${stage.name}: exit ${code}, ${passed} passed, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(1)} s`);
      resolveStage({ code, passed, failed });
    });
  });
}

// A test file deleted from test/ must not keep running from a stale out/.
rmSync(resolve(root, 'out'), { recursive: true, force: true });

let passed = 0;
let failed = 0;
for (const stage of stages) {
  if (skip.has(stage.name)) {
    console.log(`\n=== ${stage.name}: skipped (TEST_SKIP)`);
    continue;
  }
  const result = await run(stage);
  passed += result.passed;
  failed += result.failed;
  // Later stages need a compiled tree and a bundle.
  if (result.code !== 0 && !stage.counts) break;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
