// The packed package's linux-arm64 binary, proven on an emulated arm64 host:
// installed into a fresh project, loaded by Debian's arm64 Node under
// qemu-aarch64 (user mode: the syscalls, mounts included, are this kernel's)
// and run through a small real job, whose results must be the x64 binary's.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { scratchDir } from './helpers/fixtures';
import { installPacked } from './helpers/packed';
import { UNDER_ASAN } from './helpers/sanitizers';
import { pythonTar, type TarSpecEntry } from './tarSupport';

const REPO = path.join(__dirname, '..');
const JOB = path.join(__dirname, 'support', 'layerJob.cjs');
const QEMU = 'qemu-aarch64';

const MTIME = 1_700_000_000;
/** vfs_cap_data revision 2, permitting CAP_NET_RAW: the one xattr diff() carries. */
const CAPABILITY = Buffer.from('0100000200200000000000000000000000000000', 'hex');
// What the job applies on its base (gone, etc/app/conf, opaque/old): every
// kind of entry the addon creates, aufs whiteouts and an xattr included.
const LAYER_TAR: TarSpecEntry[] = (
  [
    { name: 'etc', type: 'dir', mode: 0o755 },
    { name: 'etc/app', type: 'dir', mode: 0o750 },
    { name: 'etc/app/conf', data: 'hello\n', mode: 0o640, uid: 1000, gid: 1000 },
    { name: 'etc/hard', type: 'link', linkname: 'etc/app/conf' },
    { name: 'etc/link', type: 'symlink', linkname: 'app/conf' },
    { name: '.wh.gone' },
    { name: 'opaque', type: 'dir', mode: 0o755 },
    { name: 'opaque/.wh..wh..opq' },
    { name: 'opaque/fresh', data: 'new\n', xattrs: { 'security.capability': CAPABILITY.toString('hex') } },
    { name: 'dev-null', type: 'chr', devmajor: 1, devminor: 3, mode: 0o666 },
  ] satisfies TarSpecEntry[]
).map((entry) => ({ mtime: MTIME, ...entry }));

/** What test/support/layerJob.cjs prints, and the diff it wrote. */
interface JobResult {
  arch: string;
  node: string;
  napi: string;
  binaries: string[];
  applied: number;
  diffSize: number;
  changes: string[];
  union: Record<string, string>;
  layersLeft: string[];
  diff: Buffer;
}

/** What the job found, without what tells the two runs apart. */
function layerResults({ applied, diffSize, changes, union, layersLeft }: JobResult): Partial<JobResult> {
  return { applied, diffSize, changes, union, layersLeft };
}

describe('the linux-arm64 prebuilt binary, under qemu-aarch64', function () {
  this.timeout(600_000);
  let scratch: ReturnType<typeof scratchDir>;
  let sysroot: string;
  let project: string;
  let tar: string;

  before(function () {
    // As the install tests: the installed copy loads its own binary, never the instrumented one.
    if (UNDER_ASAN) this.skip();
    try {
      execFileSync(QEMU, ['--version']);
    } catch {
      throw new Error(`${QEMU} not found: install Debian's qemu-user`);
    }
    // Debian's arm64 Node and its libraries, made once and kept under node_modules/.cache/.
    sysroot = execFileSync(path.join(REPO, 'scripts', 'arm64-sysroot.sh'), { encoding: 'utf8' }).trim();
    scratch = scratchDir('aufs-arm64-');
    project = path.join(scratch.dir, 'project');
    // --ignore-scripts: install scripts would run on this host; nothing may need them.
    installPacked(project, ['--ignore-scripts'], process.env);
    copyFileSync(JOB, path.join(project, 'layerJob.cjs'));
    tar = path.join(scratch.dir, 'layer.tar');
    writeFileSync(tar, pythonTar(LAYER_TAR));
  });
  after(() => scratch?.dispose());

  function runJob(name: string, node: readonly string[]): JobResult {
    const root = path.join(scratch.dir, `root-${name}`);
    const diff = path.join(scratch.dir, `diff-${name}.tar`);
    const [command, ...args] = node;
    const out = execFileSync(command, [...args, 'layerJob.cjs', root, tar, diff], { cwd: project, encoding: 'utf8' });
    return { ...(JSON.parse(out) as Omit<JobResult, 'diff'>), diff: readFileSync(diff) };
  }

  const prebuilt = (arch: string): string =>
    path.join(project, 'node_modules', 'aufs-graphdriver', 'prebuilds', `linux-${arch}`, 'aufs-graphdriver.glibc.node');

  it('loads in an arm64 Node and runs a layer job exactly as the x64 binary does', function () {
    const arm = runJob('arm64', [QEMU, '-L', sysroot, path.join(sysroot, 'usr', 'bin', 'node')]);
    // Debian 12's Node is 18: below our engines' 20, but N-API 8 is what the binary needs.
    this.test!.title += ` (Node ${arm.node}, N-API ${arm.napi})`;
    expect(arm.arch).to.equal('arm64');
    expect(Number(arm.napi)).to.be.at.least(8);
    expect(arm.binaries).to.deep.equal([prebuilt('arm64')]);

    expect(arm.changes).to.deep.equal([
      'D /gone',
      'A /dev-null',
      'C /etc',
      'C /etc/app',
      'C /etc/app/conf',
      'A /etc/hard',
      'A /etc/link',
      'C /opaque',
      'A /opaque/fresh',
    ]);
    // The union: the whiteout hides gone, the opaque directory opaque/old.
    expect(arm.union).to.deep.equal({
      'dev-null': `chr 666 ${(1 << 8) | 3}`,
      'etc/': 'dir 755',
      'etc/app/': 'dir 750',
      'etc/app/conf': 'file 640 1000:1000 hello\n',
      'etc/hard': 'file 640 1000:1000 hello\n',
      'etc/link': 'link app/conf',
      'opaque/': 'dir 755',
      'opaque/fresh': 'file 644 0:0 new\n',
    });
    // hello\n and new\n, the hard link counted once, and the symlink's target.
    expect(arm.applied).to.equal('hello\n'.length + 'new\n'.length + 'app/conf'.length);
    expect(arm.diffSize).to.equal(arm.applied);
    expect(arm.layersLeft).to.deep.equal([]);
    expect(arm.diff.includes(Buffer.concat([Buffer.from('SCHILY.xattr.security.capability='), CAPABILITY])), 'the capability').to.equal(true);

    // The same job on this host, through the x64 binary: the same results, byte for byte.
    const host = runJob('x64', [process.execPath]);
    expect(host.binaries).to.deep.equal([prebuilt(process.arch)]);
    expect(layerResults(arm)).to.deep.equal(layerResults(host));
    expect(arm.diff.equals(host.diff), 'the two diffs are the same bytes').to.equal(true);
  });
});
