import { isAbsolute, relative } from 'node:path';
import * as vscode from 'vscode';
import { Board, ChangedFile, TaskChanges, TaskDetails, TaskService, TaskView, WorktreeDetailsCache } from '../core';
import { BoardFilter, boardRows, BoardSort, isFilterActive } from '../core/board';
import { WorktreeEntry } from '../core/git/porcelain';
import { canonicalPath, isInside } from '../core/repo';
import { StoreProblem } from '../core/tasks/store';
import { TaskStatus } from '../core/tasks/model';
import { AgentRun, Agents, describeRun } from './agents';
import { diffUris } from './diffUris';
import { RepositorySession, Session } from './session';
import { unassignedTooltip } from './unassigned';

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

// In progress is a filled circle: the rotating `sync` read as "syncing".
const STATUS_ICONS: Record<TaskStatus, vscode.ThemeIcon> = {
  in_progress: new vscode.ThemeIcon('circle-large-filled', new vscode.ThemeColor('charts.blue')),
  pending: new vscode.ThemeIcon('circle-large-outline'),
  completed: new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('charts.green')),
};

export type TreeNode = RepositoryNode | GroupNode | TaskNode | WorktreeNode | ChangedFileNode | AgentNode | UnassignedWorktreeNode | ProblemNode;

/** Whether a command's argument is a row of this tree (a person's gesture), not an argument object from code. */
export function isTreeNode(arg: unknown): arg is TreeNode {
  return [RepositoryNode, GroupNode, TaskNode, WorktreeNode, ChangedFileNode, AgentNode, UnassignedWorktreeNode, ProblemNode].some((kind) => arg instanceof kind);
}

/** How often running agents' rows are redrawn (their elapsed time). */
const AGENT_ROW_REFRESH_MS = 30_000;

/** The board's view, as package.json contributes it (its progress bar shows the details' first reading). */
const TASKS_VIEW_ID = 'taskWorktrees.tasks';

/**
 * A repository's first board hands its rows to the view at once; the first reading of the details
 * (a status, and a count for a branch that moved, per worktree) starts this long after the view
 * was last given rows, so the git it runs does not compete with the window drawing them.
 */
const FIRST_DETAILS_AFTER_ROWS_MS = 300;

/** Where the board's filter and sort are remembered (per workspace). */
const VIEW_STATE_KEY = 'taskWorktrees.boardView';

/** A repository's details cache, as the board uses it. */
interface RepositoryDetails {
  cache: WorktreeDetailsCache;
  stop: () => void;
  /** Its first board's tasks, while their first reading waits (see FIRST_DETAILS_AFTER_ROWS_MS). */
  waiting?: readonly TaskView[];
  /** The first reading has started: each later board is tracked as soon as it is read. */
  started?: boolean;
}

export interface BoardViewState {
  filter: BoardFilter;
  sort: BoardSort;
}

/**
 * One piece of a task row, as shown (`text`, may use arrows) and as read aloud (`spoken`, plain
 * words). Later features (the conflict forecast) add theirs with TasksTreeProvider.addRowPart.
 */
export interface RowPart {
  text: string;
  spoken?: string;
}

export type RowPartProvider = (task: TaskView, details: TaskDetails | undefined, service: TaskService | undefined) => RowPart | undefined;

/**
 * A repository's section, when the workspace has several: its rows beneath. Commands invoked on it
 * or on any row beneath act on that repository.
 */
export class RepositoryNode {
  readonly children: TreeNode[] = [];

  constructor(
    readonly service: TaskService,
    readonly name: string,
  ) {}

  /** Row ids are unique per tree: a task id may be used in two repositories. */
  scoped(id: string): string {
    return `repository:${this.service.commonDir}/${id}`;
  }

  toTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.name, vscode.TreeItemCollapsibleState.Expanded);
    item.id = `repository:${this.service.commonDir}`;
    item.iconPath = new vscode.ThemeIcon('repo');
    item.tooltip = this.service.mainWorktree;
    item.contextValue = 'repository';
    return item;
  }
}

/** A heading (a status, or the unassigned worktrees) with its rows already built. */
export class GroupNode {
  constructor(
    readonly key: string,
    readonly label: string,
    readonly children: TreeNode[],
    readonly tooltip?: string,
    readonly repository?: RepositoryNode,
  ) {}

  toTreeItem(): vscode.TreeItem {
    const item = new vscode.TreeItem(this.label, vscode.TreeItemCollapsibleState.Expanded);
    item.id = scopedId(this.repository, `group:${this.key}`);
    item.description = String(this.children.length);
    item.tooltip = this.tooltip;
    item.contextValue = 'group';
    return item;
  }
}

