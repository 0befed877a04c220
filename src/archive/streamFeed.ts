// The general way a layer tar reaches the addon: any async iterable of bytes,
// gunzipped when it is gzip, grouped into batches, one batch in the addon
// while the next one gathers.
import type { LayerWriter } from '../native';
import { Batcher, abortable } from './chunks';
import { decompressed } from './decompress';

/** Feeds `source` to `writer` until it ends. */
export async function feedStream(
  writer: LayerWriter,
  source: AsyncIterable<unknown>,
  signal: AbortSignal | undefined,
): Promise<void> {
  // Stops reading the source when the caller aborts or a write fails.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const batcher = new Batcher(
    (batch) => writer.write(batch),
    () => stop.abort(),
  );
  try {
    for await (const chunk of decompressed(abortable(source, stop.signal))) await batcher.push(chunk);
    await batcher.flush();
  } catch (err) {
    await batcher.settle();
    // The write's own error, not the AbortError it caused upstream.
    throw batcher.failure === undefined ? err : batcher.failure.error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
