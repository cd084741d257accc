import * as vscode from 'vscode';
import { ChangedFile, TaskChanges } from '../core';

/** Read-only documents of a file at a commit: the original side of review diffs (content from the core, `git cat-file`). */
export const ORIGINAL_SCHEME = 'task-worktrees-original';

/** `task-worktrees-original:/<path>?<commit>`: the path keeps the file's name and language; an empty commit is an empty file. */
export function originalUri(commit: string | undefined, path: string): vscode.Uri {
  return vscode.Uri.from({ scheme: ORIGINAL_SCHEME, path: `/${path}`, query: commit ?? '' });
}

/**
 * The three URIs `vscode.changes` wants for one file: the resource, the original (at the merge-base)
 * and the modified side (the file on disk in the worktree, or at the branch's commit without one).
 * An added file's original and a deleted file's modified side are empty documents rather than
 * absent: the editor's tab input (TabInputTextMultiDiff.textDiffs) then lists every file. The task
 * tree's per-file children can open the same pair with `vscode.diff`.
 */
export function diffUris(changes: TaskChanges, file: ChangedFile): [vscode.Uri, vscode.Uri, vscode.Uri] {
  const empty = originalUri(undefined, file.path);
  const modified =
    file.status === 'D'
      ? empty
      : changes.worktreePath
        ? vscode.Uri.joinPath(vscode.Uri.file(changes.worktreePath), ...file.path.split('/'))
        : originalUri(changes.head, file.path);
  const original = file.status === 'A' ? empty : originalUri(changes.base, file.originalPath ?? file.path);
  return [file.status === 'D' ? original : modified, original, modified];
}
