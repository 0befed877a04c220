// One measured run of a plugin case, in a fresh process (see pluginCases.ts):
// set up untimed, the operation alone timed, the RunReport printed as JSON
// on the last line of stdout. The plugin runs in a process of its own, as
// `aufs-graphdriver serve` does, and reports its own peak RSS and event-loop
// delay, which are ours.
//
//   node pluginChild.js '<PluginJob as JSON>'
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { createPluginServer, init } from '../src';
import { Dockerd } from '../test/helpers/dockerd';
import { PROGRAM_OPTIONS } from '../test/helpers/fixtures';
import type { RunReport } from './jobs';

/** Docker's built-in drivers the plugin is timed against, or the plugin itself. */
export type ContainerStorage = 'plugin' | 'vfs' | 'fuse-overlayfs';

export type PluginJob =
  /** The plugin server: serves until SIGTERM, then prints its peak RSS and event-loop delay. */
  | { op: 'server'; name: string; socket: string }
  /** `containers` × create+start+wait+rm of a trivial container, on a fresh dockerd in a fresh directory under `dir`. */
  | { op: 'containers'; storage: ContainerStorage; dir: string; image: string; containers: number }
  /** `iterations` × get+put of layer `id` of `root`, over the plugin's socket or through the API in this process. */
  | { op: 'getPut'; via: 'plugin' | 'in-process'; root: string; id: string; iterations: number; dir: string };

/** What the server process reports about itself when it stops. */
interface ServerReport {
  maxRssKiB: number;
  maxEventLoopDelayMs: number;
}

/** The timed part of a run, and how to finish it untimed. */
interface Prepared {
  operation: () => Promise<number>;
  finish: () => Promise<Partial<RunReport>>;
}

const BENCH_IMAGE = 'bench:1';

async function serve(job: Extract<PluginJob, { op: 'server' }>): Promise<void> {
  const server = createPluginServer({ name: job.name, socket: job.socket, driverOptions: PROGRAM_OPTIONS });
  await server.listen();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  process.stdout.write('ready\n');
  await once(process, 'SIGTERM');
  delay.disable();
  await server.close();
  const report: ServerReport = { maxRssKiB: process.resourceUsage().maxRSS, maxEventLoopDelayMs: delay.max / 1e6 };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** Starts the plugin server in a process of its own; resolves once it listens. */
async function startServer(name: string, socket: string): Promise<{ stop(): Promise<ServerReport> }> {
  const child = spawn(process.execPath, [...process.execArgv, __filename, JSON.stringify({ op: 'server', name, socket })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => (output += text));
  const exited = once(child, 'exit');
  while (!output.startsWith('ready\n')) {
    await Promise.race([once(child.stdout, 'data'), exited.then(() => Promise.reject(new Error('the plugin server exited')))]);
  }
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(output.trimEnd().split('\n').pop() ?? '') as ServerReport;
    },
  };
}

