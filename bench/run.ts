/**
 * `npm run bench`: our operations against raw git on the same synthetic repository, interleaved
 * A/B in one run (median of RUNS after a warm-up). Prints a table and writes bench/last-run.json.
 * Plain Node on the built core: no VS Code needed.
 */
import * as assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { TaskService } from '../src/core';
import { FORECAST_PARALLELISM } from '../src/core/forecast';
import { TaskStore } from '../src/core/tasks/store';

const ROOT = resolve(__dirname, '..', '..');
const RUNS = Number(process.env.BENCH_RUNS || 7);
/**
 * BENCH_ONLY=<text>: only the scenarios whose name has this text, after the creates (24 worktrees;
 * the board's 200 are made only when a board scenario is asked for). Prints the table;
 * bench/last-run.json is left as the last full run wrote it.
 */
const ONLY = process.env.BENCH_ONLY;
const skipped = (name: string): boolean => ONLY !== undefined && !name.includes(ONLY) && !name.startsWith('create task + worktree');
const FILES = 2000;
const COMMITS = 200;
const run = promisify(execFile);

interface Figure {
  oursMs: number;
  rawMs: number | null;
  ratio: number | null;
}
const figures: Record<string, Figure | unknown> = {};
const rows: Array<[string, Figure]> = [];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function rawGit(cwd: string, ...args: string[]): Promise<string> {
  return (await run('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** Same as rawGit, but an exit code of 1 is an answer (merge-tree's "conflicts"). */
async function rawGitAllowing1(cwd: string, ...args: string[]): Promise<string> {
  try {
    return await rawGit(cwd, ...args);
  } catch (error) {
    if ((error as { code?: number }).code === 1) return (error as { stdout: string }).stdout;
    throw error;
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Interleaved A/B: each round runs both, alternating which goes first; one warm-up round is dropped. */
async function compare(
  name: string,
  ours: (round: number) => Promise<unknown>,
  raw: ((round: number) => Promise<unknown>) | null,
  options: {
    runs?: number;
    perOperation?: number;
    before?: (round: number) => Promise<void>;
    /** Untimed, before each side of each round. */
    settle?: () => void;
  } = {},
): Promise<Figure> {
  const runs = options.runs ?? RUNS;
  const oursTimes: number[] = [];
  const rawTimes: number[] = [];
  for (let round = 0; round <= runs; round++) {
    await options.before?.(round);
    const pair: Array<[number[], () => Promise<unknown>]> = [[oursTimes, () => ours(round)]];
    if (raw) pair.push([rawTimes, () => raw(round)]);
    if (round % 2 === 1) pair.reverse();
    for (const [times, fn] of pair) {
      options.settle?.();
      const ms = await timed(fn);
      if (round > 0) times.push(ms);
    }
  }
  // Scenarios that repeat a cheap operation report the time of one.
  const perOperation = options.perOperation ?? 1;
  const oursMs = median(oursTimes) / perOperation;
  const rawMs = raw ? median(rawTimes) / perOperation : null;
  const figure = { oursMs: round2(oursMs), rawMs: rawMs === null ? null : round2(rawMs), ratio: rawMs ? round2(oursMs / rawMs) : null };
  figures[name] = figure;
  rows.push([name, figure]);
  console.log(`  ${name.padEnd(44)} ours ${fmt(figure.oursMs)}  raw ${fmt(figure.rawMs)}  ratio ${figure.ratio ?? '—'}`);
  return figure;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;
const fmt = (value: number | null): string => (value === null ? '—'.padStart(9) : `${value.toFixed(1)} ms`.padStart(9));

function makeSyntheticRepo(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'tw-bench-')), 'repo');
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]): void => {
    execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  };
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Bench');
  git('config', 'user.email', 'bench@example.invalid');
  git('config', 'commit.gpgsign', 'false');
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `src/module-${i % 40}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `file-${i}.ts`), `export const value${i} = ${i};\n`);
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  for (let c = 1; c < COMMITS; c++) {
    const i = (c * 7) % FILES;
    writeFileSync(join(dir, `src/module-${i % 40}`, `file-${i}.ts`), `export const value${i} = ${i + c};\n`);
    git('commit', '-q', '-am', `change ${c}`);
  }
  git('branch', 'integration'); // a base branch that no worktree has checked out
  return dir;
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log(`Task Worktrees benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, ${cpus()[0]?.model ?? ''}, git ${execFileSync('git', ['version'], { encoding: 'utf8' }).trim().replace('git version ', '')}, node ${process.version}`);
  const repo = makeSyntheticRepo();
  console.log(`synthetic repository: ${FILES} files, ${COMMITS} commits (${((Date.now() - started) / 1000).toFixed(1)} s to build); median of ${RUNS} runs after a warm-up\n`);
  const service = await TaskService.open(repo, { worktreeRoot: '../wt' });
  let spawns = 0;
  service.git.onSpawn(() => spawns++);
  try {
    // 1. create task + worktree
    await compare(
      'create task + worktree',
      (round) => service.createTask({ subject: `ours ${round}`, baseBranch: 'main', createWorktree: true }),
      (round) => rawGit(repo, 'worktree', 'add', '-q', '-b', `task/raw-${round}`, join(repo, '..', 'raw', String(round)), 'main'),
      // Each side writes 2,000 files: flush them before the next side, so one does not pay the other's writeback.
      { runs: Math.max(RUNS, 11), settle: () => execFileSync('sync') },
    );

    // 2. list the board at 10, 50 and 200 worktrees
    const listSpawns: Record<string, number> = {};
    let count = (await service.board()).tasks.length;
    for (const size of skipped('list board') ? [] : [10, 50, 200]) {
      while (count < size) {
        await service.createWorktree((await service.createTask({ subject: `listed ${count}`, baseBranch: 'main' })).id);
        count++;
      }
      // The raw runs' worktrees count too: keep both sides listing the same repository.
      const listed = await compare(
        `list board (${size} worktrees)`,
        async () => assert.ok((await service.board()).tasks.length >= size),
        async () => {
          await rawGit(repo, 'worktree', 'list', '--porcelain', '-z');
          await rawGit(repo, 'for-each-ref', '--format=%(objectname) %(refname:short)', 'refs/heads');
        },
      );
      spawns = 0;
      await service.board();
      listSpawns[size] = spawns;
      void listed;
    }
    figures.listSpawns = listSpawns;

    // 3. dirty state and ahead/behind of 200 worktrees
    const board = await service.board();
    const withWorktrees = board.tasks.filter((task) => task.worktreeState === 'present').slice(0, 200);
    if (!skipped('dirty + ahead/behind')) await compare(
      'dirty + ahead/behind, 200 worktrees',
      () => Promise.all(withWorktrees.map((task) => service.worktreeDetails(task))),
      async () => {
        for (const task of withWorktrees) {
          await rawGit(task.worktreePath!, 'status', '--porcelain=v2', '-z', '--untracked-files=all');
          await rawGit(repo, 'rev-list', '--left-right', '--count', `${task.baseBranch}...${task.branch}`);
        }
      },
      { runs: Math.min(RUNS, 5) },
    );

    // 4. merge a clean task into a base checked out nowhere (a fresh task each round). Its work is
    // committed a second after its checkout, as any task's is: git's index then knows every file it
    // checked out as unchanged. (Committed within the checkout's second, git must re-read all 2,000
    // files on each status until the index is written again: the last row shows what that costs.)
    const mergeTasks: string[] = [];
    const rawPairs: string[] = [];
    const prepareMerge = async (round: number, workAfterMs = 1100): Promise<void> => {
      const task = await service.createWorktree((await service.createTask({ subject: `merge ${round}`, baseBranch: 'integration' })).id);
      await new Promise((resolve) => setTimeout(resolve, workAfterMs));
      writeFileSync(join(task.worktreePath!, `merged-${task.id}.txt`), `${round}\n`);
      await rawGit(task.worktreePath!, 'add', '-A');
      await rawGit(task.worktreePath!, 'commit', '-q', '-m', `work ${round}`);
      mergeTasks[round] = task.id;
      rawPairs[round] = task.branch!;
    };
    if (!skipped('merge, base not checked out (vs merge-tree)')) await compare(
      'merge, base not checked out (vs merge-tree)',
      async (round) => assert.equal((await service.mergeTask(mergeTasks[round])).merged, true),
      (round) => rawGitAllowing1(repo, 'merge-tree', '--write-tree', 'integration', rawPairs[round]),
      { before: prepareMerge },
    );
    const rawMerge = async (round: number): Promise<void> => {
      // What a careful script has to do for the same merge: in-memory merge, commit, guarded ref update.
      const base = (await rawGit(repo, 'rev-parse', 'integration')).trim();
      const tree = (await rawGit(repo, 'merge-tree', '--write-tree', base, rawPairs[round])).trim();
      const commit = (await rawGit(repo, 'commit-tree', tree, '-p', base, '-p', rawPairs[round], '-m', 'raw merge')).trim();
      await rawGit(repo, 'update-ref', 'refs/heads/integration', commit, base);
    };
    if (!skipped('merge, base not checked out (vs full raw merge)')) await compare(
      'merge, base not checked out (vs full raw merge)',
      async (round) => assert.equal((await service.mergeTask(mergeTasks[round])).merged, true),
      rawMerge,
      { before: prepareMerge },
    );
    if (!skipped('merge, base not checked out, work committed in the checkout\'s second (vs full raw merge)')) await compare(
      'merge, base not checked out, work committed in the checkout\'s second (vs full raw merge)',
      async (round) => assert.equal((await service.mergeTask(mergeTasks[round])).merged, true),
      rawMerge,
      { before: (round) => prepareMerge(round, 0) },
    );

    // 5. merge pre-check of 20 tasks
    if (!skipped('merge pre-check, 20 tasks')) {
      const precheck = (await service.board()).tasks.filter((task) => task.branch && !task.merge).slice(0, 20);
      assert.equal(precheck.length, 20);
      await compare(
        'merge pre-check, 20 tasks',
        async () => assert.equal((await service.previewMerges(precheck.map((task) => task.id))).length, 20),
        async () => {
          for (const task of precheck) await rawGitAllowing1(repo, 'merge-tree', '--write-tree', task.baseBranch, task.branch!);
        },
      );
    }

    // 5b. conflict forecast of 20 active tasks on one base: 20 merges with the base + 190 pairs
    if (!skipped('forecast')) await forecastBench(service, repo);

    // 6. the store: one update, and updates with 8 concurrent writers (other processes)
    if (skipped('store update')) return;
    const store = new TaskStore(join(repo, '..', 'store'));
    const target = await store.create({ subject: 'hot', description: '0', status: 'pending', owner: '', baseBranch: 'main', blockedBy: [] });
    const UPDATES = 200;
    await compare(
      `store update (per update, ${UPDATES} in a row)`,
      async () => {
        for (let i = 0; i < UPDATES; i++) await store.update(target.id, () => ({ type: 'bench' }));
      },
      null,
      { runs: 3, perOperation: UPDATES },
    );
    const concurrent = await concurrentStoreUpdates(store.dir, target.id);
    figures['store update (per update, 8 concurrent writers)'] = { oursMs: concurrent, rawMs: null, ratio: null };
    rows.push(['store update (per update, 8 concurrent writers)', { oursMs: concurrent, rawMs: null, ratio: null }]);
    console.log(`  ${'store update (per update, 8 concurrent writers)'.padEnd(44)} ours ${fmt(concurrent)}`);
  } finally {
    rmSync(join(repo, '..'), { recursive: true, force: true });
    if (ONLY !== undefined) printTable();
  }
  if (ONLY !== undefined) return;

  // 7. bundle and activation
  figures.bundleBytes = statSync(join(ROOT, 'dist', 'extension.js')).size;
  const activationFile = join(ROOT, 'test-results', 'activation.json');
  if (existsSync(activationFile)) figures.activation = JSON.parse(readFileSync(activationFile, 'utf8'));
  console.log(`\n  bundle dist/extension.js: ${figures.bundleBytes} bytes`);
  console.log(`  git processes per board refresh: ${JSON.stringify(figures.listSpawns)}`);
  if (figures.activation) console.log(`  activation (from the last host test run): ${JSON.stringify(figures.activation)}`);

  writeFileSync(join(ROOT, 'bench', 'last-run.json'), `${JSON.stringify(figures, null, 2)}\n`);
  printTable();
  console.log(`\nwrote bench/last-run.json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function printTable(): void {
  console.log('\n| scenario | ours ms | raw git ms | ratio |\n| --- | ---: | ---: | ---: |');
  for (const [name, figure] of rows) {
    console.log(`| ${name} | ${figure.oursMs} | ${figure.rawMs ?? '—'} | ${figure.ratio ?? '—'} |`);
  }
}

/**
 * The conflict forecast: 20 tasks with a commit each on their own base (every task adds a file;
 * tasks i, i+5, i+10, i+15 also edit one shared file: 5 groups of 4, 30 overlapping pairs). A cold
 * forecast (a fresh service each round, so nothing is cached) against the same 210 merge-trees run
 * raw with the same number at once; then a second forecast with nothing moved, and its git processes.
 */
async function forecastBench(service: TaskService, repo: string): Promise<void> {
  const TASKS = 20;
  await rawGit(repo, 'branch', 'forecast-base', 'main');
  const branches: string[] = [];
  for (let i = 0; i < TASKS; i++) {
    const task = await service.createTask({ subject: `forecast ${i}`, baseBranch: 'forecast-base', createWorktree: true });
    writeFileSync(join(task.worktreePath!, 'src/module-0', `file-${(i % 5) * 40}.ts`), `export const shared = ${i};\n`);
    writeFileSync(join(task.worktreePath!, `forecast-${i}.txt`), `${i}\n`);
    await rawGit(task.worktreePath!, 'add', '-A');
    await rawGit(task.worktreePath!, 'commit', '-q', '-m', `forecast work ${i}`);
    branches.push(task.branch!);
  }
  const [base, ...tips] = (await rawGit(repo, 'rev-parse', 'forecast-base', ...branches)).trim().split('\n');
  const merges: Array<[string, string]> = tips.map((tip) => [base, tip]);
  tips.forEach((a, i) => tips.slice(i + 1).forEach((b) => merges.push([a, b])));
  assert.equal(merges.length, TASKS + (TASKS * (TASKS - 1)) / 2);

  let cold = service;
  await compare(
    `forecast, ${TASKS} tasks (${merges.length} merge-trees, ${FORECAST_PARALLELISM} at once)`,
    async () => {
      const forecast = await cold.forecast();
      assert.equal(forecast.tasks.filter((task) => task.withBase.clean).length, TASKS);
      assert.equal(forecast.overlaps.length, 30);
    },
    async () => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < merges.length) await rawGitAllowing1(repo, 'merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', ...merges[next++]);
      };
      await Promise.all(Array.from({ length: FORECAST_PARALLELISM }, worker));
    },
    {
      before: async () => {
        cold = await TaskService.open(repo, { worktreeRoot: '../wt' });
        await cold.git.version(); // asked once per adapter, not part of a forecast
      },
    },
  );

  // The warm service of the last round: nothing moved since its forecast.
  let processes: string[] = [];
  const stop = cold.git.onSpawn((args) => processes.push(args[0]));
  await compare(
    `forecast again, nothing moved (${TASKS} tasks)`,
    async () => {
      processes = [];
      assert.equal((await cold.forecast()).overlaps.length, 30);
    },
    null,
  );
  stop();
  const mergeTrees = processes.filter((name) => name === 'merge-tree').length;
  figures.forecastAgainGitProcesses = { total: processes.length, mergeTree: mergeTrees, commands: processes };
  console.log(`  second forecast, nothing moved: ${processes.length} git process(es) (${processes.join(', ')}), ${mergeTrees} merge-tree`);
}

/** 8 worker processes, 100 updates each, started together: wall time per update. */
async function concurrentStoreUpdates(storeDir: string, taskId: string): Promise<number> {
  const worker = join(ROOT, 'out', 'test', 'fixtures', 'storeWorker.js');
  const WORKERS = 8;
  const CHANGES = 100;
  const startAt = Date.now() + 1500;
  const exits = Array.from({ length: WORKERS }, (_, w) =>
    new Promise<void>((resolveExit, reject) => {
      const child = spawn(process.execPath, [worker, storeDir, String(w), String(CHANGES), String(startAt), taskId, taskId], { stdio: 'ignore' });
      child.on('exit', (code) => (code === 0 ? resolveExit() : reject(new Error(`worker exited ${code}`))));
    }),
  );
  await Promise.all(exits);
  return round2((Date.now() - startAt) / (WORKERS * CHANGES));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
