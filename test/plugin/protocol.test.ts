// The graph driver plugin protocol, endpoint by endpoint and error by error,
// through a plain HTTP client on the server's unix socket (real driver, real
// fuse-overlayfs mounts).
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';

import { expect } from 'chai';

import { PLUGIN_CALLS, createPluginServer, init as driverInit, type PluginServer } from '../../src';
import { PROGRAM_OPTIONS, mountsUnder, scratchDir } from '../helpers/fixtures';
import { scanTar } from '../support/tarScan';
import { pythonTar } from '../tarSupport';
import { eventually } from './support/eventually';
import { ok, pluginCall, startCall } from './support/pluginClient';

const JSON_TYPE = 'application/vnd.docker.plugins.v1+json';
const BASE = 'a'.repeat(64);
const CHILD = `${'b'.repeat(64)}-init`;

describe('plugin protocol (createPluginServer)', function () {
  let scratch: ReturnType<typeof scratchDir>;
  let socket: string;
  let home: string;
  let server: PluginServer;
  let logs: string[];

  const call = (name: string, body?: Parameters<typeof pluginCall>[2], options?: Parameters<typeof pluginCall>[3]) =>
    pluginCall(socket, name, body, options);
  const expectError = async (reply: Promise<{ status: number; json: Record<string, unknown>; headers: Record<string, unknown> }>, status: number, code: string) => {
    const { status: got, json, headers } = await reply;
    expect(got, String(json.Err)).to.equal(status);
    expect(headers['content-type']).to.equal(JSON_TYPE);
    expect(json.Err).to.be.a('string').and.match(new RegExp(`\\(${code}\\)$`));
    return String(json.Err);
  };
  const layerIds = (): string[] => readdirSync(path.join(home, 'layers')).sort();
  const init = () => ok(socket, 'GraphDriver.Init', { Home: home, Opts: [], UIDMaps: null, GIDMaps: null });

  beforeEach(async () => {
    scratch = scratchDir('aufs-plugin-');
    socket = path.join(scratch.dir, 'run', 'plugin.sock');
    home = path.join(scratch.dir, 'docker', 'aufs-test');
    logs = [];
    server = createPluginServer({ name: 'aufs-test', socket, driverOptions: PROGRAM_OPTIONS, log: (line) => logs.push(line) });
    await server.listen();
  });

  afterEach(async () => {
    await server.close();
    scratch.dispose();
  });

  describe('activation and initialisation', () => {
    it('activates as a GraphDriver, with or without a body, in the plugin content type', async () => {
      for (const body of [undefined, '', 'null', {}]) {
        const reply = await call('Plugin.Activate', body);
        expect(reply.status).to.equal(200);
        expect(reply.headers['content-type']).to.equal(JSON_TYPE);
        expect(reply.json).to.deep.equal({ Implements: ['GraphDriver'] });
      }
    });

    it('reports its capabilities: not reproducing exact diffs', async () => {
      expect(await ok(socket, 'GraphDriver.Capabilities', {})).to.deep.equal({ Capabilities: { ReproducesExactDiffs: false } });
    });

    it('refuses driver calls before Init with 409', async () => {
      await expectError(call('GraphDriver.Exists', { ID: BASE }), 409, 'ERR_PLUGIN_NOT_INITIALIZED');
      await expectError(call('GraphDriver.Status', {}), 409, 'ERR_PLUGIN_NOT_INITIALIZED');
      expect(server.home).to.equal(undefined);
    });

    it('initialises the driver at Home with its own options and Docker\'s', async () => {
      expect(await init()).to.deep.equal({});
      expect(server.home).to.equal(home);
      expect(statSync(home).mode & 0o777).to.equal(0o710);
      for (const dir of ['layers', 'diff', 'mnt', 'incomplete', 'work']) expect(existsSync(path.join(home, dir)), dir).to.equal(true);
      const { Status } = await ok(socket, 'GraphDriver.Status', {});
      expect(Status).to.deep.equal([
        ['Root Dir', home],
        ['Backing Filesystem', 'extfs'],
        ['Dirs', '0'],
        ['Dirperm1 Supported', 'false'],
      ]);
      expect(logs.join('\n')).to.include(`GraphDriver.Init: layers in ${home}, options ${PROGRAM_OPTIONS[0]}`);
    });

    it('refuses id maps, unknown options and a relative Home with 400, touching nothing', async () => {
      const maps = [{ ContainerID: 0, HostID: 100000, Size: 65536 }];
      const err = await expectError(call('GraphDriver.Init', { Home: home, UIDMaps: maps, GIDMaps: maps }), 400, 'ERR_ID_MAPS_UNSUPPORTED');
      expect(err).to.match(/userns-remap/);
      await expectError(call('GraphDriver.Init', { Home: home, Opts: ['size=10G'] }), 400, 'ERR_INVALID_OPTION');
      await expectError(call('GraphDriver.Init', { Home: home, Opts: 'aufs.mount_program=/x' }), 400, 'ERR_PLUGIN_BAD_REQUEST');
      await expectError(call('GraphDriver.Init', { Home: home, UIDMaps: [{ ContainerID: 'x' }] }), 400, 'ERR_PLUGIN_BAD_REQUEST');
      await expectError(call('GraphDriver.Init', { Home: 'relative/home' }), 400, 'ERR_PLUGIN_BAD_REQUEST');
      await expectError(call('GraphDriver.Init', {}), 400, 'ERR_PLUGIN_BAD_REQUEST');
      expect(existsSync(home)).to.equal(false);
      // A failed Init leaves the server uninitialised.
      await expectError(call('GraphDriver.Exists', { ID: BASE }), 409, 'ERR_PLUGIN_NOT_INITIALIZED');
    });
  });

  describe('layers', () => {
    beforeEach(init);

    it('creates, finds, mounts, sizes, diffs and removes layers', async () => {
      expect(await ok(socket, 'GraphDriver.Create', { ID: BASE, Parent: '', MountLabel: '' })).to.deep.equal({});
      expect(await ok(socket, 'GraphDriver.CreateReadWrite', { ID: CHILD, Parent: BASE, StorageOpt: {} })).to.deep.equal({});
      expect(layerIds()).to.deep.equal([BASE, CHILD]);
      expect(await ok(socket, 'GraphDriver.Exists', { ID: CHILD })).to.deep.equal({ Exists: true });
      expect(await ok(socket, 'GraphDriver.Exists', { ID: 'c'.repeat(64) })).to.deep.equal({ Exists: false });
      expect(await ok(socket, 'GraphDriver.GetMetadata', { ID: CHILD })).to.deep.equal({ Metadata: {} });

      const tar = pythonTar([
        { name: 'etc/', type: 'dir', mode: 0o755 },
        { name: 'etc/motd', data: 'hello\n', mode: 0o644 },
        { name: 'etc/gone', data: 'x', mode: 0o644 },
        { name: 'bin/', type: 'dir', mode: 0o755 },
        { name: 'bin/sh', data: '#!', mode: 0o4755 },
      ]);
      const applied = await call(`GraphDriver.ApplyDiff?id=${BASE}&parent=`, tar);
      expect(applied.status, applied.body.toString()).to.equal(200);
      expect(applied.json).to.deep.equal({ Size: 9 });
      expect(await ok(socket, 'GraphDriver.DiffSize', { ID: BASE, Parent: '' })).to.deep.equal({ Size: 9 });

      // A base layer is its own directory; a child is a union.
      expect(await ok(socket, 'GraphDriver.Get', { ID: BASE, MountLabel: '' })).to.deep.equal({ Dir: path.join(home, 'diff', BASE) });
      expect(await ok(socket, 'GraphDriver.Put', { ID: BASE })).to.deep.equal({});
      const { Dir } = await ok(socket, 'GraphDriver.Get', { ID: CHILD });
      expect(Dir).to.equal(path.join(home, 'mnt', CHILD));
      expect(mountsUnder(home)).to.deep.equal([Dir]);
      writeFileSync(path.join(String(Dir), 'etc', 'motd'), 'changed\n');
      execFileSync('rm', [path.join(String(Dir), 'etc', 'gone')]);
      mkdirSync(path.join(String(Dir), 'new'));
      // While mounted, and after the Put.
      const expected = {
        Changes: [
          { Path: '/etc', Kind: 0 },
          { Path: '/etc/gone', Kind: 2 },
          { Path: '/etc/motd', Kind: 0 },
          { Path: '/new', Kind: 1 },
        ],
      };
      expect(await ok(socket, 'GraphDriver.Changes', { ID: CHILD, Parent: BASE })).to.deep.equal(expected);
      expect(await ok(socket, 'GraphDriver.Put', { ID: CHILD })).to.deep.equal({});
      expect(mountsUnder(home)).to.deep.equal([]);
      expect(await ok(socket, 'GraphDriver.Changes', { ID: CHILD, Parent: BASE })).to.deep.equal(expected);

      const diff = await call('GraphDriver.Diff', { ID: CHILD, Parent: BASE });
      expect(diff.status).to.equal(200);
      expect(diff.headers['content-type']).to.equal('application/octet-stream');
      expect(scanTar(diff.body).map((e) => `${e.typeflag} ${e.name.toString()}`)).to.deep.equal([
        '5 etc/',
        '0 etc/.wh.gone',
        '0 etc/motd',
        '5 new/',
        // fuse-overlayfs marks every directory it makes opaque.
        '0 new/.wh..wh..opq',
      ]);

      expect(await ok(socket, 'GraphDriver.Remove', { ID: CHILD })).to.deep.equal({});
      expect(await ok(socket, 'GraphDriver.Remove', { ID: BASE })).to.deep.equal({});
      expect(layerIds()).to.deep.equal([]);
      expect(readdirSync(path.join(home, 'diff'))).to.deep.equal([]);
    });

    it('unmounts every union on Cleanup, and keeps serving', async () => {
      await ok(socket, 'GraphDriver.Create', { ID: BASE });
      await ok(socket, 'GraphDriver.Create', { ID: CHILD, Parent: BASE });
      await ok(socket, 'GraphDriver.Get', { ID: CHILD });
      expect(mountsUnder(home)).to.have.length(1);
      expect(await ok(socket, 'GraphDriver.Cleanup', {})).to.deep.equal({});
      expect(mountsUnder(home)).to.deep.equal([]);
      expect(await ok(socket, 'GraphDriver.Exists', { ID: CHILD })).to.deep.equal({ Exists: true });
    });

    it('answers driver errors with their status and code: missing, existing, storage options', async () => {
      await expectError(call('GraphDriver.Create', { ID: CHILD, Parent: BASE }), 404, 'ERR_LAYER_NOT_FOUND');
      await ok(socket, 'GraphDriver.Create', { ID: BASE });
      await expectError(call('GraphDriver.Create', { ID: BASE }), 409, 'ERR_LAYER_EXISTS');
      const err = await expectError(
        call('GraphDriver.CreateReadWrite', { ID: CHILD, Parent: BASE, StorageOpt: { size: '10G' } }),
        400,
        'ERR_STORAGE_OPT_UNSUPPORTED',
      );
      expect(err).to.equal('--storage-opt is not supported for aufs (got size) (ERR_STORAGE_OPT_UNSUPPORTED)');
      await expectError(call('GraphDriver.Get', { ID: CHILD }), 404, 'ERR_LAYER_NOT_FOUND');
      // As Docker's aufs driver: no metadata, whatever the layer.
      expect(await ok(socket, 'GraphDriver.GetMetadata', { ID: CHILD })).to.deep.equal({ Metadata: {} });
      await expectError(call('GraphDriver.Diff', { ID: CHILD }), 404, 'ERR_LAYER_NOT_FOUND');
      await expectError(call('GraphDriver.Changes', { ID: CHILD }), 404, 'ERR_LAYER_NOT_FOUND');
      await expectError(call('GraphDriver.DiffSize', { ID: CHILD }), 404, 'ERR_LAYER_NOT_FOUND');
      await expectError(call(`GraphDriver.ApplyDiff?id=${CHILD}&parent=${BASE}`, pythonTar([])), 404, 'ERR_LAYER_NOT_FOUND');
      expect(layerIds()).to.deep.equal([BASE]);
      // Put and Remove of an unknown layer are no errors, as in Docker's driver.
      expect(await ok(socket, 'GraphDriver.Put', { ID: CHILD })).to.deep.equal({});
      expect(await ok(socket, 'GraphDriver.Remove', { ID: CHILD })).to.deep.equal({});
    });

    it('answers 400 to bad ids, malformed bodies and oversized ones, touching nothing', async () => {
      await ok(socket, 'GraphDriver.Create', { ID: BASE });
      const before = layerIds();
      for (const ID of ['', '.', '..', '../x', 'a/b', 'x\u0000y', 'x-removing', 'x'.repeat(256), 7, null, ['x'], { x: 1 }]) {
        for (const name of ['Create', 'CreateReadWrite', 'Remove', 'Get', 'Put', 'Exists', 'GetMetadata', 'Diff', 'Changes', 'DiffSize']) {
          await expectError(call(`GraphDriver.${name}`, { ID }), 400, 'ERR_PLUGIN_BAD_REQUEST');
        }
      }
      await expectError(call('GraphDriver.Create', { ID: 'x', Parent: '../etc' }), 400, 'ERR_PLUGIN_BAD_REQUEST');
      await expectError(call('GraphDriver.Create', { ID: 'x', Parent: 5 }), 400, 'ERR_PLUGIN_BAD_REQUEST');
      await expectError(call('GraphDriver.Create', { ID: 'x', MountLabel: 5 }), 400, 'ERR_PLUGIN_BAD_REQUEST');
      await expectError(call('GraphDriver.Create', { ID: 'x', StorageOpt: { size: 5 } }), 400, 'ERR_PLUGIN_BAD_REQUEST');
      await expectError(call('GraphDriver.Remove', {}), 400, 'ERR_PLUGIN_BAD_REQUEST');
      await expectError(call('GraphDriver.Remove', `{"ID": "${BASE}"`), 400, 'ERR_PLUGIN_BAD_REQUEST');
      await expectError(call('GraphDriver.Remove', `["${BASE}"]`), 400, 'ERR_PLUGIN_BAD_REQUEST');
      await expectError(call('GraphDriver.Remove', '"x"'), 400, 'ERR_PLUGIN_BAD_REQUEST');
      // Over 1 MiB, declared up front or streamed.
      const huge = JSON.stringify({ ID: BASE, Pad: 'x'.repeat(1 << 20) });
      await expectError(call('GraphDriver.Remove', huge), 400, 'ERR_PLUGIN_BODY_TOO_LARGE');
      await expectError(call('GraphDriver.Remove', Readable.from([huge])), 400, 'ERR_PLUGIN_BODY_TOO_LARGE');
      // ApplyDiff's id and parent come in the query, checked before the tar is read.
      const tar = pythonTar([{ name: 'f', data: 'x' }]);
      for (const query of ['', '?parent=', '?id=', '?id=..', '?id=a%2Fb', `?id=${BASE}&parent=..`, `?id=x-removing`]) {
        await expectError(call(`GraphDriver.ApplyDiff${query}`, tar), 400, 'ERR_PLUGIN_BAD_REQUEST');
      }
      expect(layerIds()).to.deep.equal(before);
      expect(readdirSync(path.join(home, 'diff', BASE))).to.deep.equal([]);
      expect(readdirSync(path.join(home, 'incomplete'))).to.deep.equal([]);
    });

    it('refuses a tar that reaches outside the layer with 400, and stays usable on the same connection', async () => {
      await ok(socket, 'GraphDriver.Create', { ID: BASE });
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const evil = pythonTar([
          { name: 'link', type: 'symlink', linkname: '/etc' },
          { name: 'link/passwd', data: 'owned' },
        ]);
        const reply = await call(`GraphDriver.ApplyDiff?id=${BASE}&parent=`, evil, { agent });
        expect(reply.status).to.equal(400);
        expect(reply.json.Err).to.match(/\(ERR_TAR_BREAKOUT\)$/);
        expect(existsSync(path.join(home, 'incomplete', BASE))).to.equal(true);
        expect((await call('GraphDriver.Exists', { ID: BASE }, { agent })).json).to.deep.equal({ Exists: true });
      } finally {
        agent.destroy();
      }
      expect(await ok(socket, 'GraphDriver.Remove', { ID: BASE })).to.deep.equal({});
      expect(existsSync(path.join(home, 'incomplete', BASE))).to.equal(false);
    });

    it('answers unknown calls with 404 and other methods than POST with 405', async () => {
      await expectError(call('GraphDriver.Nope', {}), 404, 'ERR_PLUGIN_UNKNOWN_CALL');
      await expectError(call('VolumeDriver.Create', {}), 404, 'ERR_PLUGIN_UNKNOWN_CALL');
      await expectError(call('', {}), 404, 'ERR_PLUGIN_UNKNOWN_CALL');
      await expectError(call('constructor', {}), 404, 'ERR_PLUGIN_UNKNOWN_CALL');
      const reply = await call('GraphDriver.Status', undefined, { method: 'GET' });
      expect(reply.status).to.equal(405);
      expect(reply.headers.allow).to.equal('POST');
      expect(reply.json.Err).to.match(/\(ERR_PLUGIN_METHOD\)$/);
    });

    it('serves every call of the protocol', () => {
      expect([...PLUGIN_CALLS].sort()).to.deep.equal(
        [
          'Plugin.Activate',
          ...['Init', 'Create', 'CreateReadWrite', 'Remove', 'Get', 'Put', 'Exists', 'Status', 'GetMetadata', 'Cleanup'],
          ...['Capabilities', 'Diff', 'Changes', 'ApplyDiff', 'DiffSize'],
        ]
          .map((name) => (name.includes('.') ? name : `GraphDriver.${name}`))
          .sort(),
      );
    });
  });

  describe('clients that go away, and concurrency', () => {
    beforeEach(init);

    it('aborts an ApplyDiff whose client disconnects, leaving the layer incomplete and removable', async () => {
      await ok(socket, 'GraphDriver.Create', { ID: BASE });
      const tar = pythonTar([{ name: 'big', data_hex: '00'.repeat(4 << 20) }]);
      const body = new PassThrough();
      const response = startCall(socket, `GraphDriver.ApplyDiff?id=${BASE}&parent=`, body).catch((err: Error) => err);
      body.write(tar.subarray(0, 1 << 20));
      await eventually('the extraction to start', () => existsSync(path.join(home, 'incomplete', BASE)));
      body.destroy(new Error('client gone'));
      expect(await response).to.be.instanceOf(Error);
      await eventually('the abort', () => logs.some((line) => /^GraphDriver\.ApplyDiff: aborted/.test(line)));
      expect(existsSync(path.join(home, 'incomplete', BASE))).to.equal(true);
      expect(await ok(socket, 'GraphDriver.Remove', { ID: BASE })).to.deep.equal({});
      expect(layerIds()).to.deep.equal([]);
      expect(readdirSync(path.join(home, 'diff'))).to.deep.equal([]);
    });

    it('aborts a Diff whose client stops reading and disconnects', async () => {
      await ok(socket, 'GraphDriver.Create', { ID: BASE });
      // 64 MiB: far more than the socket buffers hold.
      writeFileSync(path.join(home, 'diff', BASE, 'big'), Buffer.alloc(64 << 20, 1));
      const res = await startCall(socket, 'GraphDriver.Diff', { ID: BASE });
      expect(res.statusCode).to.equal(200);
      const first = await new Promise<Buffer>((resolve) => res.once('data', resolve));
      expect(first.length).to.be.greaterThan(0);
      res.destroy();
      await eventually('the abort', () => logs.some((line) => /^GraphDriver\.Diff: aborted/.test(line)));
      expect(await ok(socket, 'GraphDriver.Remove', { ID: BASE })).to.deep.equal({});
    });

    it('serves concurrent calls on many connections', async () => {
      await ok(socket, 'GraphDriver.Create', { ID: BASE });
      const ids = Array.from({ length: 24 }, (_, i) => `layer${i}`);
      await Promise.all(
        ids.map(async (ID) => {
          await ok(socket, 'GraphDriver.CreateReadWrite', { ID, Parent: BASE });
          const { Dir } = await ok(socket, 'GraphDriver.Get', { ID });
          writeFileSync(path.join(String(Dir), 'id'), ID);
          await ok(socket, 'GraphDriver.Put', { ID });
          expect(await ok(socket, 'GraphDriver.Changes', { ID, Parent: BASE })).to.deep.equal({ Changes: [{ Path: '/id', Kind: 1 }] });
        }),
      );
      expect(mountsUnder(home)).to.deep.equal([]);
      await Promise.all(ids.map((ID) => ok(socket, 'GraphDriver.Remove', { ID })));
      expect(layerIds()).to.deep.equal([BASE]);
    });

    it('owns Home while it serves it, naming itself to other processes, and lets it go on close', async () => {
      const err = await driverInit(home, PROGRAM_OPTIONS).then(
        () => undefined,
        (e: Error & { code?: string; owner?: string }) => e,
      );
      expect(err?.code).to.equal('ERR_ROOT_LOCKED');
      expect(err?.owner).to.equal(`the Docker graph driver plugin "aufs-test" on ${socket}: change these layers through Docker`);
      await server.close();
      await (await driverInit(home, PROGRAM_OPTIONS)).close();
    });

    it('answers 409 to an Init of a Home that another process owns, and serves nothing until the next Init', async () => {
      const other = path.join(scratch.dir, 'other');
      const owner = await driverInit(other, PROGRAM_OPTIONS, { owner: 'a test' });
      try {
        const err = await expectError(call('GraphDriver.Init', { Home: other }), 409, 'ERR_ROOT_LOCKED');
        expect(err).to.include('(a test)');
      } finally {
        await owner.close();
      }
      // The driver it served was closed for the new one: until an Init succeeds, none is served.
      expect(server.home).to.equal(undefined);
      await expectError(call('GraphDriver.Exists', { ID: BASE }), 409, 'ERR_PLUGIN_NOT_INITIALIZED');
      await init();
      expect(server.home).to.equal(home);
    });

    it('moves to another Home on an Init naming it: the old one unmounted and let go', async () => {
      await ok(socket, 'GraphDriver.Create', { ID: BASE });
      await ok(socket, 'GraphDriver.Create', { ID: CHILD, Parent: BASE });
      await ok(socket, 'GraphDriver.Get', { ID: CHILD });
      const other = path.join(scratch.dir, 'other');
      await ok(socket, 'GraphDriver.Init', { Home: other });
      expect(server.home).to.equal(other);
      expect(mountsUnder(home)).to.deep.equal([]);
      expect(await ok(socket, 'GraphDriver.Exists', { ID: CHILD })).to.deep.equal({ Exists: false });
      await (await driverInit(home, PROGRAM_OPTIONS)).close();
    });

    it('replaces the driver on a second Init (dockerd restarted): mounts adopted once, nothing refused', async () => {
      await ok(socket, 'GraphDriver.Create', { ID: BASE });
      await ok(socket, 'GraphDriver.Create', { ID: CHILD, Parent: BASE });
      // Two gets by the dockerd that died: the next one knows of none.
      await ok(socket, 'GraphDriver.Get', { ID: CHILD });
      await ok(socket, 'GraphDriver.Get', { ID: CHILD });
      const inFlight = ok(socket, 'GraphDriver.DiffSize', { ID: BASE });
      await init();
      expect(await inFlight).to.deep.equal({ Size: 0 });
      expect(mountsUnder(home)).to.have.length(1);
      // The union is adopted as one get: one Put unmounts it.
      await ok(socket, 'GraphDriver.Put', { ID: CHILD });
      expect(mountsUnder(home)).to.deep.equal([]);
      expect(await ok(socket, 'GraphDriver.Exists', { ID: CHILD })).to.deep.equal({ Exists: true });
    });
  });

  describe('the socket', () => {
    it('is a socket of mode 0600 at the given path', () => {
      const st = lstatSync(socket);
      expect(st.isSocket()).to.equal(true);
      expect(st.mode & 0o777).to.equal(0o600);
      expect(server.socketPath).to.equal(socket);
      expect(readdirSync(path.dirname(socket))).to.deep.equal(['plugin.sock']);
    });

    it('is refused to a second server while the first serves, and removed on close', async () => {
      const second = createPluginServer({ socket });
      const err = await second.listen().then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      expect(err?.code).to.equal('ERR_PLUGIN_SOCKET_IN_USE');
      expect(err?.message).to.include(socket);
      expect((await call('Plugin.Activate')).status).to.equal(200);
      await server.close();
      expect(existsSync(socket)).to.equal(false);
    });

    it('replaces a stale socket, and refuses to replace anything else', async () => {
      await server.close();
      // A socket nobody listens on: what a server killed with SIGKILL leaves.
      execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', socket]);
      expect(lstatSync(socket).isSocket()).to.equal(true);
      server = createPluginServer({ socket });
      await server.listen();
      expect((await call('Plugin.Activate')).status).to.equal(200);
      await server.close();

      writeFileSync(socket, 'not a socket');
      server = createPluginServer({ socket });
      const err = await server.listen().then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      expect(err?.code).to.equal('ERR_PLUGIN_SOCKET');
      expect(lstatSync(socket).isFile()).to.equal(true);
    });

    it('defaults to /run/docker/plugins/NAME.sock and refuses names that are not file names', () => {
      expect(createPluginServer().socketPath).to.equal('/run/docker/plugins/aufs.sock');
      expect(createPluginServer({ name: 'aufs-x' }).socketPath).to.equal('/run/docker/plugins/aufs-x.sock');
      for (const name of ['', '..', 'a/b']) expect(() => createPluginServer({ name }), name).to.throw(/invalid plugin name/);
    });
  });
});
