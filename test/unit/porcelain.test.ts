import * as assert from 'node:assert/strict';
import { parseBranchHeads, parseGitVersion, parseMergeTree, parseStatusV2, parseWorktreeList } from '../../src/core/git/porcelain';
import { TestRepo } from '../fixtures/repo';

suite('porcelain parsers', () => {
  test('worktree list -z: paths with spaces, unicode and newlines; locked, detached, prunable', () => {
    const output = [
      'worktree /r/main dir', 'HEAD aaaa', 'branch refs/heads/main', '',
      'worktree /r/.worktrees/ünï cødé 🎉', 'HEAD bbbb', 'branch refs/heads/task/x', 'locked agent is busy', '',
      'worktree /r/line\nbreak', 'HEAD cccc', 'detached', 'prunable gitdir file points to non-existent location', '',
    ].join('\0');
    assert.deepEqual(parseWorktreeList(output), [
      { path: '/r/main dir', head: 'aaaa', branch: 'main', detached: false, bare: false },
      { path: '/r/.worktrees/ünï cødé 🎉', head: 'bbbb', branch: 'task/x', detached: false, bare: false, locked: 'agent is busy' },
      { path: '/r/line\nbreak', head: 'cccc', detached: true, bare: false, prunable: 'gitdir file points to non-existent location' },
    ]);
  });

  test('status v2 -z from a real repository: staged, unstaged, untracked, renamed', () => {
    const repo = new TestRepo();
    try {
      repo.write('src/file-0.txt', 'changed\n');
      repo.write('new file ü.txt', 'new\n');
      repo.git('mv', 'src/file-1.txt', 'src/renamed file.txt');
      repo.write('staged.txt', 's\n');
      repo.git('add', 'staged.txt');
      const status = parseStatusV2(repo.git('status', '--porcelain=v2', '-z', '--untracked-files=all'));
      assert.equal(status.untracked, 1);
      assert.equal(status.staged, 2);
      assert.equal(status.unstaged, 1);
      assert.deepEqual([...status.files].sort(), ['new file ü.txt', 'src/file-0.txt', 'src/renamed file.txt', 'staged.txt']);
    } finally {
      repo.dispose();
    }
  });

  test('merge-tree -z: tree and conflicted paths', () => {
    assert.deepEqual(parseMergeTree('abc123\0f\0dir/g h\0f\0'), { tree: 'abc123', conflicts: ['f', 'dir/g h'] });
    assert.deepEqual(parseMergeTree('abc123\n'), { tree: 'abc123', conflicts: [] });
  });

  test('status v2 --branch headers: head commit and detached state', () => {
    const status = parseStatusV2('# branch.oid 0123abc\0# branch.head (detached)\0? new.txt\0');
    assert.equal(status.head, '0123abc');
    assert.equal(status.detached, true);
    assert.equal(parseStatusV2('# branch.oid (initial)\0# branch.head main\0').head, undefined);
  });

  test('for-each-ref heads: names, oids, trees and worktree paths, even paths with newlines', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const t = 'f'.repeat(40);
    const output = `${a} ${t}\0main\0/r/main\n${b} ${t}\0task/x\0/r/odd\npath\n${a} ${t}\0free\0\n`;
    assert.deepEqual(parseBranchHeads(output), [
      { oid: a, tree: t, name: 'main', worktreePath: '/r/main' },
      { oid: b, tree: t, name: 'task/x', worktreePath: '/r/odd\npath' },
      { oid: a, tree: t, name: 'free', worktreePath: undefined },
    ]);
    assert.deepEqual(parseBranchHeads(''), []);
  });

  test('git version', () => {
    assert.deepEqual(parseGitVersion('git version 2.39.5\n'), [2, 39, 5]);
    assert.deepEqual(parseGitVersion('git version 2.38.0.windows.1'), [2, 38, 0]);
  });
});
