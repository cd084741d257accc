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
const GATE_OUTPUT_LIMIT = 16_000;
/** After SIGTERM on a timeout, how long the gate's processes get before SIGKILL. */
const KILL_GRACE_MS = 2_000;

export function runGate(command: string, cwd: string, variables: Record<string, string>, timeoutMs: number): Promise<GateRun> {
  return new Promise((resolveRun) => {
    // git's environment without its locale: the gate's own tools print in the user's language.
    const env = { ...gitEnvironment(process.env), LC_ALL: process.env.LC_ALL, ...variables };
    const ownGroup = process.platform !== 'win32';
    const child = spawn(command, { cwd, env, shell: true, detached: ownGroup, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
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
    const timer = setTimeout(() => {
      timedOut = true;
      signal('SIGTERM');
      killer = setTimeout(() => signal('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolveRun({ passed: false, exitCode: null, timedOut, output: `${output}\n${error.message}`.trim() });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      if (timedOut) output = `${output}\n(stopped after ${Math.round(timeoutMs / 1000)} s)`.trim();
      resolveRun({ passed: code === 0 && !timedOut, exitCode: code, timedOut, output });
    });
  });
}
