import * as assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskService } from '../../src/core';
import { TestRepo } from '../fixtures/repo';

/**
 * Another process commits on the task's branch while its merge runs (started from a git wrapper at
 * the merge's first merge-tree): whatever lands, the task's record names the commit that was merged.
 */
suite('a commit on the task branch during its merge', () => {
  let repo: TestRepo;
  // Apart from the repository: simple-git takes no git path with spaces or non-ASCII in it.
  let scripts: string;
  setup(() => {
    repo = new TestRepo();
    scripts = mkdtempSync(join(tmpdir(), 'tw-git-wrapper-'));
  });
  teardown(() => {
    repo.dispose();
    rmSync(scripts, { recursive: true, force: true });
  });

  for (const base of ['main', 'integration']) {
    test(`into ${base === 'main' ? 'a base checked out in the main worktree' : 'a base checked out nowhere'}: the recorded branch head is the merge's second parent`, async () => {
      if (base !== 'main') repo.git('branch', base);
      const plain = await TaskService.open(repo.dir);
      const task = await plain.createWorktree((await plain.createTask({ subject: 'raced', baseBranch: base })).id);
      repo.write('work.txt', 'work\n', task.worktreePath!);
      repo.commitAll('work', task.worktreePath!);
      const wrapper = join(scripts, 'git-with-a-commit-meanwhile');
      const flag = join(scripts, 'raced');
      writeFileSync(
        wrapper,
        `#!/bin/bash\nif [[ " $* " == *" merge-tree "* && ! -e '${flag}' ]]; then touch '${flag}'; (cd '${task.worktreePath}' && echo late > late.txt && git add late.txt && git commit -qm late) >/dev/null 2>&1; fi\nexec git "$@"\n`,
      );
      chmodSync(wrapper, 0o755);
      const raced = await TaskService.open(repo.dir, {}, { gitPath: wrapper });
      const result = await raced.mergeTask(task.id);
      assert.equal(result.merged, true);
      const [, mergedParent] = repo.git('log', '-1', '--format=%P', base).trim().split(' ');
      assert.equal(result.task.merge?.branchHead, mergedParent);
      assert.notEqual(repo.oid(`refs/heads/${task.branch}`), mergedParent, 'the late commit came during the merge, after its read');
    });
  }
});
