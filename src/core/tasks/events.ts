import { closeSync, promises as fs, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import { storeDamage } from './records';

export interface TaskEvent {
  at: string;
  type: string;
  taskId?: string;
  pid: number;
  [detail: string]: unknown;
}

/** Append-only `events.jsonl`: one JSON object per line, the board's history. */
export class EventLog {
  constructor(readonly path: string) {}

  /** Callers hold the store lock, so lines never interleave. */
  async append(type: string, taskId: string | undefined, detail: Record<string, unknown> = {}): Promise<void> {
    await this.appendAll([{ type, taskId, detail }]);
  }

  /**
   * Several events in one write, in this order. Synchronous calls on one descriptor: a few small
   * system calls, where the thread pool's round trip for each cost more than the calls.
   */
  async appendAll(entries: ReadonlyArray<{ type: string; taskId: string | undefined; detail?: Record<string, unknown> }>): Promise<void> {
    const at = new Date().toISOString();
    const lines = entries.map(({ type, taskId, detail }) => {
      const event: TaskEvent = { at, type, taskId, pid: process.pid, ...detail };
      return `${JSON.stringify(event)}\n`;
    });
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'a+');
      // A writer killed mid-line leaves no newline; start a fresh line so this event stays readable.
      writeFileSync(fd, `${endsWithoutNewline(fd) ? '\n' : ''}${lines.join('')}`);
    } catch (error) {
      throw storeDamage(error, this.path, 'the event log');
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /**
   * The events of one task, as read() would list them. Only the lines that can be its events are
   * parsed: a line naming `taskId` contains it, or writes it with JSON escapes (`\u`, by hand).
   */
  async readOf(taskId: string): Promise<TaskEvent[]> {
    const text = await this.readText();
    return text
      .split('\n')
      .filter((line) => line.includes(taskId) || line.includes('\\u'))
      .flatMap((line) => {
        const event = parseEvent(line);
        return event?.taskId === taskId ? [event] : [];
      });
  }

  /** Newest last; unreadable lines (a torn write) are counted, not thrown. */
  async read(): Promise<{ events: TaskEvent[]; unreadable: number }> {
    const text = await this.readText();
    const events: TaskEvent[] = [];
    let unreadable = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      const event = parseEvent(line);
      if (event) events.push(event);
      else unreadable++;
    }
    return { events, unreadable };
  }

  private async readText(): Promise<string> {
    try {
      return await fs.readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw storeDamage(error, this.path, 'the event log');
    }
  }
}

function endsWithoutNewline(fd: number): boolean {
  const { size } = fstatSync(fd);
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

function parseEvent(line: string): TaskEvent | undefined {
  try {
    const value: unknown = JSON.parse(line);
    const event = value as TaskEvent;
    const shaped =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof event.type === 'string' && typeof event.at === 'string' && (event.taskId === undefined || typeof event.taskId === 'string');
    return shaped ? event : undefined;
  } catch {
    return undefined;
  }
}
