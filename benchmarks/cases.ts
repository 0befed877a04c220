// Every case the bench runs: an operation on a workload, ours against each
// baseline, and the goals the issue sets for it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { ExecJob, NodeJob, ScriptJob } from './jobs';
import type { Toolchain } from './toolchain';
import type { Workload } from './workloads';

export interface Contender {
  name: string;
  /** Ours: the contender every ratio is taken against. */
  candidate?: boolean;
  job: { node: NodeJob } | { exec: ExecJob } | { script: ScriptJob };
  /** Untimed, before each run: e.g. an empty directory to extract into. */
  before?: () => void;
}

/** Ours must be at least `atLeast` times as fast as the contender `against`. */
export interface Goal {
  against: string;
  atLeast: number;
  text: string;
}

export interface Case {
  name: string;
  workload: string;
  contenders: Contender[];
  goals: Goal[];
  /** Why the case does not run, when it does not. */
  skipped?: string;
  /** Untimed, around all runs of the case. */
  setup?: () => void;
  teardown?: () => void;
}

export interface CaseInputs {
  tools: Toolchain;
  /** An existing directory where runs extract into and keep their scratch files. */
  runsDir: string;
  chain: Workload;
  changes: Workload;
  big: Workload;
  small: Workload;
  /** The rootfs workload, or why it is skipped. */
  rootfs: Workload | string;
  getPutIterations: { program: number; bind: number };
  /** How long the control waits. */
  idleSeconds: number;
}

export const OURS = 'ours';
export const SHELL_OUT = 'shell-out driver';
const GNU_TAR_CREATE = 'GNU tar -c to a pipe';
const GNU_TAR_EXTRACT = 'GNU tar -x file';
const DU = 'du -sb';
const C_WALK = 'C walk (limit)';
const C_MOUNT_LOOP = 'C mount+umount2 loop (limit)';

type DriverJob = NodeJob & { impl: 'candidate' | 'shell-out' };
type DistributeImpl<T> = T extends unknown ? Omit<T, 'impl'> : never;

/** Ours and the shell-out driver on the same job. */
function drivers(job: DistributeImpl<DriverJob>, before?: () => void): Contender[] {
  return [
    { name: OURS, candidate: true, job: { node: { ...job, impl: 'candidate' } as NodeJob }, before },
    { name: SHELL_OUT, job: { node: { ...job, impl: 'shell-out' } as NodeJob }, before },
  ];
}

/** Removes what `dir` holds, but not `dir`, which may be a mount point. */
function clearDir(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(path.join(dir, name), { recursive: true, force: true });
}

function emptyDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

/** An empty driver root: the layout both drivers expect. */
function emptyRoot(root: string): void {
  emptyDir(root);
  for (const dir of ['layers', 'diff', 'mnt']) mkdirSync(path.join(root, dir));
}

/** changes and diffSize of the workload's layer; `goals` as for the 100k-entry layer. */
function walkCases(suffix: string, w: Workload, tools: Toolchain, goals: boolean): Case[] {
  const walk: Contender = { name: C_WALK, job: { exec: { argv: [tools.bin.walk, w.dir] } } };
  return [
    {
      name: `changes${suffix}`,
      workload: w.label,
      contenders: [...drivers({ op: 'changes', root: w.root, id: w.id }), walk],
      goals: goals
        ? [
            { against: SHELL_OUT, atLeast: 5, text: '≥ 5× the shell-out' },
            { against: C_WALK, atLeast: 1 / 1.3, text: '≤ 1.3× the bare C walk' },
          ]
        : [],
    },
    {
      name: `diffSize${suffix}`,
      workload: w.label,
      contenders: [
        ...drivers({ op: 'diffSize', root: w.root, id: w.id }),
        { name: DU, job: { exec: { argv: ['du', '-sb', w.dir] } } },
        walk,
      ],
      goals: goals ? [{ against: DU, atLeast: 1, text: '≥ 1.0× du -sb' }] : [],
    },
  ];
}

/** diff of the workload's layer; ours must reach `atLeast` × GNU tar's speed, if given. */
function diffCase(suffix: string, w: Workload, runsDir: string, atLeast?: number): Case {
  // cat gets the file list made beforehand, as the limit of reading the bytes.
  const list = path.join(runsDir, `${path.basename(w.root)}.files`);
  return {
    name: `diff${suffix}`,
    workload: w.label,
    setup: () => {
      writeFileSync(list, execFileSync('find', ['.', '-type', 'f', '-print0'], { cwd: w.dir, maxBuffer: 1 << 30 }));
    },
    teardown: () => clearDir(runsDir),
    contenders: [
      ...drivers({ op: 'diff', root: w.root, id: w.id }),
      { name: GNU_TAR_CREATE, job: { exec: { argv: ['tar', '-cf', '-', '-C', w.dir, '.'] } } },
      { name: 'node-tar c', job: { node: { op: 'tarCreate', impl: 'node-tar', dir: w.dir } } },
      { name: 'cat to a pipe (limit)', job: { exec: { argv: ['xargs', '-0', '-a', list, 'cat'], cwd: w.dir } } },
    ],
    goals: atLeast === undefined ? [] : [{ against: GNU_TAR_CREATE, atLeast, text: `≥ ${atLeast.toFixed(1)}× GNU tar -c` }],
  };
}

