// The operator CLI, run as a child process on throwaway roots, as an
// operator would run it.
import { expect } from 'chai';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, lstatSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { COMMANDS } from '../src/cli/args';
import { buildLegacyRoot, describeTree, MOUNT_PROGRAM, mountsUnder, scratchDir, writeTree } from './helpers/fixtures';

const REPO = path.join(__dirname, '..');
const NODE_CLI = [process.execPath, '--import', 'tsx', path.join(REPO, 'src', 'cli.ts')];
const PROGRAM_OPTION = ['-o', `aufs.mount_program=${MOUNT_PROGRAM}`];

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function run(args: readonly string[], input?: Buffer | string): Run {
  const [node, ...nodeArgs] = NODE_CLI;
  const result = spawnSync(node, [...nodeArgs, ...args], { cwd: REPO, input, maxBuffer: 1 << 28 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

function shellQuote(args: readonly string[]): string {
  return args.map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
}

/** Runs `command` with sh in a pseudo-terminal: resolves to what the terminal showed. */
function inTerminal(command: string): { status: number | null; screen: string } {
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: REPO, encoding: 'utf8' });
  return { status: result.status, screen: result.stdout };
}

/** A 64-hex id, as Docker made them. */
function dockerId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

describe('the aufs-graphdriver CLI', function () {
  let scratch: ReturnType<typeof scratchDir>;
  let root: string;

  beforeEach(() => {
    scratch = scratchDir('aufs-cli-');
    root = path.join(scratch.dir, 'root');
  });
  afterEach(() => scratch.dispose());

  const rootArgs = (): string[] => ['--root', root, ...PROGRAM_OPTION];
  const diff = (id: string): string => path.join(root, 'diff', id);

  /** Runs a command on the root that must succeed quietly on stderr; resolves to stdout. */
  function ok(...args: string[]): string {
    return okRaw(args).toString();
  }

  function okRaw(args: readonly string[], input?: Buffer | string): Buffer {
    const result = run([...rootArgs(), ...args], input);
    expect(result.stderr, `${args.join(' ')}: stderr`).to.equal('');
    expect(result.status, `${args.join(' ')}: exit status`).to.equal(0);
    return result.stdout;
  }

  /** Runs a command that must fail with one line on stderr and nothing on stdout. */
  function fails(status: number, args: readonly string[], input?: Buffer | string): string {
    const result = run(args, input);
    expect(result.stdout.toString(), `${args.join(' ')}: stdout`).to.equal('');
    expect(result.stderr, `${args.join(' ')}: one line`).to.match(/^aufs-graphdriver: [^\n]+\n$/);
    expect(result.status, `${args.join(' ')}: exit status`).to.equal(status);
    return result.stderr.trimEnd();
  }

  describe('help', () => {
    it('lists every command, and gives each its own help', () => {
      const overview = run(['--help']);
      expect(overview.status).to.equal(0);
      expect(overview.stderr).to.equal('');
      for (const command of COMMANDS) {
        expect(overview.stdout.toString()).to.match(new RegExp(`^  ${command.name}\\b`, 'm'));
        const own = run([command.name, '--help']);
        expect(own.status, command.name).to.equal(0);
        expect(own.stderr).to.equal('');
        expect(own.stdout.toString()).to.match(new RegExp(`^Usage: aufs-graphdriver \\[--root DIR\\] \\[-o KEY=VALUE\\]\\.\\.\\. ${command.name}\\b`));
        expect(own.stdout.toString()).to.include('--root DIR');
      }
      const lsHelp = run(['ls', '--help']).stdout.toString();
      expect(run(['help', 'ls']).stdout.toString()).to.equal(lsHelp);
      expect(run(['-h', 'ls']).stdout.toString()).to.equal(lsHelp);
      expect(run(['--root', '/x', 'ls', '-h']).stdout.toString()).to.equal(lsHelp);
      expect(run(['help']).stdout.toString()).to.equal(overview.stdout.toString());
      expect(lsHelp).to.include('--json');
      expect(run(['rm', '--help']).stdout.toString()).to.include('-f, --force');
      expect(overview.stdout.toString()).to.match(/kernel without aufs, \/usr\/bin\/fuse-overlayfs\s+is used when it is installed/);
    });
  });

  describe('bad command lines', () => {
    it('exit 2 with one line that points to the help', () => {
      expect(fails(2, [])).to.equal("aufs-graphdriver: no command given (see 'aufs-graphdriver --help')");
      expect(fails(2, ['frobnicate'])).to.equal(`aufs-graphdriver: unknown command "frobnicate" (see 'aufs-graphdriver --help')`);
      expect(fails(2, ['ls', '--jsn'])).to.match(/^aufs-graphdriver: Unknown option '--jsn'.*\(see 'aufs-graphdriver ls --help'\)$/);
      expect(fails(2, ['create', '--force', 'x'])).to.match(/Unknown option '--force'.*\(see 'aufs-graphdriver create --help'\)$/);
      expect(fails(2, ['rm'])).to.equal("aufs-graphdriver: rm takes ID, got none (see 'aufs-graphdriver rm --help')");
      expect(fails(2, ['create', 'a', 'b', 'c'])).to.equal(
        `aufs-graphdriver: create takes ID [PARENT], got "a" "b" "c" (see 'aufs-graphdriver create --help')`,
      );
      expect(fails(2, ['status', 'x'])).to.include('status takes no operands');
      expect(fails(2, ['--root'])).to.include("Option '--root <value>' argument missing");
      expect(fails(2, ['help', 'nope'])).to.include('unknown command "nope"');
      // Nothing was made: a bad command line is caught before the root is touched.
      expect(existsSync(root)).to.equal(false);
    });
  });

  describe('on a root of its own', () => {
    beforeEach(() => {
      ok('create', 'base');
      writeTree(diff('base'), { motd: 'hello\n', 'bin/tool': 'tool', doomed: 'gone soon' });
      ok('create', 'child', 'base');
    });

    it('creates, lists, mounts, records changes, sizes and removes layers', () => {
      expect(ok('ls')).to.equal(['ID      PARENT   SIZE   STATE', 'base    -        19B    ok', 'child   base     0B     ok', ''].join('\n'));
      expect(JSON.parse(ok('ls', '--json'))).to.deep.equal([
        { id: 'base', parent: null, size: 19, incomplete: false },
        { id: 'child', parent: 'base', size: 0, incomplete: false },
      ]);
      expect(readFileSync(path.join(root, 'layers', 'child'), 'utf8')).to.equal('base\n');

      const mnt = ok('mount', 'child');
      expect(mnt).to.equal(`${path.join(root, 'mnt', 'child')}\n`);
      const union = mnt.trimEnd();
      // The union outlives the command that mounted it.
      expect(mountsUnder(root)).to.deep.equal([union]);
      expect(readFileSync(path.join(union, 'motd'), 'utf8')).to.equal('hello\n');
      writeFileSync(path.join(union, 'motd'), 'changed\n');
      writeFileSync(path.join(union, 'new'), 'new');
      unlinkSync(path.join(union, 'doomed'));

      // A base layer is its own view: nothing is mounted for it.
      expect(ok('mount', 'base')).to.equal(`${diff('base')}\n`);
      expect(mountsUnder(root)).to.deep.equal([union]);

      ok('umount', 'child');
      expect(mountsUnder(root)).to.deep.equal([]);
      expect(describeTree(diff('child'))).to.deep.equal({
        '.wh.doomed': 'file:',
        motd: 'file:changed\n',
        new: 'file:new',
      });
      expect(ok('changes', 'child')).to.equal(['D /doomed', 'C /motd', 'A /new', ''].join('\n'));
      expect(ok('size', 'child')).to.equal(`${'changed\n'.length + 'new'.length}\n`);
      expect(ok('size', 'base')).to.equal('19\n');

      expect(ok('status')).to.equal(
        [`Root Dir:           ${root}`, 'Backing Filesystem: extfs', 'Dirs:               2', 'Dirperm1 Supported: false', ''].join('\n'),
      );

      ok('mount', 'child');
      expect(mountsUnder(root)).to.have.length(1);
      ok('cleanup');
      expect(mountsUnder(root)).to.deep.equal([]);

      ok('rm', 'child');
      ok('rm', 'base');
      expect(ok('ls')).to.equal('ID   PARENT   SIZE   STATE\n');
      expect(JSON.parse(ok('ls', '--json'))).to.deep.equal([]);
      expect(readdirSync(path.join(root, 'layers'))).to.deep.equal([]);
    });

    it('reports failures in one line with their code, exit status 1', () => {
      const notFound = 'aufs-graphdriver: layer "nope" does not exist (ERR_LAYER_NOT_FOUND)';
      for (const command of ['mount', 'umount', 'changes', 'size', 'diff', 'rm']) {
        expect(fails(1, [...rootArgs(), command, 'nope']), command).to.equal(notFound);
      }
      expect(fails(1, [...rootArgs(), 'create', 'x', 'nope'])).to.equal(notFound);
      expect(fails(1, [...rootArgs(), 'create', 'base'])).to.equal('aufs-graphdriver: layer "base" already exists (ERR_LAYER_EXISTS)');
      expect(fails(1, [...rootArgs(), 'create', '../x'])).to.match(/invalid layer id "\.\.\/x".*\(ERR_INVALID_ID\)$/);
      expect(fails(1, ['--root', root, '-o', 'aufs.frob=1', 'ls'])).to.match(/unknown option "aufs\.frob=1".*\(ERR_INVALID_OPTION\)$/);
      expect(fails(1, [...rootArgs(), 'migrate', path.join(scratch.dir, 'no-such-dir')])).to.match(/^aufs-graphdriver: ENOENT: /);

      // A layer others are built on stays unless forced.
      expect(fails(1, [...rootArgs(), 'rm', 'base'])).to.equal(
        'aufs-graphdriver: layer "base" is the parent of "child": remove those first, or use --force (ERR_LAYER_IN_USE)',
      );
      expect(existsSync(diff('base'))).to.equal(true);
      ok('rm', '--force', 'base');
      expect(existsSync(diff('base'))).to.equal(false);
      ok('rm', '-f', 'nope');
      // Its child is now broken, and says so.
      expect(fails(1, [...rootArgs(), 'mount', 'child'])).to.equal(
        `aufs-graphdriver: layer "child" lists parent "base", which does not exist (ERR_CORRUPT_LAYER)`,
      );
    });

    it('writes a layer tar with diff, and apply extracts one into another layer, gzipped or not', () => {
      ok('create', 'other');
      writeTree(diff('child'), { '.wh.doomed': '', motd: 'changed\n', 'var/lib/x': 'x' });
      const tar = okRaw(['diff', 'child']);
      const listing = spawnSync('tar', ['-tf', '-'], { input: tar, encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
      expect(listing).to.deep.equal(['.wh.doomed', 'motd', 'var/', 'var/lib/', 'var/lib/x']);
      // PARENT is accepted, and changes nothing.
      expect(okRaw(['diff', 'child', 'base']).equals(tar)).to.equal(true);

      ok('create', 'copy', 'base');
      expect(okRaw(['apply', 'copy'], tar).toString()).to.equal(`${'changed\n'.length + 1}\n`);
      expect(describeTree(diff('copy'))).to.deep.equal(describeTree(diff('child')));

      ok('create', 'zipped', 'base');
      expect(okRaw(['apply', 'zipped', 'base'], gzipSync(tar)).toString()).to.equal(`${'changed\n'.length + 1}\n`);
      expect(describeTree(diff('zipped'))).to.deep.equal(describeTree(diff('child')));

      // stdin a file, as `apply ID < layer.tar` gives it.
      const file = path.join(scratch.dir, 'child.tar');
      writeFileSync(file, tar);
      ok('create', 'fromfile');
      const fromFile = spawnSync('sh', ['-c', `${shellQuote([...NODE_CLI, ...rootArgs(), 'apply', 'fromfile'])} < ${shellQuote([file])}`], {
        encoding: 'utf8',
      });
      expect(fromFile.stderr).to.equal('');
      expect(fromFile.stdout).to.equal(`${'changed\n'.length + 1}\n`);
      expect(describeTree(diff('fromfile'))).to.deep.equal(describeTree(diff('child')));

      expect(fails(1, [...rootArgs(), 'apply', 'nope'], tar)).to.equal('aufs-graphdriver: layer "nope" does not exist (ERR_LAYER_NOT_FOUND)');
      const broken = fails(1, [...rootArgs(), 'apply', 'other'], Buffer.from('this is not a tar archive'.repeat(40)));
      expect(broken).to.match(/^aufs-graphdriver: .*layer "other" may now hold part of the tar \(ERR_TAR_INVALID\)$/);
      const listed = JSON.parse(ok('ls', '--json')) as Array<{ id: string; incomplete: boolean }>;
      expect(listed.filter((layer) => layer.incomplete).map((layer) => layer.id)).to.deep.equal(['other']);
      expect(ok('ls').split('\n').filter((line) => line.endsWith('incomplete'))).to.have.length(1);
    });

    it('refuses an empty stdin, leaving the layer as it was, and applies a tar of end-of-archive blocks alone', () => {
      const apply = shellQuote([...NODE_CLI, ...rootArgs(), 'apply', 'child']);
      const empty = path.join(scratch.dir, 'empty');
      writeFileSync(empty, '');
      // A failed upstream, an empty file (left for applyDiff's own reads when
      // not empty), a device.
      for (const command of [`false | ${apply}`, `${apply} < ${shellQuote([empty])}`, `${apply} < /dev/null`]) {
        const result = spawnSync('bash', ['-c', command], { encoding: 'utf8' });
        expect(result.stderr, command).to.equal(
          'aufs-graphdriver: stdin is empty: no tar to apply (did the command feeding it fail?) (ERR_EMPTY_INPUT)\n',
        );
        expect(result.stdout, command).to.equal('');
        expect(result.status, command).to.equal(1);
      }
      expect(JSON.parse(ok('ls', '--json'))).to.deep.include({ id: 'child', parent: 'base', size: 0, incomplete: false });
      expect(readdirSync(diff('child'))).to.deep.equal([]);

      // End-of-archive blocks alone are a tar of nothing: what GNU tar writes given no files.
      const endOfArchive = spawnSync('tar', ['-cf', '-', '--files-from', '/dev/null']).stdout;
      expect(endOfArchive.equals(Buffer.alloc(endOfArchive.length))).to.equal(true);
      expect(okRaw(['apply', 'child'], endOfArchive).toString()).to.equal('0\n');
      // A byte does not make a tar: it reaches the driver, which says what is wrong.
      expect(fails(1, [...rootArgs(), 'apply', 'child'], 'x')).to.match(/tar archive is truncated.*\(ERR_TAR_INVALID\)$/);
    });

    it('migrates a Docker < 0.7 root, making init layers as Docker did', () => {
      const legacy = path.join(scratch.dir, 'docker');
      buildLegacyRoot(legacy);
      writeTree(legacy, { 'graph/base/layer/etc/hosts': '127.0.0.1 image', 'graph/base/layer/etc/mtab': 'stale' });
      root = path.join(legacy, 'aufs');

      expect(ok('migrate', legacy)).to.equal(['base', 'c1', 'c1-init', 'child', ''].join('\n'));
      expect(readFileSync(path.join(root, 'layers', 'c1'), 'utf8')).to.equal('c1-init\nchild\nbase\n');
      expect(mountsUnder(root)).to.deep.equal([]);
      // fuse-overlayfs marks the directories it makes opaque; put() writes
      // that as aufs's marker. Kernel aufs would not: not ours to check here.
      const initLayer = Object.entries(describeTree(diff('c1-init'))).filter(([file]) => path.basename(file) !== '.wh..wh..opq');
      expect(Object.fromEntries(initLayer)).to.deep.equal({
        '.dockerenv': 'file:',
        '.dockerinit': 'file:',
        'dev/': 'dir',
        'dev/console': 'file:',
        'dev/pts/': 'dir',
        'dev/shm/': 'dir',
        'etc/': 'dir',
        'etc/hostname': 'file:',
        'etc/hosts': 'file:',
        'etc/mtab': 'link:/proc/mounts',
        'etc/resolv.conf': 'file:',
        'proc/': 'dir',
        'sys/': 'dir',
      });
      expect(lstatSync(path.join(diff('c1-init'), '.dockerinit')).mode & 0o777).to.equal(0o755);
      expect(describeTree(diff('c1'))).to.deep.equal({ app: 'file:changed by c1', 'tmp/': 'dir', 'tmp/log': 'file:log' });

      // Again: nothing left to do (the lock names the process that ran last).
      const { '.lock': _before, ...before } = describeTree(root);
      expect(ok('migrate', legacy)).to.equal('');
      const { '.lock': _after, ...after } = describeTree(root);
      expect(after).to.deep.equal(before);
    });
  });

  it('runs the demo on a throwaway root and leaves nothing behind', () => {
    const result = run(['demo', ...PROGRAM_OPTION]);
    expect(result.stderr).to.equal('');
    expect(result.status).to.equal(0);
    const lines = result.stdout.toString().split('\n');
    const demoRoot = /^root (\/tmp\/aufs-graphdriver-demo-\w+), unions by \/usr\/bin\/fuse-overlayfs$/.exec(lines[0])?.[1];
    expect(demoRoot).to.be.a('string');
    expect(lines).to.include('put child             diff/child: .wh.doomed.txt written-in-union.txt  (aufs whiteout for doomed.txt)');
    expect(lines).to.include('changes child         D /doomed.txt, A /written-in-union.txt');
    expect(lines).to.include('remove all            layers/: (empty)');
    expect(existsSync(demoRoot as string)).to.equal(false);
    expect(mountsUnder(demoRoot as string)).to.deep.equal([]);
  });

  describe('on a root laid out by Docker', () => {
    const [base, mid, top] = ['base', 'mid', 'top'].map(dockerId);
    let dockerLayerFiles: Record<string, string>;

    beforeEach(() => {
      // As Docker 1.x left /var/lib/docker/aufs: no work/, aufs's own
      // bookkeeping in every layer, whiteouts and an opaque directory.
      const bookkeeping = (id: string): Record<string, string> => ({
        [`diff/${id}/.wh..wh.aufs`]: '',
        [`diff/${id}/.wh..wh.orph/`]: '',
        [`diff/${id}/.wh..wh.plnk/`]: '',
        [`mnt/${id}/`]: '',
      });
      dockerLayerFiles = { [`layers/${base}`]: '', [`layers/${mid}`]: `${base}\n`, [`layers/${top}`]: `${mid}\n${base}\n` };
      writeTree(root, {
        ...dockerLayerFiles,
        ...bookkeeping(base),
        ...bookkeeping(mid),
        ...bookkeeping(top),
        [`diff/${base}/etc/os-release`]: 'ID=debian\n',
        [`diff/${base}/bin/sh`]: 'sh',
        [`diff/${base}/var/cache/apt/pkgcache`]: 'cache',
        [`diff/${mid}/etc/.wh.os-release`]: '',
        [`diff/${mid}/var/cache/.wh..wh..opq`]: '',
        [`diff/${mid}/var/cache/fresh`]: 'fresh',
        [`diff/${top}/app/main`]: 'main',
      });
      // Long-settled layers: directories alike in every stat but content.
      execFileSync('find', [root, '-exec', 'touch', '-h', '-d', '@1420070400', '{}', '+']);
    });

    it('is managed as it is', () => {
      expect(ok('ls')).to.equal(
        [
          `ID${' '.repeat(62)}   PARENT${' '.repeat(58)}   SIZE   STATE`,
          ...[
            [base, '-', '17B'],
            [mid, base, '5B'],
            [top, mid, '4B'],
          ]
            .sort((a, b) => a[0].localeCompare(b[0]))
            .map(([id, parent, size]) => `${id}   ${parent.padEnd(64)}   ${size.padEnd(4)}   ok`),
          '',
        ].join('\n'),
      );
      expect(ok('status')).to.include('Dirs:               3\n');

      const union = ok('mount', top).trimEnd();
      expect(union).to.equal(path.join(root, 'mnt', top));
      expect(describeTree(union)).to.deep.equal({
        'app/': 'dir',
        'app/main': 'file:main',
        'bin/': 'dir',
        'bin/sh': 'file:sh',
        'etc/': 'dir',
        'var/': 'dir',
        'var/cache/': 'dir',
        'var/cache/fresh': 'file:fresh',
      });
      writeFileSync(path.join(union, 'app', 'config'), 'cfg');
      unlinkSync(path.join(union, 'bin', 'sh'));
      ok('umount', top);
      expect(mountsUnder(root)).to.deep.equal([]);

      expect(ok('changes', top)).to.equal(['A /app', 'A /app/config', 'A /app/main', 'C /bin', 'D /bin/sh', ''].join('\n'));
      // An opaque directory is listed itself, not what it hides.
      expect(ok('changes', mid)).to.equal(['C /etc', 'D /etc/os-release', 'C /var/cache', 'A /var/cache/fresh', ''].join('\n'));
      const listing = spawnSync('tar', ['-tf', '-'], { input: okRaw(['diff', top]), encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
      expect(listing).to.deep.equal(['app/', 'app/config', 'app/main', 'bin/', 'bin/.wh.sh']);
      expect(ok('size', top)).to.equal('7\n');

      const container = dockerId('container');
      ok('create', container, top);
      expect(readFileSync(path.join(root, 'layers', container), 'utf8')).to.equal(`${top}\n${mid}\n${base}\n`);
      expect(ok('status')).to.include('Dirs:               4\n');
      // Mounted twice by two commands, unmounted by one: counts end with each command.
      ok('mount', container);
      ok('mount', container);
      expect(mountsUnder(root)).to.deep.equal([path.join(root, 'mnt', container)]);
      ok('umount', container);
      expect(mountsUnder(root)).to.deep.equal([]);
      // rm unmounts first.
      ok('mount', container);
      ok('rm', container);
      expect(mountsUnder(root)).to.deep.equal([]);
      expect(existsSync(path.join(root, 'mnt', container))).to.equal(false);
      expect(fails(1, [...rootArgs(), 'rm', mid])).to.include('(ERR_LAYER_IN_USE)');

      for (const [file, content] of Object.entries(dockerLayerFiles)) {
        expect(readFileSync(path.join(root, file), 'utf8')).to.equal(content);
      }
      expect(readdirSync(path.join(root, 'layers')).sort()).to.deep.equal([base, mid, top].sort());
    });
  });

  describe('on a terminal', () => {
    beforeEach(() => {
      ok('create', 'big');
      // Enough entries for the line to be redrawn with counts on a slow machine too.
      const files: Record<string, string> = {};
      for (let i = 0; i < 2000; i++) files[`d${i % 20}/f${i}`] = `${i}`.repeat(500);
      writeTree(diff('big'), files);
    });

    const command = (...args: string[]): string => shellQuote([...NODE_CLI, ...rootArgs(), ...args]);

    it('shows diff progress on stderr only, and stdout stays a clean tar', () => {
      const plain = run([...rootArgs(), 'diff', 'big']);
      expect(plain.stderr).to.equal('');
      const out = path.join(scratch.dir, 'big.tar');
      const { status, screen } = inTerminal(`${command('diff', 'big')} > ${shellQuote([out])}`);
      expect(status).to.equal(0);
      expect(readFileSync(out).equals(plain.stdout)).to.equal(true);
      // Drawn at once, redrawn in place, cleared at the end.
      expect(screen).to.match(/^\r\x1b\[Kdiff big: \d[\d,]* entries, [\d.]+k?B, [\d.]+[kMG]?B\/s, \d+\.\ds/);
      expect(screen.endsWith('\r\x1b[K')).to.equal(true);
      expect(screen).not.to.include('\n');
    });

    it('shows apply progress, and the size alone on stdout', () => {
      const tar = path.join(scratch.dir, 'big.tar');
      writeFileSync(tar, okRaw(['diff', 'big']));
      ok('create', 'copy');
      const out = path.join(scratch.dir, 'size.txt');
      const { status, screen } = inTerminal(`${command('apply', 'copy')} < ${shellQuote([tar])} > ${shellQuote([out])}`);
      expect(status).to.equal(0);
      expect(screen).to.match(/^\r\x1b\[Kapply copy: \d[\d,]* entries, [\d.]+k?B \(\d+%\), [\d.]+[kMG]?B\/s, \d+\.\ds/);
      expect(screen.endsWith('\r\x1b[K')).to.equal(true);
      expect(readFileSync(out, 'utf8')).to.equal(ok('size', 'big'));
      expect(describeTree(diff('copy'))).to.deep.equal(describeTree(diff('big')));

      // Gzipped: unpacked by the CLI to count entries, the bytes read are the file's.
      writeFileSync(`${tar}.gz`, gzipSync(readFileSync(tar)));
      ok('create', 'zipped');
      const zipped = inTerminal(`${command('apply', 'zipped')} < ${shellQuote([`${tar}.gz`])} > /dev/null`);
      expect(zipped.status).to.equal(0);
      expect(zipped.screen).to.match(/^\r\x1b\[Kapply zipped: \d[\d,]* entries, [\d.]+k?B \(\d+%\)/);
      expect(describeTree(diff('zipped'))).to.deep.equal(describeTree(diff('big')));
    });

    it('ends the progress line before the size, on a terminal that shows both', () => {
      const tar = path.join(scratch.dir, 'big.tar');
      writeFileSync(tar, okRaw(['diff', 'big']));
      ok('create', 'copy');
      const { status, screen } = inTerminal(`${command('apply', 'copy')} < ${shellQuote([tar])}`);
      expect(status).to.equal(0);
      // The line is cleared, and the size has the line to itself.
      expect(screen).to.match(/^\r\x1b\[Kapply copy: \d[\d,]* entries, .*\r\x1b\[K\d+\r\n$/s);
      expect(screen.slice(screen.lastIndexOf('\x1b[K') + 3)).to.equal(`${ok('size', 'big').trimEnd()}\r\n`);
    });

    it('shows a ticker for changes and size, off stdout', () => {
      const out = path.join(scratch.dir, 'changes.txt');
      const { status, screen } = inTerminal(`${command('changes', 'big')} > ${shellQuote([out])}`);
      expect(status).to.equal(0);
      expect(readFileSync(out, 'utf8')).to.equal(ok('changes', 'big'));
      expect(screen).to.match(/^\r\x1b\[Kchanges big \(walking the layer\): \d+\.\ds/);
      expect(screen.endsWith('\r\x1b[K')).to.equal(true);
      expect(inTerminal(command('size', 'big')).screen).to.match(/^\r\x1b\[Ksize big \(walking the layer\): \d+\.\ds.*\r\x1b\[K\d+\r\n$/);
    });

    it('refuses to write a tar to the terminal or read one from it', () => {
      const diffToTerminal = inTerminal(command('diff', 'big'));
      expect(diffToTerminal.status).to.equal(2);
      expect(diffToTerminal.screen).to.equal("aufs-graphdriver: diff writes a tar: redirect stdout to a file or a pipe (see 'aufs-graphdriver diff --help')\r\n");
      const applyFromTerminal = inTerminal(`${command('apply', 'big')} > /dev/null`);
      expect(applyFromTerminal.status).to.equal(2);
      expect(applyFromTerminal.screen).to.include('apply reads a tar: redirect stdin from a file or a pipe');
    });
  });

  describe('as a pipeline stage', () => {
    beforeEach(() => {
      ok('create', 'big');
      writeFileSync(path.join(diff('big'), 'blob'), Buffer.alloc(8 << 20, 1));
    });

    it('stops on SIGINT with one line and status 130', async () => {
      const [node, ...nodeArgs] = NODE_CLI;
      const child = spawn(node, [...nodeArgs, ...rootArgs(), 'diff', 'big'], { cwd: REPO });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // The tar has begun, and waits for a reader: the work is under way.
      await once(child.stdout, 'data');
      child.stdout.pause();
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      child.stdout.resume();
      const status = await exited;
      expect(status).to.deep.equal([130, null]);
      expect(stderr).to.equal('aufs-graphdriver: The operation was aborted (ABORT_ERR)\n');
    });

    it('stops quietly, with the status of a SIGPIPE, when its reader goes away', () => {
      const result = spawnSync('bash', ['-c', `set -o pipefail; ${shellQuote([...NODE_CLI, ...rootArgs(), 'diff', 'big'])} | head -c 10 > /dev/null`], {
        encoding: 'utf8',
      });
      expect(result.stderr).to.equal('');
      expect(result.status).to.equal(141);
    });
  });
});
