// A small real job for an installed copy of the package, run by whichever
// node runs it (the host's, or an arm64 one under qemu-aarch64): applies a
// tar as a layer on a base, lists its changes, writes its diff, sizes it,
// mounts its union, removes both layers. Plain CommonJS for Node >= 18, with
// no tsx: it is copied into the installed project and run there.
//
// Usage: node layerJob.cjs ROOT TAR DIFF_OUT   Prints one line of JSON.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');
const { init, formatChange } = require('aufs-graphdriver');

const [root, tarPath, diffPath] = process.argv.slice(2);

const BASE_FILES = { gone: 'whited out by the layer', 'etc/app/conf': 'replaced', 'opaque/old': 'hidden by the opaque dir' };

/** `dir`'s tree: relative path → what it is, sorted. */
function tree(dir, rel = '', out = {}) {
  for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
    const child = rel === '' ? name : `${rel}/${name}`;
    const full = path.join(dir, child);
    const st = fs.lstatSync(full);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      out[`${child}/`] = `dir ${mode}`;
      tree(dir, child, out);
    } else if (st.isSymbolicLink()) {
      out[child] = `link ${fs.readlinkSync(full)}`;
    } else if (st.isCharacterDevice()) {
      out[child] = `chr ${mode} ${st.rdev}`;
    } else {
      out[child] = `file ${mode} ${st.uid}:${st.gid} ${fs.readFileSync(full, 'utf8')}`;
    }
  }
  return out;
}

/** The .node files mapped into this process: the binary that really loaded. */
function loadedBinaries() {
  const files = fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .map((line) => line.split(/\s+/).slice(5).join(' '))
    .filter((file) => file.endsWith('.node'));
  return [...new Set(files)];
}

(async () => {
  const driver = await init(root, ['aufs.mount_program=/usr/bin/fuse-overlayfs']);
  await driver.create('base');
  for (const [name, content] of Object.entries(BASE_FILES)) {
    const file = path.join(root, 'diff', 'base', name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  await driver.create('layer', 'base');
  const applied = await driver.applyDiff('layer', 'base', fs.createReadStream(tarPath));
  const changes = (await driver.changes('layer')).map(formatChange);
  await pipeline(await driver.diff('layer'), fs.createWriteStream(diffPath));
  const diffSize = await driver.diffSize('layer');
  const union = tree(await driver.get('layer'));
  await driver.put('layer');
  await driver.remove('layer');
  await driver.remove('base');
  const result = {
    arch: process.arch,
    node: process.version,
    napi: process.versions.napi,
    binaries: loadedBinaries(),
    applied,
    diffSize,
    changes,
    union,
    layersLeft: await driver.layers(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