/** applyDiff of the workload's tar; ours must reach `atLeast` × GNU tar's speed, if given. */
function applyCase(suffix: string, w: Workload, runsDir: string, atLeast?: number): Case {
  const root = path.join(runsDir, 'apply-root');
  const dir = path.join(runsDir, 'extract');
  return {
    name: `applyDiff${suffix}`,
    workload: `${w.label}, from a GNU tar file`,
    teardown: () => clearDir(runsDir),
    contenders: [
      ...drivers({ op: 'applyDiff', root, id: 'applied', tar: w.tar }, () => emptyRoot(root)),
      { name: GNU_TAR_EXTRACT, job: { exec: { argv: ['tar', '-xf', w.tar, '-C', dir] } }, before: () => emptyDir(dir) },
      { name: 'node-tar x', job: { node: { op: 'tarExtract', impl: 'node-tar', dir, tar: w.tar } }, before: () => emptyDir(dir) },
    ],
    goals: atLeast === undefined ? [] : [{ against: GNU_TAR_EXTRACT, atLeast, text: `≥ ${atLeast.toFixed(1)}× GNU tar -x` }],
  };
}

function getPutCases({ chain, tools, getPutIterations }: CaseInputs): Case[] {
  const job = { op: 'getPut', root: chain.root, id: chain.id } as const;
  const target = path.join(chain.root, 'mnt', chain.id);
  const forks = { against: SHELL_OUT, atLeast: 50, text: '≥ 50× mount(8)/umount(8) forks' };
  return [
    {
      name: 'get+put program',
      workload: `${chain.label}, ${getPutIterations.program} × get+put of the top through fuse-overlayfs`,
      contenders: drivers({ ...job, iterations: getPutIterations.program, mount: 'program' }),
      goals: [forks],
    },
    {
      name: 'get+put bind',
      workload: `${chain.label}, ${getPutIterations.bind} × get+put of the top as a bind mount through mount(2)`,
      // The driver counts a mount only when its root is on another device
      // than its parent directory: the bound layer gets a tmpfs of its own.
      setup: () => execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'bench-layer', chain.dir]),
      teardown: () => execFileSync('umount', [chain.dir]),
      contenders: [
        ...drivers({ ...job, iterations: getPutIterations.bind, mount: 'bind' }),
        {
          name: C_MOUNT_LOOP,
          job: { exec: { argv: [tools.bin.mount_loop, chain.dir, target, String(getPutIterations.bind)] } },
        },
      ],
      goals: [forks, { against: C_MOUNT_LOOP, atLeast: 1 / 3, text: 'within 3× of the C loop' }],
    },
  ];
}

/** The rootfs applied, diffed, sized and walked like the rest, without goals of its own. */
function rootfsCases(rootfs: Workload | string, tools: Toolchain, runsDir: string): Case[] {
  const suffix = ' rootfs';
  if (typeof rootfs === 'string') {
    return ['applyDiff', 'diff', 'changes', 'diffSize'].map((op) => ({
      name: `${op}${suffix}`,
      workload: 'debootstrap --variant=minbase bookworm',
      contenders: [],
      goals: [],
      skipped: rootfs,
    }));
  }
  return [
    applyCase(suffix, rootfs, runsDir),
    diffCase(suffix, rootfs, runsDir),
    ...walkCases(suffix, rootfs, tools, false),
  ];
}

/** No work at all: how long this machine stalls a Node process that only waits. */
function controlCase(seconds: number): Case {
  return {
    name: 'idle (control)',
    workload: `a Node process waiting ${seconds} s`,
    contenders: [{ name: 'idle Node process', job: { node: { op: 'idle', impl: 'control', seconds } } }],
    goals: [],
  };
}

export function buildCases(inputs: CaseInputs): Case[] {
  const { tools, runsDir, changes, big, small, rootfs } = inputs;
  return [
    controlCase(inputs.idleSeconds),
    ...getPutCases(inputs),
    ...walkCases('', changes, tools, true),
    diffCase(' (a)', big, runsDir, 1),
    diffCase(' (b)', small, runsDir, 0.6),
    applyCase(' (a)', big, runsDir, 1),
    applyCase(' (b)', small, runsDir, 0.6),
    ...rootfsCases(rootfs, tools, runsDir),
  ];
}
