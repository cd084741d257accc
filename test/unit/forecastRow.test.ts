import * as assert from 'node:assert/strict';
import { Task, TaskService } from '../../src/core/index';
import { forecastFiles, forecastRowText, ForecastLabels } from '../../src/ui/forecastText';
import { openFreshRepo, TestRepo } from '../fixtures/repo';

const labels: ForecastLabels = {
  clean: 'merges clean',
  withBase: (count) => `conflicts with base: ${count} ${count === 1 ? 'file' : 'files'}`,
  withTask: (subject, afterBase) => (afterBase ? `with ${subject}` : `conflicts with ${subject}`),
  moreTasks: (count) => `+${count} more`,
};

suite('conflict forecast as the board row says it', () => {
  let repo: TestRepo;
  let service: TaskService;

  setup(async () => {
    ({ repo, service } = await openFreshRepo());
  });
  teardown(() => repo.dispose());

  async function taskWith(subject: string, files: Record<string, string>): Promise<Task> {
    const task = await service.createWorktree((await service.createTask({ subject })).id);
    for (const [file, content] of Object.entries(files)) repo.write(file, content, task.worktreePath);
    repo.commitAll(`${task.subject} work`, task.worktreePath);
    return task;
  }

  test('clean, conflicting with another task by subject, with the base by file count, and several tasks', async () => {
    const tasks = [
      await taskWith('Alpha', { 'shared.txt': 'alpha\n' }),
      await taskWith('Beta', { 'shared.txt': 'beta\n' }),
      await taskWith('Gamma', { 'README.md': 'gamma\n', 'shared.txt': 'gamma\n' }),
      await taskWith('Delta', { 'delta.txt': 'delta\n' }),
    ];
    const idle = await service.createTask({ subject: 'No commits yet' });
    repo.write('README.md', 'the base moved\n');
    repo.commitAll('base moves on');
    const subjects = new Map([...tasks, idle].map((task) => [task.id, task.subject]));
    const subjectOf = (id: string): string => subjects.get(id)!;
    const forecast = await service.forecast();
    const row = (task: Task): string | undefined => forecastRowText(forecast, task.id, subjectOf, labels);

    const [alpha, beta, gamma, delta] = tasks;
    assert.equal(row(delta), 'merges clean');
    assert.equal(row(alpha), 'conflicts with Beta, +1 more');
    assert.equal(row(gamma), 'conflicts with base: 1 file, with Alpha, +1 more');
    assert.equal(row(beta), 'conflicts with Alpha, +1 more');
    assert.equal(row(idle), undefined, 'a task without commits is not forecast');
    assert.deepEqual(forecastFiles(forecast, gamma.id, subjectOf, 'base'), ['base: README.md', 'Alpha: shared.txt', 'Beta: shared.txt']);
  });
});