/** How a task row is drawn beyond the task itself. */
export interface TaskRowContext {
  /** The details cache's entry, read each time the row is drawn. */
  details?: () => TaskDetails | undefined;
  /** Whether the worktree's state is still being read for the first time (the row says so). */
  reading?: () => boolean;
  /** The task this window has open. */
  own?: boolean;
  /** The rows are not grouped by status, so each says its own. */
  showStatus?: boolean;
  extraParts?: readonly RowPartProvider[];
  /** The task's repository: commands invoked on the row act on it. */
  service?: TaskService;
  /** The section it is shown in, when the board has several repositories. */
  repository?: RepositoryNode;
}

/**
 * A task row. It says everything at a glance — status, owner, worktree state, ahead/behind,
 * merged, agent — and a click only selects it: opening is the inline button, Enter or the menu.
 */
export class TaskNode {
  constructor(
    readonly task: TaskView,
    /** This window's agents on the task, newest first. */
    readonly agents: readonly AgentRun[] = [],
    readonly row: TaskRowContext = {},
  ) {}

  get details(): TaskDetails | undefined {
    return this.row.details?.();
  }

  get service(): TaskService | undefined {
    return this.row.service;
  }

  get reading(): boolean {
    return this.row.reading?.() ?? false;
  }

  toTreeItem(): vscode.TreeItem {
    const { task, details, reading } = this;
    const agentRunning = this.agents.some((run) => !run.exit);
    const hasChild = task.worktreeState !== 'none' || this.agents.length > 0;
    const collapsible = agentRunning ? vscode.TreeItemCollapsibleState.Expanded : hasChild ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(this.row.own ? { label: task.subject, highlights: [[0, task.subject.length]] } : task.subject, collapsible);
    item.id = scopedId(this.row.repository, `task:${task.id}`);
    item.iconPath = taskIcon(task, details);
    const parts = taskRowParts(task, details, { agentRunning, own: this.row.own, showStatus: this.row.showStatus, reading });
    for (const provide of this.row.extraParts ?? []) {
      const part = provide(task, details, this.row.service);
      if (part) parts.push(part);
    }
    item.description = parts.map((part) => part.text).join(' · ');
    item.accessibilityInformation = { label: [task.subject, ...(this.row.showStatus ? [] : [statusLabel(task.status)]), ...parts.map((part) => part.spoken ?? part.text)].join(', ') };
    // Read by `when` clauses in package.json menus; `merge=ready`: the branch has commits its base lacks.
    const mergeReady = (details?.ahead ?? 0) > 0 && task.worktreeState !== 'missing';
    item.contextValue = `task;worktree=${task.worktreeState};status=${task.status}${task.branch ? ';branch' : ''};agent=${agentRunning ? 'running' : 'idle'}${mergeReady ? ';merge=ready' : ''}${this.row.own ? ';own' : ''}`;
    // The tooltip is built when hovered (resolveTreeItem), not for every row on every refresh.
    return item;
  }

  tooltip(): vscode.MarkdownString {
    return taskTooltip(this.task, this.details, this.reading);
  }
}

/** The task's worktree, under its row: where it is. A click selects it; opening is the inline button. */
export class WorktreeNode {
  constructor(
    readonly task: TaskView,
    readonly details: TaskDetails | undefined,
    /** The main worktree: paths inside it are shown relative to it (`.worktrees/<id>`). */
    readonly mainWorktree: string,
    readonly service?: TaskService,
    readonly repository?: RepositoryNode,
    /** Its state is still being read for the first time. */
    readonly reading = false,
  ) {}

  toTreeItem(): vscode.TreeItem {
    const { task, details } = this;
    const missing = task.worktreeState === 'missing' || details?.worktree === 'missing';
    const inside = relative(this.mainWorktree, task.worktreePath!);
    const label = inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : task.worktreePath!;
    // Expanding it lists the task's changed files (asked from git then, not on every refresh).
    const item = new vscode.TreeItem(label, missing ? vscode.TreeItemCollapsibleState.None : vscode.TreeItemCollapsibleState.Collapsed);
    item.id = scopedId(this.repository, `worktree:${task.id}`);
    item.resourceUri = vscode.Uri.file(task.worktreePath!);
    item.iconPath = new vscode.ThemeIcon(missing ? 'error' : details?.locked !== undefined || task.locked ? 'lock' : 'folder');
    item.description = missing ? vscode.l10n.t('missing — prune or recreate') : [task.branch, worktreeState(task, details, this.reading)?.text].filter(Boolean).join(' · ');
    item.contextValue = missing ? 'worktree;missing' : 'worktree';
    return item;
  }

