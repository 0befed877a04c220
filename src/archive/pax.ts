// POSIX pax extended headers (typeflag 'x'). Written here rather than by
// tar-stream, whose pax support turns every value into UTF-8 text: an xattr
// value is raw bytes (security.capability rarely is valid UTF-8), and so is a
// name that is not UTF-8.

/** A pax record: keyword and value (strings are written as UTF-8). */
export type PaxRecord = readonly [keyword: string, value: Buffer | string];

const BLOCK = 512;
// The name field of the extended header: what tar-stream writes there too.
export const PAX_HEADER_NAME = 'PaxHeader';

/** The extended header carrying `records` for the entry that follows it, padded to blocks. */
export function paxHeader(records: readonly PaxRecord[]): Buffer {
  const body = Buffer.concat(records.map(encodeRecord));
  const padding = (BLOCK - (body.length % BLOCK)) % BLOCK;
  return Buffer.concat([ustarBlock(PAX_HEADER_NAME, body.length, 'x'), body, Buffer.alloc(padding)]);
}

// "LENGTH KEYWORD=VALUE\n", where LENGTH counts the whole record, itself included.
function encodeRecord([keyword, value]: PaxRecord): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${keyword}=`), Buffer.from(value), Buffer.from('\n')]);
  let length = rest.length + 1;
  while (String(length).length + rest.length !== length) length = String(length).length + rest.length;
  return Buffer.concat([Buffer.from(String(length)), rest]);
}

function ustarBlock(name: string, size: number, typeflag: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'ascii');
  block.write(octal(0o644, 8), 100, 'ascii'); // mode
  block.write(octal(0, 8), 108, 'ascii'); // uid
  block.write(octal(0, 8), 116, 'ascii'); // gid
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii'); // mtime
  block.write(typeflag, 156, 'ascii');
  block.write('ustar\u000000', 257, 'latin1'); // magic and version
  // The checksum is taken with its own field counted as spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'ascii');
  return block;
}

/** An octal field of `width` bytes: digits, then NUL. */
function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\u0000`;
}
