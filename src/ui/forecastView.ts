import * as vscode from 'vscode';
import { serialRefresh } from './serialRefresh';
import type { Board, Forecast } from '../core';
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
 * conflicts with its base, or with another task. The forecast is asked again each time the board
 * renders (the core caches merges by commit pair, so nothing that did not move is merged again),
 * and the rows are redrawn only when its answer changed.
 */
export class ForecastRows implements vscode.Disposable {
  private forecast: Forecast | undefined;
  /** The forecast the rows show, as JSON: none yet reads as an empty forecast, so one with nothing to say redraws nothing. */
  private shown = JSON.stringify({ tasks: [], overlaps: [] });
  private subjects = new Map<string, string>();
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
      tree.addRowPart((task) => {
        const text = this.forecast && forecastRowText(this.forecast, task.id, (id) => this.subjectOf(id), labels());
        return text ? { text } : undefined;
      }),
      tree.onDidRenderBoard((board) => void this.update(board)),
    ];
  }

  subjectOf(taskId: string): string {
    return this.subjects.get(taskId) ?? taskId;
  }

  private async update(board: Board): Promise<void> {
    this.subjects = new Map(board.tasks.map((task) => [task.id, task.subject]));
    await this.recompute();
  }

  private async recomputeOnce(): Promise<void> {
    // Rows know their task, not its repository: with several repositories the rows go without a forecast (a known limit).
    if (this.session.state !== 'ready' || this.session.repositories.length !== 1) return;
    const next = await this.session.repositories[0].service.forecast();
    const key = JSON.stringify(next);
    if (key !== this.shown) {
      this.shown = key;
      this.forecast = next;
      this.tree.refresh();
    }
  }

  dispose(): void {
    this.disposables.forEach((disposable) => disposable.dispose());
  }
}

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
