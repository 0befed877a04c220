// Serialises async work per key: calls for one key run one after another in
// the order they came, calls for different keys run in parallel.
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `fn` holding every key in `keys` (taken in sorted order, so two callers never deadlock). */
  async run<T>(keys: string | readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(typeof keys === 'string' ? [keys] : keys)].sort();
    const releases: Array<() => void> = [];
    try {
      for (const key of sorted) releases.push(await this.#acquire(key));
      return await fn();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  async #acquire(key: string): Promise<() => void> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => held);
    this.#tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
  }
}

/** One lock for the whole process. */
export class Mutex {
  readonly #keyed = new KeyedMutex();

  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.#keyed.run('', fn);
  }
}
