import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, promises as fs, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TaskWorktreesError } from '../errors';
import { EventLog } from './events';
import { isTaskId, uniqueId, validateTaskId } from './ids';
import { DirectoryLock, LockOptions } from './lock';
import { AgentRecord, RepositoryConfig, Task, WindowRecord } from './model';
import { agentRecordProblem, repositoryConfigProblem, storeDamage, taskRecordProblem, windowRecordProblem } from './records';

export interface StoreProblem {
  file: string;
  message: string;
}

export interface StoreSnapshot {
  tasks: Task[];
  /** Files that could not be read as tasks (or as the config): shown to the user, never overwritten. */
  problems: StoreProblem[];
}

export type NewTask = Omit<Task, 'id' | 'createdAt' | 'updatedAt'>;

const TASK_FILE_SUFFIX = '.json';

/**
 * Tasks live under the repository's common git dir, so every worktree (every window) sees one
 * board and nothing shows in `git status`. One JSON file per task, named by its id, written
 * atomically (temp + rename); every mutation holds a cross-process lock, checks it still does
 * before each write, and appends to events.jsonl. A mutation that reports failure has changed
 * nothing. Reads never create the store directory.
 */
export class TaskStore {
  readonly tasksDir: string;
  readonly configFile: string;
  readonly agentsDir: string;
  readonly windowsDir: string;
  readonly events: EventLog;
  private readonly lock: DirectoryLock;
  /**
   * Task files already parsed, by the file's inode, size and mtime: every write replaces the file
   * (temp + rename, a new inode), so an unchanged key is an unchanged file and load() stats it
   * instead of reading and checking it again.
   */
  private readonly parsed = new Map<string, { key: string; task: Task }>();

  constructor(
    readonly dir: string,
    lockOptions: LockOptions = {},
  ) {
    this.tasksDir = join(dir, 'tasks');
    this.configFile = join(dir, 'config.json');
    this.agentsDir = join(dir, 'agents');
    this.windowsDir = join(dir, 'windows');
    this.events = new EventLog(join(dir, 'events.jsonl'));
    this.lock = new DirectoryLock(join(dir, 'lock'), lockOptions);
  }

  static dirFor(commonDir: string): string {
    return join(commonDir, 'task-worktrees');
  }

  /**
   * Reads every task file. Synchronously on purpose: for 200 small files the promise API costs about
   * 27 ms of thread-pool round trips where plain reads take about 5 ms (measured by the benchmark).
   */
  async load(): Promise<StoreSnapshot> {
    const tasks: Task[] = [];
    const problems: StoreProblem[] = [];
    const names = await this.taskFileNames().catch((error: Error) => {
      // The board still shows what it can (the problem) rather than fail as a whole.
      problems.push({ file: this.tasksDir, message: error.message });
      return [];
    });
    if (this.parsed.size > names.length) this.forgetParsed(new Set(names.map((name) => join(this.tasksDir, name))));
    for (const name of names) {
      const file = join(this.tasksDir, name);
      const id = name.slice(0, -TASK_FILE_SUFFIX.length);
      if (!isTaskId(id)) {
        problems.push({ file, message: `${file} is not named by a task id; it is kept as it is.` });
        continue;
      }
      try {
        tasks.push(this.readTaskFile(file, id));
      } catch (error) {
        // A file deleted between the listing and the read is simply no longer a task.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') problems.push({ file, message: (error as Error).message });
      }
    }
    const { problem } = this.readConfigFile();
    if (problem) problems.push(problem);
    tasks.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    return { tasks, problems };
  }

  private forgetParsed(files: ReadonlySet<string>): void {
    for (const file of this.parsed.keys()) if (!files.has(file)) this.parsed.delete(file);
  }

  private readTaskFile(file: string, id: string): Task {
    const stats = statSync(file);
    const key = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    let known = this.parsed.get(file);
    if (known?.key !== key) {
      known = { key, task: parseTask(file, readFileSync(file, 'utf8'), id) };
      this.parsed.set(file, known);
    }
    // A copy: callers may change what they are given.
    const task = { ...known.task, blockedBy: [...known.task.blockedBy] };
    if (task.merge) task.merge = { ...task.merge };
    return task;
  }

