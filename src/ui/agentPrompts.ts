import * as vscode from 'vscode';
import { TaskView } from '../core';
import { AgentRun, describeRun, InstalledProfile } from './agents';
import { listForModal } from './prompts';

/** The questions about agents; like prompts.ts, each resolves undefined (or false) on Escape. */

/**
 * Picks an agent profile: installed ones first (the default on top), the others marked "not
 * found on PATH"; "Add an agent…" opens the setting instead.
 */
export async function pickAgent(installed: InstalledProfile[], defaultAgent: string, title: string): Promise<string | undefined> {
  const rank = (entry: InstalledProfile): number => (entry.executable ? 0 : 2) + (entry.profile.name === defaultAgent ? 0 : 1);
  const items: Array<vscode.QuickPickItem & { agent?: string }> = [...installed]
    .sort((a, b) => rank(a) - rank(b))
    .map(({ profile, executable }) => ({
      label: profile.name,
      description: executable
        ? profile.name === defaultAgent
          ? vscode.l10n.t('{0} · default', executable)
          : executable
        : vscode.l10n.t('"{0}" not found on PATH', profile.command),
      iconPath: new vscode.ThemeIcon(executable ? 'hubot' : 'circle-slash'),
      agent: profile.name,
    }));
  const addAgent: vscode.QuickPickItem & { agent?: string } = { label: vscode.l10n.t('$(add) Add an agent…'), description: vscode.l10n.t('opens the setting taskWorktrees.agents') };
  const picked = await vscode.window.showQuickPick([...items, { label: '', kind: vscode.QuickPickItemKind.Separator }, addAgent], {
    title,
    placeHolder: vscode.l10n.t('Agent to run in the task\'s worktree'),
    matchOnDescription: true,
  });
  if (picked === addAgent) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'taskWorktrees.agents');
    return undefined;
  }
  return picked?.agent;
}

export async function pickRunningAgent(runs: AgentRun[], title: string): Promise<AgentRun | undefined> {
  if (runs.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t('No agent started in this window is running.'));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    runs.map((run) => ({ label: run.agent, description: run.taskId, detail: describeRun(run), run })),
    { title, placeHolder: vscode.l10n.t('A running agent, by task'), matchOnDescription: true },
  );
  return picked?.run;
}

/**
 * Before a removal or merge while agents work in the worktrees it touches: the core refuses it
 * (AgentRunning) from every process, so the dialog explains and offers the agent's terminal —
 * no "… Anyway" that could only fail. True when no agent runs there.
 */
export async function noAgentsRunning(runs: AgentRun[], message: string, consequence: string): Promise<boolean> {
  if (runs.length === 0) return true;
  const show = vscode.l10n.t('Show Agent Terminal');
  const choice = await vscode.window.showWarningMessage(
    message,
    { modal: true, detail: `${listForModal(runs.map((run) => `${run.agent} (${run.taskId}) — ${describeRun(run)}`))}\n\n${consequence}` },
    show,
  );
  if (choice === show) runs[0].terminal.show();
  return false;
}

export async function confirmReadyStarts(agent: string, tasks: TaskView[]): Promise<boolean> {
  const start = vscode.l10n.t('Start {0} Agent(s)', tasks.length);
  const choice = await vscode.window.showInformationMessage(
    vscode.l10n.t('Start {0} on the oldest ready tasks?', agent),
    { modal: true, detail: `${listForModal(tasks.map((task) => `${task.subject} (${task.id})`))}\n\n${vscode.l10n.t('Each gets its own worktree and terminal, and is claimed in the agent\'s name.')}` },
    start,
  );
  return choice === start;
}
