// The tar header of a layer entry: USTAR as tar-stream writes it, plus a pax
// extended header only for what USTAR (as tar-stream fills it) cannot hold.
import { isUtf8 } from 'node:buffer';
import path from 'node:path';

import type { Header } from 'tar-stream';

import { DriverError } from '../errors';
import type { DiffEntry } from './batch';
import { PAX_HEADER_NAME, paxHeader, type PaxRecord } from './pax';

const USTAR_NAME_MAX = 100;
const USTAR_PREFIX_MAX = 155;
const USTAR_LINK_MAX = 100;
const USTAR_SIZE_MAX = 0o77777777777;
// tar-stream writes ids and device numbers with 6 octal digits, one fewer
// than the fields hold, and a larger value as 777777.
const TAR_STREAM_NUMBER_MAX = 0o777777;
// tar-stream squeezes the mtime through a 32-bit integer.
const TAR_STREAM_MTIME_MAX = 2 ** 31 - 1;
// tar-stream replaces a mode of 0 by its default; file-type bits, which it
// masks off, keep a 0000 file's mode from looking unset.
const NONZERO_MODE = 0o100000;
const SLASH = Buffer.from('/');
const CAPABILITY_RECORD = 'SCHILY.xattr.security.capability';

/** What tar-stream's pack.entry() takes. */
export type EntryHeader = Partial<Header> & Pick<Header, 'name'>;

export interface TarHeader {
  header: EntryHeader;
  /** The pax extended header to write just before, when one is needed. */
  pax?: Buffer;
}

/** `dir` is the layer directory, for errors. */
export function tarHeader(entry: DiffEntry, dir: string): TarHeader {
  const records: PaxRecord[] = [];
  if ((!entry.pathAscii && !isUtf8(entry.path)) || (!entry.linkAscii && !isUtf8(entry.link))) {
    records.push(['hdrcharset', 'BINARY']);
  }

  const isDir = entry.type === 'directory';
  let name = entry.pathAscii ? entry.path.toString('latin1') + (isDir ? '/' : '') : '';
  if (!entry.pathAscii || !fitsUstarName(name)) {
    records.push(['path', isDir ? Buffer.concat([entry.path, SLASH]) : entry.path]);
    name = PAX_HEADER_NAME;
  }

  let linkname: string | undefined;
  if (entry.type === 'symlink' || entry.type === 'link') {
    if (entry.linkAscii && entry.link.length <= USTAR_LINK_MAX) {
      linkname = entry.link.toString('latin1');
    } else {
      records.push(['linkpath', entry.link]);
      linkname = PAX_HEADER_NAME;
    }
  }

  // Neither GNU tar, Python nor Go reads device numbers from pax records, so
  // one too big for tar-stream's field would come back as another device.
  if (entry.devmajor > TAR_STREAM_NUMBER_MAX || entry.devminor > TAR_STREAM_NUMBER_MAX) {
    throw new DriverError(
      'ERR_ARCHIVE_LIMIT',
      `device ${entry.devmajor}:${entry.devminor} cannot be archived: tar-stream writes device numbers up to ${TAR_STREAM_NUMBER_MAX}`,
      path.join(dir, entry.path.toString()),
    );
  }
  const uid = paxIfAbove(records, 'uid', entry.uid, TAR_STREAM_NUMBER_MAX);
  const gid = paxIfAbove(records, 'gid', entry.gid, TAR_STREAM_NUMBER_MAX);
  // tar-stream writes such a size in base-256 (a GNU extension); pax says it portably.
  if (entry.size > USTAR_SIZE_MAX) records.push(['size', String(entry.size)]);
  let mtime = entry.mtime;
  if (mtime < 0 || mtime > TAR_STREAM_MTIME_MAX) {
    records.push(['mtime', String(mtime)]);
    mtime = 0;
  }
  if (entry.capability.length > 0) records.push([CAPABILITY_RECORD, entry.capability]);

  const header: EntryHeader = {
    name,
    type: entry.type,
    mode: NONZERO_MODE | entry.mode,
    uid,
    gid,
    size: entry.size,
    mtime: new Date(mtime * 1000),
    linkname,
    devmajor: entry.devmajor,
    devminor: entry.devminor,
  };
  return records.length === 0 ? { header } : { header, pax: paxHeader(records) };
}

/**
 * Whether tar-stream can write `name` in the USTAR name field, moving leading
 * directories into the prefix field as it does: at the first slash that
 * leaves at most 100 bytes, with at most 155 before it.
 */
function fitsUstarName(name: string): boolean {
  if (name.length <= USTAR_NAME_MAX) return true;
  const cut = name.indexOf('/', name.length - USTAR_NAME_MAX - 1);
  return cut > 0 && cut <= USTAR_PREFIX_MAX && cut < name.length - 1;
}

/** `value` when the header field holds it; else a pax record has it and the field 0. */
function paxIfAbove(records: PaxRecord[], keyword: string, value: number, max: number): number {
  if (value <= max) return value;
  records.push([keyword, String(value)]);
  return 0;
}
