import { expect } from 'chai';

import { checkId, idProblem } from '../src/ids';

describe('layer ids', () => {
  it('accepts the ids Docker made and other plain names', () => {
    for (const id of ['a', 'f'.repeat(64), 'abc-init', '.hidden', 'x'.repeat(255), 'é'.repeat(127)]) {
      expect(idProblem(id), id).to.equal(undefined);
    }
  });

  it('rejects ids that could name another path or scratch, with ERR_INVALID_ID', () => {
    for (const id of ['', '.', '..', 'a/b', '/a', 'a\0b', 'x-removing', 'x'.repeat(256), 'é'.repeat(128)]) {
      expect(() => checkId(id), JSON.stringify(id)).to.throw().with.property('code', 'ERR_INVALID_ID');
    }
  });

  it('rejects values that are not strings', () => {
    for (const id of [undefined, null, 1, {}, ['a']]) {
      expect(() => checkId(id)).to.throw(/must be a string/).with.property('code', 'ERR_INVALID_ID');
    }
  });
});
