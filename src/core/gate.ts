import { spawn } from 'node:child_process';
import { gitEnvironment } from './git/process';

/**
 * The merge queue's gate: a command from the user's settings (e.g. `npm test`), run through a shell
 * in a task's worktree while that worktree holds the merge about to land. It is the user's own
 * code, like a task or a hook: the extension runs it only in a trusted workspace (the UI checks).
 */
export interface GateRun {
  passed: boolean;
  exitCode: number | null;
  /** It ran out of time and was stopped (with its whole process group). */
  timedOut: boolean;
  /** The end of what it printed (stdout and stderr interleaved), at most GATE_OUTPUT_LIMIT characters. */
  output: string;
}

export const DEFAULT_GATE_TIMEOUT_MS = 10 * 60_000;
/** The longest time limit Node's timers keep (a larger delay fires at once). */
export const MAX_GATE_TIMEOUT_MS = 2 ** 31 - 1;
const GATE_OUTPUT_LIMIT = 16_000;
/** After SIGTERM on a timeout, how long the gate's processes get before SIGKILL. */
const KILL_GRACE_MS = 2_000;
/** After the shell exits, how long what it printed last may still take to arrive before its pipes are let go. */
const PIPE_DRAIN_MS = 200;

/**
 * The gate's outcome is its shell's exit. A background child it leaves (`server &`, a daemon in its
 * own session) may hold the output pipes for ever: once the shell has exited, the pipes are closed
 * on our side and the shell's process group is stopped, so the queue never waits on such a child.
 */
export function runGate(command: string, cwd: string, variables: Record<string, string>, timeoutMs: number): Promise<GateRun> {
  return new Promise((resolveRun) => {
    // git's environment without its locale: the gate's own tools print in the user's language.
    const env = { ...gitEnvironment(process.env), LC_ALL: process.env.LC_ALL, ...variables };
    const ownGroup = process.platform !== 'win32';
    const child = spawn(command, { cwd, env, shell: true, detached: ownGroup, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    let settled = false;
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-GATE_OUTPUT_LIMIT);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // The whole process group: a shell's children (npm, the test runner) must stop with it.
    const signal = (name: NodeJS.Signals): void => {
      try {
        if (ownGroup && child.pid) process.kill(-child.pid, name);
        else child.kill(name);
      } catch {
        // already gone
      }
    };
    let killer: NodeJS.Timeout | undefined;
    let drain: NodeJS.Timeout | undefined;
    const finish = (exitCode: number | null, note?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killer);
      clearTimeout(drain);
      child.stdout.destroy();
      child.stderr.destroy();
      if (timedOut) output = `${output}\n(stopped after ${Math.round(timeoutMs / 1000)} s)`.trim();
      if (note) output = `${output}\n${note}`.trim();
      resolveRun({ passed: exitCode === 0 && !timedOut, exitCode, timedOut, output });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      signal('SIGTERM');
      killer = setTimeout(() => {
        signal('SIGKILL');
        // SIGKILL ends the shell at once; should its exit still not be reported, the limit holds anyway.
        killer = setTimeout(() => finish(null), KILL_GRACE_MS);
      }, KILL_GRACE_MS);
    }, timeoutMs);
    child.on('error', (error) => finish(null, error.message));
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      // What is left of the group is the gate's leftovers (background children): stopped, not awaited.
      signal('SIGTERM');
      drain = setTimeout(() => finish(code), PIPE_DRAIN_MS);
      child.on('close', () => finish(code));
    });
  });
}
