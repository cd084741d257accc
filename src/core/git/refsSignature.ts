import { promises as fs } from 'node:fs';
import { join } from 'node:path';

/**
 * What the branch refs look like on disk, without running git: `packed-refs` and every loose ref
 * under `refs/heads`, each by inode and nanosecond mtime. Git replaces a ref file (write to a lock
 * file, then rename) on every update, so an unchanged signature means no branch moved. Read before
 * the refs themselves: a change while they are read shows as a changed signature next time.
 */
export async function branchRefsSignature(commonDir: string): Promise<string> {
  const parts: string[] = [];
  const add = async (path: string): Promise<void> => {
    const stat = await fs.lstat(path, { bigint: true }).catch(() => undefined);
    if (!stat) return;
    parts.push(`${path}:${stat.ino}:${stat.mtimeNs}:${stat.size}`);
    if (!stat.isDirectory()) return;
    const names = (await fs.readdir(path)).sort();
    for (const name of names) await add(join(path, name));
  };
  await add(join(commonDir, 'packed-refs'));
  await add(join(commonDir, 'refs', 'heads'));
  return parts.join('\n');
}