  async get(id: string): Promise<Task> {
    validateTaskId(id);
    return parseTask(this.fileOf(id), await this.readTaskText(id), id);
  }

  /**
   * Runs `fn` holding the store's cross-process lock. Store mutations inside `fn`'s call chain use
   * this hold instead of waiting for it, so an operation can keep the lock around its git steps and
   * its store writes alike.
   */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.lock.isHeldHere()) mkdirSync(this.dir, { recursive: true });
    return this.lock.run(fn);
  }

  /** LockLost unless the caller's call chain still holds the lock: check before each step that changes anything. */
  async assertHeld(): Promise<void> {
    await this.lock.assertHeld();
  }

  /** Creates a task with a fresh id derived from its subject; `isTaken` can veto ids (e.g. existing branches). */
  /** The id create() would give a task with this subject now (stable while the caller holds the lock). */
  async nextId(subject: string, isTaken: (id: string) => boolean = () => false): Promise<string> {
    const existing = new Set((await this.taskFileNames()).map((name) => name.slice(0, -TASK_FILE_SUFFIX.length)));
    return uniqueId(subject, (candidate) => existing.has(candidate) || isTaken(candidate));
  }

  /** Makes the task under a free id made from its subject, or under `requestedId` (refused when a task has it). */
  async create(fields: NewTask, isTaken: (id: string) => boolean = () => false, requestedId?: string): Promise<Task> {
    return this.withLock(async () => {
      await fs.mkdir(this.tasksDir, { recursive: true }).catch((error) => {
        throw storeDamage(error, this.tasksDir, 'the folder of task files');
      });
      const id = requestedId ?? (await this.nextId(fields.subject, isTaken));
      if (requestedId !== undefined && (await this.taskFileNames()).includes(`${requestedId}${TASK_FILE_SUFFIX}`)) {
        throw new TaskWorktreesError('TaskIdTaken', `A task "${requestedId}" already exists.`);
      }
      const now = new Date().toISOString();
      const task: Task = { ...fields, id, createdAt: now, updatedAt: now };
      refuseInvalidRecord(task, id, 'The new task');
      const file = this.fileOf(id);
      await this.writeFile(file, taskText(task));
      await this.logOrUndo([{ type: 'task.created', taskId: id, detail: { subject: task.subject } }], () => fs.rm(file));
      return task;
    });
  }

  /**
   * Read-modify-write of one task under the lock; `change` returns the event to log, and with `then`
   * events of the same task to log right after it, in the same write.
   */
  async update(id: string, change: (task: Task) => { type: string; detail?: Record<string, unknown>; then?: Array<{ type: string; detail?: Record<string, unknown> }> }): Promise<Task> {
    validateTaskId(id);
    return this.withLock(async () => {
      const file = this.fileOf(id);
      const before = await this.readTaskText(id);
      const task = parseTask(file, before, id);
      const event = change(task);
      task.updatedAt = new Date().toISOString();
      refuseInvalidRecord(task, id, `The change to task "${id}"`);
      await this.writeFile(file, taskText(task));
      const events = [event, ...(event.then ?? [])].map(({ type, detail }) => ({ type, taskId: id, detail }));
      await this.logOrUndo(events, () => this.writeFile(file, before));
      return task;
    });
  }

  async delete(id: string): Promise<void> {
    validateTaskId(id);
    await this.withLock(async () => {
      await this.get(id); // a corrupt file is kept as it is
      const file = this.fileOf(id);
      // Moved aside, not removed, until the deletion is logged: it can still be put back.
      const aside = tempFileFor(file);
      await this.lock.assertHeld();
      await fs.rename(file, aside);
      await this.logOrUndo([{ type: 'task.deleted', taskId: id }], () => fs.rename(aside, file));
      await fs.rm(aside);
    });
  }

  /** Logs an event that changes no task (e.g. worktree.create.before) in order with the others. */
  async log(type: string, taskId: string | undefined, detail?: Record<string, unknown>): Promise<void> {
    await this.withLock(async () => {
      await this.lock.assertHeld();
      await this.events.append(type, taskId, detail);
    });
  }

  /** Records a running agent (one file per process), so removals and merges in any process see it. */
  async recordAgent(record: AgentRecord): Promise<void> {
    await this.withLock(async () => {
      await fs.mkdir(this.agentsDir, { recursive: true });
      await this.writeFile(this.agentFile(record.pid, record.host), `${JSON.stringify(record)}\n`);
    });
  }

  async clearAgent(pid: number, host: string): Promise<void> {
    await this.withLock(() => fs.rm(this.agentFile(pid, host), { force: true }));
  }

  /** The recorded agents; whether each still runs is the reader's to judge (by its pid). */
  readAgents(): AgentRecord[] {
    return readRecordFiles(this.agentsDir, agentRecordProblem);
  }

  /**
   * Records (again: the heartbeat) that this process's window has a worktree open. Written without
   * the repository lock: each record has one writer, its own process, and the atomic rename is all
   * it needs; a heartbeat must not wait behind a long merge nor fail because one holds the lock.
   */
  async recordWindow(record: WindowRecord): Promise<void> {
    const problem = windowRecordProblem(record);
    if (problem) throw new TaskWorktreesError('InvalidInput', `A window record needs valid fields: ${problem}.`);
    await fs.mkdir(this.windowsDir, { recursive: true });
    const file = this.recordFile(this.windowsDir, record.pid, record.host);
    const temp = tempFileFor(file);
    try {
      await fs.writeFile(temp, `${JSON.stringify(record)}\n`);
      await fs.rename(temp, file);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
  }

  async clearWindow(pid: number, host: string): Promise<void> {
    await fs.rm(this.recordFile(this.windowsDir, pid, host), { force: true });
  }

  /** Deletes records of windows that are gone (read by readWindows: each knows its file). */
  async deleteWindowRecords(records: readonly WindowRecord[]): Promise<void> {
    // Only ever a file of the windows folder, whatever path a caller's record names.
    await Promise.all(records.map((record) => record.file && fs.rm(join(this.windowsDir, basename(record.file)), { force: true })));
  }

  /** The recorded windows; whether each is still open is the reader's to judge (pid and heartbeat). */
  readWindows(): WindowRecord[] {
    return readRecordFiles(this.windowsDir, windowRecordProblem);
  }

  private agentFile(pid: number, host: string): string {
    return this.recordFile(this.agentsDir, pid, host);
  }

  private recordFile(dir: string, pid: number, host: string): string {
    // The pid names the file: only a positive integer can, so nothing lands outside the folder.
    if (!Number.isInteger(pid) || pid <= 0) throw new TaskWorktreesError('InvalidInput', `A process id is a positive integer, not ${JSON.stringify(pid)}.`);
    return join(dir, `${pid}@${host.replace(/[^\w.-]/g, '_')}.json`);
  }

  /** The repository's layout settings, or undefined when none are stored or the file is bad (load() lists it). */
  readConfig(): RepositoryConfig | undefined {
    return this.readConfigFile().config;
  }

  async writeConfig(config: RepositoryConfig): Promise<void> {
    const problem = repositoryConfigProblem(config);
    if (problem) throw new TaskWorktreesError('InvalidInput', `Invalid repository configuration: ${problem}.`);
    const stored = configFields(config);
    await this.withLock(async () => {
      const before = await fs.readFile(this.configFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      await this.writeFile(this.configFile, `${JSON.stringify(stored, null, 2)}\n`);
      await this.logOrUndo([{ type: 'config.set', taskId: undefined, detail: { ...stored } }], () =>
        before === undefined ? fs.rm(this.configFile) : this.writeFile(this.configFile, before),
      );
    });
  }

  private readConfigFile(): { config?: RepositoryConfig; problem?: StoreProblem } {
    const file = this.configFile;
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      return { problem: { file, message: `${file} cannot be read as JSON (${(error as Error).message}); it is kept as it is.` } };
    }
    const problem = repositoryConfigProblem(value);
    if (problem) return { problem: { file, message: `${file} is not a repository configuration: ${problem}; it is kept as it is.` } };
    return { config: configFields(value as RepositoryConfig) };
  }

  /** After a change is written, its events: if they cannot be logged, the change is undone and the call fails. */
  private async logOrUndo(events: Parameters<EventLog['appendAll']>[0], undo: () => Promise<void>): Promise<void> {
    try {
      await this.lock.assertHeld();
      await this.events.appendAll(events);
    } catch (error) {
      await undo().catch((undoError: Error) => {
        throw new TaskWorktreesError(
          'StoreCorrupt',
          `${(error as Error).message}; undoing the change also failed (${undoError.message}), so it stands without its event.`,
        );
      });
      throw error;
    }
  }

  private fileOf(id: string): string {
    return join(this.tasksDir, `${id}${TASK_FILE_SUFFIX}`);
  }

  private async taskFileNames(): Promise<string[]> {
    try {
      return (await fs.readdir(this.tasksDir)).filter((name) => name.endsWith(TASK_FILE_SUFFIX) && !name.startsWith('.'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw storeDamage(error, this.tasksDir, 'the folder of task files');
    }
  }

  private async readTaskText(id: string): Promise<string> {
    try {
      return readFileSync(this.fileOf(id), 'utf8'); // one small file: see load()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new TaskWorktreesError('TaskNotFound', `There is no task "${id}".`);
      throw storeDamage(error, this.fileOf(id), 'a task file');
    }
  }

  /** Atomic: a temp file renamed over the target, once the lock is known to be still ours. Small files: synchronous, as in load(). */
  private async writeFile(file: string, text: string): Promise<void> {
    const temp = tempFileFor(file);
    try {
      writeFileSync(temp, text);
      await this.lock.assertHeld();
      renameSync(temp, file);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
  }
}

/**
 * The records of processes (agents, windows) in `dir` that pass `problem`, each with its file. Only
 * small regular files are read: a FIFO or a link to a device must not block the read (and the
 * lock); a file that is not a valid record is skipped and kept as it is.
 */
function readRecordFiles<T extends { file?: string }>(dir: string, problem: (value: unknown) => string | undefined): T[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const file = join(dir, name);
    try {
      const record = JSON.parse(readSmallRegularFile(file)) as T;
      return problem(record) ? [] : [{ ...record, file }];
    } catch {
      return [];
    }
  });
}

/**
 * Opened without following a link and without blocking, then checked on the open file: a FIFO, a
 * device, a link or a huge file swapped in between a check and the read cannot be read.
 */
export function readSmallRegularFile(file: string, maxBytes = MAX_RECORD_BYTES): string {
  const fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size > maxBytes) throw new Error(`${file} is not a small regular file`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

const MAX_RECORD_BYTES = 8192;

/** Dot-prefixed so load() never reads it; in the target's directory so a rename replaces the target atomically. */
function tempFileFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Only the known fields, so nothing else in a file is carried along. */
function configFields({ worktreeRoot, branchPrefix, ports, autoMerge }: RepositoryConfig): RepositoryConfig {
  return { worktreeRoot, branchPrefix, ...(ports && { ports: { base: ports.base, blockSize: ports.blockSize } }), ...(autoMerge && { autoMerge }) };
}

function taskText(task: Task): string {
  return `${JSON.stringify(task, null, 2)}\n`;
}

function parseTask(file: string, text: string, id: string): Task {
  let task: unknown;
  try {
    task = JSON.parse(text);
  } catch (error) {
    throw new TaskWorktreesError('StoreCorrupt', `${file} is not valid JSON (${(error as Error).message}); it is kept as it is.`);
  }
  const problem = taskRecordProblem(task, id);
  if (problem) throw new TaskWorktreesError('StoreCorrupt', `${file} is not a valid task record: ${problem}; it is kept as it is.`);
  return task as Task;
}

function refuseInvalidRecord(task: Task, id: string, what: string): void {
  const problem = taskRecordProblem(task, id);
  if (problem) throw new TaskWorktreesError('InvalidInput', `${what} would make an invalid task record: ${problem}; nothing was written.`);
}

