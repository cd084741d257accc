import { TaskWorktreesError } from '../core/errors';
import { GitError } from '../core/git/errors';
import type { LossReport } from '../core/safety';
import type { TaskEvent } from '../core/tasks/events';

/**
 * Text the flows show, built without `vscode` so it runs (and is tested) in plain Node; the
 * translated words come in from the caller, which gets them from `vscode.l10n.t`.
 */

export interface LossLabels {
  kind: Record<LossReport['files'][number]['kind'], string>;
  detached: (commit: string) => string;
  operation: (operation: string) => string;
  more: (count: number) => string;
}

/** Conflicts first (they block everything), then changed files, then new ones: what would be lost, each with what it is. */
const KIND_ORDER: ReadonlyArray<LossReport['files'][number]['kind']> = ['conflicted', 'changed', 'untracked'];

/** The detail of the "work that would be lost" modal: one line per file with its kind, at most `max` files and a count. */
export function lossDetail(report: LossReport, labels: LossLabels, max = 12): string {
  const files = [...report.files].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.path.localeCompare(b.path));
  const lines = files.slice(0, max).map((file) => `• ${file.path} — ${labels.kind[file.kind]}`);
  if (files.length > max) lines.push(labels.more(files.length - max));
  if (report.detachedCommit) lines.push(`• ${labels.detached(report.detachedCommit.slice(0, 12))}`);
  if (report.operationInProgress) lines.push(`• ${labels.operation(report.operationInProgress)}`);
  return lines.join('\n');
}

/** The events log as the read-only view shows it: newest first, one line each, time then type, task and detail. */
export function eventsText(events: readonly TaskEvent[], unreadableLine?: string): string {
  const lines = [...events].reverse().map(({ at, type, taskId, pid, ...detail }) => {
    const rest = Object.keys(detail).length > 0 ? `  ${JSON.stringify(detail)}` : '';
    return `${at}  ${type}${taskId ? `  ${taskId}` : ''}  pid ${pid}${rest}`;
  });
  if (unreadableLine) lines.push('', unreadableLine);
  return `${lines.join('\n')}\n`;
}

/** The log line for a failure: its code, its message and, for a git process, the command, exit code and what git said. */
export function describeError(error: unknown): string {
  if (!(error instanceof TaskWorktreesError)) return error instanceof Error ? (error.stack ?? error.message) : String(error);
  const details = error.details.length ? ` [${error.details.join(', ')}]` : '';
  const git = error instanceof GitError ? ` — git ${error.args.join(' ')} exited ${error.exitCode}: ${(error.stderr || error.stdout).trim() || '(no output)'}` : '';
  return `${error.code}: ${error.message}${details}${git}`;
}
