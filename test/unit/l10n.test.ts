import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..', '..');
const script = join(root, 'scripts', 'l10n.mjs');

function list(dir: string): { messages: string[]; dynamic: string[] } {
  return JSON.parse(execFileSync(process.execPath, [script, '--list', dir], { encoding: 'utf8' }));
}

suite('l10n: the bundle holds every vscode.l10n.t message', () => {
  test('every message in src/ is in l10n/bundle.l10n.json, and none is built at run time', () => {
    const { messages, dynamic } = list(join(root, 'src'));
    const bundle = JSON.parse(readFileSync(join(root, 'l10n', 'bundle.l10n.json'), 'utf8')) as Record<string, string>;
    assert.deepEqual(dynamic, []);
    assert.ok(messages.length > 100, `found ${messages.length}`);
    assert.deepEqual(messages.filter((message) => bundle[message] !== message), [], 'missing from the bundle: run npm run l10n');
    assert.deepEqual(Object.keys(bundle).filter((key) => !messages.includes(key)), [], 'in the bundle but no longer in the code');
  });

  test('the extractor reads calls split over lines and with quotes, and reports a message that is not a literal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-l10n-'));
    try {
      writeFileSync(
        join(dir, 'sample.ts'),
        "const a = vscode.l10n.t('It\\'s {0}', x);\nconst b = vscode.l10n\n  .t(\n    \"second\",\n  );\nconst c = vscode.l10n.t(`third`);\nconst d = vscode.l10n.t(message);\n// vscode.l10n.t('in a comment')\n",
      );
      const { messages, dynamic } = list(dir);
      assert.deepEqual(messages, ["It's {0}", 'second', 'third']);
      assert.equal(dynamic.length, 1);
      assert.match(dynamic[0], /sample\.ts:7$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the manifest: every %key% has its text in package.nls.json, the bundle is declared, and each walkthrough step has its page', () => {
    const manifestText = readFileSync(join(root, 'package.json'), 'utf8');
    const manifest = JSON.parse(manifestText);
    const nls = JSON.parse(readFileSync(join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
    const keys = [...manifestText.matchAll(/"%([^%"]+)%"/g)].map((match) => match[1]);
    assert.deepEqual(keys.filter((key) => !(key in nls)), []);
    assert.equal(manifest.l10n, './l10n');
    const [walkthrough] = manifest.contributes.walkthroughs;
    assert.deepEqual(
      walkthrough.steps.map((step: { id: string }) => step.id),
      ['createTask', 'openTask', 'startAgent', 'mergeTask'],
    );
    for (const step of walkthrough.steps) assert.ok(existsSync(join(root, step.media.markdown)), step.media.markdown);
  });
});
