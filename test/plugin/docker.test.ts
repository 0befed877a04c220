// A stock dockerd (Debian's docker.io 20.10) on this driver, through
// `aufs-graphdriver serve`: it imports an image, runs a container that
// changes files of every kind, diffs, commits, saves, exports and removes
// it. A second dockerd on Docker's built-in vfs driver does the same, and
// what a container sees must be the same on both, entry by entry.
//
// These tests also run under the sanitizers (npm run test:asan): the plugin
// process then runs the instrumented addon on the calls a real dockerd makes,
// which no other test makes in that order; the pair of daemons takes about
// 30 s, so they run in full.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { expect } from 'chai';

import { mountsUnder, scratchDir } from '../helpers/fixtures';
import { Dockerd } from '../helpers/dockerd';
import { buildRootfsTar, type ImageFile } from '../helpers/busyboxImage';
import { describeEntries, resolveHardLinks, tarEntries, tarMember, type TarEntry } from './support/tarEntries';
import { ServeProcess } from './support/serveProcess';

const PLUGIN = `aufs-test-${process.pid}-${Date.now().toString(36)}`;
const LONG_NAME = 'n'.repeat(200);
const LONG_DIRS = `${'d'.repeat(90)}/${'e'.repeat(90)}`;
const UNICODE_NAME = 'ünïcødé-名前.txt';

/** The image: what the container changes, deletes and links to. */
const IMAGE: Record<string, ImageFile> = {
  'etc/config': { content: 'original\n' },
  'etc/motd': { content: 'welcome\n' },
  'etc/lowerfile': { content: 'lower\n' },
  'opt/app/old1': { content: '1' },
  'opt/app/sub/old2': { content: '2' },
  'usr/bin/tool': { content: '#!/bin/sh\n', mode: 0o755 },
  'var/cache/apt/pkg': { content: 'cached' },
  'var/cache/index': { content: 'i' },
  'var/log/': {},
  'data/': { mode: 0o755 },
  'home/user/.profile': { content: 'PS1=$\n', uid: 1000, gid: 1000 },
  'home/user/': { uid: 1000, gid: 1000 },
  'tmp/': { mode: 0o1777 },
};

/** Adds, changes and deletes files and directories of every kind the layer tar format has. */
const CHANGES_SCRIPT = [
  'set -e',
  'echo changed > /etc/config',
  'rm /etc/motd',
  'rm -r /var/cache',
  // Deleted and made again: an opaque directory.
  'rm -r /opt/app',
  'mkdir /opt/app',
  'echo fresh > /opt/app/fresh',
  'mkdir -p /data/new/deep',
  'echo deep > /data/new/deep/file',
  'echo linked > /data/a',
  'ln /data/a /data/b',
  'ln /etc/lowerfile /data/lower-link',
  'ln -s ../etc/config /data/symlink',
  'mkfifo /data/fifo',
  `echo long > /data/${LONG_NAME}`,
  `mkdir -p /data/${LONG_DIRS}`,
  `echo path > /data/${LONG_DIRS}/file`,
  `echo utf > /data/${UNICODE_NAME}`,
  'chmod 4755 /usr/bin/tool',
  'echo suid > /data/setuid',
  'chmod 6755 /data/setuid',
  'touch /data/owned',
  'chown 1000:1000 /data/owned',
].join('\n');

/**
 * What a container of the committed image must see: prints "ok", or each
 * check that failed. `crossLayerLink`: also that /etc/lowerfile (of the
 * image) and /data/lower-link (added) are still one file: vfs cannot pass
 * this one, as its commit (moby's naive diff) does not see that a link(2)
 * changed /etc/lowerfile (same mtime, same size) and leaves it out.
 */
