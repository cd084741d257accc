import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TaskService } from '../../src/core/index';
import { RepositoryWatch, Violation } from '../fixtures/adversarialInvariants';
import { describeStep, makePlan, Step, StepReport } from '../fixtures/adversarialPlan';
import { TestRepo } from '../fixtures/repo';

/**
 * Seeded random interleavings of 2–4 OS processes, each with its own TaskService on one repository,
 * creating, assigning, committing, merging, removing, repairing and deleting — and doing what users
 * do behind the extension's back (committing on the base, rm -rf of a worktree, a cherry-pick left
 * on a conflict). The steps of a round start together; after every round the invariants
 * (adversarialInvariants.ts) are checked from outside.
 *
 * ADVERSARIAL_SEED replays a run (its plan; which process wins each race may still differ),
 * ADVERSARIAL_ROUNDS sets the rounds per configuration, ADVERSARIAL_LOG names a file that gets every
 * step's report as a JSON line.
 */

const WORKER = join(__dirname, '..', 'fixtures', 'adversarialWorker.js');
const SEED = process.env.ADVERSARIAL_SEED ? Number(process.env.ADVERSARIAL_SEED) : Math.floor(Math.random() * 2 ** 31);
const ROUNDS = Number(process.env.ADVERSARIAL_ROUNDS ?? 60);
const LOG = process.env.ADVERSARIAL_LOG;
/** A step that takes longer than this is hung (the lock's own timeout is 15 s). */
const ROUND_TIMEOUT_MS = 60_000;
const BASE = 'main';

/** A worker process and the reports it has printed, handed out one per order. */
class Worker {
  private readonly child: ChildProcess;
  private readonly waiting: Array<(report: StepReport) => void> = [];
  private readonly exited: Promise<string>;
  private stderr = '';

  constructor(repoDir: string, readonly index: number) {
    this.child = spawn(process.execPath, [WORKER, repoDir, BASE, String(index)], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.waiting.shift()?.(JSON.parse(line) as StepReport));
    this.child.stderr!.on('data', (data: Buffer) => (this.stderr += data.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(`worker ${index} exited (${signal ?? code}): ${this.stderr.trim()}`)));
  }

  perform(round: number, startAt: number, step: Step): Promise<StepReport> {
    const report = new Promise<StepReport>((resolve) => this.waiting.push(resolve));
    this.child.stdin!.write(`${JSON.stringify({ round, startAt, step })}\n`);
    return Promise.race([report, this.exited.then((why) => Promise.reject(new Error(why)))]);
  }

  async stop(): Promise<void> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill(), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describeReport(report: StepReport): string {
  const outcome = report.ok ? 'ok' : report.code ? `refused ${report.code}` : report.uncoded ? 'CRASHED' : 'failed';
  return `w${report.worker} ${describeStep(report.step)} → ${outcome}${report.ok || !report.error ? '' : `: ${report.error.split('\n')[0].slice(0, 160)}`}`;
}

/** One line per broken invariant: where it first broke, how often, and that round's steps. */
function describeViolations(violations: Violation[], log: StepReport[][]): string {
  const byInvariant = new Map<string, Violation[]>();
  for (const violation of violations) byInvariant.set(violation.invariant, [...(byInvariant.get(violation.invariant) ?? []), violation]);
  return [...byInvariant]
    .map(([invariant, list]) => {
      const first = list[0];
      const steps = log[first.round].map((report) => `        ${describeReport(report)}`).join('\n');
      return `  ✗ ${invariant}: ${list.length}×, first in round ${first.round}: ${first.detail}\n      round ${first.round}:\n${steps}`;
    })
    .join('\n');
}

interface Configuration {
  name: string;
  /** Checks out another branch in the main worktree: the base is then checked out nowhere. */
  mainWorktreeBranch?: string;
}

const CONFIGURATIONS: Configuration[] = [
  { name: 'base checked out in the main worktree' },
  { name: 'base checked out nowhere (main worktree on another branch)', mainWorktreeBranch: 'side' },
];

suite('adversarial: seeded interleavings of 2–4 processes on one repository', () => {
  suiteSetup(() => console.log(`      seed ${SEED}, ${ROUNDS} rounds per configuration (replay: ADVERSARIAL_SEED=${SEED} ADVERSARIAL_ROUNDS=${ROUNDS})`));

  test('a seed gives one plan; more rounds only add rounds at the end', () => {
    const long = makePlan(SEED, 0, 12);
    assert.deepEqual(makePlan(SEED, 0, 12), long);
    assert.deepEqual(makePlan(SEED, 0, 5), { workers: long.workers, rounds: long.rounds.slice(0, 5) });
    assert.ok(long.workers >= 2 && long.workers <= 4, `${long.workers} workers`);
    assert.notDeepEqual(makePlan(SEED, 1, 12), long, 'each configuration plays its own plan');
  });

  for (const [stream, configuration] of CONFIGURATIONS.entries()) {
    test(`${configuration.name}: the invariants hold after every round`, async function () {
      this.timeout(ROUNDS * ROUND_TIMEOUT_MS + 60_000);
      const plan = makePlan(SEED, stream, ROUNDS);
      const repo = new TestRepo();
      const workers: Worker[] = [];
      const log: StepReport[][] = [];
      const violations: Violation[] = [];
      const started = Date.now();
      try {
        if (configuration.mainWorktreeBranch) repo.git('checkout', '-q', '-b', configuration.mainWorktreeBranch);
        const watch = new RepositoryWatch(repo, await TaskService.open(repo.dir), [BASE, configuration.mainWorktreeBranch ?? BASE]);
        for (let index = 0; index < plan.workers; index++) workers.push(new Worker(repo.dir, index));
        for (const [round, steps] of plan.rounds.entries()) {
          // Far enough ahead that every worker has its order before the first one starts.
          const startAt = Date.now() + 20;
          const reports = await withTimeout(
            Promise.all(steps.map((step, index) => workers[index].perform(round, startAt, step))),
            ROUND_TIMEOUT_MS,
            `round ${round}`,
          );
          log.push(reports);
          if (LOG) appendFileSync(LOG, reports.map((report) => `${JSON.stringify({ seed: SEED, configuration: configuration.name, ...report })}\n`).join(''));
          violations.push(...(await watch.afterRound(round, reports)));
        }
      } catch (error) {
        // A hung round or a dead worker: say which run it was, so that it can be replayed.
        throw new Error(`seed ${SEED} (replay: ADVERSARIAL_SEED=${SEED} ADVERSARIAL_ROUNDS=${ROUNDS}), ${configuration.name}: ${(error as Error).message}`);
      } finally {
        await Promise.all(workers.map((worker) => worker.stop()));
        repo.dispose();
      }
      const reports = log.flat();
      const count = (predicate: (report: StepReport) => boolean): number => reports.filter(predicate).length;
      console.log(
        `      ${configuration.name}: ${plan.workers} processes × ${plan.rounds.length} rounds, ` +
          `${count((r) => r.ok)} ok, ${count((r) => !!r.code)} refused with a code, ${count((r) => !!r.detail?.notApplicable)} raw steps with nothing to act on, ` +
          `${count((r) => !r.ok && !r.code && !r.detail?.notApplicable)} other failures, ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      assert.equal(
        violations.length,
        0,
        `seed ${SEED} (replay: ADVERSARIAL_SEED=${SEED} ADVERSARIAL_ROUNDS=${ROUNDS}), ${configuration.name}, ${plan.workers} processes:\n${describeViolations(violations, log)}`,
      );
    });
  }
});
