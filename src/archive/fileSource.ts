// A layer tar in a file skips JavaScript: when applyDiff is handed an
// fs.ReadStream that nobody has read from yet, the addon reads the stream's
// file itself, in large reads. (Through the stream, at Node's 64 KiB a read,
// the round trips would cost more than extracting the data: a gigabyte of
// big files would take longer to read than GNU tar takes to extract it.)
import { once } from 'node:events';
import fs from 'node:fs';

import type { LayerWriter } from '../native';

type FileStream = fs.ReadStream & { fd?: unknown; start?: number; end?: number };

/**
 * Extracts what `source` would have read, when it is an untouched
 * fs.ReadStream of a regular file holding a plain tar, and destroys it.
 * False, with `source` untouched, for anything else.
 */
export async function feedUntouchedFile(writer: LayerWriter, source: unknown, signal?: AbortSignal): Promise<boolean> {
  if (!(source instanceof fs.ReadStream) || !isUntouched(source)) return false;
  const stream: FileStream = source;
  if (stream.pending) await once(stream, 'ready', { signal });
  const { fd, start, end = Infinity } = stream;
  if (typeof fd !== 'number' || !isUntouched(stream)) return false;
  // A stream reads `end` inclusive, from `start` or else the file's position.
  const length = end === Infinity ? -1 : end - (start ?? 0) + 1;
  if (!(await writer.writeFile(fd, start ?? -1, length))) return false;
  stream.destroy();
  return true;
}

function isUntouched(stream: fs.ReadStream): boolean {
  return (
    stream.bytesRead === 0 &&
    stream.readableLength === 0 &&
    stream.readableFlowing === null &&
    stream.readableEncoding === null &&
    !stream.destroyed
  );
}
