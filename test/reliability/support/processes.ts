// Child processes for the reliability tests: TypeScript programs bundled into
// one JavaScript file each (node starts one in a tenth of a second, against
// most of a second through tsx), and the processes they leave behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { buildSync } from 'esbuild';
import load from 'node-gyp-build';

const REPO = path.resolve(__dirname, '..', '..', '..');

/** Bundles the TypeScript program `entry` and the sources it imports into `outDir`; returns the file. */
export function bundleProgram(entry: string, outDir: string): string {
  const outfile = path.join(outDir, `${path.basename(entry, '.ts')}.js`);
  buildSync({ entryPoints: [entry], bundle: true, platform: 'node', target: 'node20', outfile, logLevel: 'error' });
  return outfile;
}

/**
 * The environment of a bundled program: a bundle cannot find the addon from
 * its own directory, so it is told which one to load, the same one this
 * process runs (the sanitizer build under npm run test:asan).
 */
function bundleEnv(): NodeJS.ProcessEnv {
  const addon = process.env.AUFS_GRAPHDRIVER_NATIVE ?? (load as unknown as { resolve(dir: string): string }).resolve(REPO);
  return { ...process.env, AUFS_GRAPHDRIVER_NATIVE: addon };
}

/**
 * Starts a bundled program as the leader of a new process group, stdin and
 * stdout piped, so that what it starts can be told apart and waited for.
 */
export function startBundled(file: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [file, ...args], {
    detached: true,
    env: bundleEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Pids of the processes in process group `pgid`, from /proc. */
export function processGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(name));
  }
  return pids;
}

/**
 * Waits until process group `pgid` has no live process: what a killed
 * program had started (a mount program half way through a mount) has
 * finished, as it would have before a daemon that died was restarted.
 */
export async function waitForProcessGroup(pgid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processGroup(pgid).length > 0) {
    if (Date.now() > deadline) throw new Error(`processes of group ${pgid} still running after ${timeoutMs} ms`);
    await delay(5);
  }
}
