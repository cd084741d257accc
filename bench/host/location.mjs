// `node bench/host/location.mjs` (after `npm run build`): where task worktrees should go, measured
// in the offline host. The main window of a small TypeScript repository (tsconfig.json with the
// default include, a few .ts files, one with a deliberate type error) with 5 task worktrees made by
// the CLI, nested (`.worktrees/<id>`, today's default) or sibling (`<repo>.worktrees/<id>`); the
// nested layout also with `files.watcherExclude` / `search.exclude` for `**/.worktrees/**`
// contributed as configurationDefaults. For each, in a fresh host:
//   - TypeScript: the files of the main tsconfig's project, read from the TS server's own log
//     (`js/ts.tsserver.log: verbose`), and the problems it reports with project-wide diagnostics
//     on (vscode.languages.getDiagnostics, via a probe extension: bench/host/probe);
//   - Go to Symbol in Workspace: how many places a symbol defined once in the main worktree is found;
//   - search: the count the search view shows for a string present once in every worktree;
//   - after a commit of 20 new files in one worktree: the events a `**/*` FileSystemWatcher gets
//     and the git processes VS Code's git extension starts (git wrapper, as bench:host).
// Plus, outside the host, what `tsc -p . --listFilesOnly` compiles in the main worktree.
// Writes bench/location-last-run.json and prints a table.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, runFromPalette } from '../../test/e2e/workbench.mjs';
import { GIT_IDENTITY, makeWorkspaceRepo, removeWorkspaceRepo } from '../../test/runner/workspace.mjs';
import { gitCounter, openUntilSignal, pathWithFirst } from './launch.mjs';

const WORKTREES = 5;
const NEEDLE = 'LOCATION_BENCH_NEEDLE';
const SYMBOL = 'locationBenchSymbol';
const CHANGED_FILES = 20;
const EXCLUDES = { 'files.watcherExclude': { '**/.worktrees/**': true }, 'search.exclude': { '**/.worktrees/**': true } };
const CASES = [
  { name: 'nested', layout: 'nested', configurationDefaults: false },
  { name: 'nested + excludes', layout: 'nested', configurationDefaults: true },
  { name: 'sibling', layout: 'sibling', configurationDefaults: false },
];

const git = (cwd, ...args) => execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_IDENTITY } });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const SOURCES = {
  'tsconfig.json': `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, noEmit: true } }, null, 2)}\n`,
  'src/math.ts': `export function ${SYMBOL}(a: number, b: number): number {\n  return a + b;\n}\n`,
  'src/format.ts': `export function formatTotal(total: number): string {\n  return \`total: \${total.toFixed(2)}\`;\n}\n`,
  'src/index.ts': `// ${NEEDLE}\nimport { formatTotal } from './format';\nimport { ${SYMBOL} } from './math';\n\nconsole.log(formatTotal(${SYMBOL}(1, 2)));\n`,
  'src/broken.ts': `// A deliberate type error: one problem per copy of this file the TS server checks.\nexport const count: number = 'three';\n`,
};

/** The repository and its 5 task worktrees, made by the CLI (the core) in the given layout. */
function tsRepository(layout) {
  const repo = makeWorkspaceRepo('app');
  for (const [file, text] of Object.entries(SOURCES)) {
    mkdirSync(join(repo, file, '..'), { recursive: true });
    writeFileSync(join(repo, file), text);
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'a small TypeScript project');
  if (layout === 'sibling') {
    // The layout the repository records (as the worktreeRoot setting would on first use).
    const store = join(repo, '.git', 'task-worktrees');
    mkdirSync(store, { recursive: true });
    writeFileSync(join(store, 'config.json'), `${JSON.stringify({ worktreeRoot: '../app.worktrees', branchPrefix: 'task/' }, null, 2)}\n`);
  }
  const worktrees = [];
  for (let i = 1; i <= WORKTREES; i++) {
    const task = JSON.parse(
      execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), 'create', `Location task ${i}`, '--worktree', '--json', '--repo', repo], {
        encoding: 'utf8',
        env: { ...process.env, ...GIT_IDENTITY },
      }),
    );
    worktrees.push(task.worktreePath);
  }
  const expected = layout === 'nested' ? join(repo, '.worktrees') : join(repo, '..', 'app.worktrees');
  if (!worktrees.every((path) => path.startsWith(expected))) throw new Error(`worktrees not in ${expected}: ${worktrees.join(', ')}`);
  return { repo, worktrees };
}

/** The probe, with the excludes as configurationDefaults when asked (as our extension would contribute them). */
function probeCopy(scratch, configurationDefaults) {
  const dir = join(scratch, 'probe');
  cpSync(join(root, 'bench', 'host', 'probe'), dir, { recursive: true });
  if (configurationDefaults) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    manifest.contributes.configurationDefaults = EXCLUDES;
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  }
  return dir;
}

function filesNamed(dir, name, found = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) filesNamed(path, name, found);
    else if (entry.name === name) found.push(path);
  }
  return found;
}

