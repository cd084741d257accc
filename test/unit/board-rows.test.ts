import * as assert from 'node:assert/strict';
import { Board, TaskDetails, TaskView } from '../../src/core';
import { boardRows, isFilterActive } from '../../src/core/board';
import { TaskStatus } from '../../src/core/tasks/model';

function view(id: string, subject: string, status: TaskStatus, owner: string, updatedAt: string): TaskView {
  return { id, subject, status, owner, description: '', baseBranch: 'main', branch: `task/${id}`, blockedBy: [], createdAt: '2026-01-01T00:00:00.000Z', updatedAt, worktreeState: 'none', blockers: [], ready: false };
}

suite('board rows: filter, sort and groups', () => {
  const board: Board = {
    tasks: [
      view('login', 'Fix login', 'in_progress', 'claude', '2026-01-02T00:00:00.000Z'),
      view('search', 'add search', 'pending', '', '2026-01-05T00:00:00.000Z'),
      view('docs', 'Write docs', 'completed', 'ana', '2026-01-03T00:00:00.000Z'),
      view('login-2', 'Fix login again', 'pending', 'claude', '2026-01-01T00:00:00.000Z'),
    ],
    unassigned: [],
    problems: [],
    mainWorktree: '/repo',
  };
  const details = new Map<string, TaskDetails>([['login-2', { worktree: 'present', lastCommit: { subject: 'late work', date: '2026-01-09T10:00:00+02:00' } }]]);
  const lookup = (id: string): TaskDetails | undefined => details.get(id);
  const ids = (groups: ReturnType<typeof boardRows>): string[][] => groups.map((group) => [group.key, ...group.tasks.map((task) => task.id)]);

  test('by status: one group per status that has tasks, in progress first, board order inside', () => {
    assert.deepEqual(ids(boardRows(board, lookup, { sort: 'status', filter: {} })), [['in_progress', 'login'], ['pending', 'search', 'login-2'], ['completed', 'docs']]);
  });

  test('by recent activity: one list, the latest of the record change and the last commit first', () => {
    assert.deepEqual(ids(boardRows(board, lookup, { sort: 'activity', filter: {} })), [['all', 'login-2', 'search', 'docs', 'login']]);
  });

  test('by name: one list by subject, ignoring case', () => {
    assert.deepEqual(ids(boardRows(board, lookup, { sort: 'name', filter: {} })), [['all', 'search', 'login', 'login-2', 'docs']]);
  });

  test('the filter keeps tasks matching text (any case, subject/id/branch/owner), statuses and owner together', () => {
    assert.deepEqual(ids(boardRows(board, lookup, { sort: 'status', filter: { text: 'LOGIN' } })), [['in_progress', 'login'], ['pending', 'login-2']]);
    assert.deepEqual(ids(boardRows(board, lookup, { sort: 'status', filter: { text: 'task/docs' } })), [['completed', 'docs']]);
    assert.deepEqual(ids(boardRows(board, lookup, { sort: 'name', filter: { statuses: ['pending'], owner: 'claude' } })), [['all', 'login-2']]);
    assert.deepEqual(ids(boardRows(board, lookup, { sort: 'status', filter: { owner: '' } })), [['pending', 'search']]);
    assert.deepEqual(boardRows(board, lookup, { sort: 'activity', filter: { text: 'nothing like it' } }), []);
  });

  test('a filter is active only when it would hide something: blank text and no statuses are none', () => {
    assert.equal(isFilterActive({}), false);
    assert.equal(isFilterActive({ text: '  ', statuses: [] }), false);
    assert.equal(isFilterActive({ owner: '' }), true);
    assert.equal(isFilterActive({ statuses: ['completed'] }), true);
  });
});
