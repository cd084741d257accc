import { isAbsolute, relative } from 'node:path';
import * as vscode from 'vscode';
import { Board, TaskView, WorktreeDetails } from '../core';
import { WorktreeEntry } from '../core/git/porcelain';
import { StoreProblem } from '../core/tasks/store';
import { TaskStatus } from '../core/tasks/model';
import { AgentRun, Agents, describeRun } from './agents';
import { Session } from './session';
import { unassignedTooltip } from './unassigned';

const STATUS_ORDER: TaskStatus[] = ['in_progress', 'pending', 'completed'];

export function statusLabel(status: TaskStatus): string {
  switch (status) {
    case 'in_progress':
      return vscode.l10n.t('In Progress');
    case 'pending':
      return vscode.l10n.t('Pending');
    case 'completed':
      return vscode.l10n.t('Completed');
  }
}

const STATUS_ICONS: Record<TaskStatus, vscode.ThemeIcon> = {
  in_progress: new vscode.ThemeIcon('sync', new vscode.ThemeColor('charts.blue')),
  pending: new vscode.ThemeIcon('circle-large-outline'),
  completed: new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('charts.green')),
};

export type TreeNode = GroupNode | TaskNode | WorktreeNode | AgentNode | UnassignedWorktreeNode | ProblemNode;

/** How often running agents' rows are redrawn (their elapsed time). */
const AGENT_ROW_REFRESH_MS = 30_000;

/** A heading (a status, or the unassigned worktrees) with its rows already built. */
export class GroupNode {
  constructor(
    readonly key: string,
    readonly label: string,
    readonly children: TreeNode[],
    readonly tooltip?: string,
  ) {}

  toTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.label, vscode.TreeItemCollapsibleState.Expanded);
    item.id = `group:${this.key}`;
    item.description = String(this.children.length);
    item.tooltip = this.tooltip;
    item.contextValue = 'group';
    return item;
  }
}

export class TaskNode {
  constructor(
    readonly task: TaskView,
    /** This window's agents on the task, newest first. */
    readonly agents: readonly AgentRun[] = [],
  ) {}

  toTreeItem(): vscode.TreeItem {
    const { task } = this;
    const agentRunning = this.agents.some((run) => !run.exit);
    const hasChild = task.worktreeState !== 'none' || this.agents.length > 0;
    const collapsible = agentRunning ? vscode.TreeItemCollapsibleState.Expanded : hasChild ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(task.subject, collapsible);
    item.id = `task:${task.id}`;
    item.iconPath =
      task.worktreeState === 'missing'
        ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
        : task.blockers.length > 0 && task.status !== 'completed'
          ? new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('list.deemphasizedForeground'))
          : STATUS_ICONS[task.status];
    const branch = task.branch && task.branchMissing ? vscode.l10n.t('{0} (branch deleted)', task.branch) : task.branch;
    const waiting = task.blockers.length > 0 ? vscode.l10n.t('blocked by {0}', task.blockers.join(', ')) : task.ready ? vscode.l10n.t('ready') : undefined;
    item.description = [branch ?? vscode.l10n.t('no worktree'), task.owner && `@${task.owner}`, waiting, agentRunning && vscode.l10n.t('agent running')].filter(Boolean).join(' · ');
    // Read by `when` clauses in package.json menus.
    item.contextValue = `task;worktree=${task.worktreeState};status=${task.status}${task.branch ? ';branch' : ''};agent=${agentRunning ? 'running' : 'idle'}`;
    item.tooltip = taskTooltip(task);
    return item;
  }
}

export class WorktreeNode {
  constructor(
    readonly task: TaskView,
    readonly details: WorktreeDetails | undefined,
    /** The main worktree: paths inside it are shown relative to it (`.worktrees/<id>`). */
    readonly mainWorktree: string,
  ) {}

  toTreeItem(): vscode.TreeItem {
    const { task, details } = this;
    const missing = task.worktreeState === 'missing';
    const inside = relative(this.mainWorktree, task.worktreePath!);
    const label = inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : task.worktreePath!;
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.id = `worktree:${task.id}`;
    item.resourceUri = vscode.Uri.file(task.worktreePath!);
    item.iconPath = new vscode.ThemeIcon(missing ? 'error' : task.locked ? 'lock' : 'folder');
    item.description = missing ? vscode.l10n.t('missing — prune or recreate') : detailsSummary(details);
    item.contextValue = missing ? 'worktree;missing' : 'worktree';
    item.tooltip = missing
      ? vscode.l10n.t('The task records this worktree but git does not have it (deleted by hand?). Prune to unbind the task; its branch is kept.')
      : detailsTooltip(task, details);
    if (!missing) item.command = { command: 'taskWorktrees.openTask', title: vscode.l10n.t('Open Task in New Window'), arguments: [new TaskNode(task)] };
    return item;
  }
}

