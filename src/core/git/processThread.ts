import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';

/** One git process to run: started with `binary args` in `cwd`, with exactly `env`. */
export interface ProcessRequest {
  binary: string;
  args: string[];
  cwd: string;
  /** The same object for every process of one repository: sent to the thread only when it changes. */
  env: NodeJS.ProcessEnv;
  /** Added to `env` for this process alone. */
  extraEnv?: Readonly<Record<string, string>>;
  /** Stop the process after this long without output (the read time limit). */
  silenceLimitMs?: number;
}

export interface ProcessOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Stopped by the silence limit. */
  timedOut: boolean;
  /** Stopped before it read anything: its input was withdrawn (a rejected input promise). */
  withdrawn: boolean;
}

/** A start without `env` uses the environment of the start before it. */
type ToServer =
  | { kind: 'start'; id: number; request: Omit<ProcessRequest, 'env'> & { env?: NodeJS.ProcessEnv }; input?: string; inputLater: boolean }
  /** No text: the input will never come; the process is stopped (it has read nothing). */
  | { kind: 'input'; id: number; text?: string };
type FromServer = { id: number; outcome: ProcessOutcome } | { id: number; error: { message: string; code?: string } };

// After git exits its pipes close at once, unless a hook left a background process holding them.
const PIPE_GRACE_MS = 50;

/**
 * Starts processes and reports how each ended. Runs in the process thread, so it must not use
 * anything from outside its own body (it is started from its source text): `start` is
 * child_process.spawn, `report` sends a message back.
 */
function processServer(start: typeof spawn, report: (message: FromServer) => void, graceMs: number): (message: ToServer) => void {
  const inputs = new Map<number, (text: string | undefined) => void>();
  let environment: NodeJS.ProcessEnv = {};
  return (message) => {
    if (message.kind === 'input') {
      inputs.get(message.id)?.(message.text);
      inputs.delete(message.id);
      return;
    }
    const { id, request } = message;
    environment = request.env ?? environment;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let exitCode = -1;
    let timedOut = false;
    let withdrawn = false;
    let settled = false;
    let silence: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    let child: ReturnType<typeof spawn>;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      inputs.delete(id);
      clearTimeout(silence);
      clearTimeout(grace);
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      if (error) report({ id, error: { message: error.message, code: (error as NodeJS.ErrnoException).code } });
      else report({ id, outcome: { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), exitCode, timedOut, withdrawn } });
    };
    const restartSilence = (): void => {
      if (request.silenceLimitMs === undefined) return;
      clearTimeout(silence);
      silence = setTimeout(() => {
        timedOut = true;
        child.kill();
      }, request.silenceLimitMs);
    };
    try {
      const env = request.extraEnv ? { ...environment, ...request.extraEnv } : environment;
      child = start(request.binary, request.args, { cwd: request.cwd, env, stdio: 'pipe', windowsHide: true });
    } catch (error) {
      settle(error as Error);
      return;
    }
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      restartSilence();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      restartSilence();
    });
    child.on('error', settle);
    child.on('exit', (code) => {
      exitCode = code ?? -1;
      grace = setTimeout(() => settle(), graceMs);
    });
    child.on('close', () => settle());
    // git may exit before reading its input (a failed lock); its exit code says what happened.
    child.stdin!.on('error', () => undefined);
    if (message.inputLater) {
      inputs.set(id, (text) => {
        if (text !== undefined) return void child.stdin!.end(text);
        // A process that already exited (a failed lock, a bad repository) failed by itself: its exit code says so.
        if (child.exitCode !== null || child.signalCode !== null) return;
        withdrawn = true;
        child.kill();
      });
    }
    else child.stdin!.end(message.input);
    restartSilence();
  };
}

/**
 * Where git processes are started. Starting a process blocks the starting thread while the kernel
 * copies its memory map and until git is executing: 2–5 ms each in a busy Node (more in an
 * extension host), during which nothing else of ours can run — a merge starts four. So they are
 * started from a thread of their own, once it is up; until then, or if it cannot start or stops,
 * from the caller's thread. Either way one processServer runs them: what happens is the same.
 */
export class ProcessThread {
  private readonly here = processServer(spawn, (message) => this.deliver(message), PIPE_GRACE_MS);
  private worker: Worker | undefined;
  private online = false;
  private readonly pending = new Map<number, { resolve: (outcome: ProcessOutcome) => void; reject: (error: Error) => void; there: boolean }>();
  private nextId = 0;
  private runningThere = 0;
  /** The environment the thread last received (copying it into each message cost more than the rest of the message). */
  private threadEnvironment: NodeJS.ProcessEnv | undefined;

  constructor(useThread = true) {
    if (useThread) this.startThread();
  }

  /** Whether processes are started in the thread (it is up and running). */
  get threaded(): boolean {
    return this.online;
  }

  run(request: ProcessRequest, input: string | Promise<string> | undefined): Promise<ProcessOutcome> {
    const id = this.nextId++;
    const there = this.online;
    const done = new Promise<ProcessOutcome>((resolve, reject) => this.pending.set(id, { resolve, reject, there }));
    // A process running keeps Node alive, as one started from this thread would; an idle thread does not.
    if (there && this.runningThere++ === 0) this.worker!.ref();
    const send = (message: ToServer): void => (there ? this.worker!.postMessage(message) : this.here(message));
    const later = typeof input === 'object';
    const env = there && request.env === this.threadEnvironment ? undefined : request.env;
    if (there) this.threadEnvironment = request.env;
    send({ kind: 'start', id, request: { ...request, env }, input: later ? undefined : input, inputLater: later });
    if (later) {
      input.then(
        (text) => send({ kind: 'input', id, text }),
        () => send({ kind: 'input', id }),
      );
    }
    return done;
  }

  private deliver(message: FromServer): void {
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (waiting.there && --this.runningThere === 0) this.worker?.unref();
    if ('outcome' in message) waiting.resolve(message.outcome);
    else waiting.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
  }

  private startThread(): void {
    let worker: Worker;
    try {
      worker = new Worker(
        `const { parentPort } = require('node:worker_threads');
        const serve = (${processServer.toString()})(require('node:child_process').spawn, (message) => parentPort.postMessage(message), ${PIPE_GRACE_MS});
        parentPort.on('message', serve);`,
        { eval: true },
      );
    } catch {
      return; // processes start in this thread
    }
    worker.on('online', () => {
      this.worker = worker;
      this.online = true;
    });
    worker.on('message', (message: FromServer) => this.deliver(message));
    const stopped = (why: string): void => {
      this.online = false;
      // What the thread was running is lost with it: those callers get an error; later processes start here.
      this.runningThere = 0;
      for (const [id, waiting] of this.pending) {
        if (!waiting.there) continue;
        this.pending.delete(id);
        waiting.reject(new Error(`The thread that starts git processes stopped (${why}).`));
      }
    };
    worker.on('error', (error) => stopped(error.message));
    worker.on('exit', (code) => stopped(`exit ${code}`));
    // After the listeners: adding a 'message' listener holds Node open again. Idle, the thread does not.
    worker.unref();
  }
}

let shared: ProcessThread | undefined;

/** The process thread of this Node process (one, whatever number of repositories). */
export function processThread(): ProcessThread {
  shared ??= new ProcessThread();
  return shared;
}
