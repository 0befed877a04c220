// The driver a plugin server serves: opened by GraphDriver.Init, replaced by
// the next Init (dockerd restarted, maybe after a kill -9), closed with the
// server. Each Init starts a generation; calls run on the generation that was
// current when they came, and a new generation opens only once every call of
// the old one has settled and the old driver has let the root go, so the new
// one takes the root's lock (init) without finding it held by its own server.
import { errorLine } from '../cli/format';
import type { CloseOptions, Driver } from '../driver';
import { Mutex } from '../locks';
import { PluginError } from './protocol';

/**
 * Opens the driver for Docker's `home` with the merged options, owning the
 * root as `owner` (what other processes are told holds it).
 */
export type OpenDriver = (home: string, options: readonly string[], owner: string) => Promise<Driver>;

interface Generation {
  home: string;
  driver: Promise<Driver>;
  /** Calls running on this generation's driver, whole streams included. */
  inFlight: Set<Promise<unknown>>;
}

export class DriverHost {
  readonly #open: OpenDriver;
  readonly #owner: string;
  readonly #log: (line: string) => void;
  readonly #inits = new Mutex();
  #current: Generation | undefined;
  #closed = false;

  constructor(open: OpenDriver, owner: string, log: (line: string) => void) {
    this.#open = open;
    this.#owner = owner;
    this.#log = log;
  }

  /** The Home of the last Init, while its driver is open or opening. */
  get home(): string | undefined {
    return this.#current?.home;
  }

  /**
   * Opens a driver on `home`, replacing the current one once its calls have
   * settled. Calls that come meanwhile wait for the new driver. The old
   * driver leaves its unions mounted when the root is the same (dockerd
   * restarted: the new driver adopts them, each counted as one get, which is
   * what Docker's own aufs driver did after a restart, and containers kept
   * by live-restore keep their root), and unmounts them when Docker moved to
   * another root.
   */
  async init(home: string, options: readonly string[]): Promise<Driver> {
    if (this.#closed) throw closedError();
    const previous = this.#current;
    const generation: Generation = {
      home,
      inFlight: new Set(),
      driver: this.#inits.run(async () => {
        if (previous !== undefined) await this.#retire(previous, { keepMounts: previous.home === home });
        return this.#open(home, options, this.#owner);
      }),
    };
    this.#current = generation;
    try {
      return await generation.driver;
    } catch (err) {
      if (this.#current === generation) this.#current = undefined;
      throw err;
    }
  }

  /** Runs `work` on the current driver; ERR_PLUGIN_NOT_INITIALIZED before a successful Init. */
  async use<T>(work: (driver: Driver) => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError();
    const generation = this.#current;
    if (generation === undefined) {
      throw new PluginError('ERR_PLUGIN_NOT_INITIALIZED', 409, 'GraphDriver.Init has not been called, or it failed');
    }
    const task = generation.driver.then(work);
    generation.inFlight.add(task);
    try {
      return await task;
    } finally {
      generation.inFlight.delete(task);
    }
  }

  /**
   * Refuses new calls, waits for the running ones (the caller aborts them
   * first) and closes the driver, if one was opened: its unions unmounted,
   * its root let go.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const generation = this.#current;
    this.#current = undefined;
    if (generation !== undefined) await closeDriver(generation, { keepMounts: false });
  }

  /** Closes a replaced generation's driver; a failed unmount is reported, and the root is let go all the same. */
  async #retire(generation: Generation, options: CloseOptions): Promise<void> {
    await closeDriver(generation, options).catch((err: unknown) =>
      this.#log(`closing the driver of ${generation.home}: ${errorLine(err)}`),
    );
  }
}

/** Closes the generation's driver, if it opened, once its calls have settled. */
async function closeDriver(generation: Generation, options: CloseOptions): Promise<void> {
  await settle(generation);
  const driver = await generation.driver.catch(() => undefined);
  await driver?.close(options);
}

/** Resolves once the generation's driver has opened (or failed to) and its calls have settled. */
async function settle(generation: Generation): Promise<void> {
  await generation.driver.catch(() => undefined);
  while (generation.inFlight.size > 0) await Promise.allSettled([...generation.inFlight]);
}

function closedError(): PluginError {
  return new PluginError('ERR_PLUGIN_CLOSED', 503, 'the plugin server is shutting down');
}