function checkScript(crossLayerLink: boolean): string {
  return [
  'failed=0',
  'check() { if ! test "$@"; then echo "failed: test $*"; failed=1; fi; }',
  'check "$(cat /etc/config)" = changed',
  'check ! -e /etc/motd',
  'check ! -e /var/cache',
  'check -d /var/log',
  'check "$(ls /opt/app)" = fresh',
  'check "$(cat /data/new/deep/file)" = deep',
  'check "$(stat -c %h:%i /data/a)" = "$(stat -c %h:%i /data/b)"',
  'check "$(stat -c %h /data/a)" = 2',
  'check "$(cat /data/symlink)" = changed',
  'check -p /data/fifo',
  `check "$(cat /data/${LONG_NAME})" = long`,
  `check "$(cat /data/${LONG_DIRS}/file)" = path`,
  `check "$(cat /data/${UNICODE_NAME})" = utf`,
  'check -u /usr/bin/tool',
  'check -u /data/setuid -a -g /data/setuid',
  'check "$(stat -c %u:%g /data/owned)" = 1000:1000',
  ...(crossLayerLink ? ['check "$(stat -c %i /etc/lowerfile)" = "$(stat -c %i /data/lower-link)"'] : []),
  'if [ $failed = 0 ]; then echo ok; fi',
].join('\n');
}

/**
 * `docker diff` of the container: what Docker's aufs driver listed
 * (moby's archive.Changes over aufs layers), in its order: the layer's
 * walk, names bytewise; a directory only when it differs from the image's
 * (copied up unchanged, it is not listed); deletions where their .wh.
 * names sort; nothing of an opaque marker, and nothing for what it hides.
 */
function expectedDiff(viaMountProgram: boolean): string[] {
  return [
  'C /data',
  'A /data/a',
  'A /data/b',
  `A /data/${LONG_DIRS.split('/')[0]}`,
  `A /data/${LONG_DIRS}`,
  `A /data/${LONG_DIRS}/file`,
  'A /data/fifo',
  'A /data/lower-link',
  'A /data/new',
  'A /data/new/deep',
  'A /data/new/deep/file',
  `A /data/${LONG_NAME}`,
  'A /data/owned',
  'A /data/setuid',
  'A /data/symlink',
  `A /data/${UNICODE_NAME}`,
  'C /etc',
  'D /etc/motd',
  'C /etc/config',
  'C /etc/lowerfile',
  'C /opt',
  'C /opt/app',
  'A /opt/app/fresh',
  // fuse-overlayfs gives the directories it copies up the time of the copy,
  // so through it moby's walk of the layer sees them changed; kernel aufs
  // copies their times too.
  ...(viaMountProgram ? ['C /usr', 'C /usr/bin'] : []),
  'C /usr/bin/tool',
  'C /var',
  'D /var/cache',
];
}

/**
 * The committed layer, as `docker save` gives it: our Diff, in aufs form.
 * `newDirMarker`: fuse-overlayfs marks every directory it makes opaque, so
 * through the mount program new directories carry an opaque marker too
 * (harmless: nothing is below them); kernel aufs marks only /opt/app, the
 * one made where a deleted one was.
 */
function expectedLayer(newDirMarker: boolean): string[] {
  const marked = (dir: string): string[] => [`directory ${dir}/`, ...(newDirMarker ? [`file ${dir}/.wh..wh..opq`] : [])];
  const [d1] = LONG_DIRS.split('/');
  return [
    'directory data/',
    'file data/a',
    'link data/b -> data/a',
    ...marked(`data/${d1}`),
    ...marked(`data/${LONG_DIRS}`),
    `file data/${LONG_DIRS}/file`,
    'fifo data/fifo',
    'file data/lower-link',
    ...marked('data/new'),
    ...marked('data/new/deep'),
    'file data/new/deep/file',
    `file data/${LONG_NAME}`,
    'file data/owned',
    'file data/setuid',
    'symlink data/symlink -> ../etc/config',
    `file data/${UNICODE_NAME}`,
    'directory etc/',
    'file etc/.wh.motd',
    'file etc/config',
    'link etc/lowerfile -> data/lower-link',
    'directory opt/',
    'directory opt/app/',
    'file opt/app/.wh..wh..opq',
    'file opt/app/fresh',
    'directory usr/',
    'directory usr/bin/',
    'file usr/bin/tool',
    'directory var/',
    'file var/.wh.cache',
  ];
}

/** Entries keyed by name without a trailing '/', mtime left out; for export comparisons. */
function byName(entries: readonly TarEntry[]): Map<string, TarEntry> {
  return new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
}

