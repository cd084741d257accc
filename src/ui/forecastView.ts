import * as vscode from 'vscode';
import { serialRefresh } from './serialRefresh';
import type { Board, Forecast, TaskService } from '../core';
import { describeError } from './flowText';
import { forecastFiles, ForecastLabels, forecastRowText } from './forecastText';
import { Session } from './session';
import { TasksTreeProvider } from './tasksView';

function labels(): ForecastLabels {
  return {
    clean: vscode.l10n.t('merges clean'),
    withBase: (count) => (count === 1 ? vscode.l10n.t('conflicts with base: 1 file') : vscode.l10n.t('conflicts with base: {0} files', count)),
    withTask: (subject, afterBase) => (afterBase ? vscode.l10n.t('with {0}', subject) : vscode.l10n.t('conflicts with {0}', subject)),
    moreTasks: (count) => vscode.l10n.t('+{0} more', count),
  };
}

/**
 * The conflict forecast on the board: each row with work to merge says whether it merges clean,
 * conflicts with its base, or with another task of its repository. The forecast is asked again
 * each time the board renders (the core caches merges by commit pair, and reads no git when no
 * branch moved), and the rows are redrawn only when an answer changed.
 */
export class ForecastRows implements vscode.Disposable {
  /** Per repository: its forecast, that forecast as JSON (what the rows show), and its tasks' subjects. */
  private shown = new Map<TaskService, { forecast: Forecast; key: string; subjects: Map<string, string> }>();
  private boards: ReadonlyArray<{ service: TaskService; board: Board }> = [];
  private pending: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[];
  private readonly recompute = serialRefresh(
    () => this.recomputeOnce(),
    (error) => this.log.warn(`conflict forecast failed: ${describeError(error)}`),
  );

  constructor(
    private readonly session: Session,
    private readonly tree: TasksTreeProvider,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables = [
      tree.addRowPart((task, _details, service) => {
        const shown = service && this.shown.get(service);
        const text = shown && forecastRowText(shown.forecast, task.id, (id) => shown.subjects.get(id) ?? id, labels());
        return text ? { text } : undefined;
      }),
      tree.onDidRenderRepositories((boards) => {
        this.boards = boards;
        // After the rows are drawn: its git would compete with the drawing for the machine's cores.
        // Not pushed back by later renders (a busy board would never get its forecast): one runs per interval.
        this.pending ??= setTimeout(() => {
          this.pending = undefined;
          void this.recompute();
        }, FORECAST_AFTER_RENDER_MS);
      }),
      { dispose: () => clearTimeout(this.pending) },
    ];
  }

  private async recomputeOnce(): Promise<void> {
    if (this.session.state !== 'ready') return;
    const boards = this.boards;
    let changed = false;
    const next = new Map<TaskService, { forecast: Forecast; key: string; subjects: Map<string, string> }>();
    for (const { service, board } of boards) {
      const forecast = await service.forecast();
      const key = JSON.stringify(forecast);
      const subjects = new Map(board.tasks.map((task) => [task.id, task.subject]));
      // None yet reads as an empty forecast, so one with nothing to say redraws nothing.
      if (key !== (this.shown.get(service)?.key ?? EMPTY_FORECAST)) changed = true;
      next.set(service, { forecast, key, subjects });
    }
    this.shown = next;
    if (changed) this.tree.refresh();
  }

  dispose(): void {
    this.disposables.forEach((disposable) => disposable.dispose());
  }
}

const EMPTY_FORECAST = JSON.stringify({ tasks: [], overlaps: [] });
const FORECAST_AFTER_RENDER_MS = 300;

/** Conflict Forecast from the palette: every forecast task with what it would conflict with; picking one shows it on the board. */
export async function showForecast(forecast: Forecast, board: Board, tree: TasksTreeProvider): Promise<void> {
  if (forecast.tasks.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('No task has work its base lacks: there is nothing to forecast.'));
    return;
  }
  const subjects = new Map(board.tasks.map((task) => [task.id, task.subject]));
  const subjectOf = (id: string): string => subjects.get(id) ?? id;
  const words = labels();
  const items = forecast.tasks.map(({ taskId, withBase }) => {
    const conflicting = !withBase.clean || forecast.overlaps.some((overlap) => overlap.a === taskId || overlap.b === taskId);
    return {
      label: `$(${conflicting ? 'warning' : 'pass'}) ${subjectOf(taskId)}`,
      description: forecastRowText(forecast, taskId, subjectOf, words),
      detail: forecastFiles(forecast, taskId, subjectOf, vscode.l10n.t('base')).join(' · ') || undefined,
      taskId,
    };
  });
  const conflicts = items.filter((item) => item.detail).length;
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Conflict Forecast: {0} of {1} task(s) would conflict, {2} overlap(s) between tasks', conflicts, items.length, forecast.overlaps.length),
    placeHolder: vscode.l10n.t('Pick a task to show it on the board'),
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (picked) await tree.reveal(picked.taskId);
}
