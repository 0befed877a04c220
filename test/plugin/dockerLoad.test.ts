// dockerd on the plugin under load, and killed: 20 containers created,
// started and removed at once; then 20 more, with dockerd killed (SIGKILL)
// half way and started again. Everything must stay removable, and no union
// may stay mounted. The plugin is found through a spec file naming its
// socket (/etc/docker/plugins/NAME.spec), the other discovery path.
//
// Under the sanitizers (npm run test:asan) this runs in full too: 20
// containers are what make Docker's calls overlap, and the plugin's share of
// the minute this takes is small.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { expect } from 'chai';

import { mountsUnder, scratchDir } from '../helpers/fixtures';
import { Dockerd, processesWhere } from '../helpers/dockerd';
import { buildRootfsTar } from '../helpers/busyboxImage';
import { eventually } from './support/eventually';
import { ok } from './support/pluginClient';
import { ServeProcess } from './support/serveProcess';

const PLUGIN = `aufs-load-${process.pid}-${Date.now().toString(36)}`;
const SPEC_FILE = `/etc/docker/plugins/${PLUGIN}.spec`;
const CONTAINERS = 20;
const STORE_DIRS = ['layers', 'diff', 'mnt', 'work', 'incomplete'];

describe('Docker on the plugin under load, and killed with SIGKILL', function () {
  this.timeout(300_000);
  let scratch: ReturnType<typeof scratchDir>;
  let socket: string;
  let serve: ServeProcess;
  let docker: Dockerd;

  const run = (name: string) => docker.docker(['run', '-d', '--name', name, '--network', 'none', 'base:1', '/bin/sleep', '600']);
  const entries = (dir: string) => readdirSync(path.join(docker.driverHome, dir));

  before(async () => {
    scratch = scratchDir('aufs-docker-load-');
    const rootfs = buildRootfsTar(scratch.dir, {});
    socket = path.join(scratch.dir, 'run', 'plugin.sock');
    serve = await ServeProcess.start(scratch.dir, ['--name', PLUGIN, '--socket', socket]);
    mkdirSync(path.dirname(SPEC_FILE), { recursive: true });
    writeFileSync(SPEC_FILE, `unix://${socket}\n`);
    docker = new Dockerd({ dir: path.join(scratch.dir, 'docker'), storageDriver: PLUGIN });
    await docker.start();
    await docker.docker(['import', rootfs, 'base:1']);
  });

  after(async () => {
    await docker?.dispose();
    await serve?.stop('SIGKILL');
    rmSync(SPEC_FILE, { force: true });
    scratch?.dispose();
  });

  it(`creates, starts and removes ${CONTAINERS} containers at once`, async () => {
    const names = Array.from({ length: CONTAINERS }, (_, i) => `load${i}`);
    await Promise.all(
      names.map(async (name) => {
        await run(name);
        expect(await docker.text(['inspect', '--format', '{{.State.Running}}', name])).to.equal('true');
        await docker.docker(['rm', '--force', name]);
      }),
    );
    expect(await docker.text(['ps', '--all', '--quiet'])).to.equal('');
    expect(mountsUnder(docker.driverHome)).to.deep.equal([]);
    // The image's layer is all that is left.
    expect(entries('layers')).to.have.length(1);
  });

  it('keeps everything removable and leaks no mount when dockerd is killed half way through starting 20', async () => {
    let started = 0;
    const killed = new Promise<void>((resolve) => {
      const runs = Array.from({ length: CONTAINERS }, (_, i) =>
        run(`killed${i}`).then(
          () => {
            if (++started === CONTAINERS / 2) resolve();
          },
          // The runs under way when dockerd dies fail; what they left is checked below.
          () => undefined,
        ),
      );
      void Promise.all(runs).then(() => resolve());
    });
    await killed;
    await docker.kill();
    expect(started).to.be.lessThan(CONTAINERS);

    await docker.start();
    // dockerd's restore stops what was running; its second Init replaced the plugin's driver.
    expect(serve.stderr.match(/GraphDriver\.Init: layers in/g)).to.have.length(2);
    const left = (await docker.text(['ps', '--all', '--quiet'])).split('\n').filter((id) => id !== '');
    expect(left.length).to.be.at.least(CONTAINERS / 2);
    await Promise.all(left.map((id) => docker.docker(['rm', '--force', id])));
    await docker.docker(['rmi', 'base:1']);

    // Layers of containers Docker was creating when it died stay, as Docker
    // never recorded them: an -init layer it had got and not put yet is still
    // mounted. Nothing else is; each one can be removed, and then nothing is left.
    const orphans = entries('layers');
    expect(orphans.length).to.be.at.most(2 * (CONTAINERS - started));
    for (const target of mountsUnder(docker.driverHome)) expect(orphans, target).to.include(path.basename(target));
    for (const id of orphans) expect(await ok(socket, 'GraphDriver.Remove', { ID: id }), id).to.deep.equal({});
    for (const dir of STORE_DIRS) expect(entries(dir), dir).to.deep.equal([]);
    expect(mountsUnder(docker.driverHome)).to.deep.equal([]);
    // Docker's own leak, with any driver: containers it was creating when it
    // died, left in containerd or as a runc init waiting to be started. Each
    // holds a copy of its union in its mount namespace, which keeps its mount
    // program serving it.
    await docker.deleteLostContainers();
    const mountPrograms = () => processesWhere((cmdline) => cmdline.includes(docker.driverHome));
    // A mount program exits a moment after the last copy of its union goes.
    await eventually('the mount programs to exit', () => mountPrograms().length === 0).catch(() => undefined);
    expect(mountPrograms(), 'mount programs left running').to.deep.equal([]);
  });
});
