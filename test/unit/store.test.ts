import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isCoded } from '../../src/core/errors';
import { Task } from '../../src/core/tasks/model';
import { NewTask, TaskStore } from '../../src/core/tasks/store';

const FIELDS: NewTask = { subject: 'Fix the login', description: '', status: 'pending', owner: '', baseBranch: 'main', blockedBy: [] };

/** Every file under `root` with its content: what must not change when a call is refused or fails. */
function snapshot(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return files;
}

function validRecord(id: string): Task {
  return { ...FIELDS, id, createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' };
}

suite('task store', () => {
  let root: string;
  let store: TaskStore;
  setup(() => {
    root = mkdtempSync(join(tmpdir(), 'tw-store-'));
    store = new TaskStore(join(root, 'task-worktrees'));
  });
  teardown(() => rmSync(root, { recursive: true, force: true }));

  function writeTaskFile(name: string, record: unknown): void {
    mkdirSync(store.tasksDir, { recursive: true });
    writeFileSync(join(store.tasksDir, name), typeof record === 'string' ? record : JSON.stringify(record));
  }

  test('worktreePath 42, createdAt missing, an id that is not the file name, an id with ../: listed as problems, kept byte for byte; get, update and delete give StoreCorrupt and write nothing anywhere', async () => {
    const good = await store.create(FIELDS);
    const { createdAt: _omitted, ...noCreatedAt } = validRecord('no-created-at');
    const bad: Record<string, unknown> = {
      'path-42': { ...validRecord('path-42'), worktreePath: 42 },
      'no-created-at': noCreatedAt,
      'renamed': validRecord('someone-else'),
      'escape': { ...validRecord('escape'), id: '../../../escape' },
    };
    for (const [id, record] of Object.entries(bad)) writeTaskFile(`${id}.json`, record);
    const before = snapshot(root);

    const { tasks, problems } = await store.load();
    assert.deepEqual(tasks.map((task) => task.id), [good.id]);
    assert.deepEqual(problems.map((problem) => relative(store.tasksDir, problem.file)).sort(), Object.keys(bad).map((id) => `${id}.json`).sort());
    assert.match(problems.find((problem) => problem.file.endsWith('path-42.json'))!.message, /worktreePath 42 is not an absolute path/);
    assert.match(problems.find((problem) => problem.file.endsWith('no-created-at.json'))!.message, /createdAt is missing/);
    assert.match(problems.find((problem) => problem.file.endsWith('renamed.json'))!.message, /"someone-else" is not its file name "renamed"/);

    for (const id of Object.keys(bad)) {
      const corrupt = (error: unknown): boolean => isCoded(error, 'StoreCorrupt');
      await assert.rejects(store.get(id), corrupt, `get ${id}`);
      await assert.rejects(
        store.update(id, (task) => {
          task.subject = 'overwritten';
          return { type: 'task.status' };
        }),
        corrupt,
        `update ${id}`,
      );
      await assert.rejects(store.delete(id), corrupt, `delete ${id}`);
    }
    assert.deepEqual(snapshot(root), before, 'no file written, moved or removed, inside the store or out');
  });

  test('every field is checked: each bad value is a problem of its file, never a crash of load()', async () => {
    const cases: Record<string, unknown> = {
      'not-json': '{ "id": ',
      'an-array': [],
      'null': null,
      'subject-number': { ...validRecord('subject-number'), subject: 1 },
      'description-null': { ...validRecord('description-null'), description: null },
      'owner-missing': { ...validRecord('owner-missing'), owner: undefined },
      'status-unknown': { ...validRecord('status-unknown'), status: 'done' },
      'base-invalid': { ...validRecord('base-invalid'), baseBranch: 'a..b' },
      'base-missing': { ...validRecord('base-missing'), baseBranch: undefined },
      'branch-option': { ...validRecord('branch-option'), branch: '--upload-pack=x' },
      'branch-number': { ...validRecord('branch-number'), branch: 7 },
      'path-relative': { ...validRecord('path-relative'), worktreePath: 'relative/path' },
      'blocked-text': { ...validRecord('blocked-text'), blockedBy: 'a' },
      'blocked-bad-id': { ...validRecord('blocked-bad-id'), blockedBy: ['../x'] },
      'updated-number': { ...validRecord('updated-number'), updatedAt: 5 },
      'merge-text': { ...validRecord('merge-text'), merge: 'yes' },
      'merge-commit-ref': { ...validRecord('merge-commit-ref'), merge: { commit: 'HEAD', branchHead: 'a'.repeat(40), strategy: 'merge', at: 'now' } },
      'merge-strategy': { ...validRecord('merge-strategy'), merge: { commit: 'a'.repeat(40), branchHead: 'b'.repeat(64), strategy: 'rebase', at: 'now' } },
    };
    for (const [id, record] of Object.entries(cases)) writeTaskFile(`${id}.json`, record);
    writeTaskFile('Not An Id.json', validRecord('not-an-id'));
    const fine = { ...validRecord('fine'), branch: 'task/fine', worktreePath: '/abs/fine', merge: { commit: 'a'.repeat(40), branchHead: 'b'.repeat(64), strategy: 'squash', at: 'now' } };
    writeTaskFile('fine.json', fine);

    const { tasks, problems } = await store.load();
    assert.deepEqual(tasks, [fine]);
    const named = new Set(problems.map((problem) => relative(store.tasksDir, problem.file)));
    assert.deepEqual(named, new Set([...Object.keys(cases).map((id) => `${id}.json`), 'Not An Id.json']));
    for (const id of Object.keys(cases)) await assert.rejects(store.get(id), (error) => isCoded(error, 'StoreCorrupt'), id);
  });

  test('a change that would make an invalid record (another id, a relative path, blockedBy not a list) is refused with InvalidInput; nothing is written', async () => {
    const task = await store.create(FIELDS);
    const before = snapshot(root);
    const changes: ((task: Task) => void)[] = [
      (current) => (current.id = '../../outside'),
      (current) => (current.id = 'other-task'),
      (current) => (current.worktreePath = 'relative'),
      (current) => (current.blockedBy = 'a' as unknown as string[]),
    ];
    for (const change of changes) {
      await assert.rejects(
        store.update(task.id, (current) => {
          change(current);
          return { type: 'task.status' };
        }),
        (error) => isCoded(error, 'InvalidInput'),
      );
    }
    await assert.rejects(store.create({ ...FIELDS, blockedBy: 'a' as unknown as string[] }), (error) => isCoded(error, 'InvalidInput'));
    await assert.rejects(store.create({ ...FIELDS, baseBranch: '-x' }), (error) => isCoded(error, 'InvalidInput'));
    assert.deepEqual(snapshot(root), before);
  });

  test('when the event cannot be logged, the call fails and changes nothing: create leaves no task, update restores the file, delete puts it back, writeConfig restores the config', async () => {
    const task = await store.create(FIELDS);
    await store.writeConfig({ worktreeRoot: '.worktrees', branchPrefix: 'task/' });
    // A directory where the log should be: every append fails (chmod would not stop root).
    rmSync(join(store.dir, 'events.jsonl'));
    mkdirSync(join(store.dir, 'events.jsonl'));
    const before = snapshot(root);

    await assert.rejects(store.create({ ...FIELDS, subject: 'Never made' }), /EISDIR/);
    await assert.rejects(
      store.update(task.id, (current) => {
        current.status = 'completed';
        return { type: 'task.completed' };
      }),
      /EISDIR/,
    );
    await assert.rejects(store.delete(task.id), /EISDIR/);
    await assert.rejects(store.writeConfig({ worktreeRoot: '/elsewhere', branchPrefix: 'wip/' }), /EISDIR/);

    assert.deepEqual(snapshot(root), before, 'every file as it was, no temp file left');
    assert.deepEqual((await store.load()).tasks, [task]);
    assert.deepEqual(store.readConfig(), { worktreeRoot: '.worktrees', branchPrefix: 'task/' });
  });

  test('reads never create the store directory: load, get, readConfig and events.read leave no trace; the first task does', async () => {
    assert.deepEqual(await store.load(), { tasks: [], problems: [] });
    await assert.rejects(store.get('missing'), (error) => isCoded(error, 'TaskNotFound'));
    assert.equal(store.readConfig(), undefined);
    assert.deepEqual(await store.events.read(), { events: [], unreadable: 0 });
    assert.deepEqual(readdirSync(root), []);
    await store.create(FIELDS);
    assert.ok(existsSync(store.tasksDir));
  });

  test('repository config: written atomically under the lock and logged as config.set; read back by any store on the directory; bad values refused, a bad file a problem', async () => {
    const config = { worktreeRoot: '../${repoName}.worktrees', branchPrefix: 'agent/' };
    await store.writeConfig(config);
    assert.deepEqual(new TaskStore(store.dir).readConfig(), config);
    const { events } = await store.events.read();
    assert.deepEqual(events.map(({ type, worktreeRoot, branchPrefix }) => ({ type, worktreeRoot, branchPrefix })), [{ type: 'config.set', ...config }]);
    assert.deepEqual(readdirSync(store.dir).sort(), ['config.json', 'events.jsonl'], 'no temp file or lock left');

    for (const bad of [
      { worktreeRoot: '', branchPrefix: 'task/' },
      { worktreeRoot: 'a\nb', branchPrefix: 'task/' },
      { worktreeRoot: 'wt', branchPrefix: '-' },
      { worktreeRoot: 'wt', branchPrefix: 'a..' },
      { worktreeRoot: 'wt', branchPrefix: 3 },
    ]) {
      await assert.rejects(store.writeConfig(bad as never), (error) => isCoded(error, 'InvalidInput'), JSON.stringify(bad));
    }
    assert.deepEqual(store.readConfig(), config);

    for (const text of ['{"worktreeRoot": 3, "branchPrefix": "task/"}', 'not json']) {
      writeFileSync(store.configFile, text);
      assert.equal(store.readConfig(), undefined);
      const { problems } = await store.load();
      assert.deepEqual(problems.map((problem) => problem.file), [store.configFile]);
      assert.equal(readFileSync(store.configFile, 'utf8'), text, 'kept as it is');
    }
  });

  test('withLock holds the lock across several store changes (re-entrant, no deadlock); a lock taken meanwhile makes the next change fail with LockLost and write nothing', async () => {
    const quick = new TaskStore(store.dir, { timeoutMs: 500 });
    const order = await quick.withLock(async () => {
      const task = await quick.create(FIELDS);
      await quick.update(task.id, (current) => {
        current.status = 'in_progress';
        return { type: 'task.status' };
      });
      await quick.log('note', task.id);
      await store.delete(task.id); // another store object on the same directory shares the hold
      return (await quick.events.read()).events.map((event) => event.type);
    });
    assert.deepEqual(order, ['task.created', 'task.status', 'note', 'task.deleted']);

    const task = await store.create(FIELDS);
    const lockDir = join(store.dir, 'lock');
    await assert.rejects(
      store.withLock(async () => {
        // Another process breaks the lock and takes it.
        rmSync(lockDir, { recursive: true });
        mkdirSync(lockDir);
        writeFileSync(join(lockDir, 'owner'), '1@another-host#other');
        const before = snapshot(root);
        await store
          .update(task.id, (current) => {
            current.owner = 'late';
            return { type: 'task.claimed' };
          })
          .finally(() => assert.deepEqual(snapshot(root), before, 'nothing written'));
      }),
      (error) => isCoded(error, 'LockLost'),
    );
    assert.equal(readFileSync(join(lockDir, 'owner'), 'utf8'), '1@another-host#other', "the other holder's lock is left in place");
  });
});
