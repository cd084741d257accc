import * as assert from 'node:assert/strict';
import { landingOutcome, mergeHistory } from '../../src/core/history';
import { TaskEvent } from '../../src/core/tasks/events';

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
