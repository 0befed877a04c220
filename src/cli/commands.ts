// What each subcommand does, over the public Driver API.
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { decompressed } from '../archive/decompress';
import { isErrorCode } from '../errors';
import { formatChange, type Driver } from '../index';
import { UsageError, type RunnableCommand } from './args';
import { runDemo } from './demo';
import { formatTable, humanSize } from './format';
import { setupInitLayer } from './initLayer';
import { Progress } from './progress';

export interface CommandContext {
  operands: readonly string[];
  json: boolean;
  force: boolean;
  driverOptions: readonly string[];
  /** Aborted by SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** The driver on --root, opened on first use. */
  driver(): Promise<Driver>;
  /** Writes to stdout. */
  print(text: string): void;
}

type Command = (context: CommandContext) => Promise<void>;

/** A failure of the CLI's own, with a `code` like the driver's errors. */
class CommandError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CommandError';
    this.code = code;
  }
}

/**
 * The commands that only read: they open the root read-only, so they work
 * beside the root's owner (a daemon, `serve`) and can never unmount or
 * delete what it uses. The others take the root, and fail while it is owned.
 */
export const READ_ONLY_COMMANDS: ReadonlySet<RunnableCommand> = new Set(['status', 'ls', 'changes', 'diff', 'size']);

/** How many layers `ls` and `rm` look at at once: each holds a file open. */
const LAYER_CONCURRENCY = 16;

interface LayerRow {
  id: string;
  parent: string | null;
  size: number;
  incomplete: boolean;
}

