import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { isCoded } from '../../src/core/errors';
import { branchNameProblem, slugify, uniqueId, validateBlockedBy, validateOwner, validateSubject, validateTaskId } from '../../src/core/tasks/ids';

/** Deterministic pseudo-random generator, so a failing case can be reproduced. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

function checkRefFormatBranch(name: string): boolean {
  try {
    execFileSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

suite('task ids and branch names', () => {
  test('subjects become readable slugs', () => {
    assert.equal(slugify('Fix the Login page!'), 'fix-the-login-page');
    assert.equal(slugify('  Ünïcödé café  déjà vu 🎉 '), 'unicode-cafe-deja-vu');
    assert.equal(slugify('--upload-pack=touch /tmp/x'), 'upload-pack-touch-tmp-x');
    assert.equal(slugify('修复登录'), '');
    assert.ok(slugify('x'.repeat(300)).length <= 48);
  });

  test('unique ids skip taken ones and fall back to "task"', () => {
    const taken = new Set(['fix', 'fix-2', 'task']);
    assert.equal(uniqueId('Fix', (id) => taken.has(id)), 'fix-3');
    assert.equal(uniqueId('🎉', (id) => taken.has(id)), 'task-2');
  });

  test('property: every generated id makes a branch git accepts (check-ref-format --branch)', () => {
    const next = random(42);
    const alphabet = ['a', 'Z', '9', ' ', '-', '.', '/', '~', '^', ':', '?', '*', '[', '\\', '@', '{', '\t', '\n', 'é', 'ß', '🎉', '中', '\u0000', '\u007f', '..', '.lock'];
    for (let i = 0; i < 300; i++) {
      const length = Math.floor(next() * 60);
      let subject = '';
      for (let c = 0; c < length; c++) subject += alphabet[Math.floor(next() * alphabet.length)];
      const id = uniqueId(subject, () => false);
      assert.doesNotThrow(() => validateTaskId(id), `id from ${JSON.stringify(subject)}`);
      assert.ok(checkRefFormatBranch(`task/${id}`), `git rejects task/${id} (from ${JSON.stringify(subject)})`);
    }
  });

  test('branch-name rules agree with git check-ref-format --branch', () => {
    const names = ['main', 'task/x', 'feature/ü-ñ', '-x', 'a..b', 'a@{1}', 'x.lock', 'a/.b', 'a b', 'a\tb', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', 'a/', 'a//b', 'a.', '@', 'HEAD', '', 'ok.name', 'release/1.2'];
    for (const name of names) {
      // "HEAD" and "@" name the current branch to git; we reserve them rather than resolve them.
      const gitAccepts = checkRefFormatBranch(name) && name !== 'HEAD' && name !== '@';
      assert.equal(branchNameProblem(name) === undefined, gitAccepts, `disagreement on ${JSON.stringify(name)}`);
    }
  });

  test('subjects and owners refuse C0 and C1 controls, line separators and bidi overrides, embeddings and isolates (InvalidInput)', () => {
    const unsafe = ['\u0000', '\t', '\n', '\u001b', '\u007f', '\u0080', '\u0085', '\u009b', '\u009f', '\u2028', '\u2029', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'];
    for (const character of unsafe) {
      const text = `fix ${character}gnp.exe`;
      const label = `U+${character.codePointAt(0)!.toString(16).padStart(4, '0')}`;
      assert.throws(() => validateSubject(text), (error) => isCoded(error, 'InvalidInput'), `subject with ${label}`);
      assert.throws(() => validateOwner(text), (error) => isCoded(error, 'InvalidInput'), `owner with ${label}`);
    }
    // Letters of any script, marks that only hint at direction (LRM) and emoji joiners stay allowed.
    for (const text of ['Déjà vu', '修复登录', 'مرحبا', 'a\u200eb', '👩\u200d💻 pair']) {
      assert.equal(validateSubject(text), text);
      assert.equal(validateOwner(text), text);
    }
  });

  test('blockedBy must be a list of task ids: anything else is InvalidInput, never a TypeError', () => {
    assert.deepEqual(validateBlockedBy(['a', 'b-2']), ['a', 'b-2']);
    assert.deepEqual(validateBlockedBy(undefined), []);
    for (const bad of ['a', 42, null, { 0: 'a', length: 1 }, [1], ['Bad Id'], ['../x'], [['a']]]) {
      assert.throws(() => validateBlockedBy(bad), (error) => isCoded(error, 'InvalidInput'), JSON.stringify(bad));
    }
  });
});
