// One measured run of a Node contender, in a fresh process: everything but
// the operation is set up untimed, then the operation alone is timed and the
// RunReport printed as JSON on the last line of stdout.
//
//   node child.js '<NodeJob as JSON>'
import { createReadStream } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import * as tar from 'tar';

import { Driver, init } from '../src';
import { Layout } from '../src/layout';
import { native } from '../src/native';
import { RootLock } from '../src/rootLock';
import { PROGRAM_OPTIONS } from '../test/helpers/fixtures';
import { BindMounter } from './bindMounter';
import type { DriverImpl, MountPath, NodeJob, RunReport } from './jobs';
import { ShellDriver } from './shellDriver';

/** The part of the driver API the benchmarks time, which both drivers have. */
interface LayerDriver {
  create(id: string, parent?: string): Promise<void>;
  get(id: string): Promise<string>;
  put(id: string): Promise<void>;
  changes(id: string): Promise<unknown[]>;
  diffSize(id: string): Promise<number>;
  diff(id: string): Promise<Readable>;
  applyDiff(id: string, parent: string | undefined, diff: Readable): Promise<number>;
}

/** The timed part of a run; resolves to the run's detail figure, if it has one. */
type Operation = () => Promise<number | undefined>;

/**
 * The job's driver. On the bind path a mount of the layer has the filesystem
 * of its own directory, which is how the driver tells it is mounted.
 */
async function openDriver(job: { impl: DriverImpl; root: string; id: string; mount?: MountPath }): Promise<LayerDriver> {
  const mount = job.mount ?? 'program';
  if (job.impl === 'shell-out') return new ShellDriver(job.root, mount);
  if (mount === 'program') return init(job.root, PROGRAM_OPTIONS);
  const layout = new Layout(job.root);
  const mounter = new BindMounter(await native.statfsType(layout.diffPath(job.id)));
  return new Driver(layout, mounter, { lock: await RootLock.take(layout.root, 'benchmark'), adoptedMounts: [] });
}

async function countBytes(stream: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  return bytes;
}

async function prepare(job: NodeJob): Promise<Operation> {
  switch (job.op) {
    case 'getPut': {
      const driver = await openDriver(job);
      return async () => {
        for (let i = 0; i < job.iterations; i++) {
          await driver.get(job.id);
          await driver.put(job.id);
        }
        return job.iterations;
      };
    }
    case 'changes': {
      const driver = await openDriver(job);
      return async () => (await driver.changes(job.id)).length;
    }
    case 'diffSize': {
      const driver = await openDriver(job);
      return () => driver.diffSize(job.id);
    }
    case 'diff': {
      const driver = await openDriver(job);
      return async () => countBytes(await driver.diff(job.id));
    }
    case 'applyDiff': {
      const driver = await openDriver(job);
      await driver.create(job.id);
      return () => driver.applyDiff(job.id, undefined, createReadStream(job.tar));
    }
    case 'tarCreate':
      return () => countBytes(tar.create({ cwd: job.dir }, ['.']));
    case 'idle':
      return async () => {
        await setTimeout(job.seconds * 1000);
        return undefined;
      };
    case 'tarExtract':
      return async () => {
        await tar.extract({ file: job.tar, cwd: job.dir });
        return undefined;
      };
  }
}

let reported = false;

// An operation whose promise is left pending with nothing more to wait for
// lets the process exit quietly: say so rather than report nothing.
process.on('exit', (code) => {
  if (reported || code !== 0) return;
  process.stderr.write('the operation stalled: its promise never settled\n');
  process.exitCode = 1;
});

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as NodeJob;
  const operation = await prepare(job);
  // 1 ms is the finest resolution the histogram takes; its figures include it.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = process.hrtime.bigint();
  const detail = await operation();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  delay.disable();
  const report: RunReport = {
    seconds,
    maxRssKiB: process.resourceUsage().maxRSS,
    maxEventLoopDelayMs: delay.max / 1e6,
    detail,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  reported = true;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
