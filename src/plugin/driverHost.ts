// The driver a plugin server serves: opened by GraphDriver.Init, replaced by
// the next Init (dockerd restarted, maybe after a kill -9), closed with the
// server. Each Init starts a generation; calls run on the generation that was
// current when they came, and a new generation opens only once every call of
// the old one has settled, so two drivers never work on one root at once.
import type { Driver } from '../driver';
import { Mutex } from '../locks';
import { PluginError } from './protocol';

/** Opens the driver for Docker's `home` with the merged options. */
export type OpenDriver = (home: string, options: readonly string[]) => Promise<Driver>;

interface Generation {
  home: string;
  driver: Promise<Driver>;
  /** Calls running on this generation's driver, whole streams included. */
  inFlight: Set<Promise<unknown>>;
}

export class DriverHost {
  readonly #open: OpenDriver;
  readonly #inits = new Mutex();
  #current: Generation | undefined;
  #closed = false;

  constructor(open: OpenDriver) {
    this.#open = open;
  }

  /** The Home of the last Init, while its driver is open or opening. */
  get home(): string | undefined {
    return this.#current?.home;
  }

  /**
   * Opens a driver on `home`, replacing the current one once its calls have
   * settled. Calls that come meanwhile wait for the new driver.
   */
  async init(home: string, options: readonly string[]): Promise<Driver> {
    if (this.#closed) throw closedError();
    const previous = this.#current;
    const generation: Generation = {
      home,
      inFlight: new Set(),
      driver: this.#inits.run(async () => {
        if (previous !== undefined) await settle(previous);
        return this.#open(home, options);
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
   * first) and unmounts every union of the driver, if one was opened.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const generation = this.#current;
    this.#current = undefined;
    if (generation === undefined) return;
    await settle(generation);
    const driver = await generation.driver.catch(() => undefined);
    await driver?.cleanup();
  }
}

/** Resolves once the generation's driver has opened (or failed to) and its calls have settled. */
async function settle(generation: Generation): Promise<void> {
  await generation.driver.catch(() => undefined);
  while (generation.inFlight.size > 0) await Promise.allSettled([...generation.inFlight]);
}

function closedError(): PluginError {
  return new PluginError('ERR_PLUGIN_CLOSED', 503, 'the plugin server is shutting down');
}
