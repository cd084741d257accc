import { basename } from 'node:path';
import * as vscode from 'vscode';
import { OperationOutcome, SetupState, Task, TaskService } from '../core';
import { RepositorySession, Session } from './session';
import { taskEnvironment } from './taskEnvironment';

/**
 * VS Code's `TaskRunOn.WorktreeCreated` (proposed API `taskRunOptions`): what `runOptions.runOn`
 * holds for a task declared with `"runOptions": { "runOn": "worktreeCreated" }`.
 */
const RUN_ON_WORKTREE_CREATED = 3;

interface SetupStep {
  name: string;
  task: vscode.Task;
}

interface StepOutcome {
  state: SetupState;
  message?: string;
}

/**
 * Gets a worktree made from this window ready to work in: after the core has copied the ignored
 * files, runs the `taskWorktrees.setupCommand` setting and the tasks that run on
 * `worktreeCreated`, one after the other, in terminals in the new worktree with the TASK_*
 * environment. Progress is shown and can be cancelled; a failed or cancelled setup keeps the
 * worktree and says so on the task. What a repository brings itself (its tasks.json, its
 * workspace settings) runs only in a trusted workspace.
 */
export class WorktreeSetup implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private attachedTo: readonly TaskService[] = [];
  private detach: (() => void) | undefined;

  constructor(
    private readonly session: Session,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(session.onDidChange(() => this.follow()));
    this.follow();
  }

  /** Listens to the operations of the session's current services, one per repository (new ones after a restart). */
  private follow(): void {
    const repositories = this.session.state === 'ready' ? this.session.repositories : [];
    const services = repositories.map((repository) => repository.service);
    if (services.length === this.attachedTo.length && services.every((service, index) => service === this.attachedTo[index])) return;
    this.detach?.();
    this.attachedTo = services;
    const stops = repositories.map((repository) =>
      repository.service.onDidMutate((outcome) => {
        const task = createdWorktree(outcome);
        if (task) void this.run(repository, task).catch((error: Error) => this.log.warn(`setup of ${task.id} failed to run: ${error.message}`));
      }),
    );
    this.detach = () => stops.forEach((stop) => stop());
  }

  /** Sets up `task`'s new worktree with what its own repository's folders declare (multi-root: never another repository's). */
  async run({ service, folders }: RepositorySession, task: Task): Promise<void> {
    const steps = await this.stepsFor(task, folders);
    if (steps.length === 0) return;
    const copyProblem = task.setup?.state === 'failed' ? task.setup.message : undefined;
    await this.record(service, task.id, { state: 'running' });
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Setting up the worktree of "{0}"', task.subject), cancellable: true },
      async (progress, cancellation): Promise<StepOutcome> => {
        for (const [index, step] of steps.entries()) {
          progress.report({ message: vscode.l10n.t('{0} ({1} of {2})', step.name, index + 1, steps.length) });
          const result = await this.execute(step, cancellation);
          if (result.state !== 'done') return result;
        }
        return { state: 'done' };
      },
    );
    // A copy that failed before still counts: the worktree lacks files either way.
    const final: StepOutcome = copyProblem && outcome.state === 'done' ? { state: 'failed', message: copyProblem } : outcome;
    await this.record(service, task.id, final);
    if (final.state !== 'done') {
      const text = final.state === 'cancelled' ? vscode.l10n.t('Setup of "{0}" was cancelled; its worktree is kept.', task.subject) : vscode.l10n.t('Setup of "{0}" failed: {1}. Its worktree is kept.', task.subject, final.message ?? '');
      void vscode.window.showWarningMessage(text);
    }
  }

  /**
   * The setup command and the worktreeCreated tasks, each retargeted to the worktree; a repository's
   * own only when trusted. `folders`: the workspace folders of the task's repository, whose settings
   * and tasks.json apply (the workspace's and the user's apply to every repository).
   */
  private async stepsFor(task: Task, folders: readonly vscode.Uri[]): Promise<SetupStep[]> {
    const worktree = task.worktreePath!;
    const folder: vscode.WorkspaceFolder = { uri: vscode.Uri.file(worktree), name: basename(worktree), index: vscode.workspace.workspaceFolders?.length ?? 0 };
    const env = taskEnvironment(task);
    const steps: SetupStep[] = [];
    const command = this.setupCommand(folders[0]);
    if (command) {
      const execution = new vscode.ShellExecution(command, { cwd: worktree, env });
      steps.push({ name: command, task: presented(new vscode.Task({ type: 'shell', command }, folder, vscode.l10n.t('Setup: {0}', task.id), 'Task Worktrees', execution)) });
    }
    const ownFolders = new Set(folders.map((uri) => uri.toString()));
    const declared = (await vscode.tasks.fetchTasks()).filter(
      (candidate) => (candidate.runOptions as { runOn?: unknown }).runOn === RUN_ON_WORKTREE_CREATED && (!isFolderScope(candidate.scope) || ownFolders.has(candidate.scope.uri.toString())),
    );
    for (const declaredTask of declared) {
      if (declaredTask.scope !== vscode.TaskScope.Global && !vscode.workspace.isTrusted) {
        this.log.warn(`setup task "${declaredTask.name}" not run in ${worktree}: the workspace is not trusted`);
        continue;
      }
      const retargeted = retarget(declaredTask, folder, env);
      if (retargeted) steps.push({ name: declaredTask.name, task: retargeted });
      else this.log.warn(`setup task "${declaredTask.name}" not run in ${worktree}: only shell and process tasks can run in another folder`);
    }
    return steps;
  }

  /** The setting's value for the repository's folder `scope`; a workspace's own only in a trusted workspace (VS Code withholds it otherwise too). */
  private setupCommand(scope: vscode.Uri | undefined): string | undefined {
    const inspected = vscode.workspace.getConfiguration('taskWorktrees', scope).inspect<string>('setupCommand');
    const fromWorkspace = inspected?.workspaceFolderValue ?? inspected?.workspaceValue;
    if (fromWorkspace !== undefined && !vscode.workspace.isTrusted) {
      this.log.warn('taskWorktrees.setupCommand of this workspace not run: the workspace is not trusted');
      return inspected?.globalValue?.trim() || undefined;
    }
    return (fromWorkspace ?? inspected?.globalValue)?.trim() || undefined;
  }

  /** Runs one step to its end: done on exit code 0, cancelled when the user cancels, failed otherwise. */
  private async execute(step: SetupStep, cancellation: vscode.CancellationToken): Promise<StepOutcome> {
    const exitCodes = new Map<vscode.TaskExecution, number | undefined>();
    const ended = new Set<vscode.TaskExecution>();
    let notify: () => void = () => undefined;
    const listeners = [
      vscode.tasks.onDidEndTaskProcess((event) => exitCodes.set(event.execution, event.exitCode)),
      vscode.tasks.onDidEndTask((event) => {
        ended.add(event.execution);
        notify();
      }),
    ];
    try {
      const execution = await vscode.tasks.executeTask(step.task);
      this.log.info(`setup "${step.name}" started in ${(step.task.scope as vscode.WorkspaceFolder).uri.fsPath}`);
      const cancelled = new Promise<void>((resolve) => cancellation.onCancellationRequested(() => resolve()));
      const finished = new Promise<void>((resolve) => {
        notify = () => ended.has(execution) && resolve();
        notify();
      });
      if ((await Promise.race([finished.then(() => false), cancelled.then(() => true)])) === true) {
        execution.terminate();
        return { state: 'cancelled', message: vscode.l10n.t('"{0}" was cancelled', step.name) };
      }
      const code = exitCodes.get(execution);
      if (code === 0) return { state: 'done' };
      return { state: 'failed', message: code === undefined ? vscode.l10n.t('"{0}" ended without an exit code', step.name) : vscode.l10n.t('"{0}" exited with {1}', step.name, code) };
    } catch (error) {
      return { state: 'failed', message: vscode.l10n.t('"{0}" could not start: {1}', step.name, (error as Error).message) };
    } finally {
      listeners.forEach((listener) => listener.dispose());
    }
  }

  /** The setup runs whether or not its state can be written: a failed write is logged. */
  private async record(service: TaskService, taskId: string, outcome: StepOutcome): Promise<void> {
    await service.recordSetup(taskId, outcome).catch((error: Error) => this.log.warn(`could not record the setup of ${taskId}: ${error.message}`));
  }

  dispose(): void {
    this.detach?.();
    this.disposables.forEach((disposable) => disposable.dispose());
  }
}

