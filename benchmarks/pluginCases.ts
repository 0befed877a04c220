// The plugin's cases: what a Docker graph driver plugin costs. Containers
// created, started, waited for and removed by a fresh dockerd on the plugin,
// against the same on Docker's built-in vfs and fuse-overlayfs drivers; and
// the plugin's Get+Put round trips over its socket against the same calls
// through the API in-process. Every run is a pluginChild.ts process.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import { buildRootfsTar } from '../test/helpers/busyboxImage';
import { OURS, type Case, type CaseInputs, type Contender } from './cases';
import type { ContainerStorage, PluginJob } from './pluginChild';

const CONTAINERS = 20;
/** Get+put without a mount costs microseconds: many more of them make a run. */
const BARE_GET_PUT_FACTOR = 4;
const DOCKER_VFS = "Docker's vfs driver";
const DOCKER_FUSE_OVERLAYFS = "Docker's fuse-overlayfs driver";
const IN_PROCESS = 'in-process API';

function contender(name: string, job: PluginJob, candidate = false): Contender {
  return { name, ...(candidate ? { candidate } : {}), job: { script: { entry: 'pluginChild', job } } };
}

function containerCase(runsDir: string, mode: 'quick' | 'full'): Case {
  const image = path.join(runsDir, 'rootfs.tar');
  const containers = CONTAINERS;
  const job = (storage: ContainerStorage): PluginJob => ({ op: 'containers', storage, dir: runsDir, image, containers });
  const workload = `${containers} × create+start+wait+rm of a busybox /bin/true container, Engine API, fresh dockerd per run`;
  // A dockerd per run, three drivers, four rounds: a minute, too much for a smoke test.
  if (mode === 'quick') return { name: 'docker containers', workload, contenders: [], goals: [], skipped: 'not in --quick runs' };
  return {
    name: 'docker containers',
    workload,
    setup: () => {
      buildRootfsTar(runsDir, {});
    },
    teardown: () => {
      for (const name of readdirSync(runsDir)) rmSync(path.join(runsDir, name), { recursive: true, force: true });
    },
    contenders: [
      contender(OURS, job('plugin'), true),
      contender(DOCKER_FUSE_OVERLAYFS, job('fuse-overlayfs')),
      contender(DOCKER_VFS, job('vfs')),
    ],
    goals: [{ against: DOCKER_FUSE_OVERLAYFS, atLeast: 1, text: "no slower than Docker's fuse-overlayfs" }],
  };
}

/** The ancestor farthest from `id` in its layers file: a layer with no parents, which get() never mounts. */
function baseLayer(root: string, id: string): string {
  return readFileSync(path.join(root, 'layers', id), 'utf8').trimEnd().split('\n').pop() ?? id;
}

/** Get+Put of `id` over the socket against the same in-process; `goal`: ours within 2× of in-process. */
function getPutCase(name: string, workload: string, job: Omit<Extract<PluginJob, { op: 'getPut' }>, 'via'>, goal: boolean): Case {
  return {
    name,
    workload,
    contenders: [contender(OURS, { ...job, via: 'plugin' }, true), contender(IN_PROCESS, { ...job, via: 'in-process' })],
    goals: goal ? [{ against: IN_PROCESS, atLeast: 0.5, text: 'within 2× the in-process API' }] : [],
  };
}

export function pluginCases({ chain, runsDir, getPutIterations }: CaseInputs, mode: 'quick' | 'full'): Case[] {
  const base = baseLayer(chain.root, chain.id);
  const bare = getPutIterations.bind * BARE_GET_PUT_FACTOR;
  return [
    getPutCase(
      'plugin get+put program',
      `${chain.label}, ${getPutIterations.program} × Get+Put of the top over the socket, mounted by fuse-overlayfs`,
      { op: 'getPut', root: chain.root, id: chain.id, iterations: getPutIterations.program, dir: runsDir },
      true,
    ),
    // The protocol's own cost, per call: no mount to weigh it against, so no goal.
    getPutCase(
      'plugin get+put bare',
      `${bare} × Get+Put of the chain's base layer over the socket: no mount, the protocol alone`,
      { op: 'getPut', root: chain.root, id: base, iterations: bare, dir: runsDir },
      false,
    ),
    containerCase(runsDir, mode),
  ];
}