/**
 * The files of the project `<repo>/tsconfig.json` in the TS servers' logs: the last "Files (N)"
 * list printed for it (the server prints it on each project update).
 */
function tsProjectFiles(logsRoot, repo) {
  let latest;
  for (const log of filesNamed(logsRoot, 'tsserver.log')) {
    const lines = readFileSync(log, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].includes(`Project '${join(repo, 'tsconfig.json')}' (Configured)`)) continue;
      const header = lines[i + 1]?.match(/Files \((\d+)\)/);
      if (!header) continue;
      const files = [];
      for (let j = i + 2; j < lines.length && lines[j].startsWith('\t'); j++) {
        const path = lines[j].trim().split(' ')[0];
        if (path.startsWith('/')) files.push(path);
      }
      // A project update whose files did not change prints the count without the list.
      if (files.length > 0) latest = files;
    }
  }
  return latest;
}

async function report(page, out, since) {
  await runFromPalette(page, 'Location Probe: Report');
  for (let waited = 0; waited < 30_000; waited += 200) {
    if (existsSync(out)) {
      const result = JSON.parse(readFileSync(out, 'utf8'));
      if (result.at >= since) return result;
    }
    await sleep(200);
  }
  throw new Error('the probe did not report within 30 s');
}

/** The search view's count ("N results in M files") for the needle. */
async function searchCount(page) {
  await runFromPalette(page, 'Search: Find in Files');
  await page.keyboard.type(NEEDLE);
  await page.keyboard.press('Enter');
  const message = page.locator('.search-view').getByText(/\d+ results? in \d+ files?/).first();
  await message.waitFor({ timeout: 60_000 });
  return (await message.innerText()).trim();
}

/** Polls `read` until it gives the same defined value twice, `intervalMs` apart. */
async function settled(read, { intervalMs = 3000, timeoutMs = 120_000, what }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    const value = await read();
    if (value !== undefined && JSON.stringify(value) === JSON.stringify(last)) return value;
    last = value;
    if (Date.now() > deadline) throw new Error(`${what} did not settle within ${timeoutMs / 1000} s`);
    await sleep(intervalMs);
  }
}

function summarize(result, repo, worktrees, projectFiles) {
  const inWorktrees = (path) => worktrees.some((worktree) => path.startsWith(`${worktree}/`));
  const ours = (path) => path.startsWith(`${repo}/`) || inWorktrees(path);
  const tsFiles = projectFiles.filter((path) => ours(path));
  const problems = result.diagnostics.filter((d) => d.source === 'ts' && d.severity === 0);
  return {
    tsProjectFiles: tsFiles.length,
    tsProjectFilesInWorktrees: tsFiles.filter(inWorktrees).length,
    tsProjectFilesAll: projectFiles.length,
    problems: problems.length,
    problemsInWorktrees: problems.filter((d) => inWorktrees(d.path)).length,
    workspaceSymbolResults: result.symbols.length,
    gitRepositories: result.repositories?.length,
  };
}

