import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { readLooseCommitTree } from '../../src/core/git/objectFiles';
import { TestRepo } from '../fixtures/repo';

/** A commit's tree read from its loose object must be the one git gives, or not be given at all. */
suite('a commit\'s tree read from its loose object file', () => {
  let repo: TestRepo;
  const common = (): string => join(repo.dir, '.git');
  const objectFile = (oid: string): string => join(common(), 'objects', oid.slice(0, 2), oid.slice(2));
  setup(() => {
    repo = new TestRepo();
  });
  teardown(() => repo.dispose());

  test('a loose commit (sha1 and sha256 repositories): the tree git names', () => {
    const commit = repo.oid('HEAD');
    assert.equal(readLooseCommitTree(common(), commit), repo.git('rev-parse', `${commit}^{tree}`).trim(), 'sha1');
    const sha256 = join(repo.dir, '..', 'sha256');
    mkdirSync(sha256);
    const git = (...args: string[]): string => repo.gitIn(sha256, ...args).trim();
    git('init', '-q', '--object-format=sha256');
    writeFileSync(join(sha256, 'a.txt'), 'a\n');
    git('add', 'a.txt');
    git('-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'one');
    const oid = git('rev-parse', 'HEAD');
    assert.equal(oid.length, 64);
    assert.equal(readLooseCommitTree(join(sha256, '.git'), oid), git('rev-parse', `${oid}^{tree}`), 'sha256');
  });

  test('anything else is left to git: a packed commit, a tree, a file whose bytes are not the object its name says', () => {
    const packed = repo.oid('HEAD');
    repo.git('gc', '--quiet', '--prune=now');
    assert.equal(readLooseCommitTree(common(), packed), undefined, 'packed');
    repo.write('b.txt', 'b\n');
    const second = repo.commitAll('two');
    repo.write('c.txt', 'c\n');
    const third = repo.commitAll('three');
    assert.ok(readLooseCommitTree(common(), third), 'loose: read');
    assert.equal(readLooseCommitTree(common(), repo.git('rev-parse', `${third}^{tree}`).trim()), undefined, 'a tree');
    // The third commit's file holding the second commit's bytes: another object than its name says.
    writeFileSync(objectFile(third), readFileSync(objectFile(second)));
    assert.equal(readLooseCommitTree(common(), third), undefined, 'bytes that do not hash to the name');
    writeFileSync(objectFile(third), deflateSync(Buffer.from('commit 5\0short')));
    assert.equal(readLooseCommitTree(common(), third), undefined, 'a damaged object');
    assert.equal(readLooseCommitTree(common(), 'not-an-oid'), undefined);
  });
});