  tooltip(): vscode.MarkdownString | string {
    if (this.task.worktreeState === 'missing' || this.details?.worktree === 'missing') {
      return vscode.l10n.t('The task records this worktree but git does not have it (deleted by hand?). Prune to unbind the task; its branch is kept.');
    }
    return taskTooltip(this.task, this.details, this.reading);
  }
}

/** A file the task changed against its merge-base (committed or not); a click opens its diff. */
export class ChangedFileNode {
  constructor(
    /** The worktree row it is listed under (its parent in the tree). */
    readonly worktree: WorktreeNode,
    readonly changes: TaskChanges,
    readonly file: ChangedFile,
  ) {}

  toTreeItem(): vscode.TreeItem {
    const { file } = this;
    const [resource, original, modified] = diffUris(this.changes, file);
    const slash = file.path.lastIndexOf('/');
    const item = new vscode.TreeItem(file.path.slice(slash + 1), vscode.TreeItemCollapsibleState.None);
    item.id = scopedId(this.worktree.repository, `file:${this.worktree.task.id}:${file.path}`);
    item.resourceUri = resource;
    item.description = [slash > 0 ? file.path.slice(0, slash) : undefined, file.status, file.uncommitted ? vscode.l10n.t('uncommitted') : undefined].filter(Boolean).join(' · ');
    item.tooltip = file.originalPath ? vscode.l10n.t('{0} (renamed from {1})', file.path, file.originalPath) : file.path;
    item.command = { command: 'vscode.diff', title: vscode.l10n.t('Open Changes'), arguments: [original, modified, vscode.l10n.t('{0} (task changes)', file.path)] };
    item.contextValue = 'changedFile';
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
  constructor(
    readonly entry: WorktreeEntry,
    readonly service?: TaskService,
  ) {}

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
  /**
   * Fired with each board the view renders, once its rows are built (tests, the activation timing
   * and the palette's context keys observe it); with several repositories, their boards as one.
   */
  readonly onDidRenderBoard = this.rendered.event;
  private readonly renderedEach = new vscode.EventEmitter<ReadonlyArray<{ service: TaskService; board: Board }>>();
  /** The same moment, each repository's board apart (the forecast rows are per repository). */
  readonly onDidRenderRepositories = this.renderedEach.event;
  private readonly firstRender: Promise<number>;
  private resolveFirstRender!: (boardMs: number) => void;

  /** The agent rows last handed to the view, by run: redrawn in place as their time passes. */
  private agentNodes = new Map<AgentRun, AgentNode>();
  private readonly agentTicker: NodeJS.Timeout;
  /** The task rows last handed to the view, by repository and task id, with the heading each sits under. */
  private taskNodes = new Map<string, { node: TaskNode; parent?: GroupNode | RepositoryNode }>();
  /** One details cache per repository. */
  private details = new Map<TaskService, RepositoryDetails>();
  private firstDetailsTimer: NodeJS.Timeout | undefined;
  /**
   * The boards read once, as the window's repositories opened, before the view asked: its first rows
   * are drawn from them at once, unless the board changed since (any change drops them).
   */
  private readAhead: { repositories: readonly RepositorySession[]; boards: Promise<Board[]> } | undefined;
  private readAheadTaken = false;
  /** Rows drawn from boards read ahead: read again once drawn (see startDetails), and redrawn if they differ. */
  /** What showViewState() last sent to the workbench. */
  private sentFilterActive: boolean | undefined;
  private sentToView: { description: string | undefined; message: string | undefined } | undefined;
  private toConfirm: { repositories: readonly RepositorySession[]; boards: readonly Board[] } | undefined;
  private readonly sessionChanges: vscode.Disposable;
  private readonly extraParts: RowPartProvider[] = [];
  private view: vscode.TreeView<TreeNode> | undefined;
  private viewState: BoardViewState;

  constructor(
    private readonly session: Session,
    private readonly agents: Agents,
    private readonly memento?: vscode.Memento,
  ) {
    this.viewState = readViewState(memento);
    this.firstRender = new Promise((resolve) => (this.resolveFirstRender = resolve));
    this.sessionChanges = session.onDidChange(() => this.readBoardsAhead());
    this.agentTicker = setInterval(() => {
      for (const node of this.agentNodes.values()) if (!node.run.exit) this.changed.fire(node);
    }, AGENT_ROW_REFRESH_MS);
  }

  /** The tree view that shows this provider: its description tells the active filter; reveal() selects in it. */
  attach(view: vscode.TreeView<TreeNode>): void {
    this.view = view;
    this.showViewState();
  }

  /** The rows the board shows under a task for its agents (the host tests read them). */
  agentItems(taskId: string): vscode.TreeItem[] {
    return this.agents.forTask(taskId).map((run) => new AgentNode(run).toTreeItem());
  }

  /** A later feature's piece of every task row (e.g. the conflict forecast), after the built-in ones. */
  addRowPart(provider: RowPartProvider): vscode.Disposable {
    this.extraParts.push(provider);
    this.refresh();
    return new vscode.Disposable(() => {
      this.extraParts.splice(this.extraParts.indexOf(provider), 1);
      this.refresh();
    });
  }

  /** The task row as drawn now (the host tests read it); undefined until the board shows the task. */
  taskItem(taskId: string, service?: TaskService): vscode.TreeItem | undefined {
    return this.shownTask(taskId, service)?.node.toTreeItem();
  }

  /** The task row itself, as commands receive it when invoked on the row (the host tests pass it). */
  taskNode(taskId: string, service?: TaskService): TaskNode | undefined {
    return this.shownTask(taskId, service)?.node;
  }

  /** Details of the board's tasks, as the rows show them. */
  taskDetails(taskId: string, service?: TaskService): TaskDetails | undefined {
    const node = this.shownTask(taskId, service)?.node;
    return node?.service && this.details.get(node.service)?.cache.get(taskId);
  }

  /** The row of the task in `service`'s repository; without it, in any (the first shown). */
  private shownTask(taskId: string, service?: TaskService): { node: TaskNode; parent?: GroupNode | RepositoryNode } | undefined {
    if (service) return this.taskNodes.get(taskKey(service, taskId));
    for (const shown of this.taskNodes.values()) if (shown.node.task.id === taskId) return shown;
    return undefined;
  }

  get state(): BoardViewState {
    return this.viewState;
  }

  /** Sets the filter and sort, remembers them for this workspace and redraws. */
  async setState(state: BoardViewState): Promise<void> {
    this.viewState = { filter: { ...state.filter }, sort: state.sort };
    await this.memento?.update(VIEW_STATE_KEY, this.viewState);
    this.showViewState();
    this.refresh();
  }

  /**
   * Selects a task's row (after it was created, say), redrawing first when the board does not show it
   * yet. False when it cannot be shown: no such task, or the filter hides it.
   */
  async reveal(taskId: string, service?: TaskService): Promise<boolean> {
    if (!this.shownTask(taskId, service)) {
      await this.rootNodes();
      this.refresh();
    }
    const shown = this.shownTask(taskId, service);
    if (!shown || !this.view) return false;
    await this.view.reveal(shown.node, { select: true, focus: false, expand: false });
    return true;
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

  async resolveTreeItem(item: vscode.TreeItem, node: TreeNode): Promise<vscode.TreeItem> {
    if (node instanceof TaskNode) item.tooltip = node.tooltip();
    if (node instanceof WorktreeNode) item.tooltip = await this.worktreeTooltip(node);
    return item;
  }

  /** The worktree's tooltip, with its disk use: measured by the core off the UI's path and cached while its HEAD stays. */
  private async worktreeTooltip(node: WorktreeNode): Promise<vscode.MarkdownString | string> {
    const tooltip = node.tooltip();
    if (typeof tooltip === 'string' || !node.task.worktreePath) return tooltip;
    try {
      const usage = await (node.service ?? this.session.service).diskUsage(node.task.worktreePath);
      tooltip.appendMarkdown(`\n\n${vscode.l10n.t('Disk: {0} in {1} files (without .git)', formatBytes(usage.bytes), usage.files)}`);
    } catch {
      // A worktree that vanished while hovered: the tooltip without its size.
    }
    return tooltip;
  }

  getParent(node: TreeNode): TreeNode | undefined {
    if (node instanceof TaskNode) return this.shownTask(node.task.id, node.service)?.parent;
    if (node instanceof GroupNode) return node.repository;
    if (node instanceof WorktreeNode) return this.shownTask(node.task.id, node.service)?.node;
    if (node instanceof AgentNode) return this.shownTask(node.run.taskId, this.session.repositories.find(({ service }) => service.mainWorktree === node.run.repository)?.service)?.node;
    if (node instanceof ChangedFileNode) return node.worktree;
    return undefined;
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
    if (node instanceof GroupNode || node instanceof RepositoryNode) {
      // The view asks for the rows under a heading after drawing the headings: the details wait for these too.
      this.startDetailsAfterRows();
      return node.children;
    }
    if (node instanceof TaskNode) {
      const children: TreeNode[] = [];
      const service = node.service ?? this.session.service;
      if (node.task.worktreePath) children.push(new WorktreeNode(node.task, node.details, service.mainWorktree, service, node.row.repository, node.reading));
      return [...children, ...node.agents.map((run) => this.agentNode(run))];
    }
    if (node instanceof WorktreeNode) {
      const changes = await (node.service ?? this.session.service).changedFiles(node.task.id);
      return changes.files.map((file) => new ChangedFileNode(node, changes, file));
    }
    return [];
  }

  private agentNode(run: AgentRun): AgentNode {
    const node = new AgentNode(run);
    this.agentNodes.set(run, node);
    return node;
  }

  /** Once, when the repositories first open: their boards, read while the view is not asking yet. Any later change drops them. */
  private readBoardsAhead(): void {
    if (this.readAheadTaken) {
      this.readAhead = undefined;
      return;
    }
    if (this.session.state !== 'ready') return;
    this.readAheadTaken = true;
    const repositories = this.session.repositories;
    this.readAhead = { repositories, boards: Promise.all(repositories.map(({ service }) => service.board())) };
    // A failed read ahead costs nothing more: the view reads the boards itself.
    this.readAhead.boards.catch(() => undefined);
  }

  private async rootNodes(): Promise<TreeNode[]> {
    if (this.session.state !== 'ready') return [];
    const repositories = this.session.repositories;
    const readAhead = this.readAhead?.repositories === repositories ? await this.readAhead.boards.catch(() => undefined) : undefined;
    this.readAhead = undefined;
    this.toConfirm = readAhead && { repositories, boards: readAhead };
    const boards = readAhead ?? (await Promise.all(repositories.map(({ service }) => service.board())));
    this.closeDetailsOfOthers(repositories.map(({ service }) => service));
    // Rebuilt as tasks are expanded again; rows of a collapsed or vanished task are not redrawn.
    this.agentNodes = new Map();
    this.taskNodes = new Map();
    let total = 0;
    let shown = 0;
    const sections = repositories.map(({ service, name }, index) => {
      // With one repository the board is its rows, with no section above them.
      const section = repositories.length > 1 ? new RepositoryNode(service, name) : undefined;
      const rows = this.repositoryRows(service, boards[index], section);
      total += boards[index].tasks.length;
      shown += rows.shown;
      section?.children.push(...rows.nodes);
      return section ?? rows.nodes;
    });
    this.showViewState(total, shown);
    this.startDetailsAfterRows();
    this.rendered.fire(boards.length === 1 ? boards[0] : combined(boards));
    this.renderedEach.fire(repositories.map(({ service }, index) => ({ service, board: boards[index] })));
    return sections.flat();
  }

  /** A repository's rows: its tasks (grouped, filtered and sorted as the view says), unassigned worktrees and unreadable files. */
  private repositoryRows(service: TaskService, board: Board, repository: RepositoryNode | undefined): { nodes: TreeNode[]; shown: number } {
    const details = this.detailsFor(service);
    const { cache } = details;
    if (details.started) cache.track(board.tasks);
    const { filter, sort } = this.viewState;
    const groups = boardRows(board, (id) => cache.get(id), { filter, sort });
    if (!details.started) {
      // The first reading goes down the rows as shown, so the ones in view fill in first; hidden ones last.
      const shownInOrder = groups.flatMap((group) => group.tasks);
      const ids = new Set(shownInOrder.map((task) => task.id));
      details.waiting = [...shownInOrder, ...board.tasks.filter((task) => !ids.has(task.id))];
    }
    // Task worktree paths are canonical (real paths); the window's folder may have been opened through a link.
    const folder = this.session.folder?.fsPath;
    const ownFolder = folder === undefined ? undefined : canonicalPath(folder);
    const nodes: TreeNode[] = [];
    const taskNode = (task: TaskView, parent?: GroupNode): TaskNode => {
      const own = ownFolder !== undefined && task.worktreePath !== undefined && isInside(ownFolder, task.worktreePath);
      const node = new TaskNode(task, this.agents.forTask(task.id, service), { details: () => cache.get(task.id), reading: () => cache.reading(task.id), own, showStatus: sort !== 'status', extraParts: this.extraParts, service, repository });
      this.taskNodes.set(taskKey(service, task.id), { node, parent: parent ?? repository });
      return node;
    };
    let shown = 0;
    for (const group of groups) {
      shown += group.tasks.length;
      if (group.key === 'all') {
        nodes.push(...group.tasks.map((task) => taskNode(task)));
        continue;
      }
      const children: TaskNode[] = [];
      const heading = new GroupNode(group.key, statusLabel(group.key), children, undefined, repository);
      for (const task of group.tasks) children.push(taskNode(task, heading));
      nodes.push(heading);
    }
    if (board.unassigned.length > 0 && !isFilterActive(filter)) {
      nodes.push(
        new GroupNode(
          'unassigned',
          vscode.l10n.t('Unassigned Worktrees'),
          board.unassigned.map((entry) => new UnassignedWorktreeNode(entry, service)),
          vscode.l10n.t('Worktrees of this repository that no task owns (made outside Task Worktrees). Adopt one into a task.'),
          repository,
        ),
      );
    }
    nodes.push(...board.problems.map((problem) => new ProblemNode(problem)));
    return { nodes, shown };
  }

  /** One cache per repository; its changes redraw only the rows of the tasks that changed. */
  private detailsFor(service: TaskService): RepositoryDetails {
    const kept = this.details.get(service);
    if (kept) return kept;
    const cache = service.createDetailsCache();
    const stop = cache.onDidChange((taskIds) => this.detailsChanged(service, cache, taskIds));
    const created: RepositoryDetails = { cache, stop };
    this.details.set(service, created);
    return created;
  }

  /** (Re)arms the first reading of the details of the boards waiting for it: it starts once the view has had time to draw the rows it was given. */
  private startDetailsAfterRows(): void {
    if (![...this.details.values()].some((details) => details.waiting)) return;
    clearTimeout(this.firstDetailsTimer);
    this.firstDetailsTimer = setTimeout(() => this.startDetails(), FIRST_DETAILS_AFTER_ROWS_MS);
  }

  private startDetails(): void {
    const toConfirm = this.toConfirm;
    this.toConfirm = undefined;
    if (toConfirm) return void this.confirmBoards(toConfirm);
    const started: WorktreeDetailsCache[] = [];
    for (const details of this.details.values()) {
      if (!details.waiting) continue;
      details.cache.track(details.waiting);
      details.waiting = undefined;
      details.started = true;
      started.push(details.cache);
    }
    // The view's progress bar runs while the worktrees are read; each row fills in as its details come.
    void vscode.window.withProgress({ location: { viewId: TASKS_VIEW_ID } }, () => Promise.all(started.map((cache) => cache.settled())));
  }

  /** The rows were drawn from boards read ahead: read them again; the same, the details start; else the view is redrawn (and they start after that). */
  private async confirmBoards(shown: { repositories: readonly RepositorySession[]; boards: readonly Board[] }): Promise<void> {
    const boards = await Promise.all(shown.repositories.map(({ service }) => service.board())).catch(() => undefined);
    if (boards && JSON.stringify(boards) === JSON.stringify(shown.boards)) this.startDetails();
    else this.refresh();
  }

  private detailsChanged(service: TaskService, cache: WorktreeDetailsCache, taskIds: readonly string[]): void {
    // A worktree gone, or an order that depends on commits: the board itself changed, read it again.
    const whole = this.viewState.sort === 'activity' || taskIds.some((id) => cache.get(id)?.worktree !== this.taskNodes.get(taskKey(service, id))?.node.task.worktreeState);
    if (whole) return this.refresh();
    for (const id of taskIds) {
      const shown = this.taskNodes.get(taskKey(service, id));
      if (shown) this.changed.fire(shown.node);
    }
  }

  /** The view's description names the active filter (and a sort other than by status); its message says when nothing matches. */
  private showViewState(total?: number, shown?: number): void {
    const { filter, sort } = this.viewState;
    const parts = describeFilter(filter);
    if (sort !== 'status') parts.push(sortLabel(sort));
    const description = parts.length > 0 ? parts.join(' · ') : undefined;
    const message =
      isFilterActive(filter) && total !== undefined && shown !== undefined
        ? shown === 0 && total > 0
          ? vscode.l10n.t('No task matches the filter ({0} tasks hidden). Clear the filter to see them.', total)
          : vscode.l10n.t('Filtered: {0} of {1} tasks shown.', shown, total)
        : undefined;
    // Each of these is a message to the workbench, which lays the view out again: sent only when it changes,
    // not on every render (the first one comes while the rows are being drawn).
    const filterActive = isFilterActive(filter);
    if (this.sentFilterActive !== filterActive) void vscode.commands.executeCommand('setContext', 'taskWorktrees.filterActive', filterActive);
    this.sentFilterActive = filterActive;
    if (!this.view) return;
    const sent = this.sentToView;
    this.sentToView = { description, message };
    if (!sent || sent.description !== description) this.view.description = description;
    if (!sent || sent.message !== message) this.view.message = message;
  }

  /** The caches of repositories no longer in the workspace (or reopened after a restart) go. */
  private closeDetailsOfOthers(services: readonly TaskService[]): void {
    for (const [service, { cache, stop }] of this.details) {
      if (services.includes(service)) continue;
      stop();
      cache.dispose();
      this.details.delete(service);
    }
  }

  dispose(): void {
    clearInterval(this.agentTicker);
    clearTimeout(this.firstDetailsTimer);
    this.sessionChanges.dispose();
    this.closeDetailsOfOthers([]);
    this.changed.dispose();
    this.rendered.dispose();
    this.renderedEach.dispose();
  }
}

/** Several repositories' boards as one, for what reads the board as a whole (the palette's context keys). */
function combined(boards: readonly Board[]): Board {
  return {
    tasks: boards.flatMap((board) => board.tasks),
    unassigned: boards.flatMap((board) => board.unassigned),
    problems: boards.flatMap((board) => board.problems),
    mainWorktree: boards[0]?.mainWorktree ?? '',
  };
}

function scopedId(repository: RepositoryNode | undefined, id: string): string {
  return repository ? repository.scoped(id) : id;
}

function taskKey(service: TaskService, taskId: string): string {
  return `${service.commonDir}\0${taskId}`;
}

export function sortLabel(sort: BoardSort): string {
  switch (sort) {
    case 'status':
      return vscode.l10n.t('Sorted by status');
    case 'activity':
      return vscode.l10n.t('Sorted by recent activity');
    case 'name':
      return vscode.l10n.t('Sorted by name');
  }
}

function describeFilter(filter: BoardFilter): string[] {
  const parts: string[] = [];
  if (filter.text?.trim()) parts.push(vscode.l10n.t('"{0}"', filter.text.trim()));
  if (filter.statuses?.length) parts.push(filter.statuses.map(statusLabel).join(', '));
  if (filter.owner !== undefined) parts.push(filter.owner ? `@${filter.owner}` : vscode.l10n.t('nobody\'s'));
  return parts.length > 0 ? [vscode.l10n.t('Filter: {0}', parts.join(', '))] : [];
}

function readViewState(memento: vscode.Memento | undefined): BoardViewState {
  const stored = memento?.get<Partial<BoardViewState>>(VIEW_STATE_KEY);
  const sort = stored?.sort === 'activity' || stored?.sort === 'name' ? stored.sort : 'status';
  const filter = stored?.filter && typeof stored.filter === 'object' ? stored.filter : {};
  return {
    sort,
    filter: {
      text: typeof filter.text === 'string' ? filter.text : undefined,
      statuses: Array.isArray(filter.statuses) ? filter.statuses.filter((status): status is TaskStatus => ['pending', 'in_progress', 'completed'].includes(status)) : undefined,
      owner: typeof filter.owner === 'string' ? filter.owner : undefined,
    },
  };
}

function taskIcon(task: TaskView, details: TaskDetails | undefined): vscode.ThemeIcon {
  if (task.worktreeState === 'missing' || details?.worktree === 'missing') return new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
  if ((details?.dirty?.conflicted ?? 0) > 0) return new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.errorForeground'));
  if (task.merge) return new vscode.ThemeIcon('git-merge', new vscode.ThemeColor('charts.purple'));
  if (task.blockers.length > 0 && task.status !== 'completed') return new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('list.deemphasizedForeground'));
  if (task.ready) return new vscode.ThemeIcon('circle-large-outline', new vscode.ThemeColor('charts.green'));
  return STATUS_ICONS[task.status];
}

/** The worktree's state in a word or two: clean, N changed, N conflicted, locked, missing; "…" while it is first read. */
function worktreeState(task: TaskView, details: TaskDetails | undefined, reading: boolean): RowPart | undefined {
  if (task.worktreeState === 'none') return { text: vscode.l10n.t('no worktree') };
  if (task.worktreeState === 'missing' || details?.worktree === 'missing') return { text: vscode.l10n.t('worktree missing') };
  const locked = details?.locked ?? task.locked;
  const dirty = details?.dirty;
  const words: string[] = [];
  if (dirty) {
    if (dirty.conflicted > 0) words.push(vscode.l10n.t('{0} conflicted', dirty.conflicted));
    const changed = dirty.changed + dirty.untracked;
    if (changed > 0) words.push(vscode.l10n.t('{0} changed', changed));
    if (words.length === 0) words.push(vscode.l10n.t('clean'));
  }
  if (locked !== undefined) words.push(vscode.l10n.t('locked'));
  if (!dirty && reading) return { text: ['…', ...words].join(', '), spoken: [vscode.l10n.t('reading the worktree\'s state'), ...words].join(', ') };
  return words.length > 0 ? { text: words.join(', ') } : undefined;
}

function aheadBehind(details: TaskDetails | undefined): RowPart | undefined {
  const ahead = details?.ahead ?? 0;
  const behind = details?.behind ?? 0;
  if (!ahead && !behind) return undefined;
  const text = [ahead ? `↑${ahead}` : '', behind ? `↓${behind}` : ''].filter(Boolean).join(' ');
  const spoken = [ahead ? vscode.l10n.t('{0} ahead', ahead) : '', behind ? vscode.l10n.t('{0} behind', behind) : ''].filter(Boolean).join(', ');
  return { text, spoken };
}

/** Everything a task row says after its subject, in order. */
export function taskRowParts(task: TaskView, details: TaskDetails | undefined, row: { agentRunning: boolean; own?: boolean; showStatus?: boolean; reading?: boolean }): RowPart[] {
  const waiting = task.status === 'completed' ? undefined : task.blockers.length > 0 ? vscode.l10n.t('blocked by {0}', task.blockers.join(', ')) : task.ready ? vscode.l10n.t('ready') : undefined;
  const parts: Array<RowPart | undefined> = [
    row.own ? { text: vscode.l10n.t('this window') } : undefined,
    row.showStatus ? { text: statusLabel(task.status) } : undefined,
    task.owner ? { text: `@${task.owner}`, spoken: vscode.l10n.t('owner {0}', task.owner) } : undefined,
    task.merge ? { text: vscode.l10n.t('merged') } : undefined,
    task.branchMissing ? { text: vscode.l10n.t('branch deleted') } : undefined,
    worktreeState(task, details, row.reading ?? false),
    aheadBehind(details),
    waiting ? { text: waiting } : undefined,
    row.agentRunning ? { text: vscode.l10n.t('agent running') } : undefined,
  ];
  return parts.filter((part): part is RowPart => part !== undefined);
}

function taskTooltip(task: TaskView, details: TaskDetails | undefined, reading: boolean): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escape(task.subject)}** — ${statusLabel(task.status)}\n\n`);
  if (task.description) md.appendText(`${task.description}\n\n`);
  const rows: Array<[string, string | undefined]> = [
    [vscode.l10n.t('Id'), task.id],
    [vscode.l10n.t('Branch'), task.branch && (task.branchMissing ? vscode.l10n.t('{0} (branch deleted)', task.branch) : task.branch)],
    [vscode.l10n.t('Base'), task.baseBranch],
    [vscode.l10n.t('Worktree'), task.worktreePath && `${task.worktreePath}${task.worktreeState === 'missing' || details?.worktree === 'missing' ? ` (${vscode.l10n.t('missing')})` : ''}`],
    [vscode.l10n.t('Owner'), task.owner],
    [vscode.l10n.t('Blocked by'), task.blockers.join(', ') || undefined],
    [vscode.l10n.t('Locked'), details?.locked ?? task.locked],
    [vscode.l10n.t('HEAD'), task.detached ? vscode.l10n.t('detached') : undefined],
    [vscode.l10n.t('Last commit'), details?.lastCommit && `${details.lastCommit.subject} (${new Date(details.lastCommit.date).toLocaleString()})`],
    [vscode.l10n.t('Merged'), task.merge && `${task.merge.commit.slice(0, 10)} (${task.merge.strategy})`],
  ];
  for (const [label, value] of rows) if (value) md.appendMarkdown(`$(dash) ${label}: ${code(value)}  \n`);
  if (reading && !details?.dirty && task.worktreeState === 'present') md.appendMarkdown(`\n$(loading~spin) ${vscode.l10n.t('Reading the worktree\'s state…')}  \n`);
  if (details?.ahead !== undefined) md.appendMarkdown(`\n${vscode.l10n.t('{0} ahead, {1} behind {2}', details.ahead, details.behind ?? 0, task.baseBranch)}  \n`);
  const dirty = details?.dirty;
  if (dirty && dirty.files.length > 0) {
    const total = dirty.changed + dirty.untracked + dirty.conflicted;
    md.appendMarkdown(`${vscode.l10n.t('Uncommitted files ({0}):', total)}  \n`);
    for (const file of dirty.files.slice(0, 15)) md.appendMarkdown(`${FILE_ICONS[file.kind]} ${code(file.path)} ${fileKindLabel(file.kind)}  \n`);
    if (total > 15) md.appendMarkdown(`… ${total - 15}\n`);
  }
  return md;
}

const FILE_ICONS = { changed: '$(diff-modified)', untracked: '$(diff-added)', conflicted: '$(warning)' } as const;

function fileKindLabel(kind: keyof typeof FILE_ICONS): string {
  switch (kind) {
    case 'changed':
      return vscode.l10n.t('changed');
    case 'untracked':
      return vscode.l10n.t('new');
    case 'conflicted':
      return vscode.l10n.t('conflicted');
  }
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

function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
