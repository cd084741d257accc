import { TaskWorktreesError } from '../errors';

/** Task ids are a strict subset of git's ref rules, so `<prefix><id>` is always a valid branch. */
const TASK_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const MAX_ID_LENGTH = 48;

/** "Fix the Login 🎉 page!" → "fix-the-login-page". Empty when nothing usable is left. */
export function slugify(subject: string): string {
  const ascii = subject
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // combining marks: é → e
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return ascii.slice(0, MAX_ID_LENGTH).replace(/-+$/, '');
}

/** Picks the first free id of `slug`, `slug-2`, `slug-3`, … (falls back to "task" for an empty slug). */
export function uniqueId(subject: string, taken: (id: string) => boolean): string {
  const slug = slugify(subject) || 'task';
  if (!taken(slug)) return slug;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const candidate = `${slug.slice(0, MAX_ID_LENGTH - suffix.length).replace(/-+$/, '')}${suffix}`;
    if (!taken(candidate)) return candidate;
  }
}

export function isTaskId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= MAX_ID_LENGTH && TASK_ID.test(id);
}

export function validateTaskId(id: unknown): string {
  if (!isTaskId(id)) {
    throw new TaskWorktreesError(
      'InvalidInput',
      `Invalid task id ${JSON.stringify(String(id)).slice(0, 80)}: use lowercase letters, digits and single dashes (at most ${MAX_ID_LENGTH}).`,
    );
  }
  return id;
}

/**
 * Characters that break one-line labels, commit messages or the reading order of what surrounds
 * them: C0 and C1 controls, line/paragraph separators, bidi embeddings, overrides and isolates.
 */
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

export function containsUnsafeText(text: string): boolean {
  return UNSAFE_TEXT.test(text);
}

/** `text` as one safe line of at most `max` characters: each unsafe character becomes a space. */
export function oneLineLabel(text: string, max: number): string {
  return text.replace(new RegExp(UNSAFE_TEXT.source, 'g'), ' ').slice(0, max);
}

export function validateSubject(subject: unknown): string {
  const text = typeof subject === 'string' ? subject.trim() : '';
  if (!text) throw new TaskWorktreesError('InvalidInput', 'A task needs a subject.');
  if (text.length > 200) throw new TaskWorktreesError('InvalidInput', 'A task subject has at most 200 characters.');
  // Subjects end up in commit messages and one-line UI labels.
  if (containsUnsafeText(text)) {
    throw new TaskWorktreesError('InvalidInput', 'A task subject cannot contain control characters (tabs, newlines, …) or text-direction overrides.');
  }
  return text;
}

export function validateOwner(owner: unknown): string {
  const text = typeof owner === 'string' ? owner.trim() : '';
  if (typeof owner !== 'string' || text.length > 100 || containsUnsafeText(text)) {
    throw new TaskWorktreesError('InvalidInput', 'An owner is a name of at most 100 characters without control characters or text-direction overrides.');
  }
  return text;
}

/** An ordered list of distinct task ids (a queue): non-empty, each valid, none twice. `what` names the list in the errors. */
export function validateTaskIdQueue(taskIds: unknown, what: string): string[] {
  if (!Array.isArray(taskIds) || taskIds.length === 0) throw new TaskWorktreesError('InvalidInput', `${what} takes a non-empty list of task ids.`);
  const ids = taskIds.map((id) => validateTaskId(id));
  const twice = ids.find((id, index) => ids.indexOf(id) !== index);
  if (twice) throw new TaskWorktreesError('InvalidInput', `Task "${twice}" is in ${what} twice.`);
  return ids;
}

/** The ids a task waits for; absent means none. */
export function validateBlockedBy(blockedBy: unknown = []): string[] {
  if (!Array.isArray(blockedBy)) {
    throw new TaskWorktreesError('InvalidInput', 'blockedBy is a list of task ids.');
  }
  return blockedBy.map((id) => validateTaskId(id));
}

/** Why `name` is not a valid branch name by `git check-ref-format --branch` rules, or undefined. */
export function branchNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > 200) return 'it is longer than 200 characters';
  if (name.startsWith('-')) return 'it starts with "-"';
  if (name === 'HEAD' || name === '@') return `"${name}" is reserved`;
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(name)) return 'it contains a space, a control character or one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'it contains ".."';
  if (name.includes('@{')) return 'it contains "@{"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'it has an empty path component';
  if (name.endsWith('.')) return 'it ends with "."';
  for (const component of name.split('/')) {
    if (component.startsWith('.')) return 'a component starts with "."';
    if (component.endsWith('.lock')) return 'a component ends with ".lock"';
  }
  return undefined;
}

export function validateBranchName(name: unknown, what = 'branch name'): string {
  const text = typeof name === 'string' ? name : '';
  const problem = typeof name === 'string' ? branchNameProblem(text) : 'it is not text';
  if (problem) {
    throw new TaskWorktreesError('InvalidInput', `Invalid ${what} ${JSON.stringify(text).slice(0, 80)}: ${problem}.`);
  }
  return text;
}
