// createPluginServer(): this driver as a Docker graph driver plugin, an
// HTTP/1.1 server on a unix socket that dockerd --experimental
// --storage-driver NAME calls (see protocol.ts for the protocol).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';

import { errorLine } from '../cli/format';
import { init } from '../init';
import { CALLS, findCall, type CallContext } from './calls';
import { DriverHost, type OpenDriver } from './driverHost';
import {
  DEFAULT_PLUGIN_NAME,
  PLUGIN_CONTENT_TYPE,
  defaultSocketPath,
  PluginError,
  errorStatus,
  type PluginResponse,
} from './protocol';
import { listenOnSocket, removeSocket, type BoundSocket } from './socket';

export interface PluginServerOptions {
  /** The plugin's name, as dockerd --storage-driver gives it: "aufs" by default. */
  name?: string;
  /** The socket to listen on: /run/docker/plugins/NAME.sock by default, where Docker looks for plugin NAME. */
  socket?: string;
  /** Driver options (`key=value`, as init() takes them); Docker's --storage-opt options come after them. */
  driverOptions?: readonly string[];
  /** Opens the driver on Docker's Home with the merged options and the owner: init() by default. */
  openDriver?: OpenDriver;
  /**
   * What other processes are told owns Docker's Home while the server holds
   * it (ERR_ROOT_LOCKED): by default, the plugin's name and socket.
   */
  owner?: string;
  /** Where the server reports what it does (Init, failed and aborted calls); silent by default. */
  log?: (line: string) => void;
}

export interface PluginServer {
  readonly name: string;
  readonly socketPath: string;
  /** The Home of Docker's last GraphDriver.Init, while its driver is open. */
  readonly home: string | undefined;
  /** Creates the socket (0600) and starts serving; ERR_PLUGIN_SOCKET_IN_USE when a live server has it. */
  listen(): Promise<void>;
  /**
   * Stops serving: refuses new connections, aborts the calls under way,
   * closes the driver (every union unmounted, the root let go) and removes
   * the socket.
   */
  close(): Promise<void>;
}

/** Names of the plugin must be file names: the socket is named after them. */
function checkName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new PluginError('ERR_PLUGIN_BAD_REQUEST', 400, `invalid plugin name ${JSON.stringify(name)}: it names the socket file`);
  }
  return name;
}

export function createPluginServer(options: PluginServerOptions = {}): PluginServer {
  const name = checkName(options.name ?? DEFAULT_PLUGIN_NAME);
  const socketPath = path.resolve(options.socket ?? defaultSocketPath(name));
  const log = options.log ?? (() => undefined);
  const driverOptions = [...(options.driverOptions ?? [])];
  const owner = options.owner ?? pluginOwner(name, socketPath);
  const host = new DriverHost(options.openDriver ?? ((home, opts, by) => init(home, opts, { owner: by })), owner, log);
  const running = new Set<AbortController>();
  let bound: BoundSocket | undefined;
  let closing: Promise<void> | undefined;

  const server: Server = createServer((req, res) => {
    const controller = new AbortController();
    running.add(controller);
    // The client went away before the answer was complete: stop the work.
    res.once('close', () => {
      running.delete(controller);
      if (!res.writableFinished) controller.abort(new Error('the client closed the connection'));
    });
    serve(req, res, { host, driverOptions, log, signal: controller.signal }).catch((err: unknown) => {
      log(`answering ${req.url ?? ''} failed: ${errorLine(err)}`);
      res.destroy();
    });
  });
  // Docker's client keeps idle connections with no time limit, and when a
  // call fails because the server closed its connection meanwhile, Docker
  // sends it again with its body already spent: so the server never closes an
  // idle connection. And a tar upload takes as long as it takes.
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;

  return {
    name,
    socketPath,
    get home() {
      return host.home;
    },
    async listen() {
      bound = await listenOnSocket(server, socketPath);
      log(`serving the graph driver plugin ${JSON.stringify(name)} on ${socketPath}`);
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
        server.closeIdleConnections();
        for (const controller of running) controller.abort(new Error('the plugin server is shutting down'));
        try {
          await host.close();
        } finally {
          server.closeAllConnections();
          await stopped;
          if (bound !== undefined) await removeSocket(bound);
        }
      })();
      return closing;
    },
  };
}

/** Who owns Docker's Home, as other processes are told: the plugin, and what to do instead. */
export function pluginOwner(name: string, socketPath: string): string {
  return `the Docker graph driver plugin ${JSON.stringify(name)} on ${socketPath}: change these layers through Docker`;
}

type ServeContext = Pick<CallContext, 'host' | 'driverOptions' | 'log' | 'signal'>;

async function serve(req: IncomingMessage, res: ServerResponse, context: ServeContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://plugin');
  const callName = url.pathname.slice(1);
  try {
    const call = findCall(url.pathname);
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      throw new PluginError('ERR_PLUGIN_METHOD', 405, `${callName} takes a POST, not ${req.method}`);
    }
    const answer = await call({ ...context, req, res, query: url.searchParams });
    if (answer !== undefined) sendJson(res, 200, answer);
  } catch (err) {
    const status = errorStatus(err);
    if (context.signal.aborted) {
      context.log(`${callName}: aborted, ${(context.signal.reason as Error).message}`);
    } else if (res.headersSent) {
      // A stream already under way (Diff) cannot turn into an error answer.
      context.log(`${callName}: failed mid-answer: ${errorLine(err)}`);
      res.destroy();
    } else {
      if (status >= 500) context.log(`${callName}: ${errorLine(err)}`);
      // The rest of a body that was not read (too large, or a tar left
      // unread) is not worth reading: the connection closes after the answer.
      if (!req.complete) res.setHeader('Connection', 'close');
      sendJson(res, status, { Err: errorLine(err) });
    }
  }
}

function sendJson(res: ServerResponse, status: number, body: PluginResponse): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': PLUGIN_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The calls the server answers, for documentation and tests. */
export const PLUGIN_CALLS: readonly string[] = Object.keys(CALLS).map((pathname) => pathname.slice(1));
