// The plugin's unix socket: where Docker finds it, root only (0600) from the
// moment it appears, a stale socket of a dead server replaced, a live one
// left alone.
//
// The socket is bound in a private directory next to its path, made 0600
// there, and renamed into place: so it never exists with a looser mode, and a
// stale socket is replaced in one step.
import { chmod, lstat, mkdir, mkdtemp, rename, rm, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';

import { isErrorCode } from '../errors';
import { PluginError } from './protocol';

const SOCKET_MODE = 0o600;
const SOCKET_DIR_MODE = 0o755;
/** How long a connection attempt to an existing socket may take before it counts as live. */
const PROBE_TIMEOUT_MS = 2_000;

/** What identifies the socket a server bound, so that it removes its own and no other. */
export interface BoundSocket {
  path: string;
  dev: number;
  ino: number;
}

/** Makes `server` listen on `socketPath`; rejects with ERR_PLUGIN_SOCKET_IN_USE when a live server has it. */
export async function listenOnSocket(server: Server, socketPath: string): Promise<BoundSocket> {
  const dir = path.dirname(socketPath);
  await mkdir(dir, { recursive: true, mode: SOCKET_DIR_MODE });
  await refuseLiveSocket(socketPath);
  const staging = await mkdtemp(path.join(dir, `.${path.basename(socketPath)}.`));
  try {
    const staged = path.join(staging, 'sock');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(staged, () => {
        server.off('error', reject);
        resolve();
      });
    });
    try {
      await chmod(staged, SOCKET_MODE);
      await rename(staged, socketPath);
    } catch (err) {
      await new Promise((resolve) => server.close(resolve));
      throw err;
    }
    const st = await lstat(socketPath);
    return { path: socketPath, dev: st.dev, ino: st.ino };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Removes the socket, unless another server has put its own in its place since. */
export async function removeSocket(bound: BoundSocket): Promise<void> {
  try {
    const st = await lstat(bound.path);
    if (st.dev === bound.dev && st.ino === bound.ino) await unlink(bound.path);
  } catch (err) {
    if (!isErrorCode(err, 'ENOENT')) throw err;
  }
}

/** Throws unless nothing is at `socketPath` or a socket nobody listens on (which is then replaced). */
async function refuseLiveSocket(socketPath: string): Promise<void> {
  let st;
  try {
    st = await lstat(socketPath);
  } catch (err) {
    if (isErrorCode(err, 'ENOENT')) return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new PluginError('ERR_PLUGIN_SOCKET', 500, `${socketPath} exists and is not a socket: refusing to replace it`, socketPath);
  }
  if (await isListening(socketPath)) {
    throw new PluginError(
      'ERR_PLUGIN_SOCKET_IN_USE',
      500,
      `another process serves ${socketPath}: stop it first, or give this server another --name or --socket`,
      socketPath,
    );
  }
}

/** Whether a process accepts connections on the socket (ECONNREFUSED: its server is gone). */
function isListening(socketPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = connect(socketPath);
    probe.setTimeout(PROBE_TIMEOUT_MS, () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err) => {
      if (isErrorCode(err, 'ECONNREFUSED', 'ENOENT')) resolve(false);
      else reject(err);
    });
  });
}
