import { expect } from 'chai';

import type { DiffEntry } from '../src/archive/batch';
import { paxHeader } from '../src/archive/pax';
import { tarHeader } from '../src/archive/tarHeader';

function file(fields: Partial<DiffEntry>): DiffEntry {
  return {
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    devmajor: 0,
    devminor: 0,
    fd: -1,
    size: 0,
    mtime: 0,
    path: Buffer.from('f'),
    pathAscii: true,
    link: Buffer.alloc(0),
    linkAscii: true,
    capability: Buffer.alloc(0),
    content: Buffer.alloc(0),
    ...fields,
  };
}

/** The records of an extended header made by paxHeader(). */
function records(pax: Buffer | undefined): string[] {
  if (pax === undefined) return [];
  const size = parseInt(pax.toString('latin1', 124, 135), 8);
  return pax.toString('latin1', 512, 512 + size).split('\n').slice(0, -1);
}

describe('tar headers', () => {
  it('moves into pax only the fields the USTAR header as tar-stream writes it cannot hold', () => {
    expect(tarHeader(file({ uid: 0o777777, gid: 0o777777, mtime: 2 ** 31 - 1 }), '/l').pax).to.equal(undefined);
    const { header, pax } = tarHeader(file({ uid: 0o1000000, mtime: 2 ** 31, size: 2 ** 33 + 1 }), '/l');
    expect(records(pax)).to.deep.equal(['14 uid=262144', '19 size=8589934593', '20 mtime=2147483648']);
    expect(header).to.include({ uid: 0, name: 'f', size: 2 ** 33 + 1 });
  });

  it('keeps a name of up to 100 bytes, or one tar-stream splits at a slash, in the USTAR fields', () => {
    for (const name of ['n'.repeat(100), `${'p'.repeat(155)}/${'n'.repeat(100)}`]) {
      expect(tarHeader(file({ path: Buffer.from(name) }), '/l').pax).to.equal(undefined);
    }
    for (const name of ['n'.repeat(101), `${'p'.repeat(156)}/${'n'.repeat(10)}`, `${'p'.repeat(10)}/${'n'.repeat(101)}`]) {
      expect(records(tarHeader(file({ path: Buffer.from(name) }), '/l').pax)).to.have.length(1);
    }
  });

  it('counts each pax record with its own length, across a change in the number of digits', () => {
    for (let length = 90; length < 1010; length++) {
      const [record] = records(paxHeader([['path', 'x'.repeat(length)]]));
      expect(Buffer.byteLength(`${record}\n`)).to.equal(parseInt(record, 10));
    }
  });

  it('refuses a device number tar-stream would write as another device', () => {
    expect(() => tarHeader(file({ type: 'character-device', devminor: 0o1000000 }), '/l'))
      .to.throw(/cannot be archived/)
      .with.property('code', 'ERR_ARCHIVE_LIMIT');
  });
});