/** An agent this window started on the task: running (a click shows its terminal) or exited. */
export class AgentNode {
  constructor(readonly run: AgentRun) {}

  toTreeItem(): vscode.TreeItem {
    const { run } = this;
    const item = new vscode.TreeItem(run.agent, vscode.TreeItemCollapsibleState.None);
    item.id = `agent:${run.taskId}:${run.startedAt.getTime()}:${run.agent}`;
    item.description = describeRun(run);
    item.iconPath = !run.exit
      ? new vscode.ThemeIcon('loading~spin', new vscode.ThemeColor('charts.blue'))
      : run.exit.code === 0
        ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('charts.green'))
        : new vscode.ThemeIcon(run.exit.code === undefined ? 'circle-slash' : 'error', new vscode.ThemeColor(run.exit.code === undefined ? 'disabledForeground' : 'charts.red'));
    item.contextValue = run.exit ? 'agent;exited' : 'agent;running';
    item.tooltip = agentTooltip(run);
    if (!run.exit) item.command = { command: 'taskWorktrees.showAgentTerminal', title: vscode.l10n.t('Show Agent Terminal'), arguments: [this] };
    return item;
  }
}

export class UnassignedWorktreeNode {
  constructor(readonly entry: WorktreeEntry) {}

  toTreeItem(): vscode.TreeItem {
    const { entry } = this;
    const item = new vscode.TreeItem(entry.branch ?? vscode.l10n.t('(detached HEAD)'), vscode.TreeItemCollapsibleState.None);
    item.id = `unassigned:${entry.path}`;
    item.description = entry.path;
    item.iconPath = new vscode.ThemeIcon(entry.prunable ? 'error' : 'repo-forked');
    item.contextValue = entry.prunable ? 'unassignedWorktree;prunable' : 'unassignedWorktree';
    item.tooltip = unassignedTooltip(entry);
    return item;
  }
}

export class ProblemNode {
  constructor(readonly problem: StoreProblem) {}

  toTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(vscode.l10n.t('Unreadable task file'), vscode.TreeItemCollapsibleState.None);
    item.description = this.problem.file;
    item.tooltip = this.problem.message;
    item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
    item.resourceUri = vscode.Uri.file(this.problem.file);
    item.command = { command: 'vscode.open', title: vscode.l10n.t('Open'), arguments: [vscode.Uri.file(this.problem.file)] };
    item.contextValue = 'problem';
    return item;
  }
}

export class TasksTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly rendered = new vscode.EventEmitter<Board>();
  /** Fired with each board the view renders (tests and the activation timing observe it). */
  readonly onDidRenderBoard = this.rendered.event;
  private readonly firstRender: Promise<number>;
  private resolveFirstRender!: (boardMs: number) => void;

  /** The agent rows last handed to the view, by run: redrawn in place as their time passes. */
  private agentNodes = new Map<AgentRun, AgentNode>();
  private readonly agentTicker: NodeJS.Timeout;

  constructor(
    private readonly session: Session,
    private readonly agents: Agents,
  ) {
    this.firstRender = new Promise((resolve) => (this.resolveFirstRender = resolve));
    this.agentTicker = setInterval(() => {
      for (const node of this.agentNodes.values()) if (!node.run.exit) this.changed.fire(node);
    }, AGENT_ROW_REFRESH_MS);
  }

  /** The rows the board shows under a task for its agents (the host tests read them). */
  agentItems(taskId: string): vscode.TreeItem[] {
    return this.agents.forTask(taskId).map((run) => new AgentNode(run).toTreeItem());
  }

  /** Resolves with how long the first board render took (our code and its two git calls). */
  whenFirstRendered(): Promise<number> {
    return this.firstRender;
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    return node.toTreeItem();
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) {
      const started = performance.now();
      try {
        return await this.rootNodes();
      } finally {
        if (this.session.state !== 'loading') this.resolveFirstRender(performance.now() - started);
      }
    }
    if (node instanceof GroupNode) return node.children;
    if (node instanceof TaskNode) {
      const children: TreeNode[] = [];
      if (node.task.worktreePath) {
        // Dirty state and ahead/behind are asked for only when a task is expanded.
        const details = node.task.worktreeState === 'present' ? await this.session.service.worktreeDetails(node.task).catch(() => undefined) : undefined;
        children.push(new WorktreeNode(node.task, details, this.session.service.mainWorktree));
      }
      return [...children, ...node.agents.map((run) => this.agentNode(run))];
    }
    return [];
  }

  private agentNode(run: AgentRun): AgentNode {
    const node = new AgentNode(run);
    this.agentNodes.set(run, node);
    return node;
  }

  private async rootNodes(): Promise<TreeNode[]> {
    if (this.session.state !== 'ready') return [];
    const board = await this.session.service.board();
    this.rendered.fire(board);
    // Rebuilt as tasks are expanded again; rows of a collapsed or vanished task are not redrawn.
    this.agentNodes = new Map();
    const nodes: TreeNode[] = [];
    for (const status of STATUS_ORDER) {
      const tasks = board.tasks.filter((task) => task.status === status);
      if (tasks.length > 0) nodes.push(new GroupNode(status, statusLabel(status), tasks.map((task) => new TaskNode(task, this.agents.forTask(task.id)))));
    }
    if (board.unassigned.length > 0) {
      nodes.push(
        new GroupNode(
          'unassigned',
          vscode.l10n.t('Unassigned Worktrees'),
          board.unassigned.map((entry) => new UnassignedWorktreeNode(entry)),
          vscode.l10n.t('Worktrees of this repository that no task owns (made outside Task Worktrees). Adopt one into a task.'),
        ),
      );
    }
    nodes.push(...board.problems.map((problem) => new ProblemNode(problem)));
    return nodes;
  }

  dispose(): void {
    clearInterval(this.agentTicker);
    this.changed.dispose();
    this.rendered.dispose();
  }
}

