// `aufs-graphdriver serve` as a process of its own, as an operator runs it:
// the CLI bundled once (node starts it in a tenth of a second), started, its
// stderr kept, stopped with a signal.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { bundleProgram, startBundled } from '../../reliability/support/processes';

const CLI = path.join(__dirname, '..', '..', '..', 'src', 'cli.ts');
const START_TIMEOUT_MS = 30_000;

export class ServeProcess {
  readonly child: ChildProcess;
  #stderr = '';
  readonly #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(child: ChildProcess) {
    this.child = child;
    child.stdout?.resume();
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => (this.#stderr += text));
    this.#exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  }

  /** Bundles the CLI into `outDir` and runs `serve` with `args`, until it says it serves (or exits). */
  static async start(outDir: string, args: readonly string[]): Promise<ServeProcess> {
    const serve = new ServeProcess(startBundled(bundleProgram(CLI, outDir), ['serve', ...args]));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!serve.stderr.includes('serving the graph driver plugin')) {
      if (serve.exited || Date.now() > deadline) {
        serve.child.kill('SIGKILL');
        throw new Error(`aufs-graphdriver serve did not start: ${serve.stderr.trim()}`);
      }
      await delay(20);
    }
    return serve;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Sends `signal` and resolves to how the process ended. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exited) this.child.kill(signal);
    return this.#exit;
  }

  /** Resolves to how the process ended, when it ends by itself. */
  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exit;
  }
}
