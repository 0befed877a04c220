// npm run bench [-- --quick] [--only REGEXP] [--rounds N] [--out FILE] [--scratch DIR] [--disk]
//
// Times our driver against the shell-out driver, GNU tar, node-tar and the C
// limits on seeded workloads, prints the tables and writes results.json.
// --quick runs small workloads, without the rootfs, for a smoke test.
// Layers are extracted onto a tmpfs unless --disk says onto the scratch
// directory's filesystem (see README.md for why).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { mountsUnder } from '../test/helpers/fixtures';
import { buildCases, type Case, type CaseInputs } from './cases';
import { measureCase } from './measure';
import { pluginCases } from './pluginCases';
import { caseResult, goalsTable, machine, resultsTable, writeResults, type Results } from './report';
import { rootfsWorkload } from './rootfs';
import { REPO, buildToolchain, type Toolchain } from './toolchain';
import { FULL_SIZES, QUICK_SIZES, chain, files, layeredChanges, workload } from './workloads';

const GET_PUT_ITERATIONS = { full: { program: 50, bind: 500 }, quick: { program: 5, bind: 50 } };
const ROUNDS = { full: 5, quick: 3 };
const IDLE_SECONDS = { full: 2, quick: 0.5 };
// Room for the largest extraction: the 1 GiB layer.
const RUNS_TMPFS_SIZE = '4g';

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let unit = 0;
  while (bytes >= 1024 && bytes % 1024 === 0 && unit < units.length - 1) {
    bytes /= 1024;
    unit++;
  }
  return `${bytes} ${units[unit]}`;
}

function count(n: number): string {
  return n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

interface Options {
  mode: 'quick' | 'full';
  rounds: number;
  only?: RegExp;
  out: string;
  scratch: string;
  disk: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string', default: path.join(REPO, 'benchmarks', 'results.json') },
      scratch: { type: 'string', default: path.join(REPO, 'benchmarks', 'scratch') },
      disk: { type: 'boolean', default: false },
    },
  });
  const mode = values.quick ? 'quick' : 'full';
  return {
    mode,
    rounds: values.rounds === undefined ? ROUNDS[mode] : Number(values.rounds),
    ...(values.only === undefined ? {} : { only: new RegExp(values.only) }),
    out: path.resolve(values.out),
    scratch: path.resolve(values.scratch),
    disk: values.disk,
  };
}

async function buildInputs(options: Options, tools: Toolchain, runsDir: string): Promise<CaseInputs> {
  const { mode, scratch } = options;
  const { chainLayers, changesEntries, bigFiles, bigFileBytes, smallFiles, smallFileBytes } =
    mode === 'quick' ? QUICK_SIZES : FULL_SIZES;
  // Quick and full workloads are cached side by side.
  const workDir = path.join(scratch, `work-${mode}`);
  return {
    tools,
    runsDir,
    chain: await workload(
      workDir,
      { name: 'chain', label: `${chainLayers}-layer chain`, id: `layer${chainLayers - 1}`, params: { chainLayers }, generate: chain(chainLayers) },
      log,
    ),
    changes: await workload(
      workDir,
      {
        name: 'changes',
        label: `${count(changesEntries)} entries (files, dirs, 5% whiteouts) over 3 parent layers`,
        id: 'top',
        params: { changesEntries },
        generate: layeredChanges(changesEntries),
      },
      log,
    ),
    big: await workload(
      workDir,
      {
        name: 'big',
        label: `${size(bigFiles * bigFileBytes)} in ${bigFiles} files`,
        id: 'files',
        params: { bigFiles, bigFileBytes },
        generate: files(bigFiles, bigFileBytes),
        tar: true,
      },
      log,
    ),
    small: await workload(
      workDir,
      {
        name: 'small',
        label: `${count(smallFiles)} files of ${size(smallFileBytes)}`,
        id: 'files',
        params: { smallFiles, smallFileBytes },
        generate: files(smallFiles, smallFileBytes),
        tar: true,
      },
      log,
    ),
    rootfs: mode === 'quick' ? 'not in --quick runs' : await rootfsWorkload(path.join(scratch, 'work-full'), log),
    getPutIterations: GET_PUT_ITERATIONS[mode],
    idleSeconds: IDLE_SECONDS[mode],
  };
}

async function runCases(options: Options, cases: Case[], tools: Toolchain): Promise<Results> {
  const results: Results = {
    machine: machine(),
    node: process.version,
    date: new Date().toISOString(),
    mode: options.mode,
    rounds: options.rounds,
    cases: [],
  };
  for (const c of cases) {
    if (c.skipped !== undefined) {
      log(`${c.name}: skipped, ${c.skipped}`);
      results.cases.push(caseResult(c, []));
      continue;
    }
    log(`${c.name}: ${c.workload}`);
    const result = caseResult(c, await measureCase(c, options.rounds, tools));
    for (const r of result.contenders) {
      if (r.error !== undefined) log(`  ${r.name} failed: ${r.error}`);
    }
    results.cases.push(result);
  }
  return results;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const started = Date.now();
  mkdirSync(options.scratch, { recursive: true });
  // Mounts that an interrupted run left behind.
  for (const target of mountsUnder(options.scratch).reverse()) execFileSync('umount', ['-l', target]);
  const tools = buildToolchain(options.scratch);
  const runsDir = path.join(options.scratch, 'runs');
  mkdirSync(runsDir, { recursive: true });
  if (!options.disk) execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${RUNS_TMPFS_SIZE}`, 'bench-runs', runsDir]);
  let results: Results;
  try {
    const inputs = await buildInputs(options, tools, runsDir);
    const cases = [...buildCases(inputs), ...pluginCases(inputs, options.mode)].filter((c) => options.only?.test(c.name) ?? true);
    results = await runCases(options, cases, tools);
  } finally {
    if (!options.disk) execFileSync('umount', [runsDir]);
  }
  writeResults(options.out, results);
  process.stdout.write(`${resultsTable(results)}\n\n${goalsTable(results)}\n`);
  const took = ((Date.now() - started) / 1000).toFixed(0);
  log(`${options.mode} run of ${results.cases.length} cases took ${took} s; results in ${options.out}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
