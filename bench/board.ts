/**
 * `npm run bench:board`: where the time to the board's rows goes after git, at N = 10, 50, 200 and
 * 1000 tasks with worktrees, in plain Node on the built core (no VS Code). For each N, the median of
 * RUNS readings of: the whole board() call, its git processes (first spawn to last exit), our
 * JavaScript after git returned, building the rows (filter, sort, groups) from the board and the
 * details cache, and a details-cache track() of an unchanged board. Writes bench/board-last-run.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TaskService } from '../src/core';
import { boardRows } from '../src/core/board';

const ROOT = resolve(__dirname, '..', '..');
const RUNS = Number(process.env.BENCH_RUNS || 9);
const SIZES = (process.env.BENCH_SIZES || '10,50,200,1000').split(',').map(Number);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] * 100) / 100;
}

function makeRepo(dir = join(mkdtempSync(join(tmpdir(), 'tw-board-bench-')), 'repo')): string {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Bench');
  git('config', 'user.email', 'bench@example.com');
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, `file-${i}.txt`), `${i}\n`);
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return dir;
}

async function main(): Promise<void> {
  // BENCH_REPO: a repository kept from an earlier run (its tasks are reused; it is not deleted).
  const kept = process.env.BENCH_REPO;
  const repo = kept && existsSync(kept) ? kept : kept ? makeRepo(kept) : makeRepo();
  const service = await TaskService.open(repo, { worktreeRoot: '../wt' });
  let lastExit = 0;
  let firstSpawn = Infinity;
  service.git.onSpawn(() => (firstSpawn = Math.min(firstSpawn, performance.now())));
  service.git.onExit(() => (lastExit = performance.now()));
  const results: Record<string, Record<string, number>> = {};
  const statuses = ['pending', 'in_progress', 'completed'] as const;
  let made = (await service.board()).tasks.length;
  try {
    for (const size of SIZES) {
      for (; made < size; made++) {
        const task = await service.createTask({ subject: `Task number ${made} of the bench`, baseBranch: 'main', createWorktree: true });
        if (made % 3) await service.setStatus(task.id, statuses[made % 3], made % 2 ? 'agent-1' : undefined);
      }
      const cache = service.createDetailsCache({ watch: false });
      cache.track((await service.board()).tasks);
      await cache.settled();
      const board: number[] = [];
      const git: number[] = [];
      const jsAfterGit: number[] = [];
      const rows: number[] = [];
      const track: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        firstSpawn = Infinity;
        const started = performance.now();
        const read = await service.board();
        const ended = performance.now();
        board.push(ended - started);
        git.push(lastExit - firstSpawn);
        jsAfterGit.push(ended - lastExit);
        const trackStarted = performance.now();
        cache.track(read.tasks);
        track.push(performance.now() - trackStarted);
        const rowsStarted = performance.now();
        boardRows(read, (id) => cache.get(id), { sort: run % 2 ? 'activity' : 'status', filter: run % 3 ? {} : { text: 'number 1' } });
        rows.push(performance.now() - rowsStarted);
      }
      cache.dispose();
      results[size] = { boardMs: median(board), gitMs: median(git), jsAfterGitMs: median(jsAfterGit), rowsMs: median(rows), trackMs: median(track) };
      console.log(`N=${String(size).padStart(4)}  ${Object.entries(results[size]).map(([key, value]) => `${key} ${value}`).join('  ')}`);
    }
  } finally {
    if (!kept) rmSync(resolve(repo, '..'), { recursive: true, force: true });
  }
  writeFileSync(join(ROOT, 'bench', 'board-last-run.json'), `${JSON.stringify({ runs: RUNS, node: process.version, results }, null, 2)}\n`);
}

void main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
