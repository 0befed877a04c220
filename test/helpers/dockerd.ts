// A dockerd of a test's own: its own data root, exec root, pid file, API
// socket and cgroup parent, no iptables and no bridge, so that it shares
// nothing with the machine's Docker or other tests'. It starts its own
// containerd (under its exec root). Debian's client is called by its path.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { mountsUnder } from './fixtures';

export const DOCKERD = '/usr/sbin/dockerd';
export const DOCKER = '/usr/bin/docker';
export const CTR = '/usr/bin/ctr';
/** The containerd namespace dockerd keeps its containers in. */
const CONTAINERD_NAMESPACE = 'moby';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;
const CGROUP_ROOT = '/sys/fs/cgroup';

export interface DockerdOptions {
  /** A scratch directory of its own: data/, dockerd.pid, docker.sock and dockerd.log go there. */
  dir: string;
  storageDriver: string;
  storageOpts?: readonly string[];
}

export interface DockerRun {
  stdout: Buffer;
  stderr: string;
}

/** The environment of dockerd and its client: the sanitizer runtimes are for our addon, not for Go programs. */
function dockerEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(dir, 'client') };
  delete env.LD_PRELOAD;
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  return env;
}

export class Dockerd {
  readonly dir: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly socket: string;
  /** The cgroup (v1, cgroupfs) every container of this dockerd is put under. */
  readonly cgroupParent: string;
  readonly #options: DockerdOptions;
  #process: ChildProcess | undefined;

  constructor(options: DockerdOptions) {
    this.#options = options;
    this.dir = options.dir;
    this.dataRoot = path.join(options.dir, 'data');
    // containerd's sockets go under the exec root, and a socket's path must
    // fit in 104 bytes: so it lives under /tmp, whatever `dir` is.
    this.execRoot = mkdtempSync('/tmp/aufs-dockerd-');
    this.socket = path.join(options.dir, 'docker.sock');
    mkdirSync(this.dir, { recursive: true });
    this.cgroupParent = `aufs-test-${path.basename(path.dirname(this.dir))}-${path.basename(this.dir)}`;
  }

