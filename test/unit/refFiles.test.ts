import * as assert from 'node:assert/strict';
// The module object itself (not an import copy), so the test can put a hook into its readFileSync.
import fs = require('node:fs');
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBranchOids } from '../../src/core/git/refFiles';
import { TestRepo } from '../fixtures/repo';

/** The branches' commits read from git's ref files must be exactly what git says, or not be given at all. */
suite('branch commits read from the ref files', () => {
  let repo: TestRepo;
  const commonDir = (): string => join(repo.dir, '.git');
  const gitSays = (branch: string): string => repo.git('rev-parse', `refs/heads/${branch}`).trim();

  setup(() => {
    repo = new TestRepo();
    repo.git('branch', 'task/nested-name');
  });
  teardown(() => repo.dispose());

  test('loose refs, nested names included, read as git reads them', () => {
    const main = 'main';
    assert.deepEqual(readBranchOids(commonDir(), [main, 'task/nested-name']), new Map([[main, gitSays(main)], ['task/nested-name', gitSays('task/nested-name')]]));
  });

  test('packed refs (after git pack-refs), and a loose ref newer than its packed line wins as in git', () => {
    const main = 'main';
    repo.git('pack-refs', '--all');
    assert.equal(readBranchOids(commonDir(), ['task/nested-name'])?.get('task/nested-name'), gitSays('task/nested-name'));
    repo.write('moved.txt', 'after packing\n');
    repo.commitAll('moves main after packing');
    assert.equal(readBranchOids(commonDir(), [main])?.get(main), gitSays(main));
  });

  test('anything unfamiliar is not read: a symbolic ref, a missing branch, a ref store that is not files, a damaged file', () => {
    const main = 'main';
    repo.git('symbolic-ref', 'refs/heads/alias', `refs/heads/${main}`);
    assert.equal(readBranchOids(commonDir(), ['alias']), undefined);
    assert.equal(readBranchOids(commonDir(), ['no-such-branch']), undefined);
    writeFileSync(join(commonDir(), 'refs', 'heads', 'damaged'), 'not an object id\n');
    assert.equal(readBranchOids(commonDir(), ['damaged']), undefined);
    // reftable keeps a plain file where the refs/heads folder would be
    rmSync(join(commonDir(), 'refs', 'heads'), { recursive: true });
    writeFileSync(join(commonDir(), 'refs', 'heads'), 'this repository uses the reftable format\n');
    assert.equal(readBranchOids(commonDir(), [main]), undefined);
  });

  test('a git pack-refs between two reads: the loose ref gone since is read from the new packed-refs, not an older copy', () => {
    // The base only packed; the task branch packed at an older commit and loose at a newer one.
    repo.git('pack-refs', '--all');
    repo.git('switch', '-q', 'task/nested-name');
    repo.write('late.txt', 'the newer commit\n');
    const newer = repo.commitAll('newer on the task branch');
    repo.git('switch', '-q', 'main');
    const original = fs.readFileSync;
    let packedReads = 0;
    // Another process's pack-refs runs right after the first ref is looked for (absent, as packed).
    (fs as { readFileSync: unknown }).readFileSync = (...args: Parameters<typeof original>) => {
      const file = String(args[0]);
      if (file.endsWith('packed-refs')) packedReads++;
      try {
        return original(...args);
      } finally {
        if (file.endsWith(join('refs', 'heads', 'main'))) repo.git('pack-refs', '--all');
      }
    };
    try {
      assert.equal(readBranchOids(commonDir(), ['main', 'task/nested-name'])?.get('task/nested-name'), newer);
    } finally {
      (fs as { readFileSync: unknown }).readFileSync = original;
    }
    assert.equal(packedReads, 1, 'packed-refs read once, after every loose ref was looked for');
  });
});