/** The peak resident set of the live process `pid` (VmHWM), in KiB; 0 once it has exited. */
function peakRssKiB(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/** One call of Docker's Engine API on `socket`: resolves to the parsed JSON answer, if any. */
function engine(socket: string, agent: Agent, method: string, apiPath: string, body?: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, agent, method, path: apiPath, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${apiPath}: ${res.statusCode} ${text}`));
        else resolve(text === '' ? undefined : JSON.parse(text));
      });
    });
    req.once('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** create, start, wait and remove one container running /bin/true, through the Engine API as the docker client does. */
async function containerLifecycle(socket: string, agent: Agent): Promise<void> {
  const { Id } = (await engine(socket, agent, 'POST', '/containers/create', {
    Image: BENCH_IMAGE,
    Cmd: ['/bin/true'],
    HostConfig: { NetworkMode: 'none' },
  })) as { Id: string };
  await engine(socket, agent, 'POST', `/containers/${Id}/start`);
  const { StatusCode } = (await engine(socket, agent, 'POST', `/containers/${Id}/wait`)) as { StatusCode: number };
  if (StatusCode !== 0) throw new Error(`container ${Id} exited with ${StatusCode}`);
  await engine(socket, agent, 'DELETE', `/containers/${Id}`);
}

async function prepareContainers(job: Extract<PluginJob, { op: 'containers' }>): Promise<Prepared> {
  const dir = mkdtempSync(path.join(job.dir, `${job.storage}-`));
  const name = `aufs-bench-${process.pid}`;
  const server = job.storage === 'plugin' ? await startServer(name, path.join(dir, 'plugin.sock')) : undefined;
  // The plugin's socket is found through its spec file, named for this run.
  const spec = `/etc/docker/plugins/${name}.spec`;
  if (server !== undefined) writeSpec(spec, path.join(dir, 'plugin.sock'));
  const docker = new Dockerd({ dir: path.join(dir, 'docker'), storageDriver: job.storage === 'plugin' ? name : job.storage });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const finish = async (): Promise<Partial<RunReport>> => {
    const dockerdRss = docker.pid === undefined ? 0 : peakRssKiB(docker.pid);
    agent.destroy();
    await docker.dispose();
    const report = await server?.stop();
    rmSync(spec, { force: true });
    rmSync(dir, { recursive: true, force: true });
    // Ours: the plugin's process. Docker's drivers run in dockerd: its
    // memory, and no event loop (this process only waits for dockerd).
    return report ?? { maxRssKiB: dockerdRss, maxEventLoopDelayMs: undefined };
  };
  try {
    await docker.start();
    await docker.docker(['import', job.image, BENCH_IMAGE]);
    // Untimed: the first container pays for what only the first one pays for.
    await containerLifecycle(docker.socket, agent);
  } catch (err) {
    await finish();
    throw err;
  }
  return {
    operation: async () => {
      for (let i = 0; i < job.containers; i++) await containerLifecycle(docker.socket, agent);
      return job.containers;
    },
    finish,
  };
}

function writeSpec(file: string, socket: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `unix://${socket}\n`);
}

async function prepareGetPut(job: Extract<PluginJob, { op: 'getPut' }>): Promise<Prepared> {
  if (job.via === 'in-process') {
    const driver = await init(job.root, PROGRAM_OPTIONS);
    return {
      operation: async () => {
        for (let i = 0; i < job.iterations; i++) {
          await driver.get(job.id);
          await driver.put(job.id);
        }
        return job.iterations;
      },
      finish: async () => {
        await driver.close();
        return {};
      },
    };
  }
  const dir = mkdtempSync(path.join(job.dir, 'getput-'));
  const socket = path.join(dir, 'plugin.sock');
  const server = await startServer(`aufs-bench-${process.pid}`, socket);
  // Docker's client keeps its connections open: so does this one.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const call = (name: string, body: object) => engine(socket, agent, 'POST', `/${name}`, body);
  await call('GraphDriver.Init', { Home: job.root, Opts: [] });
  return {
    operation: async () => {
      for (let i = 0; i < job.iterations; i++) {
        await call('GraphDriver.Get', { ID: job.id });
        await call('GraphDriver.Put', { ID: job.id });
      }
      return job.iterations;
    },
    finish: async () => {
      agent.destroy();
      const report = await server.stop();
      rmSync(dir, { recursive: true, force: true });
      return report;
    },
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as PluginJob;
  if (job.op === 'server') {
    await serve(job);
    return;
  }
  const prepared = job.op === 'containers' ? await prepareContainers(job) : await prepareGetPut(job);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = process.hrtime.bigint();
  const detail = await prepared.operation().catch(async (err: unknown) => {
    await prepared.finish();
    throw err;
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  delay.disable();
  const own: RunReport = { seconds, maxRssKiB: process.resourceUsage().maxRSS, maxEventLoopDelayMs: delay.max / 1e6, detail };
  // What the plugin's process reports replaces this process's figures: those are ours.
  process.stdout.write(`${JSON.stringify({ ...own, ...(await prepared.finish()) })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
