// A strict reader of the tars diff() writes, block by block, for tests that
// check header fields exactly: USTAR fields, and the pax records that came
// before each entry (binary-safe, unlike the readers that decode them); and
// where two tars part, for failures to name the field.

export interface ScannedEntry {
  /** pax path, else prefix/name from the USTAR fields. */
  name: Buffer;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: Buffer;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** The entry's extended header records; empty when it had none. */
  pax: Map<string, Buffer>;
  content: Buffer;
}

const BLOCK = 512;

export function scanTar(tar: Buffer): ScannedEntry[] {
  const entries: ScannedEntry[] = [];
  let pax = new Map<string, Buffer>();
  let offset = 0;
  for (;;) {
    if (offset + BLOCK > tar.length) throw new Error(`tar ends inside a header at ${offset}`);
    const block = tar.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) {
      const trailer = tar.subarray(offset);
      if (trailer.length < 2 * BLOCK || !trailer.every((byte) => byte === 0)) {
        throw new Error(`bad end-of-archive at ${offset}`);
      }
      return entries;
    }
    checkHeader(block, offset);
    const typeflag = String.fromCharCode(block[156]);
    const size = numeric(block, 124, 12);
    const body = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x') {
      if (pax.size > 0) throw new Error('two extended headers in a row');
      pax = parsePax(body);
      continue;
    }
    const prefix = cstring(block, 345, 155);
    const ustarName = cstring(block, 0, 100);
    const number = (key: string, field: number): number =>
      pax.has(key) ? Number(pax.get(key)!.toString()) : field;
    entries.push({
      name: pax.get('path') ?? (prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), ustarName]) : ustarName),
      typeflag,
      mode: numeric(block, 100, 8),
      uid: number('uid', numeric(block, 108, 8)),
      gid: number('gid', numeric(block, 116, 8)),
      size: number('size', size),
      mtime: number('mtime', numeric(block, 136, 12)),
      linkname: pax.get('linkpath') ?? cstring(block, 157, 100),
      uname: cstring(block, 265, 32).toString(),
      gname: cstring(block, 297, 32).toString(),
      devmajor: numeric(block, 329, 8),
      devminor: numeric(block, 337, 8),
      pax,
      content: body,
    });
    pax = new Map();
  }
}

function checkHeader(block: Buffer, offset: number): void {
  if (block.toString('latin1', 257, 265) !== 'ustar\u000000') {
    throw new Error(`no POSIX ustar magic at ${offset}`);
  }
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  if (sum !== numeric(block, 148, 8)) throw new Error(`bad checksum at ${offset}`);
}

function cstring(block: Buffer, start: number, length: number): Buffer {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

function numeric(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if (field[0] & 0x80) {
    let value = 0;
    for (let i = 1; i < length; i++) value = value * 256 + field[i];
    return value;
  }
  const text = cstring(block, start, length).toString('latin1').trim();
  if (!/^[0-7]*$/.test(text)) throw new Error(`bad octal field ${JSON.stringify(text)}`);
  return text === '' ? 0 : parseInt(text, 8);
}

function parsePax(body: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const length = Number(body.toString('latin1', at, space));
    const record = body.subarray(space + 1, at + length);
    if (record[record.length - 1] !== 0x0a) throw new Error('pax record without newline');
    const eq = record.indexOf(0x3d);
    records.set(record.toString('utf8', 0, eq), record.subarray(eq + 1, record.length - 1));
    at += length;
  }
  return records;
}

const HEADER_FIELDS: ReadonlyArray<readonly [string, number, number]> = [
  ['name', 0, 100],
  ['mode', 100, 8],
  ['uid', 108, 8],
  ['gid', 116, 8],
  ['size', 124, 12],
  ['mtime', 136, 12],
  ['checksum', 148, 8],
  ['typeflag', 156, 1],
  ['linkname', 157, 100],
  ['magic', 257, 6],
  ['version', 263, 2],
  ['uname', 265, 32],
  ['gname', 297, 32],
  ['devmajor', 329, 8],
  ['devminor', 337, 8],
  ['prefix', 345, 155],
  ['padding', 500, 12],
];

/** Where byte `offset` of a tar falls: which entry's header field, records, data or padding. */
export function describeOffset(tar: Buffer, offset: number): string {
  let at = 0;
  while (at + BLOCK <= tar.length) {
    const block = tar.subarray(at, at + BLOCK);
    if (block.every((byte) => byte === 0)) return `the end-of-archive zeros (from ${at})`;
    const name = JSON.stringify(cstring(block, 0, 100).toString('latin1'));
    const typeflag = String.fromCharCode(block[156]);
    if (offset < at + BLOCK) {
      const [field, start, length] = HEADER_FIELDS.find(([, s, l]) => offset - at < s + l)!;
      const bytes = JSON.stringify(block.toString('latin1', start, start + length));
      return `the header at ${at} (name field ${name}, typeflag ${typeflag}): field ${field} = ${bytes}`;
    }
    const sizeText = cstring(block, 124, 12).toString('latin1').trim();
    const size = /^[0-7]+$/.test(sizeText) ? parseInt(sizeText, 8) : 0;
    const dataEnd = at + BLOCK + size;
    if (offset < dataEnd) {
      const what = typeflag === 'x' ? 'the PAX records' : 'the data';
      return `${what} of the header at ${at} (name field ${name}), byte ${offset - at - BLOCK} of ${size}`;
    }
    const next = at + BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (offset < next) return `the padding after the data of the header at ${at} (name field ${name})`;
    at = next;
  }
  return `past the last whole block (the tar has ${tar.length} bytes)`;
}

/** undefined when the tars are equal, else where they first differ. */
export function tarDifference(ours: Buffer, theirs: Buffer): string | undefined {
  if (ours.equals(theirs)) return undefined;
  let first = 0;
  while (first < ours.length && first < theirs.length && ours[first] === theirs[first]) first++;
  return `${ours.length} bytes against ${theirs.length}; first difference at byte ${first}: ${describeOffset(ours, first)}; theirs: ${describeOffset(theirs, first)}`;
}
