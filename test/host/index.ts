// The extensionTestsPath module: VS Code calls run() inside the extension host.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000 });
  // The untrusted and multiroot passes run their own file alone; the trusted pass runs everything else.
  const ownFiles: Record<string, string> = { untrusted: 'untrusted.test.js', multiroot: 'multiroot.test.js' };
  const own = ownFiles[process.env.TASK_WORKTREES_HOST_PASS ?? ''];
  const files = readdirSync(__dirname, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.js'))
    .filter((file) => (own ? file === own : !Object.values(ownFiles).includes(file)));
  for (const file of files.sort()) mocha.addFile(join(__dirname, file));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} host test(s) failed`)) : resolve()));
  });
}
