// What each call of the graph driver protocol does, over the public Driver
// API. A call gets its checked arguments and answers with a JSON body, or
// (Diff) streams a tar itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

import type { Driver } from '../driver';
import type { DriverHost } from './driverHost';
import { PluginError, TAR_CONTENT_TYPE, badRequest, type PluginResponse } from './protocol';
import { idMaps, layerId, optionalString, parentId, readJsonBody, stringArray, stringMap, type JsonObject } from './requestBody';

export interface CallContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The query of the request URL (ApplyDiff's id and parent). */
  query: URLSearchParams;
  /** Aborted when the client goes away before the answer is complete. */
  signal: AbortSignal;
  host: DriverHost;
  /** The server's own -o options, which Docker's --storage-opt options follow. */
  driverOptions: readonly string[];
  log(line: string): void;
}

/** A JSON answer, or undefined when the call has answered itself. */
type Call = (context: CallContext) => Promise<PluginResponse | undefined>;

/** Reads the JSON body, then runs `work` on the driver with it. */
function withBody(work: (driver: Driver, body: JsonObject, context: CallContext) => Promise<PluginResponse | undefined>): Call {
  return async (context) => {
    const body = await readJsonBody(context.req);
    return context.host.use((driver) => work(driver, body, context));
  };
}

/** Create and CreateReadWrite: the same for aufs, which keeps no read-only flag. */
const create = withBody(async (driver, body) => {
  const id = layerId(body, 'ID');
  const parent = parentId(body, 'Parent');
  optionalString(body, 'MountLabel');
  const storageOpt = Object.keys(stringMap(body, 'StorageOpt'));
  // As Docker's aufs driver: no quotas, no per-layer options.
  if (storageOpt.length > 0) {
    throw badRequest(
      `--storage-opt is not supported for aufs (got ${storageOpt.join(', ')})`,
      'ERR_STORAGE_OPT_UNSUPPORTED',
    );
  }
  await driver.create(id, parent);
  return {};
});

export const CALLS: Readonly<Record<string, Call>> = {
  '/Plugin.Activate': async ({ req }) => {
    await readJsonBody(req);
    return { Implements: ['GraphDriver'] };
  },

  '/GraphDriver.Init': async ({ req, host, driverOptions, log }) => {
    const body = await readJsonBody(req);
    const home = optionalString(body, 'Home');
    if (!home.startsWith('/')) throw badRequest(`Home must be an absolute path, not ${JSON.stringify(home)}`);
    const options = [...driverOptions, ...stringArray(body, 'Opts')];
    const maps = [...idMaps(body, 'UIDMaps'), ...idMaps(body, 'GIDMaps')];
    if (maps.length > 0) {
      throw badRequest(
        'user namespace remapping (UIDMaps, GIDMaps: dockerd --userns-remap) is not supported by this plugin yet',
        'ERR_ID_MAPS_UNSUPPORTED',
      );
    }
    await host.init(home, options);
    log(`GraphDriver.Init: layers in ${home}${options.length > 0 ? `, options ${options.join(' ')}` : ''}`);
    return {};
  },

  '/GraphDriver.Create': create,
  '/GraphDriver.CreateReadWrite': create,

  '/GraphDriver.Remove': withBody(async (driver, body) => {
    await driver.remove(layerId(body, 'ID'));
    return {};
  }),

  '/GraphDriver.Get': withBody(async (driver, body) => {
    const id = layerId(body, 'ID');
    const label = optionalString(body, 'MountLabel');
    return { Dir: await driver.get(id, label === '' ? undefined : label) };
  }),

  '/GraphDriver.Put': withBody(async (driver, body) => {
    await driver.put(layerId(body, 'ID'));
    return {};
  }),

  '/GraphDriver.Exists': withBody(async (driver, body) => ({ Exists: await driver.exists(layerId(body, 'ID')) })),

  '/GraphDriver.Status': withBody(async (driver) => ({ Status: await driver.status() })),

  // Docker's aufs driver kept no metadata per layer and answered every id
  // with none (docker inspect of a container whose layer is gone works).
  '/GraphDriver.GetMetadata': withBody(async (_driver, body) => {
    layerId(body, 'ID');
    return { Metadata: {} };
  }),

  '/GraphDriver.Cleanup': withBody(async (driver) => {
    await driver.cleanup();
    return {};
  }),

  // Docker then keeps tar-split records of what it applies and rebuilds
  // pulled layers byte for byte itself; our Diff is not what it was given.
  '/GraphDriver.Capabilities': async ({ req }) => {
    await readJsonBody(req);
    return { Capabilities: { ReproducesExactDiffs: false } };
  },

  '/GraphDriver.Diff': withBody(async (driver, body, { res, signal }) => {
    const tar = await driver.diff(layerId(body, 'ID'), parentId(body, 'Parent'), { signal });
    res.writeHead(200, { 'Content-Type': TAR_CONTENT_TYPE });
    // A failure mid-stream cannot change the status any more: pipeline()
    // destroys the response, and the client sees the tar cut short.
    await pipeline(tar, res);
    return undefined;
  }),

  '/GraphDriver.Changes': withBody(async (driver, body, { signal }) => {
    const changes = await driver.changes(layerId(body, 'ID'), parentId(body, 'Parent'), { signal });
    return { Changes: changes.map(({ path, kind }) => ({ Path: path, Kind: kind })) };
  }),

  // The tar is the body; the layer is named in the query, checked before a byte is read.
  '/GraphDriver.ApplyDiff': async ({ req, query, host, signal }) => {
    const args = Object.fromEntries(query);
    const id = layerId(args, 'id');
    const parent = parentId(args, 'parent');
    // Read without destroying the request on a failure, so that the error can be answered.
    const tar = req.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
    return host.use(async (driver) => ({ Size: await driver.applyDiff(id, parent, tar, { signal }) }));
  },

  '/GraphDriver.DiffSize': withBody(async (driver, body, { signal }) => ({
    Size: await driver.diffSize(layerId(body, 'ID'), parentId(body, 'Parent'), { signal }),
  })),
};

/** The call at `pathname`; ERR_PLUGIN_UNKNOWN_CALL (404) for any other. */
export function findCall(pathname: string): Call {
  const call = Object.hasOwn(CALLS, pathname) ? CALLS[pathname] : undefined;
  if (call === undefined) {
    throw new PluginError('ERR_PLUGIN_UNKNOWN_CALL', 404, `unknown call ${JSON.stringify(pathname)}: this plugin implements GraphDriver`);
  }
  return call;
}
