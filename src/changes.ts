// changes(): what a layer adds, modifies and deletes against its parents, as
// Docker's aufs driver listed it. The walk runs in the addon; this side
// decodes its one-string answer.
import { withCancelToken } from './abort';
import { isErrorCode, layerNotFound } from './errors';
import type { Layout } from './layout';
import { native } from './native';

/** The kinds of change, numbered as moby's archive.ChangeType. */
export enum ChangeKind {
  Modify = 0,
  Add = 1,
  Delete = 2,
}

/** One changed path of a layer. */
export interface Change {
  /** Absolute inside the layer, without a trailing slash: `/etc/passwd`. */
  path: string;
  kind: ChangeKind;
}

const KIND_LETTERS: Record<ChangeKind, string> = {
  [ChangeKind.Modify]: 'C',
  [ChangeKind.Add]: 'A',
  [ChangeKind.Delete]: 'D',
};

/** `C /a`, `A /a` or `D /a`, as `docker diff` prints a change. */
export function formatChange(change: Change): string {
  return `${KIND_LETTERS[change.kind]} ${change.path}`;
}

const DIGIT_ZERO = 0x30;

/** Decodes the addon's records: a kind digit, the path, a NUL; one after another. */
function decodeChanges(encoded: string): Change[] {
  const changes: Change[] = [];
  for (let start = 0; start < encoded.length; ) {
    const end = encoded.indexOf('\0', start);
    changes.push({ kind: encoded.charCodeAt(start) - DIGIT_ZERO, path: encoded.slice(start + 1, end) });
    start = end + 1;
  }
  return changes;
}

/**
 * The changes of layer `id` against its own parent chain, in walk order:
 * pre-order, the entries of each directory in bytewise name order.
 */
export async function layerChanges(layout: Layout, id: string, signal: AbortSignal | undefined): Promise<Change[]> {
  const parents = await layout.readChain(id);
  const dir = layout.diffPath(id);
  const parentDirs = parents.map((parent) => layout.diffPath(parent));
  try {
    return decodeChanges(await withCancelToken(signal, (token) => native.changes(dir, parentDirs, token)));
  } catch (err) {
    if (isErrorCode(err, 'ENOENT') && err.path === dir) throw layerNotFound(id, dir);
    throw err;
  }
}
