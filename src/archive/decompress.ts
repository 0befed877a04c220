// Layer tars come plain or gzip-compressed: the first two bytes tell, as
// they told Docker.
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { DriverError, invalidArgType } from '../errors';

const GZIP_MAGIC = [0x1f, 0x8b];
const GUNZIP_CHUNK_SIZE = 256 * 1024;

/** `chunks` as tar bytes: gunzipped when they start like gzip, else as they are. */
export async function* decompressed(chunks: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLength = 0;
  while (headLength < GZIP_MAGIC.length) {
    const result = await iterator.next();
    if (result.done === true) break;
    head.push(bytes(result.value));
    headLength += head[head.length - 1].length;
  }
  const first = Buffer.concat(head);
  const all = (async function* () {
    if (first.length > 0) yield first;
    for (;;) {
      const result = await iterator.next();
      if (result.done === true) return;
      yield bytes(result.value);
    }
  })();
  if (!isGzip(first)) {
    yield* all;
    return;
  }
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_SIZE });
  // Errors reach the loop below through gunzip, which pipeline destroys with them.
  pipeline(Readable.from(all, { objectMode: false }), gunzip, () => undefined);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    // zlib's codes all start with Z_ (Z_DATA_ERROR, Z_BUF_ERROR for a cut stream).
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new DriverError('ERR_TAR_INVALID', `layer tar is not valid gzip: ${(err as Error).message}`);
    }
    throw err;
  }
}

function isGzip(head: Uint8Array): boolean {
  return GZIP_MAGIC.every((byte, i) => head[i] === byte);
}

function bytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw invalidArgType('diff', 'a stream of Uint8Arrays', chunk);
}
