import * as assert from 'node:assert/strict';
import { landingOutcome, mergeHistory } from '../../src/core/history';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog, TaskEvent } from '../../src/core/tasks/events';

let clock = 0;
function event(type: string, taskId: string, detail: Record<string, unknown> = {}): TaskEvent {
  clock++;
  return { at: `2026-01-01T00:00:${String(clock).padStart(2, '0')}.000Z`, type, taskId, pid: 1, ...detail };
}
const attempt = (taskId: string, outcome: string, agent?: string): TaskEvent =>
  event('merge.attempt', taskId, { outcome, base: 'main', via: 'merge', ...(agent ? { agent } : {}) });

suite('merge history arithmetic', () => {
  test('rates over attempts without the aborted ones; per agent over the attempts that name it', () => {
    const history = mergeHistory([
      event('task.created', 'a'),
      attempt('a', 'clean', 'claude'),
      attempt('b', 'conflict', 'codex'),
      attempt('b', 'resolvedByAgent', 'resolver'),
      attempt('c', 'gateFailed'),
      attempt('c', 'resolvedByHand'),
      attempt('d', 'aborted', 'claude'),
      attempt('e', 'clean', 'claude'),
      attempt('f', 'conflict', 'claude'),
      { at: 'x', type: 'merge.attempt', taskId: 'g', pid: 1, outcome: 'exploded', base: 'main' },
    ]);
    assert.equal(history.entries.length, 8, 'the task event and the unknown outcome are not attempts');
    assert.equal(history.aborted, 1);
    assert.equal(history.attempts, 7);
    assert.equal(history.firstTryClean, 2);
    assert.equal(history.resolved, 2);
    assert.equal(history.successRate, 2 / 7);
    assert.equal(history.resolvedRate, 2 / 7);
    assert.deepEqual(history.perAgent, {
      claude: { attempts: 3, firstTryClean: 2, resolved: 0, successRate: 2 / 3, resolvedRate: 0 },
      codex: { attempts: 1, firstTryClean: 0, resolved: 0, successRate: 0, resolvedRate: 0 },
      resolver: { attempts: 1, firstTryClean: 0, resolved: 1, successRate: 0, resolvedRate: 1 },
    });
  });

  test('no attempts: rates are null, not zero', () => {
    const history = mergeHistory([attempt('a', 'aborted')]);
    assert.equal(history.attempts, 0);
    assert.equal(history.successRate, null);
    assert.equal(history.resolvedRate, null);
    assert.deepEqual(history.perAgent, {});
  });

  test('a landing is clean unless a conflict, failed gate or prepared resolution came since the last landing', () => {
    const started = event('agent.started', 't', { agent: 'claude' });
    assert.deepEqual(landingOutcome([started], 't'), { outcome: 'clean', agent: 'claude' });
    assert.deepEqual(landingOutcome([started, attempt('t', 'conflict')], 't'), { outcome: 'resolvedByHand', agent: 'claude' });
    assert.deepEqual(landingOutcome([attempt('t', 'gateFailed')], 't'), { outcome: 'resolvedByHand', agent: undefined });
    assert.deepEqual(landingOutcome([attempt('t', 'conflict'), attempt('t', 'resolvedByHand')], 't'), { outcome: 'clean', agent: undefined });
    assert.deepEqual(landingOutcome([attempt('t', 'aborted')], 't'), { outcome: 'clean', agent: undefined });
    assert.deepEqual(landingOutcome([attempt('u', 'conflict')], 't'), { outcome: 'clean', agent: undefined }, 'another task\'s conflict');
  });

  test('the resolver is the caller\'s agent, else the preparation\'s, else an agent started after the trouble', () => {
    const conflict = attempt('t', 'conflict');
    assert.deepEqual(landingOutcome([conflict], 't', { agent: 'fixer' }), { outcome: 'resolvedByAgent', agent: 'fixer' });
    const prepared = event('merge.resolution.prepared', 't', { agent: 'resolver' });
    assert.deepEqual(landingOutcome([prepared], 't'), { outcome: 'resolvedByAgent', agent: 'resolver' });
    assert.deepEqual(landingOutcome([prepared], 't', { agent: 'fixer' }), { outcome: 'resolvedByAgent', agent: 'fixer' });
    const before = event('agent.started', 't', { agent: 'claude' });
    const after = event('agent.started', 't', { agent: 'codex' });
    assert.deepEqual(landingOutcome([before, conflict, after], 't'), { outcome: 'resolvedByAgent', agent: 'codex' });
  });
});

suite('the event log as the merge history reads it', () => {
  let dir: string;
  setup(() => (dir = mkdtempSync(join(tmpdir(), 'tw-events-'))));
  teardown(() => rmSync(dir, { recursive: true, force: true }));

  test('readOf lists exactly the events read() lists for that task, in order: escaped ids, other tasks, prefixes of the id, torn lines', async () => {
    const log = new EventLog(join(dir, 'events.jsonl'));
    await log.append('task.created', 'fix-login');
    await log.append('task.created', 'fix-login-2');
    await log.appendAll([
      { type: 'agent.started', taskId: 'fix-login', detail: { agent: 'claude' } },
      { type: 'merge.attempt', taskId: 'other', detail: { outcome: 'clean', base: 'fix-login' } },
    ]);
    // Edited by hand: the id written with JSON escapes, then a torn line.
    appendFileSync(log.path, '{"at":"2026-01-01T00:00:00.000Z","type":"merge.attempt","taskId":"fix\\u002dlogin","pid":1,"outcome":"conflict","base":"main"}\n{"at":"2026-01-01T00:00');
    await log.append('merge.after', 'fix-login');

    const all = (await log.read()).events.filter((event) => event.taskId === 'fix-login');
    assert.deepEqual(all.map((event) => event.type), ['task.created', 'agent.started', 'merge.attempt', 'merge.after']);
    assert.deepEqual(await log.readOf('fix-login'), all);
    assert.deepEqual(await new EventLog(join(dir, 'none.jsonl')).readOf('fix-login'), []);
  });

  test('appendAll writes its events in order, one line each, with one time', async () => {
    const log = new EventLog(join(dir, 'events.jsonl'));
    await log.appendAll([
      { type: 'merge.after', taskId: 't', detail: { commit: 'c' } },
      { type: 'merge.attempt', taskId: 't', detail: { outcome: 'clean', base: 'main' } },
    ]);
    const lines = readFileSync(log.path, 'utf8').split('\n');
    assert.equal(lines.length, 3, 'two lines and the final newline');
    const [after, attempted] = (await log.read()).events;
    assert.deepEqual([after.type, after.commit, attempted.type, attempted.outcome], ['merge.after', 'c', 'merge.attempt', 'clean']);
    assert.equal(after.at, attempted.at);
    assert.equal(mergeHistory([after, attempted]).firstTryClean, 1);
  });
});
