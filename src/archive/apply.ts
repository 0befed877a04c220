// applyDiff's engine: a layer tar, plain or gzip, extracted into a layer
// directory by the addon's LayerWriter, which parses it on the thread pool
// and makes every entry through descriptors beneath the layer. JavaScript
// only moves bytes, and not even that for a plain tar in a file.
import type { Readable } from 'node:stream';

import { withCancelToken, type AbortOptions } from '../abort';
import { DriverError, invalidArgType, isErrorCode } from '../errors';
import { native, type LayerWriterOptions } from '../native';
import { feedUntouchedFile } from './fileSource';
import { feedStream } from './streamFeed';

/** A layer tar: a byte stream, or any async iterable of byte chunks. */
export type TarSource = Readable | AsyncIterable<Uint8Array>;

export interface ApplyOptions extends AbortOptions, LayerWriterOptions {}

/** Throws ERR_INVALID_ARG_TYPE, before anything is written, unless `source` can be read as a TarSource. */
export function checkTarSource(source: unknown): asserts source is TarSource {
  if (typeof (source as Partial<AsyncIterable<unknown>> | null | undefined)?.[Symbol.asyncIterator] !== 'function') {
    throw invalidArgType('diff', 'a Readable or an async iterable of Uint8Arrays', source);
  }
}

const TAR_ERROR_CODES = ['ERR_TAR_BREAKOUT', 'ERR_TAR_INVALID', 'ERR_TAR_LIMIT'] as const;

/**
 * Extracts `source` into the existing directory `dir` and resolves to the
 * directory's size as treeSize counts it. On failure what was extracted
 * stays (for the caller to remove) and a stream `source` is destroyed.
 */
export async function applyTar(dir: string, source: TarSource, options: ApplyOptions = {}): Promise<number> {
  const { signal, resolve } = options;
  return withCancelToken(signal, async (token) => {
    const writer = new native.LayerWriter(dir, token, { resolve });
    try {
      if (!(await feedUntouchedFile(writer, source, signal))) {
        await feedStream(writer, source as AsyncIterable<unknown>, signal);
      }
      return await writer.finish();
    } catch (err) {
      await writer.close();
      destroyStream(source);
      throw asDriverError(err, dir);
    }
  });
}

function destroyStream(source: unknown): void {
  const stream = source as Partial<Readable>;
  if (typeof stream.destroy === 'function') stream.destroy();
}

/** The archive errors (the addon's, gzip's) as DriverErrors about the layer directory. */
function asDriverError(err: unknown, dir: string): unknown {
  if (!isErrorCode(err, ...TAR_ERROR_CODES)) return err;
  return new DriverError(err.code as (typeof TAR_ERROR_CODES)[number], err.message, dir);
}
