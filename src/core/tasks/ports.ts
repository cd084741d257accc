import { TaskWorktreesError } from '../errors';
import { PortBlock, PortSettings, Task } from './model';

export const DEFAULT_PORTS: PortSettings = { base: 3100, blockSize: 10 };
const HIGHEST_PORT = 65535;
const MAX_BLOCK_SIZE = 1000;

/** Why `value` is not a usable port configuration, or undefined. */
export function portSettingsProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'it is not an object with base and blockSize';
  const { base, blockSize } = value as Record<string, unknown>;
  if (!Number.isInteger(base) || (base as number) < 1024 || (base as number) > HIGHEST_PORT) return `base ${JSON.stringify(base)} is not a port from 1024 to ${HIGHEST_PORT}`;
  if (!Number.isInteger(blockSize) || (blockSize as number) < 1 || (blockSize as number) > MAX_BLOCK_SIZE) return `blockSize ${JSON.stringify(blockSize)} is not a whole number from 1 to ${MAX_BLOCK_SIZE}`;
  if ((base as number) + (blockSize as number) - 1 > HIGHEST_PORT) return `a block from ${base} does not fit below port ${HIGHEST_PORT}`;
  return undefined;
}

export function validatePortSettings(value: unknown): PortSettings {
  const problem = portSettingsProblem(value);
  if (problem) throw new TaskWorktreesError('InvalidInput', `Invalid port settings: ${problem}.`);
  const { base, blockSize } = value as PortSettings;
  return { base, blockSize };
}

export function portBlockProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'ports is not an object';
  const { first, count } = value as Record<string, unknown>;
  if (!Number.isInteger(first) || !Number.isInteger(count) || (count as number) < 1 || (first as number) < 1 || (first as number) + (count as number) - 1 > HIGHEST_PORT) {
    return `ports ${JSON.stringify(value).slice(0, 80)} is not a block of ports`;
  }
  return undefined;
}

/** "3100-3109" (TASK_PORTS). */
export function describePortBlock(block: PortBlock): string {
  return `${block.first}-${block.first + block.count - 1}`;
}

/**
 * The block task `taskId` keeps or gets: its own when it has one that no other task's overlaps,
 * else the lowest free block of the settings. Only tasks with a worktree hold ports. Undefined
 * when every block is taken. Callers hold the store lock from reading `tasks` to writing the
 * result, so two creates (in any processes) never get the same ports.
 */
export function portBlockFor(taskId: string, tasks: readonly Task[], settings: PortSettings): PortBlock | undefined {
  const taken = tasks.filter((task) => task.id !== taskId && task.worktreePath && task.ports).map((task) => task.ports!);
  const free = (block: PortBlock): boolean => taken.every((other) => block.first + block.count <= other.first || other.first + other.count <= block.first);
  const own = tasks.find((task) => task.id === taskId)?.ports;
  if (own && free(own)) return own;
  for (let first = settings.base; first + settings.blockSize - 1 <= HIGHEST_PORT; first += settings.blockSize) {
    const block = { first, count: settings.blockSize };
    if (free(block)) return block;
  }
  return undefined;
}
