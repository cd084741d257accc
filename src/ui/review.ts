import * as vscode from 'vscode';
import { TaskService, TaskWorktreesError } from '../core';
import { diffUris, ORIGINAL_SCHEME } from './diffUris';
import { registerCommand } from './commandRunner';
import * as prompts from './prompts';
import { Session } from './session';
import { TaskNode, WorktreeNode } from './tasksView';

class OriginalContent implements vscode.TextDocumentContentProvider {
  constructor(private readonly session: Session) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    if (!uri.query) return '';
    const services = this.session.repositories.map((repository) => repository.service);
    if (services.length <= 1) return (await this.session.service.fileAtCommit(uri.query, uri.path.slice(1))) ?? '';
    // A commit is in one repository only: with several, the one that has it answers.
    for (const service of services) {
      const text = await service.fileAtCommit(uri.query, uri.path.slice(1)).catch(() => undefined);
      if (text !== undefined) return text;
    }
    return '';
  }
}

/** Opens VS Code's multi-diff editor on every file the task changed against its merge-base. */
export async function openReview(service: TaskService, taskId: string, subject: string): Promise<{ title: string; files: number }> {
  const changes = await service.changedFiles(taskId);
  const title = vscode.l10n.t('Review: {0}', subject);
  if (changes.files.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Task "{0}" has no changes against its base yet.', subject));
    return { title, files: 0 };
  }
  await vscode.commands.executeCommand('vscode.changes', title, changes.files.map((file) => diffUris(changes, file)));
  return { title, files: changes.files.length };
}

/** *Review Task*: from the tree (a task row), the palette (a pick), or code (`{ taskId }`). */
export function registerReview(context: vscode.ExtensionContext, session: Session, log: vscode.LogOutputChannel): void {
  const service = (): TaskService => session.service;
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(ORIGINAL_SCHEME, new OriginalContent(session)),
    registerCommand('taskWorktrees.reviewTask', log, {
      byCode: async (input) => {
        const { taskId, repository } = input;
        if (typeof taskId !== 'string') throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('reviewTask needs a taskId.'));
        if (repository !== undefined && typeof repository !== 'string') throw new TaskWorktreesError('InvalidInput', vscode.l10n.t('"{0}" must be a {1}.', 'repository', 'string'));
        return session.inRepositoryAt(repository, async () => {
          const task = await service().task(taskId);
          return openReview(service(), task.id, task.subject);
        });
      },
      byPerson: (arg) =>
        session.inRepositoryOf(arg, vscode.l10n.t('Task Worktrees: Choose a Repository'), async () => {
          const task =
            arg instanceof TaskNode || arg instanceof WorktreeNode
              ? arg.task
              : await prompts.pickTask((await service().board()).tasks.filter((view) => view.branch || view.worktreePath), vscode.l10n.t('Review which task?'));
          return task && openReview(service(), task.id, task.subject);
        }),
    }),
  );
}
