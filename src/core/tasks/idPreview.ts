import { join } from 'node:path';
import { branchNameProblem, isTaskId, slugify, uniqueId } from './ids';

/** What the id preview needs to know about the repository, read once per Create Task prompt. */
export interface IdContext {
  tasks: ReadonlyArray<{ id: string; subject: string }>;
  /** Local branch names. */
  branches: ReadonlySet<string>;
  branchPrefix: string;
  /** Absolute folder the worktrees go into. */
  worktreeRoot: string;
}

export type EditedIdProblem = 'notAnId' | 'taskExists' | 'branchExists' | 'branchInvalid' | 'folderExists';

/** The id, branch and folder a subject (or an edited id) would make, and what is odd about it. */
export interface IdPreview {
  id: string;
  branch: string;
  folder: string;
  /** The subject has no letter or digit an id can use: the id is a fallback ("task", "task-2", …). */
  fallback: boolean;
  /** Ids of tasks that already have this subject (case and spacing aside). */
  sameSubject: string[];
  /** Why an edited id cannot be used; undefined when it can. */
  problem?: EditedIdProblem;
}

const sameText = (a: string, b: string): boolean => a.trim().replace(/\s+/g, ' ').toLowerCase() === b.trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * The id `createTask` would pick for `subject` — the same `uniqueId` rule, over the same taken
 * set (task ids, `<prefix><id>` branches, existing folders) — or, with `editedId`, whether that
 * one is free. Pure but for `folderExists`, so it can run on every keystroke.
 */
export function previewTaskId(subject: string, context: IdContext, folderExists: (path: string) => boolean, editedId?: string): IdPreview {
  const ids = new Set(context.tasks.map((task) => task.id));
  const folderOf = (id: string): string => join(context.worktreeRoot, id);
  const taken = (id: string): boolean => ids.has(id) || context.branches.has(`${context.branchPrefix}${id}`) || folderExists(folderOf(id));
  const id = editedId ?? uniqueId(subject, taken);
  const branch = `${context.branchPrefix}${id}`;
  const preview: IdPreview = {
    id,
    branch,
    folder: folderOf(id),
    fallback: slugify(subject) === '',
    sameSubject: context.tasks.filter((task) => sameText(task.subject, subject)).map((task) => task.id),
  };
  if (editedId !== undefined) preview.problem = editedIdProblem(editedId, branch, ids, context.branches, folderExists(preview.folder));
  return preview;
}

function editedIdProblem(id: string, branch: string, ids: ReadonlySet<string>, branches: ReadonlySet<string>, folderExists: boolean): EditedIdProblem | undefined {
  if (!isTaskId(id)) return 'notAnId';
  if (ids.has(id)) return 'taskExists';
  if (branches.has(branch)) return 'branchExists';
  // The prefix comes from settings; with it, a valid id can still make an invalid branch.
  if (branchNameProblem(branch)) return 'branchInvalid';
  if (folderExists) return 'folderExists';
  return undefined;
}
