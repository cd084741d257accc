// The extensionTestsPath module: VS Code calls run() inside the extension host.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000 });
  // The untrusted pass runs untrusted.test.js alone; the trusted pass runs everything else.
  const untrusted = process.env.TASK_WORKTREES_HOST_PASS === 'untrusted';
  const files = readdirSync(__dirname, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.js'))
    .filter((file) => (file === 'untrusted.test.js') === untrusted);
  for (const file of files.sort()) mocha.addFile(join(__dirname, file));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} host test(s) failed`)) : resolve()));
  });
}
