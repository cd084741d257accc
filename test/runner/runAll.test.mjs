// npm test's closing line comes from the summaries mocha prints; this reads real mocha output.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mochaCounts } from './runAll.mjs';

const mochaBin = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');

suite('npm test counts', function () {
  test("mocha's passing, failing and pending tests of two runs are summed", () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-counts-'));
    try {
      writeFileSync(
        join(dir, 'sample.test.js'),
        "suite('sample', () => {\n" +
          "  test('passes', () => {});\n" +
          "  test('passes too', () => {});\n" +
          "  test('fails', () => { throw new Error('expected'); });\n" +
          "  test.skip('is skipped', () => {});\n" +
          '});\n',
      );
      const run = () => {
        const result = spawnSync(process.execPath, [mochaBin, '--ui', 'tdd', '--no-color', join(dir, 'sample.test.js')], { encoding: 'utf8' });
        assert.equal(result.status, 1, result.stderr);
        return result.stdout;
      };
      assert.deepEqual(mochaCounts(run()), { passed: 2, failed: 1, skipped: 1 });
      assert.deepEqual(mochaCounts(`${run()}\n${run()}`), { passed: 4, failed: 2, skipped: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