export const COMMAND_RUNNERS: Record<RunnableCommand, Command> = {
  async status({ driver, print }) {
    const rows = await (await driver()).status();
    const width = Math.max(...rows.map(([key]) => key.length)) + 1;
    print(rows.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value}\n`).join(''));
  },

  async ls({ driver, json, signal, print }) {
    const d = await driver();
    const incomplete = new Set(await d.incomplete());
    const rows = await mapLimit(await d.layers(), async (id): Promise<LayerRow | undefined> => {
      try {
        const parents = await d.parents(id);
        const size = await d.diffSize(id, undefined, { signal });
        return { id, parent: parents[0] ?? null, size, incomplete: incomplete.has(id) };
      } catch (err) {
        // Removed since it was listed; a layer without its diff/ is an error.
        if (isErrorCode(err, 'ERR_LAYER_NOT_FOUND') && !(await d.exists(id))) return undefined;
        throw err;
      }
    });
    const layers = rows.filter((row): row is LayerRow => row !== undefined).sort((a, b) => compareBytes(a.id, b.id));
    if (json) {
      print(`${JSON.stringify(layers, null, 2)}\n`);
    } else {
      const table = layers.map((l) => [l.id, l.parent ?? '-', humanSize(l.size), l.incomplete ? 'incomplete' : 'ok']);
      print(formatTable([['ID', 'PARENT', 'SIZE', 'STATE'], ...table]));
    }
  },

  async create({ driver, operands: [id, parent] }) {
    await (await driver()).create(id, parent);
  },

  async rm({ driver, force, operands: [id] }) {
    const d = await driver();
    if (!force) {
      await requireLayer(d, id);
      const children = await childrenOf(d, id);
      if (children.length > 0) {
        const more = children.length > 1 ? ` and ${children.length - 1} more` : '';
        throw new CommandError(
          'ERR_LAYER_IN_USE',
          `layer ${JSON.stringify(id)} is the parent of ${JSON.stringify(children[0])}${more}: remove those first, or use --force`,
        );
      }
    }
    await d.remove(id);
  },

  async mount({ driver, operands: [id], print }) {
    print(`${await (await driver()).get(id)}\n`);
  },

  async umount({ driver, operands: [id] }) {
    const d = await driver();
    await requireLayer(d, id);
    await d.put(id);
  },

  async changes({ driver, operands: [id], signal, print }) {
    const d = await driver();
    const changes = await withProgress(`changes ${id} (walking the layer)`, () => d.changes(id, undefined, { signal }));
    print(changes.map((change) => `${formatChange(change)}\n`).join(''));
  },

  async diff({ driver, operands: [id, parent], signal }) {
    if (process.stdout.isTTY) throw new UsageError('diff writes a tar: redirect stdout to a file or a pipe', 'diff');
    const tar = await (await driver()).diff(id, parent, { signal });
    const progress = Progress.start(`diff ${id}`, { entries: true, bytes: true });
    try {
      const toStdout = stdoutSink(signal);
      if (progress === undefined) await pipeline(tar, toStdout, { signal });
      else await pipeline(tar, progress.countEntries(), progress.countBytes(), toStdout, { signal });
    } finally {
      progress?.stop();
    }
  },

  async apply({ driver, operands: [id, parent], signal, print }) {
    if (process.stdin.isTTY) throw new UsageError('apply reads a tar: redirect stdin from a file or a pipe', 'apply');
    const d = await driver();
    const totalBytes = await stdinSize();
    if (!(await stdinHasBytes(totalBytes, signal))) {
      // GNU tar refuses zero bytes too; here they mostly mean that whatever
      // fed the pipe failed, and must not pass for an applied layer.
      throw new CommandError('ERR_EMPTY_INPUT', 'stdin is empty: no tar to apply (did the command feeding it fail?)');
    }
    const progress = Progress.start(`apply ${id}`, { entries: true, bytes: true, totalBytes });
    let size: number;
    try {
      // With a progress line the tar is gunzipped here, to count its entries.
      const tar =
        progress === undefined
          ? process.stdin
          : progress.countEntries()(decompressed(progress.countBytes()(process.stdin)));
      size = await d.applyDiff(id, parent, tar, { signal });
    } catch (err) {
      if (!(err instanceof Error) || isErrorCode(err, 'ERR_LAYER_NOT_FOUND', 'ERR_INVALID_ID')) throw err;
      const { code } = err as { code?: unknown };
      throw new CommandError(
        typeof code === 'string' ? code : 'ERR_APPLY',
        `${err.message}; layer ${JSON.stringify(id)} may now hold part of the tar`,
        { cause: err },
      );
    } finally {
      // Cleared before the size is printed: on a terminal both share the line.
      progress?.stop();
    }
    print(`${size}\n`);
  },

  async size({ driver, operands: [id], signal, print }) {
    const d = await driver();
    print(`${await withProgress(`size ${id} (walking the layer)`, () => d.diffSize(id, undefined, { signal }))}\n`);
  },

  async cleanup({ driver }) {
    await (await driver()).cleanup();
  },

  async migrate({ driver, operands: [legacyRoot], print }) {
    // A mistyped path is an error, not a root without anything to migrate.
    await stat(legacyRoot);
    const d = await driver();
    const before = new Set(await d.layers());
    await d.migrate(legacyRoot, setupInitLayer);
    const added = (await d.layers()).filter((id) => !before.has(id)).sort(compareBytes);
    print(added.map((id) => `${id}\n`).join(''));
  },

  async demo({ driverOptions, print }) {
    await runDemo(driverOptions, (line) => print(`${line}\n`));
  },
};

/** ERR_LAYER_NOT_FOUND unless `id` is a layer (a corrupt one included). */
async function requireLayer(driver: Driver, id: string): Promise<void> {
  try {
    await driver.parents(id);
  } catch (err) {
    if (!isErrorCode(err, 'ERR_CORRUPT_LAYER')) throw err;
  }
}

/** Layers whose nearest parent is `id`, sorted; layers with corrupt files are skipped. */
async function childrenOf(driver: Driver, id: string): Promise<string[]> {
  const ids = await driver.layers();
  const parents = await mapLimit(ids, (layer) =>
    driver.parents(layer).catch((err: unknown) => {
      if (isErrorCode(err, 'ERR_LAYER_NOT_FOUND', 'ERR_CORRUPT_LAYER')) return [];
      throw err;
    }),
  );
  return ids.filter((_, i) => parents[i][0] === id).sort(compareBytes);
}

async function withProgress<T>(label: string, work: () => Promise<T>): Promise<T> {
  const progress = Progress.start(label);
  try {
    return await work();
  } finally {
    progress?.stop();
  }
}

/**
 * The last stage of a pipeline into stdout. Not stdout itself: pipeline()
 * would destroy it with whatever error stopped the work, and a failure of
 * the work would pass for a failure to write.
 */
function stdoutSink(signal: AbortSignal): (chunks: AsyncIterable<Uint8Array>) => Promise<void> {
  return async (chunks) => {
    for await (const chunk of chunks) {
      if (!process.stdout.write(chunk)) await once(process.stdout, 'drain', { signal });
    }
  };
}

/**
 * Whether stdin holds a byte. A regular file (`fileSize` known) is told by
 * its size and left unread, for applyDiff to read the file itself; a pipe or
 * a device by waiting for its first bytes, which are put back.
 */
async function stdinHasBytes(fileSize: number | undefined, signal: AbortSignal): Promise<boolean> {
  if (fileSize !== undefined) return fileSize > 0;
  const stdin: Readable = process.stdin;
  let chunk: unknown = stdin.read();
  if (chunk === null && !stdin.readableEnded) {
    // Emitted for the first bytes, or for the end when none came.
    await once(stdin, 'readable', { signal });
    chunk = stdin.read();
  }
  if (chunk === null) return false;
  stdin.unshift(chunk);
  return true;
}

/** stdin's size when it is a regular file, for a percentage. */
async function stdinSize(): Promise<number | undefined> {
  const st = await stat('/dev/stdin').catch(() => undefined);
  return st?.isFile() ? st.size : undefined;
}

/** `fn` over `items`, at most LAYER_CONCURRENCY at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LAYER_CONCURRENCY, items.length) }, worker));
  return results;
}

/** Bytewise order, as the driver sorts paths: ids are not text to collate. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
