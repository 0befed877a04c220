// A dockerd of a test's own: its own data root, exec root, pid file and API
// socket under a scratch directory, no iptables and no bridge, so that it
// shares nothing with the machine's Docker or other tests'. It starts its own
// containerd (under its exec root). Debian's client is called by its path.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export const DOCKERD = '/usr/sbin/dockerd';
export const DOCKER = '/usr/bin/docker';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;

export interface DockerdOptions {
  /** A scratch directory of its own: data/, exec/, dockerd.pid, docker.sock and dockerd.log go there. */
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
  readonly #options: DockerdOptions;
  #process: ChildProcess | undefined;

  constructor(options: DockerdOptions) {
    this.#options = options;
    this.dir = options.dir;
    this.dataRoot = path.join(options.dir, 'data');
    this.execRoot = path.join(options.dir, 'exec');
    this.socket = path.join(options.dir, 'docker.sock');
    mkdirSync(this.dir, { recursive: true });
  }

  /** Where the storage driver keeps its layers: DATA-ROOT/NAME, as Docker names it. */
  get driverHome(): string {
    return path.join(this.dataRoot, this.#options.storageDriver);
  }

  get logFile(): string {
    return path.join(this.dir, 'dockerd.log');
  }

  /** The pid of the containerd this dockerd started (which outlives a dockerd killed with SIGKILL). */
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

  /** SIGKILL: dockerd dies at once; its containerd, shims and containers go on. */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL');
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
