import { isAbsolute } from 'node:path';
import { TaskWorktreesError } from '../errors';
import { branchNameProblem, containsUnsafeText, isTaskId } from './ids';
import { AgentRecord, AUTO_MERGE_MODES, isTaskStatus, RepositoryConfig, SETUP_STATES, Task, WindowRecord } from './model';
import { portBlockProblem, portSettingsProblem } from './ports';

/**
 * What a task file and the config file must hold. Files are written by other processes, other
 * versions and people with an editor, so every field is checked before any of it is used: a path
 * or a branch from a bad file must never reach git or the disk.
 */

/** Why `value` is not the record of task `id` (the file name is the id), or undefined. */
export function taskRecordProblem(value: unknown, id: string): string | undefined {
  if (!isObject(value)) return 'it is not a JSON object';
  const task = value as Partial<Record<keyof Task, unknown>>;
  if (task.id !== id) return `its id ${describe(task.id)} is not its file name "${id}"`;
  for (const field of ['subject', 'description', 'owner', 'createdAt', 'updatedAt'] as const) {
    if (typeof task[field] !== 'string') return `${field} is ${describe(task[field])}, not text`;
  }
  if (!isTaskStatus(task.status)) return `status ${describe(task.status)} is not pending, in_progress or completed`;
  const base = branchProblem(task.baseBranch);
  if (base) return `baseBranch ${base}`;
  if (task.branch !== undefined) {
    const branch = branchProblem(task.branch);
    if (branch) return `branch ${branch}`;
  }
  if (task.worktreePath !== undefined && !isAbsolutePath(task.worktreePath)) {
    return `worktreePath ${describe(task.worktreePath)} is not an absolute path`;
  }
  if (!Array.isArray(task.blockedBy) || !task.blockedBy.every(isTaskId)) return `blockedBy ${describe(task.blockedBy)} is not a list of task ids`;
  if (task.ports !== undefined) {
    const ports = portBlockProblem(task.ports);
    if (ports) return ports;
  }
  if (task.setup !== undefined) {
    const setup = setupRecordProblem(task.setup);
    if (setup) return setup;
  }
  if (task.merge !== undefined) return mergeRecordProblem(task.merge);
  return undefined;
}

function setupRecordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'setup is not a setup record';
  const setup = value as Record<string, unknown>;
  if (!(SETUP_STATES as readonly unknown[]).includes(setup.state)) return `setup.state ${describe(setup.state)} is not one of ${SETUP_STATES.join(', ')}`;
  if (typeof setup.at !== 'string') return `setup.at ${describe(setup.at)} is not text`;
  if (setup.message !== undefined && typeof setup.message !== 'string') return `setup.message ${describe(setup.message)} is not text`;
  if (setup.copied !== undefined && !(Number.isInteger(setup.copied) && (setup.copied as number) >= 0)) return `setup.copied ${describe(setup.copied)} is not a count`;
  return undefined;
}

/** Why `value` is not a repository configuration, or undefined. */
export function repositoryConfigProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'it is not a JSON object';
  const config = value as Partial<Record<keyof RepositoryConfig, unknown>>;
  if (typeof config.worktreeRoot !== 'string' || !config.worktreeRoot.trim() || containsUnsafeText(config.worktreeRoot)) {
    return `worktreeRoot ${describe(config.worktreeRoot)} is not a folder path (one line of text)`;
  }
  if (typeof config.branchPrefix !== 'string') return `branchPrefix ${describe(config.branchPrefix)} is not text`;
  // Every task branch is the prefix plus an id; "x" stands for any id.
  const prefixed = branchNameProblem(`${config.branchPrefix}x`);
  if (prefixed) return `branchPrefix ${describe(config.branchPrefix)} makes invalid branch names: ${prefixed}`;
  if (config.ports !== undefined) {
    const ports = portSettingsProblem(config.ports);
    if (ports) return `ports: ${ports}`;
  }
  if (config.autoMerge !== undefined && !(AUTO_MERGE_MODES as readonly unknown[]).includes(config.autoMerge)) {
    return `autoMerge ${describe(config.autoMerge)} is not ${AUTO_MERGE_MODES.join(' or ')}`;
  }
  return undefined;
}

function mergeRecordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'merge is not a merge record';
  const merge = value as Record<string, unknown>;
  for (const field of ['commit', 'branchHead'] as const) {
    if (typeof merge[field] !== 'string' || !OBJECT_ID.test(merge[field] as string)) return `merge.${field} ${describe(merge[field])} is not a commit id`;
  }
  if (merge.strategy !== 'merge' && merge.strategy !== 'squash') return `merge.strategy ${describe(merge.strategy)} is not merge or squash`;
  if (typeof merge.at !== 'string') return `merge.at ${describe(merge.at)} is not text`;
  return undefined;
}

/** Why `value` is not the record of a running agent (agents/<pid>@<host>.json), or undefined. */
export function agentRecordProblem(value: unknown): string | undefined {
  const problem = processRecordProblem(value);
  if (problem) return problem;
  const agent = value as Partial<Record<keyof AgentRecord, unknown>>;
  for (const field of ['agent', 'startedAt'] as const) {
    if (typeof agent[field] !== 'string') return `${field} is ${describe(agent[field])}, not text`;
  }
  if (!isTaskId(agent.taskId)) return `taskId ${describe(agent.taskId)} is not a task id`;
  return undefined;
}

/** Why `value` is not the record of an open window (windows/<pid>@<host>.json), or undefined. */
export function windowRecordProblem(value: unknown): string | undefined {
  const problem = processRecordProblem(value);
  if (problem) return problem;
  const window = value as Partial<Record<keyof WindowRecord, unknown>>;
  if (window.taskId !== undefined && !isTaskId(window.taskId)) return `taskId ${describe(window.taskId)} is not a task id`;
  if (!isTerminalList(window.terminals)) return `terminals ${describe(window.terminals)} is not a list of terminal names`;
  if (typeof window.seenAt !== 'string' || !Number.isFinite(Date.parse(window.seenAt))) return `seenAt ${describe(window.seenAt)} is not a time`;
  return undefined;
}

export const MAX_TERMINALS = 32;
export const MAX_LABEL_LENGTH = 100;

function isTerminalList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_TERMINALS && value.every((name) => typeof name === 'string' && name.length <= MAX_LABEL_LENGTH && !containsUnsafeText(name));
}

/** What every record of a process (an agent, a window) holds: which process on which machine, working where. */
function processRecordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'it is not a JSON object';
  const record = value as Partial<Record<'pid' | 'host' | 'worktreePath', unknown>>;
  if (!Number.isInteger(record.pid) || (record.pid as number) <= 0) return `pid ${describe(record.pid)} is not a process id`;
  if (typeof record.host !== 'string' || !record.host || record.host.length > 255 || containsUnsafeText(record.host)) return `host ${describe(record.host)} is not a host name`;
  if (!isAbsolutePath(record.worktreePath)) return `worktreePath ${describe(record.worktreePath)} is not an absolute path`;
  return undefined;
}

function isAbsolutePath(value: unknown): value is string {
  return typeof value === 'string' && isAbsolute(value) && !value.includes('\0');
}

/** A full SHA-1 or SHA-256 object id, as git prints it. */
const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

function branchProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `${describe(value)} is not text`;
  const problem = branchNameProblem(value);
  return problem && `${describe(value)} is not a valid branch name (${problem})`;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value).slice(0, 80);
}

/** A store path that is not what it should be (a file where a folder belongs, or the reverse): coded, kept as it is. */
export function storeDamage(error: unknown, path: string, what: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'EACCES') {
    return new TaskWorktreesError('StoreCorrupt', `${path} should be ${what} but cannot be read as one (${code}); it is kept as it is: move it away to continue.`);
  }
  return error as Error;
}
