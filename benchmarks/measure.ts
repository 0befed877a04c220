// Runs a case: every contender in a fresh process, one after another in
// rounds (A B C … A B C …) so that a noisy neighbour hurts all of them alike,
// after one untimed warm-up round that also warms the page cache.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';

import type { Case, Contender } from './cases';
import type { RunReport } from './jobs';
import type { Toolchain } from './toolchain';

export interface ContenderResult {
  name: string;
  candidate: boolean;
  /** Median of the timed runs, in seconds. */
  medianSeconds: number | null;
  seconds: number[];
  /** Largest peak RSS of any run, in MiB. */
  peakRssMiB: number | null;
  /**
   * Node contenders: the median of each run's largest event-loop delay. The
   * median, because this machine stalls an idle process for tens of
   * milliseconds now and then (see the control in results.json).
   */
  maxEventLoopDelayMs?: number;
  /** The largest event-loop delay of any run. */
  worstEventLoopDelayMs?: number;
  /** The last run's detail figure (changes listed, bytes, entries walked). */
  detail?: number;
  /** Why the contender has no figures, when one of its runs failed. */
  error?: string;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// A run that takes longer is stuck (node-tar reading a device node, say).
const RUN_TIMEOUT_MS = 10 * 60_000;

function collect(output: NodeJS.ReadableStream | null): () => string {
  let text = '';
  output?.setEncoding('utf8');
  output?.on('data', (chunk: string) => (text += chunk));
  return () => text;
}

/** Runs `program` to its end; resolves to the last line of its stdout. */
function lastLine(program: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: RUN_TIMEOUT_MS });
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve(stdout().trimEnd().split('\n').pop() ?? '');
      } else {
        reject(new Error(`${program} ${signal ?? `exited with ${code}`}: ${stderr().trim() || stdout().trim()}`));
      }
    });
  });
}

/** One run of `contender` in a fresh process. */
async function runOnce(contender: Contender, tools: Toolchain): Promise<RunReport> {
  contender.before?.();
  // Nothing dirty left from an earlier run is written back during this one.
  execFileSync('sync');
  if ('node' in contender.job) {
    return JSON.parse(await lastLine(process.execPath, [tools.child, JSON.stringify(contender.job.node)], tools.env)) as RunReport;
  }
  if ('script' in contender.job) {
    const { entry, job } = contender.job.script;
    const program = path.join(path.dirname(tools.child), `${entry}.js`);
    return JSON.parse(await lastLine(process.execPath, [program, JSON.stringify(job)], tools.env)) as RunReport;
  }
  const { argv, cwd } = contender.job.exec;
  const args = [...(cwd === undefined ? [] : ['-C', cwd]), '--', ...argv];
  const report = JSON.parse(await lastLine(tools.bin.timeit, args, tools.env)) as {
    seconds: number;
    maxRssKiB: number;
    stdoutBytes: number;
    exitCode: number;
  };
  if (report.exitCode !== 0) throw new Error(`${argv.join(' ')} exited with ${report.exitCode}`);
  // What the program printed is its figure: a size, an entry count, or a tar.
  return { seconds: report.seconds, maxRssKiB: report.maxRssKiB, detail: report.stdoutBytes };
}

export async function measureCase(c: Case, rounds: number, tools: Toolchain): Promise<ContenderResult[]> {
  const reports = c.contenders.map((): RunReport[] => []);
  const errors: Array<string | undefined> = c.contenders.map(() => undefined);
  c.setup?.();
  try {
    for (let round = 0; round <= rounds; round++) {
      for (const [i, contender] of c.contenders.entries()) {
        if (errors[i] !== undefined) continue;
        try {
          const report = await runOnce(contender, tools);
          if (round > 0) reports[i].push(report);
        } catch (err) {
          errors[i] = err instanceof Error ? err.message : String(err);
        }
      }
    }
  } finally {
    c.teardown?.();
  }
  return c.contenders.map((contender, i) => summarise(contender, reports[i], errors[i]));
}

function summarise(contender: Contender, reports: RunReport[], error: string | undefined): ContenderResult {
  const result: ContenderResult = {
    name: contender.name,
    candidate: contender.candidate === true,
    medianSeconds: null,
    seconds: [],
    peakRssMiB: null,
  };
  if (error !== undefined || reports.length === 0) return { ...result, error: error ?? 'no runs' };
  const delays = reports.map((r) => r.maxEventLoopDelayMs).filter((d): d is number => d !== undefined);
  return {
    ...result,
    medianSeconds: median(reports.map((r) => r.seconds)),
    seconds: reports.map((r) => r.seconds),
    peakRssMiB: Math.max(...reports.map((r) => r.maxRssKiB)) / 1024,
    ...(delays.length > 0 ? { maxEventLoopDelayMs: median(delays), worstEventLoopDelayMs: Math.max(...delays) } : {}),
    detail: reports[reports.length - 1].detail,
  };
}
