// `aufs-graphdriver serve` as its own process: the socket's life, signals,
// exit statuses, and the root's owner as other commands are told of it.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import path from 'node:path';

import { expect } from 'chai';

import { PROGRAM_OPTIONS, mountsUnder, scratchDir } from '../helpers/fixtures';
import { ok } from './support/pluginClient';
import { ServeProcess } from './support/serveProcess';

const REPO = path.join(__dirname, '..', '..');

/** The CLI through tsx, to completion. */
function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'src', 'cli.ts'), ...args], { cwd: REPO, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('aufs-graphdriver serve', function () {
  this.timeout(60_000);
  let scratch: ReturnType<typeof scratchDir>;
  let socket: string;
  let serve: ServeProcess | undefined;

  beforeEach(() => {
    scratch = scratchDir('aufs-serve-');
    socket = path.join(scratch.dir, 'plugin.sock');
  });

  afterEach(async () => {
    await serve?.stop('SIGKILL');
    serve = undefined;
    scratch.dispose();
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`serves until ${signal}, then unmounts every union, lets the root go and removes its socket`, async () => {
      serve = await ServeProcess.start(scratch.dir, ['--name', 'aufs-serve-test', '--socket', socket, ...PROGRAM_OPTIONS.flatMap((o) => ['-o', o])]);
      expect(lstatSync(socket).mode & 0o777).to.equal(0o600);
      const home = path.join(scratch.dir, 'home');
      await ok(socket, 'GraphDriver.Init', { Home: home });
      await ok(socket, 'GraphDriver.Create', { ID: 'base' });
      await ok(socket, 'GraphDriver.Create', { ID: 'child', Parent: 'base' });
      await ok(socket, 'GraphDriver.Get', { ID: 'child' });
      expect(mountsUnder(home)).to.have.length(1);
      expect(await serve.stop(signal)).to.deep.equal({ code: 0, signal: null });
      expect(existsSync(socket)).to.equal(false);
      expect(mountsUnder(home)).to.deep.equal([]);
      expect(serve.stderr).to.include(`aufs-graphdriver serve: serving the graph driver plugin "aufs-serve-test" on ${socket}\n`);
      expect(serve.stderr).to.include(`aufs-graphdriver serve: unions of ${home} mounted by /usr/bin/fuse-overlayfs\n`);
      expect(serve.stderr).to.match(/aufs-graphdriver serve: stopped\n$/);
      // The root is free again.
      const rm = cli(['--root', home, ...PROGRAM_OPTIONS.flatMap((o) => ['-o', o]), 'rm', 'child']);
      expect(rm.stderr).to.equal('');
      expect(rm.status).to.equal(0);
    });
  }

  it('is named as the owner of the root to commands that would change it, and read beside', async () => {
    serve = await ServeProcess.start(scratch.dir, ['--name', 'aufs-serve-test', '--socket', socket]);
    const home = path.join(scratch.dir, 'home');
    await ok(socket, 'GraphDriver.Init', { Home: home, Opts: PROGRAM_OPTIONS });
    await ok(socket, 'GraphDriver.Create', { ID: 'base' });
    const rm = cli(['--root', home, 'rm', 'base']);
    expect(rm.status).to.equal(1);
    expect(rm.stderr).to.equal(
      `aufs-graphdriver: root ${home} is in use by process ${serve.child.pid} (aufs-graphdriver serve, the Docker graph driver plugin "aufs-serve-test" on ${socket}: change these layers through Docker) (ERR_ROOT_LOCKED)\n`,
    );
    const ls = cli(['--root', home, 'ls']);
    expect(ls.stderr).to.equal('');
    expect(ls.stdout).to.match(/^ID\s+PARENT\s+SIZE\s+STATE\nbase\s+-\s+0B\s+ok\n$/);
  });

  it('refuses a socket another server serves, and a bad option, with exit status 1 and one line', async () => {
    serve = await ServeProcess.start(scratch.dir, ['--socket', socket]);
    const second = cli(['serve', '--socket', socket]);
    expect(second.status).to.equal(1);
    expect(second.stderr).to.match(new RegExp(`^aufs-graphdriver: another process serves ${socket}: .* \\(ERR_PLUGIN_SOCKET_IN_USE\\)\\n$`));
    const bad = cli(['serve', '--socket', path.join(scratch.dir, 'other.sock'), '-o', 'size=10G']);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.match(/^aufs-graphdriver: unknown option "size=10G" for the aufs driver \(ERR_INVALID_OPTION\)\n$/);
    expect(existsSync(path.join(scratch.dir, 'other.sock'))).to.equal(false);
    const operand = cli(['serve', 'extra']);
    expect(operand.status).to.equal(2);
  });

  it('replaces the socket a killed server left', async () => {
    serve = await ServeProcess.start(scratch.dir, ['--socket', socket]);
    await serve.stop('SIGKILL');
    expect(lstatSync(socket).isSocket()).to.equal(true);
    serve = await ServeProcess.start(scratch.dir, ['--socket', socket]);
    expect(await ok(socket, 'Plugin.Activate')).to.deep.equal({ Implements: ['GraphDriver'] });
  });
});
