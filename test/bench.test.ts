// Smoke test of the benchmark harness: `npm run bench -- --quick` runs every
// case against every baseline and writes results.json. Timings are never
// asserted, only that each was measured and that the contenders agree.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { expect } from 'chai';

import type { Results } from '../benchmarks/report';
import { mountsUnder } from './helpers/fixtures';

const execFileAsync = promisify(execFile);

const MEASURED_CASES = [
  'idle (control)',
  'get+put program',
  'get+put bind',
  'changes',
  'diffSize',
  'diff (a)',
  'diff (b)',
  'applyDiff (a)',
  'applyDiff (b)',
];
const ROOTFS_CASES = ['applyDiff rootfs', 'diff rootfs', 'changes rootfs', 'diffSize rootfs'];

describe('npm run bench -- --quick', function () {
  this.timeout(300_000);
  let dir: string;
  let results: Results;
  let table: string;

  before(async () => {
    dir = mkdtempSync('/tmp/aufs-bench-');
    const out = path.join(dir, 'results.json');
    ({ stdout: table } = await execFileAsync('npm', ['run', '--silent', 'bench', '--', '--quick', '--out', out], {
      maxBuffer: 1 << 24,
    }));
    results = JSON.parse(readFileSync(out, 'utf8')) as Results;
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const byName = (name: string) => {
    const found = results.cases.find((c) => c.name === name);
    expect(found, name).to.not.equal(undefined);
    return found!;
  };

  it('records the machine and the run', () => {
    expect(results.mode).to.equal('quick');
    expect(results.node).to.equal(process.version);
    expect(results.machine.cpus).to.be.greaterThan(0);
    expect(results.cases.map((c) => c.name)).to.have.members([...MEASURED_CASES, ...ROOTFS_CASES]);
  });

  it('measures every contender of every case: median seconds, peak RSS, and the ratio to ours', () => {
    for (const name of MEASURED_CASES) {
      const c = byName(name);
      expect(c.skipped, name).to.equal(undefined);
      expect(c.contenders.length, name).to.be.greaterThan(0);
      for (const r of c.contenders) {
        expect(r.error, `${name}: ${r.name}`).to.equal(undefined);
        expect(r.medianSeconds, `${name}: ${r.name}`).to.be.a('number').and.greaterThan(0);
        expect(r.seconds, `${name}: ${r.name}`).to.have.length(results.rounds);
        expect(r.peakRssMiB, `${name}: ${r.name}`).to.be.a('number').and.greaterThan(0);
      }
      for (const { baseline, ratio } of c.ratios) {
        if (name !== 'idle (control)') expect(ratio, `${name}: ${baseline}`).to.be.a('number').and.greaterThan(0);
      }
    }
  });

  it('takes ours from the driver, with its event-loop delay, and judges every goal', () => {
    for (const name of MEASURED_CASES.filter((n) => n !== 'idle (control)')) {
      const c = byName(name);
      const ours = c.contenders.filter((r) => r.candidate);
      expect(ours, name).to.have.length(1);
      // A delay is measured: finite and not negative (NaN is a number too).
      expect(ours[0].maxEventLoopDelayMs, name).to.satisfy(Number.isFinite).and.be.at.least(0);
      expect(c.goals.map((g) => g.text).join(' '), name).to.match(/peak RSS.*event-loop delay/);
      for (const g of c.goals) expect(g.value, `${name}: ${g.text}`).to.satisfy(Number.isFinite).and.be.at.least(0);
    }
  });

  it('leaves the rootfs to full runs and says so', () => {
    for (const name of ROOTFS_CASES) expect(byName(name).skipped, name).to.match(/--quick/);
  });

  it('has the contenders agree on what they did', () => {
    const detail = (name: string, contender: string) => byName(name).contenders.find((r) => r.name === contender)?.detail;
    // The same changes, found by the addon and by find(1).
    expect(detail('changes', 'ours')).to.be.greaterThan(0);
    expect(detail('changes', 'ours')).to.equal(detail('changes', 'shell-out driver'));
    // Every tar holds at least the file bytes that cat read.
    for (const name of ['diff (a)', 'diff (b)']) {
      const bytes = detail(name, 'cat to a pipe (limit)')!;
      expect(bytes, name).to.be.greaterThan(0);
      for (const contender of ['ours', 'shell-out driver', 'GNU tar -c to a pipe', 'node-tar c']) {
        expect(detail(name, contender), `${name}: ${contender}`).to.be.greaterThan(bytes);
      }
    }
    // applyDiff answers with the layer's size, as diffSize would.
    for (const name of ['applyDiff (a)', 'applyDiff (b)']) expect(detail(name, 'ours'), name).to.be.greaterThan(0);
  });

  it('leaves nothing mounted: every get() was put()', () => {
    expect(mountsUnder(path.join(__dirname, '..', 'benchmarks', 'scratch'))).to.deep.equal([]);
  });

  it('prints the results table', () => {
    expect(table).to.include('| case | contender | median s |');
    for (const name of MEASURED_CASES) expect(table).to.include(`| ${name} |`);
  });
});