async function measure(testCase) {
  const { repo, worktrees } = tsRepository(testCase.layout);
  const scratch = mkdtempSync(join(tmpdir(), 'tw-location-'));
  const counter = gitCounter(scratch);
  const out = join(scratch, 'report.json');
  const workbench = await openUntilSignal({
    workspace: repo,
    extensionDevelopmentPath: probeCopy(scratch, testCase.configurationDefaults),
    settings: {
      'git.path': counter.gitPath,
      'js/ts.tsserver.log': 'verbose',
      'js/ts.tsserver.experimental.enableProjectDiagnostics': true,
    },
    // The probe opens src/broken.ts of the main worktree, as a person would: that starts the TS server.
    env: { PATH: pathWithFirst(counter.pathDir), LOCATION_PROBE_OUT: out, LOCATION_PROBE_OPEN: 'src/broken.ts' },
  });
  try {
    const { page, server } = workbench;
    await page.locator('.activitybar').first().waitFor({ timeout: 60_000 });
    const projectFiles = await settled(() => tsProjectFiles(server.dirs.root, repo), { what: "the TS server's project" });
    const loaded = await settled(
      async () => {
        const figures = summarize(await report(page, out, Date.now()), repo, worktrees, projectFiles);
        if (process.env.BENCH_VERBOSE) console.log(`  ${JSON.stringify(figures)}`);
        return figures.problems > 0 ? figures : undefined;
      },
      { what: 'the problems' },
    );
    const search = await searchCount(page);

    // An agent commits 20 new files in the first worktree.
    const changedAt = Date.now();
    for (let i = 1; i <= CHANGED_FILES; i++) writeFileSync(join(worktrees[0], 'src', `generated-${i}.ts`), `export const generated${i} = ${i};\n`);
    git(worktrees[0], 'add', '-A');
    git(worktrees[0], 'commit', '-q', '-m', 'an agent writes 20 files');
    await sleep(8000);
    const after = await report(page, out, Date.now());
    const events = after.events.filter((event) => event.at >= changedAt);
    const inWorktree = events.filter((event) => event.path.startsWith(`${worktrees[0]}/`));
    const gitAfter = counter.calls().filter((call) => call.at * 1000 >= changedAt);
    const filesAfter = tsProjectFiles(server.dirs.root, repo) ?? [];
    return {
      ...loaded,
      searchView: search,
      searchResults: Number(search.match(/(\d+) results?/)?.[1] ?? 0),
      afterCommitInOneWorktree: {
        watcherEvents: events.length,
        watcherEventsInThatWorktree: inWorktree.length,
        watcherEventsInGitDir: events.filter((event) => event.path.startsWith(`${repo}/.git/`)).length,
        vscodeGitProcesses: gitAfter.filter((call) => call.who === 'vscode-git').length,
        vscodeGitCommands: [...new Set(gitAfter.filter((call) => call.who === 'vscode-git').map((call) => call.args.split(' ')[0]))],
        tsProjectFiles: summarize(after, repo, worktrees, filesAfter).tsProjectFiles,
      },
      settingsSeen: after.settings,
      loadAverage: Math.round(loadavg()[0] * 10) / 10,
    };
  } catch (error) {
    // What a failure looked like, kept: the page and the TS servers' logs.
    const kept = join(root, 'test-results', 'location');
    mkdirSync(kept, { recursive: true });
    await workbench.page.screenshot({ path: join(kept, `${testCase.layout}.png`) }).catch(() => undefined);
    filesNamed(workbench.server.dirs.root, 'tsserver.log').forEach((log, i) => cpSync(log, join(kept, `${testCase.layout}-tsserver-${i}.log`)));
    console.error(`a failure's screenshot and TS logs: ${kept}`);
    throw error;
  } finally {
    await workbench.close();
    rmSync(scratch, { recursive: true, force: true });
    removeWorkspaceRepo(repo);
  }
}

/** Outside the host: the files `tsc -p .` compiles in the main worktree of each layout. */
function tscListFiles(layout) {
  const { repo, worktrees } = tsRepository(layout);
  try {
    const listed = execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', repo, '--listFilesOnly'], { encoding: 'utf8' })
      .split('\n')
      .filter((path) => path.startsWith(`${repo}/`) || worktrees.some((worktree) => path.startsWith(`${worktree}/`)));
    return { files: listed.length, inWorktrees: listed.filter((path) => worktrees.some((worktree) => path.startsWith(`${worktree}/`))).length };
  } finally {
    removeWorkspaceRepo(repo);
  }
}

async function main() {
  const results = { when: new Date().toISOString(), worktrees: WORKTREES, host: 'code-server 4.139.1 (VS Code 1.139.1, its built-in TypeScript and git extensions) + headless Chromium', cases: {}, tscCli: {} };
  for (const layout of ['nested', 'sibling']) results.tscCli[layout] = tscListFiles(layout);
  for (const testCase of CASES) {
    const started = Date.now();
    results.cases[testCase.name] = await measure(testCase);
    console.log(`${testCase.name} (${((Date.now() - started) / 1000).toFixed(0)} s): ${JSON.stringify(results.cases[testCase.name])}`);
  }
  const out = join(root, 'bench', 'location-last-run.json');
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  const rows = [
    ['TS project files (main window)', (c) => `${c.tsProjectFiles} (${c.tsProjectFilesInWorktrees} in worktrees)`],
    ['TS problems (project diagnostics on)', (c) => `${c.problems} (${c.problemsInWorktrees} in worktrees)`],
    [`Go to Symbol "${SYMBOL}"`, (c) => String(c.workspaceSymbolResults)],
    ['search view count', (c) => String(c.searchResults)],
    [`watcher events, commit of ${CHANGED_FILES} files in a worktree`, (c) => `${c.afterCommitInOneWorktree.watcherEvents} (${c.afterCommitInOneWorktree.watcherEventsInThatWorktree} in it)`],
    ["VS Code git's processes after that commit", (c) => String(c.afterCommitInOneWorktree.vscodeGitProcesses)],
    ['TS project files after that commit', (c) => String(c.afterCommitInOneWorktree.tsProjectFiles)],
  ];
  console.log(`\n| ${WORKTREES} worktrees | ${CASES.map((c) => c.name).join(' | ')} |`);
  console.log(`|---|${CASES.map(() => '---:').join('|')}|`);
  for (const [label, cell] of rows) console.log(`| ${label} | ${CASES.map((c) => cell(results.cases[c.name])).join(' | ')} |`);
  console.log(`| tsc -p . --listFilesOnly (CLI, outside the host) | ${CASES.map((c) => `${results.tscCli[c.layout].files} (${results.tscCli[c.layout].inWorktrees} in worktrees)`).join(' | ')} |`);
  console.log(`\nWritten to ${out}`);
}

await main();
