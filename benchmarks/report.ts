// The figures: goals checked, a markdown table for people and the README,
// and results.json for machines.
import { writeFileSync } from 'node:fs';
import os from 'node:os';

import type { Case } from './cases';
import type { ContenderResult } from './measure';

export const MAX_RSS_MIB = 150;
export const MAX_EVENT_LOOP_DELAY_MS = 20;

export interface GoalResult {
  text: string;
  /** The ratio, MiB or milliseconds the goal is about; null when it could not be measured. */
  value: number | null;
  met: boolean;
}

export interface CaseResult {
  name: string;
  workload: string;
  skipped?: string;
  contenders: ContenderResult[];
  /** For each baseline: its median over ours, i.e. how many times faster ours is. */
  ratios: Array<{ baseline: string; ratio: number | null }>;
  goals: GoalResult[];
}

export interface Results {
  /** loadAverage: the 1, 5 and 15-minute load when the run started, others' work included. */
  machine: { cpu: string; cpus: number; memoryGiB: number; kernel: string; loadAverage: number[] };
  node: string;
  date: string;
  mode: 'quick' | 'full';
  /** Timed runs per contender, after one warm-up. */
  rounds: number;
  cases: CaseResult[];
}

export function caseResult(c: Case, contenders: ContenderResult[]): CaseResult {
  const ours = contenders.find((r) => r.candidate);
  const ratioOf = (r: ContenderResult): number | null =>
    ours?.medianSeconds && r.medianSeconds !== null ? r.medianSeconds / ours.medianSeconds : null;
  const ratios = contenders.filter((r) => !r.candidate).map((r) => ({ baseline: r.name, ratio: ratioOf(r) }));
  const goals: GoalResult[] = c.goals.map((goal) => {
    const value = ratios.find((r) => r.baseline === goal.against)?.ratio ?? null;
    return { text: goal.text, value, met: value !== null && value >= goal.atLeast };
  });
  if (ours !== undefined) {
    goals.push({
      text: `peak RSS ≤ ${MAX_RSS_MIB} MB`,
      value: ours.peakRssMiB,
      met: ours.peakRssMiB !== null && ours.peakRssMiB <= MAX_RSS_MIB,
    });
    const delay = ours.maxEventLoopDelayMs ?? null;
    goals.push({ text: `max event-loop delay ≤ ${MAX_EVENT_LOOP_DELAY_MS} ms`, value: delay, met: delay !== null && delay <= MAX_EVENT_LOOP_DELAY_MS });
  }
  return { name: c.name, workload: c.workload, ...(c.skipped ? { skipped: c.skipped } : {}), contenders, ratios, goals };
}

export function machine(): Results['machine'] {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

export function writeResults(file: string, results: Results): void {
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

const fixed = (value: number | null | undefined, digits: number): string =>
  value === null || value === undefined ? '–' : value.toFixed(digits);

function seconds(value: number | null): string {
  if (value === null) return '–';
  return value >= 1 ? value.toFixed(2) : value >= 0.01 ? value.toFixed(3) : value.toFixed(4);
}

function delays(r: ContenderResult): string {
  return r.maxEventLoopDelayMs === undefined ? '–' : `${fixed(r.maxEventLoopDelayMs, 1)} (${fixed(r.worstEventLoopDelayMs, 1)})`;
}

/** One row per contender: median, how many times faster ours is, memory, event loop. */
export function resultsTable(results: Results): string {
  const rows = [
    '| case | contender | median s | ours ×faster | peak RSS MiB | loop delay ms: max (worst) | detail |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const c of results.cases) {
    if (c.skipped !== undefined) {
      rows.push(`| ${c.name} | skipped: ${c.skipped} | | | | | |`);
      continue;
    }
    for (const r of c.contenders) {
      const ratio = c.ratios.find((x) => x.baseline === r.name)?.ratio;
      const median = r.error !== undefined ? `failed: ${r.error.split('\n')[0].slice(0, 80)}` : seconds(r.medianSeconds);
      rows.push(
        `| ${c.name} | ${r.candidate ? '**ours**' : r.name} | ${median} | ${r.candidate ? '' : fixed(ratio, 2)} | ${fixed(r.peakRssMiB, 0)} | ${delays(r)} | ${r.detail ?? ''} |`,
      );
    }
  }
  return rows.join('\n');
}

/** One row per goal, with the figure it was judged on. */
export function goalsTable(results: Results): string {
  const rows = ['| case | workload | goal | figure | met |', '|---|---|---|---:|:---:|'];
  for (const c of results.cases) {
    for (const g of c.goals) rows.push(`| ${c.name} | ${c.workload} | ${g.text} | ${fixed(g.value, 2)} | ${g.met ? 'yes' : '**no**'} |`);
  }
  return rows.join('\n');
}
