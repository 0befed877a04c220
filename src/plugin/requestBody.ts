// The JSON bodies of plugin calls: read with a cap, parsed, and checked field
// by field, so that a malformed call fails with 400 before the driver is asked
// anything.
import type { IncomingMessage } from 'node:http';

import { idProblem } from '../ids';
import { MAX_JSON_BODY_BYTES, PluginError, badRequest, type IdMap } from './protocol';

/** A JSON object sent as a call's body; an empty body is {} (Docker sends none to Plugin.Activate). */
export type JsonObject = Readonly<Record<string, unknown>>;

/** Reads and parses `req`'s body; 400 for malformed JSON or a body that is not an object, or over the cap. */
export async function readJsonBody(req: IncomingMessage, maxBytes = MAX_JSON_BODY_BYTES): Promise<JsonObject> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    length += chunk.length;
    // Stops reading: the server closes the connection after answering.
    if (length > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks, length).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badRequest(`malformed JSON body: ${(err as Error).message}`);
  }
  // Docker sends "null" for a call without arguments, too.
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('the body must be a JSON object');
  return parsed as JsonObject;
}

function tooLarge(maxBytes: number): PluginError {
  return badRequest(`the JSON body is larger than ${maxBytes} bytes`, 'ERR_PLUGIN_BODY_TOO_LARGE');
}

/** `body[field]` as a layer id: a string that can name a layer. */
export function layerId(body: JsonObject, field: string): string {
  const value = body[field];
  if (value === undefined) throw badRequest(`${field} is missing`);
  const problem = idProblem(value);
  if (problem !== undefined) throw badRequest(`invalid ${field} ${describe(value)}: ${problem}`);
  return value as string;
}

/** `body[field]` as an optional parent id: undefined when absent or "". */
export function parentId(body: JsonObject, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null || value === '') return undefined;
  return layerId(body, field);
}

/** `body[field]` as a string, "" when absent. */
export function optionalString(body: JsonObject, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw badRequest(`${field} must be a string, not ${describe(value)}`);
  return value;
}

/** `body[field]` as an array of strings, [] when absent or null. */
export function stringArray(body: JsonObject, field: string): string[] {
  const value = body[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw badRequest(`${field} must be an array of strings, not ${describe(value)}`);
  }
  return value as string[];
}

/** `body[field]` as an object of strings (StorageOpt), {} when absent or null. */
export function stringMap(body: JsonObject, field: string): Record<string, string> {
  const value = body[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw badRequest(`${field} must be an object of strings, not ${describe(value)}`);
  }
  return value as Record<string, string>;
}

/** `body[field]` as id maps (UIDMaps, GIDMaps), [] when absent or null. */
export function idMaps(body: JsonObject, field: string): IdMap[] {
  const value = body[field];
  if (value === undefined || value === null) return [];
  const isMap = (m: unknown): boolean =>
    typeof m === 'object' &&
    m !== null &&
    ['ContainerID', 'HostID', 'Size'].every((key) => Number.isInteger((m as Record<string, unknown>)[key]));
  if (!Array.isArray(value) || !value.every(isMap)) {
    throw badRequest(`${field} must be an array of {ContainerID, HostID, Size}, not ${describe(value)}`);
  }
  return value as IdMap[];
}

/** A value as an error message shows it: JSON, cut short. */
function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
