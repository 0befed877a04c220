// The package as users get it: packed, installed offline into a fresh project
// on a machine without a compiler, and used for real.
import { expect } from 'chai';
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { scratchDir } from './helpers/fixtures';
import { installPacked, packedTarball } from './helpers/packed';
import { UNDER_ASAN } from './helpers/sanitizers';

const REPO = path.join(__dirname, '..');
const NPM_CLI = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

/** A PATH holding node, npm and a shell, and no compiler, make or python. */
function bareToolsDir(dir: string): string {
  mkdirSync(dir);
  symlinkSync(process.execPath, path.join(dir, 'node'));
  writeFileSync(path.join(dir, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${NPM_CLI}" "$@"\n`, { mode: 0o755 });
  for (const tool of ['sh', 'env']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), path.join(dir, tool));
  return dir;
}

// Exercises the installed copy end to end: mounts through fuse-overlayfs.
const USAGE_SCRIPT = `
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { init, Driver, MsRemount, formatChange } = require('aufs-graphdriver');
(async () => {
  const root = fs.mkdtempSync('/tmp/aufs-installed-');
  const d = await init(root, ['aufs.mount_program=/usr/bin/fuse-overlayfs']);
  assert.ok(d instanceof Driver);
  assert.strictEqual(MsRemount, 32);
  await d.create('base');
  fs.writeFileSync(path.join(root, 'diff', 'base', 'f'), 'from base');
  await d.create('child', 'base');
  const mnt = await d.get('child');
  assert.strictEqual(fs.readFileSync(path.join(mnt, 'f'), 'utf8'), 'from base');
  fs.writeFileSync(path.join(mnt, 'g'), 'from child');
  await d.put('child');
  assert.strictEqual(await d.diffSize('child'), 'from child'.length);
  assert.deepStrictEqual((await d.changes('child')).map(formatChange), ['A /g']);
  await d.create('copy', 'base');
  assert.strictEqual(await d.applyDiff('copy', 'base', await d.diff('child')), 'from child'.length);
  assert.strictEqual(fs.readFileSync(path.join(root, 'diff', 'copy', 'g'), 'utf8'), 'from child');
  await d.remove('copy');
  await d.remove('child');
  await d.remove('base');
  fs.rmSync(root, { recursive: true });
  console.log('used ' + require.resolve('aufs-graphdriver'));
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** What readelf calls each architecture's machine. */
const ELF_MACHINES: Record<string, string> = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };

/** The newest symbol version of `library` (GLIBC_2.33…) that readelf --version-info lists as needed. */
function newestVersion(readelfOutput: string, library: string): string {
  const versions = [...readelfOutput.matchAll(new RegExp(`Name: ${library}_([\\d.]+)`, 'g'))].map((match) => match[1]);
  // Numeric collation orders 3.4.9 before 3.4.30.
  return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop() ?? 'none';
}

const ESM_SCRIPT = `
import { init, Driver, MsRemount, ErrAufsNotSupported } from 'aufs-graphdriver';
import assert from 'node:assert';
assert.strictEqual(typeof init, 'function');
assert.strictEqual(typeof Driver, 'function');
assert.strictEqual(MsRemount, 32);
assert.strictEqual(new ErrAufsNotSupported().code, 'ERR_AUFS_NOT_SUPPORTED');
console.log('esm ok');
`;

const TYPES_SCRIPT = `
import { init, type Driver, type DriverErrorCode } from 'aufs-graphdriver';
async function use(): Promise<string> {
  const driver: Driver = await init('/tmp/x', ['aufs.mount_program=/usr/bin/fuse-overlayfs']);
  const code: DriverErrorCode = 'ERR_LAYER_NOT_FOUND';
  const size: number = await driver.diffSize('id');
  return driver.toString() + code + size;
}
void use;
`;

describe('installing the packed package', function () {
  this.timeout(600_000);
  let scratch: ReturnType<typeof scratchDir>;
  let tarball: string;

  before(function () {
    // The installed copies load their own binaries, never the instrumented
    // one: under the sanitizers these tests would check nothing new.
    if (UNDER_ASAN) this.skip();
    scratch = scratchDir('aufs-install-');
    tarball = packedTarball();
  });
  after(() => scratch?.dispose());

  function installAndUse(name: string, installArgs: string[], env: NodeJS.ProcessEnv): string {
    const dir = path.join(scratch.dir, name);
    installPacked(dir, installArgs, env);
    const options: ExecFileSyncOptions = { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] };
    writeFileSync(path.join(dir, 'use.js'), USAGE_SCRIPT);
    writeFileSync(path.join(dir, 'use.mjs'), ESM_SCRIPT);
    expect(execFileSync('node', ['use.js'], options)).to.include(path.join(dir, 'node_modules', 'aufs-graphdriver'));
    expect(execFileSync('node', ['use.mjs'], options)).to.include('esm ok');
    // The bin, linked by npm, runs through its #! line.
    const bin = path.join(dir, 'node_modules', '.bin', 'aufs-graphdriver');
    expect(execFileSync(bin, ['--help'], options)).to.match(/^Usage: aufs-graphdriver /);
    expect(execFileSync(bin, ['demo', '-o', 'aufs.mount_program=/usr/bin/fuse-overlayfs'], options)).to.include('remove all            layers/: (empty)');
    return path.join(dir, 'node_modules', 'aufs-graphdriver');
  }

  it('ships stripped glibc binaries for linux-x64 and linux-arm64, each built for its machine', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(listing.filter((file) => file.startsWith('package/prebuilds/')).sort()).to.deep.equal([
      'package/prebuilds/linux-arm64/aufs-graphdriver.glibc.node',
      'package/prebuilds/linux-x64/aufs-graphdriver.glibc.node',
    ]);
    const unpacked = path.join(scratch.dir, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked, 'package/prebuilds']);
    for (const [arch, machine] of Object.entries(ELF_MACHINES)) {
      const binary = path.join(unpacked, 'package', 'prebuilds', `linux-${arch}`, 'aufs-graphdriver.glibc.node');
      expect(execFileSync('readelf', ['--file-header', binary], { encoding: 'utf8' }), arch).to.match(new RegExp(`Machine:\\s+${machine}\n`));
      expect(execFileSync('readelf', ['--section-headers', binary], { encoding: 'utf8' }), arch).not.to.include('.symtab');
      // The oldest runtimes it loads on, as the README says.
      const needed = execFileSync('readelf', ['--version-info', binary], { encoding: 'utf8' });
      expect(newestVersion(needed, 'GLIBC'), arch).to.equal('2.33');
      expect(newestVersion(needed, 'GLIBCXX'), arch).to.equal('3.4.29');
    }
  });

  for (const ignoreScripts of [false, true]) {
    it(`installs offline without a compiler and works${ignoreScripts ? ' with --ignore-scripts' : ''}`, () => {
      const bare = bareToolsDir(path.join(scratch.dir, `bin-${ignoreScripts}`));
      for (const tool of ['cc', 'gcc', 'g++', 'make', 'python3']) expect(existsSync(path.join(bare, tool))).to.equal(false);
      const installed = installAndUse(
        `bare-${ignoreScripts}`,
        ignoreScripts ? ['--ignore-scripts'] : [],
        { ...process.env, PATH: bare, npm_config_nodedir: '/nonexistent' },
      );
      // Nothing was compiled: the bundled binary is what loaded.
      expect(existsSync(path.join(installed, 'build'))).to.equal(false);
    });
  }

  it('builds from source when asked, and uses that build', () => {
    const installed = installAndUse('from-source', ['--build-from-source'], { ...process.env });
    expect(readdirSync(path.join(installed, 'build', 'Release'))).to.include('aufs_native.node');
    const loaded = execFileSync('node', ['-p', "require('node-gyp-build').path(process.argv[1])", installed], {
      cwd: installed,
      encoding: 'utf8',
    });
    expect(loaded.trim()).to.equal(path.join(installed, 'build', 'Release', 'aufs_native.node'));
  });

  it('type-checks a TypeScript consumer against the shipped declarations', () => {
    const dir = path.join(scratch.dir, 'from-source');
    writeFileSync(path.join(dir, 'consumer.ts'), TYPES_SCRIPT);
    execFileSync(
      process.execPath,
      [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', path.join(REPO, 'node_modules', '@types'), 'consumer.ts'],
      { cwd: dir, encoding: 'utf8' },
    );
  });
});
