import { constants, promises as fs } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Task } from '../core';
import { containsUnsafeText } from '../core/tasks/ids';
import { taskEnvironment } from './taskEnvironment';

/**
 * How an agent program is launched: which executable, which argv, which environment. No `vscode`
 * here (plain Node, unit-tested): the program is started directly, never through a shell, so the
 * task's text is data in one argv element and nothing in it is ever parsed as a command.
 */

export interface AgentProfile {
  /** Shown in the picker and the tree, and written as the task's owner. */
  name: string;
  /** A program name looked up on PATH, or an absolute path. */
  command: string;
  /** An element `${prompt}` (alone or inside, e.g. `--message=${prompt}`) receives the prompt. */
  args: string[];
  env: Record<string, string>;
}

/**
 * Replaced by the prompt inside each argument. The profiles of Claude Code, Codex, Gemini CLI, Aider
 * and Copilot CLI are the setting's default, in package.json.
 */
export const PROMPT_PLACEHOLDER = '${prompt}';

/**
 * The first prompt: the task's id (so the agent can name it to the CLI) with its subject, then its
 * description. The subject never makes up the whole argument, so it can never equal a CLI's
 * subcommand name ("update", "login").
 */
export function taskPrompt(task: Pick<Task, 'id' | 'subject' | 'description'>): string {
  const heading = `Task ${task.id}: ${task.subject}`;
  return task.description.trim() ? `${heading}\n\n${task.description}` : heading;
}

/** The argv after the executable: every placeholder replaced by the prompt, inside one element each. */
export function launchArgs(profile: Pick<AgentProfile, 'args'>, prompt: string): string[] {
  return profile.args.map((arg) => arg.split(PROMPT_PLACEHOLDER).join(prompt));
}

/** The terminal's environment: the profile's, then the task's (which the profile cannot override). */
export function agentEnvironment(task: Task, profile: AgentProfile): Record<string, string> {
  return { ...profile.env, ...taskEnvironment(task), TASK_AGENT: profile.name };
}

/**
 * The executable `command` names: an absolute path as is, a bare name through PATH (and PATHEXT on
 * Windows). Undefined when nothing executable is found, or for a relative path with a separator
 * (relative to what would be a guess).
 */
export async function resolveExecutable(
  command: string,
  pathVariable: string | undefined,
  platform: NodeJS.Platform = process.platform,
  pathExt = process.env.PATHEXT,
): Promise<string | undefined> {
  const extensions = platform === 'win32' ? ['', ...(pathExt ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean)] : [''];
  const candidates = (base: string): string[] => extensions.map((extension) => base + extension);
  if (isAbsolute(command)) return firstExecutable(candidates(command), platform);
  if (/[\\/]/.test(command)) return undefined;
  const dirs = (pathVariable ?? '').split(platform === 'win32' ? ';' : ':').filter(Boolean);
  for (const dir of dirs) {
    const found = await firstExecutable(candidates(join(dir, command)), platform);
    if (found) return found;
  }
  return undefined;
}

/**
 * Windows runs a .cmd or .bat through cmd.exe, which parses its arguments again: the prompt would
 * be shell text there. Such a profile must point at the real program (e.g. node.exe and its script).
 */
export function runsThroughShell(executable: string, platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'win32' && /\.(cmd|bat)$/i.test(executable);
}

async function firstExecutable(paths: string[], platform: NodeJS.Platform): Promise<string | undefined> {
  for (const path of paths) {
    try {
      const stat = await fs.stat(path);
      if (!stat.isFile()) continue;
      if (platform !== 'win32') await fs.access(path, constants.X_OK);
      return path;
    } catch {
      // not there, or not executable: the next candidate
    }
  }
  return undefined;
}

/**
 * The profiles of the `taskWorktrees.agents` setting: well-formed entries, first of each name;
 * every entry left out is named in `problems`.
 */
export function parseProfiles(value: unknown): { profiles: AgentProfile[]; problems: string[] } {
  const profiles: AgentProfile[] = [];
  const problems: string[] = [];
  if (!Array.isArray(value)) return { profiles, problems: ['taskWorktrees.agents is not a list'] };
  value.forEach((entry: unknown, index) => {
    const problem = profileProblem(entry);
    const name = (entry as { name?: unknown } | null)?.name;
    const label = typeof name === 'string' && name.trim() ? `"${name.trim()}"` : `#${index + 1}`;
    if (problem) {
      problems.push(`agent ${label}: ${problem}`);
      return;
    }
    const raw = entry as { name: string; command: string; args?: string[]; env?: Record<string, string> };
    const profile: AgentProfile = { name: raw.name.trim(), command: raw.command.trim(), args: [...(raw.args ?? [])], env: { ...(raw.env ?? {}) } };
    if (profiles.some((other) => other.name === profile.name)) {
      problems.push(`agent ${label}: a second profile with this name`);
      return;
    }
    profiles.push(profile);
  });
  return { profiles, problems };
}

function profileProblem(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'not an object';
  const { name, command, args, env } = entry as Record<string, unknown>;
  // The name becomes the task's owner: the same rules.
  if (typeof name !== 'string' || !name.trim() || name.length > 100 || containsUnsafeText(name)) return 'needs a "name" of at most 100 characters, without control characters';
  if (typeof command !== 'string' || !command.trim()) return 'needs a "command"';
  if (args !== undefined && (!Array.isArray(args) || args.some((arg) => typeof arg !== 'string' || arg.includes('\0')))) return '"args" must be a list of strings';
  if (env !== undefined && (typeof env !== 'object' || env === null || Array.isArray(env) || Object.values(env).some((item) => typeof item !== 'string'))) {
    return '"env" must map names to strings';
  }
  return undefined;
}