describe('Docker 20.10 on the plugin (dockerd --storage-driver, with vfs as the judge)', function () {
  this.timeout(180_000);
  let scratch: ReturnType<typeof scratchDir>;
  let serve: ServeProcess;
  let ours: Dockerd;
  let vfs: Dockerd;
  let rootfs: string;
  let viaMountProgram: boolean;
  const both = <T>(work: (docker: Dockerd) => Promise<T>): Promise<[T, T]> => Promise.all([work(ours), work(vfs)]);

  before(async () => {
    scratch = scratchDir('aufs-docker-');
    rootfs = buildRootfsTar(scratch.dir, IMAGE);
    // The default socket: /run/docker/plugins/NAME.sock, where dockerd looks first.
    serve = await ServeProcess.start(scratch.dir, ['--name', PLUGIN]);
    ours = new Dockerd({ dir: path.join(scratch.dir, 'ours'), storageDriver: PLUGIN });
    vfs = new Dockerd({ dir: path.join(scratch.dir, 'vfs'), storageDriver: 'vfs' });
    await both((docker) => docker.start());
    viaMountProgram = /mounted by \/.*fuse-overlayfs/.test(serve.stderr);
  });

  after(async () => {
    await Promise.all([ours?.dispose(), vfs?.dispose()]);
    await serve?.stop('SIGKILL');
    scratch?.dispose();
  });

  it('reports the plugin as its storage driver, with the status of the aufs driver', async () => {
    const info = await ours.text(['info', '--format', '{{.Driver}} {{json .DriverStatus}}']);
    expect(info).to.equal(
      `${PLUGIN} ${JSON.stringify([
        ['Root Dir', ours.driverHome],
        ['Backing Filesystem', 'extfs'],
        ['Dirs', '0'],
        ['Dirperm1 Supported', 'false'],
      ])}`,
    );
    expect(serve.stderr).to.include(`GraphDriver.Init: layers in ${ours.driverHome}`);
  });

  it('imports an image and runs a container that changes files of every kind', async () => {
    await both((docker) => docker.docker(['import', rootfs, 'base:1']));
    const runs = await both((docker) => docker.docker(['run', '--name', 'changer', '--network', 'none', 'base:1', '/bin/sh', '-c', CHANGES_SCRIPT]));
    for (const run of runs) expect(run.stderr).to.equal('');
    // Stopped: Docker has put the container's layer.
    expect(mountsUnder(ours.driverHome)).to.deep.equal([]);
  });

  it('refuses per-container storage options, as Docker\'s aufs driver did, creating nothing', async () => {
    const layers = readdirSync(path.join(ours.driverHome, 'layers')).sort();
    const err = await ours.docker(['create', '--storage-opt', 'size=1G', 'base:1', '/bin/true']).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.include('--storage-opt is not supported for aufs (got size) (ERR_STORAGE_OPT_UNSUPPORTED)');
    expect(readdirSync(path.join(ours.driverHome, 'layers')).sort()).to.deep.equal(layers);
  });

  it("lists with docker diff what Docker's aufs driver listed", async () => {
    const diff = await ours.text(['diff', 'changer']);
    expect(diff.split('\n')).to.deep.equal(expectedDiff(viaMountProgram));
  });

  it('exports the container exactly as the vfs driver does', async () => {
    const [a, b] = await both(async (docker) => byName(await tarEntries((await docker.docker(['export', 'changer'])).stdout)));
    expect([...a.keys()].sort()).to.deep.equal([...b.keys()].sort());
    for (const [name, entry] of a) expect(entry, name).to.deep.equal(b.get(name));
    expect(a.get(`data/${UNICODE_NAME}`)?.size).to.equal(4);
    expect(a.get('data/b')?.type).to.equal('link');
    expect(a.get('data/setuid')?.mode).to.equal(0o6755);
    expect(a.has('etc/motd') || a.has('opt/app/old1') || a.has('var/cache')).to.equal(false);
  });

  it('commits the container, and saves a layer tar of exactly its changes', async () => {
    await both((docker) => docker.docker(['commit', 'changer', 'changed:1']));
    const saved = path.join(scratch.dir, 'saved.tar');
    await ours.docker(['save', '-o', saved, 'changed:1']);
    const manifest = JSON.parse(tarMember(saved, 'manifest.json').toString()) as Array<{ Layers: string[] }>;
    const layers = manifest[0].Layers;
    expect(layers).to.have.length(2);
    const top = await tarEntries(tarMember(saved, layers[1]));
    expect(describeEntries(top)).to.deep.equal(expectedLayer(viaMountProgram));
    const entry = (name: string) => top.find((e) => e.name === name)!;
    expect(entry('usr/bin/tool').mode).to.equal(0o4755);
    expect(entry('data/setuid').mode).to.equal(0o6755);
    expect([entry('data/owned').uid, entry('data/owned').gid]).to.deep.equal([1000, 1000]);
    expect(entry(`data/${LONG_DIRS}/file`).size).to.equal(5);
    // The base layer comes back as it was imported: Docker rebuilt it from its tar-split record.
    const base = await tarEntries(tarMember(saved, layers[0]));
    expect(base.map((e) => e.name)).to.include.members(['bin/busybox', 'etc/motd', 'opt/app/sub/old2']);
  });

  it('runs the committed image, which sees every change', async () => {
    const runs = await Promise.all([
      ours.text(['run', '--rm', '--network', 'none', 'changed:1', '/bin/sh', '-c', checkScript(true)]),
      vfs.text(['run', '--rm', '--network', 'none', 'changed:1', '/bin/sh', '-c', checkScript(false)]),
    ]);
    expect(runs).to.deep.equal(['ok', 'ok']);
  });

  // Hard links are compared by what they hold here: vfs's commit lost the
  // one between /etc/lowerfile and /data/lower-link (see checkScript), and
  // fuse-overlayfs reports one link count for one name of a lower layer's
  // file and another for the other, so Docker's export writes two files.
  // The committed layer's tar keeps it (above), and a container sees one inode.
  it('exports a container of the committed image as vfs does, and as the container it was made from', async () => {
    await both((docker) => docker.docker(['create', '--name', 'second', '--network', 'none', 'changed:1', '/bin/true']));
    const exported = async (docker: Dockerd, container: string) =>
      byName(resolveHardLinks(await tarEntries((await docker.docker(['export', container])).stdout)));
    const [a, b, first] = await Promise.all([exported(ours, 'second'), exported(vfs, 'second'), exported(ours, 'changer')]);
    for (const other of [b, first]) {
      expect([...a.keys()].sort()).to.deep.equal([...other.keys()].sort());
      for (const [name, entry] of a) expect(entry, name).to.deep.equal(other.get(name));
    }
  });

  it('removes containers and images, leaving no layer, mount or scratch behind', async () => {
    await both((docker) => docker.docker(['rm', 'changer', 'second']));
    await both((docker) => docker.docker(['rmi', 'changed:1', 'base:1']));
    expect(mountsUnder(ours.driverHome)).to.deep.equal([]);
    for (const dir of ['layers', 'diff', 'mnt', 'work', 'incomplete']) {
      expect(readdirSync(path.join(ours.driverHome, dir)), dir).to.deep.equal([]);
    }
    expect(await ours.text(['info', '--format', '{{json .DriverStatus}}'])).to.include('["Dirs","0"]');
  });

  it('stops on SIGTERM after dockerd: unmounts, removes its socket, exits 0', async () => {
    await ours.stop();
    // No call failed or was aborted: the only call the server reports otherwise is Init.
    const reports = serve.stderr.split('\n').filter((line) => /GraphDriver\.\w+: /.test(line));
    expect(reports.filter((line) => !line.includes('GraphDriver.Init: layers in'))).to.deep.equal([]);
    const socket = `/run/docker/plugins/${PLUGIN}.sock`;
    expect(existsSync(socket)).to.equal(true);
    expect(await serve.stop('SIGTERM')).to.deep.equal({ code: 0, signal: null });
    expect(existsSync(socket)).to.equal(false);
    expect(mountsUnder(ours.driverHome)).to.deep.equal([]);
  });
});
