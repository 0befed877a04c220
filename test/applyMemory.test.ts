import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { UNDER_ASAN } from './helpers/sanitizers';

const GIB = 1 << 30;
const RSS_LIMIT_MIB = 150;

/** tmpfs when there is one: a gigabyte on a shared disk would only time the disk. */
function scratchParent(): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

describe('applyDiff memory', () => {
  let tmp: string | undefined;

  afterEach(() => {
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(`streams a 1 GiB layer through in under ${RSS_LIMIT_MIB} MiB of RSS`, async function () {
    this.timeout(300_000);
    tmp = fs.mkdtempSync(path.join(scratchParent(), 'aufs-test-'));
    const script = path.join(__dirname, 'fixtures', 'applyLarge.ts');
    // A process of its own, so that its peak RSS is the applyDiff's alone.
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', script, path.join(tmp!, 'root')], (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const result = JSON.parse(output) as { size: number; diffSize: number; maxRssMiB: number; sent: string[]; received: string[] };
    expect(result.size).to.equal(GIB);
    expect(result.diffSize).to.equal(GIB);
    expect(result.received).to.deep.equal(result.sent);
    if (!UNDER_ASAN) expect(result.maxRssMiB).to.be.below(RSS_LIMIT_MIB);
  });
});