function isFolderScope(scope: vscode.Task['scope']): scope is vscode.WorkspaceFolder {
  return typeof scope === 'object' && scope !== null && 'uri' in scope;
}

/** The task with its new worktree, when the operation made one. */
function createdWorktree(outcome: OperationOutcome): Task | undefined {
  if (outcome.error || (outcome.kind !== 'createTask' && outcome.kind !== 'createWorktree')) return undefined;
  const task = outcome.result as Task | undefined;
  return task?.worktreePath ? task : undefined;
}

/** A copy of a shell or process task that runs in `folder` (the new worktree) with `env` added; undefined for other kinds. */
function retarget(source: vscode.Task, folder: vscode.WorkspaceFolder, env: Record<string, string>): vscode.Task | undefined {
  const cwd = folder.uri.fsPath;
  const execution = source.execution;
  let moved: vscode.ShellExecution | vscode.ProcessExecution;
  if (execution instanceof vscode.ShellExecution) {
    const options = { ...execution.options, cwd, env: { ...execution.options?.env, ...env } };
    if (execution.commandLine !== undefined) moved = new vscode.ShellExecution(execution.commandLine, options);
    else if (execution.command !== undefined) moved = new vscode.ShellExecution(execution.command, execution.args ?? [], options);
    else return undefined;
  } else if (execution instanceof vscode.ProcessExecution) {
    moved = new vscode.ProcessExecution(execution.process, execution.args, { ...execution.options, cwd, env: { ...execution.options?.env, ...env } });
  } else {
    return undefined;
  }
  const task = new vscode.Task({ ...source.definition }, folder, source.name, source.source, moved, source.problemMatchers);
  task.detail = source.detail;
  task.group = source.group;
  task.presentationOptions = source.presentationOptions;
  return presented(task);
}

/** Each setup in a terminal of its own, shown only when it has something to say. */
function presented(task: vscode.Task): vscode.Task {
  task.presentationOptions = { ...task.presentationOptions, reveal: vscode.TaskRevealKind.Silent, panel: vscode.TaskPanelKind.New };
  return task;
}
