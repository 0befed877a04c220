// A plain HTTP client of the plugin socket, the way dockerd's pkg/plugins
// client calls it: POST /NAME with a JSON body, keep-alive connections.
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

export interface PluginReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON. */
  json: Record<string, unknown>;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string | number>;
  agent?: Agent;
}

/** What a call sends: an object as JSON, a string or bytes as they are, a stream piped (chunked). */
export type CallBody = object | string | Buffer | Readable | undefined;

/** Starts a call; resolves to the response, its body unread. */
export function startCall(socketPath: string, call: string, body: CallBody, options: CallOptions = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath,
      path: `/${call}`,
      method: options.method ?? 'POST',
      headers: { Accept: 'application/vnd.docker.plugins.v1.2+json', ...options.headers },
      agent: options.agent ?? false,
    });
    req.once('response', resolve);
    req.once('error', reject);
    if (isStream(body)) {
      body.once('error', (err) => req.destroy(err));
      body.pipe(req);
    } else {
      req.end(body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    }
  });
}

/** A whole call: the response with its body read. */
export async function pluginCall(socketPath: string, call: string, body?: CallBody, options?: CallOptions): Promise<PluginReply> {
  const res = await startCall(socketPath, call, body, options);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  let json: Record<string, unknown> = {};
  if (String(res.headers['content-type']).includes('json')) json = JSON.parse(bytes.toString()) as Record<string, unknown>;
  return { status: res.statusCode ?? 0, headers: res.headers, body: bytes, json };
}

/** A call that must succeed: its JSON answer, or an error with the status and Err. */
export async function ok(socketPath: string, call: string, body?: CallBody): Promise<Record<string, unknown>> {
  const reply = await pluginCall(socketPath, call, body);
  if (reply.status !== 200) throw new Error(`${call}: ${reply.status} ${reply.body.toString()}`);
  return reply.json;
}

function isStream(body: CallBody): body is Readable {
  return typeof (body as Partial<Readable> | undefined)?.pipe === 'function';
}