  /** Where the storage driver keeps its layers: DATA-ROOT/NAME, as Docker names it. */
  get driverHome(): string {
    return path.join(this.dataRoot, this.#options.storageDriver);
  }

  /** dockerd's pid, once started. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  get logFile(): string {
    return path.join(this.dir, 'dockerd.log');
  }

  /** The pid of the containerd this dockerd started (it dies with its dockerd). */
  containerdPid(): number | undefined {
    try {
      return Number(readFileSync(path.join(this.execRoot, 'containerd', 'containerd.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** Starts dockerd and waits until its API answers; fails with the end of its log when it cannot start. */
  async start(): Promise<void> {
    const { storageDriver, storageOpts = [] } = this.#options;
    const args = [
      `--data-root=${this.dataRoot}`,
      `--exec-root=${this.execRoot}`,
      `--pidfile=${path.join(this.dir, 'dockerd.pid')}`,
      `--host=unix://${this.socket}`,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      `--cgroup-parent=/${this.cgroupParent}`,
      '--experimental',
      `--storage-driver=${storageDriver}`,
      ...storageOpts.map((opt) => `--storage-opt=${opt}`),
    ];
    const log = openSync(this.logFile, 'a');
    const child = spawn(DOCKERD, args, { env: dockerEnv(this.dir), stdio: ['ignore', log, log] });
    this.#process = child;
    const exited = once(child, 'exit').then(([code, signal]) => `exited (${signal ?? code})`);
    const failed = once(child, 'error').then(([err]) => `could not be run: ${(err as Error).message}`);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const outcome = await Promise.race([exited, failed, delay(100).then(() => undefined)]);
      if (outcome !== undefined) throw new Error(`dockerd --storage-driver ${storageDriver} ${outcome}: ${this.logTail()}`);
      if (await this.#pings()) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`dockerd --storage-driver ${storageDriver} did not answer in ${START_TIMEOUT_MS} ms: ${this.logTail()}`);
      }
    }
  }

  /** SIGTERM, and waits for it to exit: dockerd then stops its containers and containerd, and calls the driver's Cleanup. */
  async stop(): Promise<void> {
    await this.#signal('SIGTERM');
  }

  /**
   * SIGKILL: dockerd dies at once, and its containerd with it (it dies with
   * its parent); the shims and their containers go on. Resolves once
   * containerd is gone too: a dockerd started while it is still dying takes
   * it for alive and waits for it in vain.
   */
  async kill(): Promise<void> {
    const containerd = this.containerdPid();
    await this.#signal('SIGKILL');
    if (containerd === undefined) return;
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (existsSync(`/proc/${containerd}`) && Date.now() < deadline) await delay(20);
  }

  /** Runs the client against this dockerd; rejects with its stderr when it fails. */
  docker(args: readonly string[], input?: Buffer): Promise<DockerRun> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        DOCKER,
        ['--host', `unix://${this.socket}`, ...args],
        { env: dockerEnv(this.dir), encoding: 'buffer', maxBuffer: 1 << 30 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`docker ${args.join(' ')}: ${err.message.split('\n')[0]}: ${stderr.toString().trim()}`));
          else resolve({ stdout, stderr: stderr.toString() });
        },
      );
      child.stdin?.end(input);
    });
  }

  /**
   * Deletes what a dockerd killed in the middle of creating containers
   * leaves and no longer knows of: containers in containerd, and container
   * processes (a `runc init` waiting to be started) that nothing holds any
   * more, each in a mount namespace holding a copy of its rootfs union.
   * Resolves to how many there were.
   */
  async deleteLostContainers(): Promise<number> {
    const known = new Set((await this.text(['ps', '--all', '--quiet', '--no-trunc'])).split('\n'));
    const listed = (await this.#ctr(['containers', 'ls', '--quiet'])).split('\n').filter((id) => id !== '');
    const lost = listed.filter((id) => !known.has(id));
    for (const id of lost) {
      // A container created without a task has none to delete.
      await this.#ctr(['tasks', 'delete', '--force', id]).catch(() => undefined);
      await this.#ctr(['containers', 'delete', id]);
    }
    const processes = this.#containerProcesses().filter(({ container }) => !known.has(container));
    killAll(processes.map(({ pid }) => pid));
    return lost.length + processes.length;
  }

  /**
   * For the end of a test, whatever happened in it: stops dockerd, unmounts
   * what it left mounted, kills what it could not stop (its containers'
   * processes, the shims of its exec root) and removes its cgroups.
   */
  async dispose(): Promise<void> {
    await this.stop();
    // dockerd binds its data root onto itself, and leaves that when it dies.
    for (const target of [...mountsUnder(this.dir), ...mountsUnder(this.execRoot)].reverse()) {
      await new Promise((resolve) => execFile('umount', ['-l', target], resolve));
    }
    killAll(this.#containerProcesses().map(({ pid }) => pid));
    killAll(processesWhere((cmdline) => cmdline.includes('containerd-shim') && cmdline.includes(this.execRoot)));
    for (const controller of readdirSync(CGROUP_ROOT)) {
      const parent = path.join(CGROUP_ROOT, controller, this.cgroupParent);
      if (!existsSync(parent)) continue;
      for (const child of readdirSync(parent, { withFileTypes: true })) {
        if (child.isDirectory()) rmdirSync(path.join(parent, child.name));
      }
      rmdirSync(parent);
    }
    rmSync(this.execRoot, { recursive: true, force: true });
  }

  /** The client's stdout as text, trimmed. */
  async text(args: readonly string[]): Promise<string> {
    return (await this.docker(args)).stdout.toString().trim();
  }

  logTail(lines = 15): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** The processes in this dockerd's containers' cgroups, with the container each is in. */
  #containerProcesses(): Array<{ pid: number; container: string }> {
    const found: Array<{ pid: number; container: string }> = [];
    for (const pid of processesWhere(() => true)) {
      try {
        const match = new RegExp(`:/${this.cgroupParent}/([0-9a-f]{64})$`, 'm').exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
        if (match !== null) found.push({ pid, container: match[1] });
      } catch {
        // exited meanwhile
      }
    }
    return found;
  }

  #ctr(args: readonly string[]): Promise<string> {
    const address = path.join(this.execRoot, 'containerd', 'containerd.sock');
    return new Promise((resolve, reject) => {
      execFile(CTR, ['--address', address, '--namespace', CONTAINERD_NAMESPACE, ...args], { env: dockerEnv(this.dir) }, (err, stdout, stderr) => {
        if (err) reject(new Error(`ctr ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the API answers GET /_ping. */
  #pings(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.socket, path: '/_ping', timeout: 2_000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.once('error', () => resolve(false));
      req.once('timeout', () => req.destroy());
      req.end();
    });
  }
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Pids of the processes for which `test(cmdline, ppid)` holds, from /proc. */
export function processesWhere(test: (cmdline: string, ppid: number) => boolean): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (test(cmdline, ppid)) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}
