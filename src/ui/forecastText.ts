import type { Forecast } from '../core';

/**
 * The conflict forecast as a board row says it, built without `vscode` so it runs (and is tested)
 * in plain Node; the translated words come from the caller, which gets them from `vscode.l10n.t`.
 */
export interface ForecastLabels {
  clean: string;
  /** "conflicts with base: 2 files" */
  withBase: (fileCount: number) => string;
  /** "conflicts with <subject>" — or, after a base conflict, "with <subject>" */
  withTask: (subject: string, afterBase: boolean) => string;
  /** "+2 more tasks" */
  moreTasks: (count: number) => string;
}

/**
 * What the forecast says of one task: a conflict with its base first (it blocks the merge), then
 * the other tasks it would conflict with; undefined for a task the forecast does not cover (no
 * commits its base lacks, or merged).
 */
export function forecastRowText(forecast: Forecast, taskId: string, subjectOf: (taskId: string) => string, labels: ForecastLabels): string | undefined {
  const own = forecast.tasks.find((entry) => entry.taskId === taskId);
  if (!own) return undefined;
  const others = forecast.overlaps.filter((overlap) => overlap.a === taskId || overlap.b === taskId).map((overlap) => (overlap.a === taskId ? overlap.b : overlap.a));
  if (own.withBase.clean && others.length === 0) return labels.clean;
  const parts: string[] = [];
  if (!own.withBase.clean) parts.push(labels.withBase(own.withBase.files.length));
  if (others.length > 0) parts.push(labels.withTask(subjectOf(others[0]), parts.length > 0));
  if (others.length > 1) parts.push(labels.moreTasks(others.length - 1));
  return parts.join(', ');
}

/** The files behind a task's forecast, for a tooltip or a pick's detail: base first, then per other task. */
export function forecastFiles(forecast: Forecast, taskId: string, subjectOf: (taskId: string) => string, baseLabel: string): string[] {
  const own = forecast.tasks.find((entry) => entry.taskId === taskId);
  const lines = own && !own.withBase.clean ? [`${baseLabel}: ${own.withBase.files.join(', ')}`] : [];
  for (const overlap of forecast.overlaps) {
    if (overlap.a !== taskId && overlap.b !== taskId) continue;
    lines.push(`${subjectOf(overlap.a === taskId ? overlap.b : overlap.a)}: ${overlap.files.join(', ')}`);
  }
  return lines;
}
