// Docker's v1 plugin protocol for graph drivers (moby PR 13777), as dockerd's
// client speaks it (daemon/graphdriver/proxy.go, pkg/plugins): every call is
// a POST of a JSON body to /Plugin.Activate or /GraphDriver.NAME, answered by
// a JSON body; errors are a non-200 status with {"Err": "..."}, which Docker
// shows its user as "GraphDriver.NAME: message".

/** The Content-Type of every JSON answer. */
export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';
/** The Content-Type of a Diff answer, a tar. */
export const TAR_CONTENT_TYPE = 'application/octet-stream';

export const DEFAULT_PLUGIN_NAME = 'aufs';
/** Where Docker looks for the socket of plugin NAME first: PLUGIN_SOCKET_DIR/NAME.sock (pkg/plugins discovery). */
export const PLUGIN_SOCKET_DIR = '/run/docker/plugins';

/** The socket of plugin `name` where Docker finds it without a spec file. */
export function defaultSocketPath(name: string): string {
  return `${PLUGIN_SOCKET_DIR}/${name}.sock`;
}
/** The largest JSON body read: Docker's are a few hundred bytes. */
export const MAX_JSON_BODY_BYTES = 1 << 20;

/** A user-namespace id range, as Docker sends it in Init (idtools.IDMap). */
export interface IdMap {
  ContainerID: number;
  HostID: number;
  Size: number;
}

/** The body of /GraphDriver.Init. */
export interface InitRequest {
  Home: string;
  Opts?: string[] | null;
  UIDMaps?: IdMap[] | null;
  GIDMaps?: IdMap[] | null;
}

/** The body of the calls about one layer (Docker's graphDriverRequest). */
export interface LayerRequest {
  ID: string;
  Parent?: string;
  MountLabel?: string;
  StorageOpt?: Record<string, string> | null;
}

/** One entry of a /GraphDriver.Changes answer: Kind 0 modify, 1 add, 2 delete. */
export interface WireChange {
  Path: string;
  Kind: number;
}

/** Every answer body but Diff's (Docker's graphDriverResponse; only the fields a call sets). */
export interface PluginResponse {
  Err?: string;
  Implements?: string[];
  Dir?: string;
  Exists?: boolean;
  Status?: Array<[string, string]>;
  Changes?: WireChange[];
  Size?: number;
  Metadata?: Record<string, string>;
  Capabilities?: { ReproducesExactDiffs: boolean };
}

/** Every `code` the plugin server's own errors carry. */
export type PluginErrorCode =
  | 'ERR_PLUGIN_UNKNOWN_CALL'
  | 'ERR_PLUGIN_METHOD'
  | 'ERR_PLUGIN_BAD_REQUEST'
  | 'ERR_PLUGIN_BODY_TOO_LARGE'
  | 'ERR_PLUGIN_NOT_INITIALIZED'
  | 'ERR_PLUGIN_CLOSED'
  | 'ERR_PLUGIN_SOCKET_IN_USE'
  | 'ERR_PLUGIN_SOCKET'
  | 'ERR_ID_MAPS_UNSUPPORTED'
  | 'ERR_STORAGE_OPT_UNSUPPORTED';

/** A failure of the plugin server itself, with the HTTP status it answers with. */
export class PluginError extends Error {
  readonly code: PluginErrorCode;
  readonly status: number;
  /** The file the error is about (the socket), when there is one. */
  readonly path?: string;

  constructor(code: PluginErrorCode, status: number, message: string, path?: string) {
    super(message);
    this.name = 'PluginError';
    this.code = code;
    this.status = status;
    if (path !== undefined) this.path = path;
  }
}

/** A request that cannot be served as sent: 400, before anything is touched. */
export function badRequest(message: string, code: PluginErrorCode = 'ERR_PLUGIN_BAD_REQUEST'): PluginError {
  return new PluginError(code, 400, message);
}

// The driver's errors about what the caller asked for: 400 (404 and 409 for
// the two that say so); everything else is the server's trouble, 500.
const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = {
  ERR_INVALID_ID: 400,
  ERR_INVALID_ARG_TYPE: 400,
  ERR_INVALID_OPTION: 400,
  ERR_TAR_BREAKOUT: 400,
  ERR_TAR_INVALID: 400,
  ERR_TAR_LIMIT: 400,
  ERR_INCOMPATIBLE_FS: 400,
  ERR_LAYER_NOT_FOUND: 404,
  ERR_LAYER_EXISTS: 409,
  // Home is owned by another process (a CLI command, another plugin).
  ERR_ROOT_LOCKED: 409,
};

/** The HTTP status an error is answered with. */
export function errorStatus(err: unknown): number {
  if (err instanceof PluginError) return err.status;
  const { code } = (err ?? {}) as { code?: unknown };
  return typeof code === 'string' ? (CLIENT_ERROR_STATUS[code] ?? 500) : 500;
}
