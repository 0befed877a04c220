// AbortSignal support for work that runs in the addon: the signal sets a
// CancelToken that the pool thread polls between entries.
import { AbortError, invalidArgType, isErrorCode } from './errors';
import { native, type CancelToken } from './native';

/** The last, optional argument of every long-running method. */
export interface AbortOptions {
  signal?: AbortSignal;
}

/**
 * The signal of `options`, an AbortOptions the caller passed; a TypeError
 * with code ERR_INVALID_ARG_TYPE when it is not one.
 */
export function signalOf(options: unknown): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  const { signal } = options as AbortOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an AbortSignal', signal);
  }
  return signal;
}

/**
 * Runs `work` with a token that trips when `signal` aborts, and turns the
 * addon's ABORT_ERR into an AbortError carrying the signal's reason.
 */
export async function withCancelToken<T>(
  signal: AbortSignal | undefined,
  work: (token: CancelToken | undefined) => Promise<T>,
): Promise<T> {
  if (signal === undefined) return work(undefined);
  if (signal.aborted) throw new AbortError(signal.reason);
  const token = new native.CancelToken();
  const onAbort = (): void => token.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work(token);
  } catch (err) {
    if (isErrorCode(err, 'ABORT_ERR')) throw new AbortError(signal.reason);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Throws an AbortError when `signal` has aborted: for checks between steps. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}
