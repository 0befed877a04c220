// Layer ids become path components, so anything that could name another
// directory (or one of our scratch names) is refused before a path is built.
import { DriverError } from './errors';

/**
 * Names ending in this are scratch space under the root (a layer being
 * deleted, a layers file being written): no id may take it, init deletes them.
 */
export const SCRATCH_SUFFIX = '-removing';

const NAME_MAX = 255;

/** Why `id` cannot name a layer, or undefined when it can. */
export function idProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id === '') return 'must not be empty';
  if (id === '.' || id === '..') return `must not be "${id}"`;
  if (id.includes('/')) return 'must not contain "/"';
  if (id.includes('\0')) return 'must not contain NUL';
  if (id.endsWith(SCRATCH_SUFFIX)) return `must not end in "${SCRATCH_SUFFIX}"`;
  if (Buffer.byteLength(id) > NAME_MAX) return `must be at most ${NAME_MAX} bytes`;
  return undefined;
}

export function isValidId(id: unknown): id is string {
  return idProblem(id) === undefined;
}

/** Returns `id` when it can name a layer; throws ERR_INVALID_ID otherwise. */
export function checkId(id: unknown, what = 'layer id'): string {
  const problem = idProblem(id);
  if (problem !== undefined) {
    const shown = typeof id === 'string' ? JSON.stringify(id) : String(id);
    throw new DriverError('ERR_INVALID_ID', `invalid ${what} ${shown}: ${problem}`);
  }
  return id as string;
}

/** `parent` as create() and friends take it: '' or undefined mean none. */
export function checkOptionalId(id: unknown, what: string): string | undefined {
  if (id === undefined || id === '') return undefined;
  return checkId(id, what);
}