function detailsSummary(details: WorktreeDetails | undefined): string {
  if (!details) return '';
  const changed = details.status.files.length;
  const parts = [changed === 0 ? vscode.l10n.t('clean') : vscode.l10n.t('{0} changed', changed)];
  if (details.ahead) parts.push(`↑${details.ahead}`);
  if (details.behind) parts.push(`↓${details.behind}`);
  return parts.join(' · ');
}

function taskTooltip(task: TaskView): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escape(task.subject)}** — ${statusLabel(task.status)}\n\n`);
  if (task.description) md.appendText(`${task.description}\n\n`);
  const rows: Array<[string, string | undefined]> = [
    [vscode.l10n.t('Id'), task.id],
    [vscode.l10n.t('Branch'), task.branch],
    [vscode.l10n.t('Base'), task.baseBranch],
    [vscode.l10n.t('Worktree'), task.worktreePath && `${task.worktreePath}${task.worktreeState === 'missing' ? ` (${vscode.l10n.t('missing')})` : ''}`],
    [vscode.l10n.t('Owner'), task.owner],
    [vscode.l10n.t('Blocked by'), task.blockers.join(', ') || undefined],
    [vscode.l10n.t('Locked'), task.locked],
    [vscode.l10n.t('HEAD'), task.detached ? vscode.l10n.t('detached') : undefined],
    [vscode.l10n.t('Merged'), task.merge && `${task.merge.commit.slice(0, 10)} (${task.merge.strategy})`],
  ];
  for (const [label, value] of rows) if (value) md.appendMarkdown(`$(dash) ${label}: ${code(value)}  \n`);
  return md;
}

function detailsTooltip(task: TaskView, details: WorktreeDetails | undefined): vscode.MarkdownString {
  const md = taskTooltip(task);
  if (!details) return md;
  md.appendMarkdown(`\n${vscode.l10n.t('{0} ahead, {1} behind {2}', details.ahead, details.behind, task.baseBranch)}  \n`);
  const files = details.status.files;
  if (files.length) {
    md.appendMarkdown(`${vscode.l10n.t('Changed files ({0}):', files.length)}  \n`);
    for (const file of files.slice(0, 15)) md.appendMarkdown(`$(diff-modified) ${code(file)}  \n`);
    if (files.length > 15) md.appendMarkdown(`… ${files.length - 15}\n`);
  }
  return md;
}

function agentTooltip(run: AgentRun): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escape(run.agent)}** — ${escape(describeRun(run))}  \n`);
  md.appendMarkdown(`$(dash) ${vscode.l10n.t('Program')}: ${code(run.executable)}  \n`);
  md.appendMarkdown(`$(dash) ${vscode.l10n.t('Started')}: ${run.startedAt.toLocaleString()}  \n`);
  if (run.exit) md.appendMarkdown(`$(dash) ${vscode.l10n.t('Ended')}: ${run.exit.at.toLocaleString()} (${run.exit.reason})  \n`);
  if (!run.exit) {
    md.appendMarkdown(
      run.lastOutputAt
        ? `\n${vscode.l10n.t('Click to show its terminal.')}`
        : `\n${vscode.l10n.t('Click to show its terminal. No time of last output: the agent runs directly, without a shell, so VS Code\'s shell integration does not see it.')}`,
    );
  }
  return md;
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function escape(text: string): string {
  return text.replace(/[`\\*_{}[\]()#+\-.!|<>]/g, (char) => `\\${char}`);
}
