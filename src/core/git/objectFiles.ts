import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

/**
 * The tree of a commit stored as a loose object (a commit git wrote recently, e.g. the last merge's),
 * read from its file without starting git, and only when its bytes hash to its id. A packed commit,
 * one in an alternate store, a repository with replace refs (`git replace`: git reads another
 * object for the id), or anything unfamiliar gives `undefined`, and the caller asks git.
 */
export function readLooseCommitTree(commonDir: string, oid: string): string | undefined {
  const algorithm = oid.length === 40 ? 'sha1' : oid.length === 64 ? 'sha256' : undefined;
  if (!algorithm || !/^[0-9a-f]+$/.test(oid) || mayReplaceObjects(commonDir)) return undefined;
  let object: Buffer;
  try {
    object = inflateSync(readFileSync(join(commonDir, 'objects', oid.slice(0, 2), oid.slice(2))));
  } catch {
    return undefined;
  }
  if (createHash(algorithm).update(object).digest('hex') !== oid) return undefined;
  const header = object.indexOf(0);
  if (header < 0 || object.toString('latin1', 0, header) !== `commit ${object.length - header - 1}`) return undefined;
  const tree = new RegExp(`^tree ([0-9a-f]{${oid.length}})\n`).exec(object.toString('latin1', header + 1, header + 1 + 6 + oid.length))?.[1];
  return tree;
}

/** Whether the repository has replace refs (loose or packed), or their place cannot be read. */
function mayReplaceObjects(commonDir: string): boolean {
  try {
    if (readdirSync(join(commonDir, 'refs', 'replace')).length > 0) return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return true;
  }
  try {
    return readFileSync(join(commonDir, 'packed-refs'), 'utf8').includes(' refs/replace/');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
