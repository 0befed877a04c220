// The synthetic workloads: driver roots generated from a seed under the
// scratch directory, kept between runs and made again only when their spec
// changes. Layers are created through the driver itself; their files are
// written directly, as a layer's own files are.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

import { init, type Driver } from '../src';
import { PROGRAM_OPTIONS } from '../test/helpers/fixtures';
import { seededRandom } from '../test/helpers/random';

const SEED = 0x6175_6673;
// Bump when a generator changes, so that cached workloads are made again.
const GENERATOR_VERSION = 1;

export interface Sizes {
  /** Layers in the get+put chain, the mounted one included. */
  chainLayers: number;
  /** Entries of the layer whose changes are listed and whose size is taken. */
  changesEntries: number;
  bigFiles: number;
  bigFileBytes: number;
  smallFiles: number;
  smallFileBytes: number;
}

export const FULL_SIZES: Sizes = {
  chainLayers: 10,
  changesEntries: 100_000,
  bigFiles: 16,
  bigFileBytes: 64 << 20,
  smallFiles: 100_000,
  smallFileBytes: 4096,
};

export const QUICK_SIZES: Sizes = {
  ...FULL_SIZES,
  changesEntries: 2_000,
  bigFileBytes: 1 << 20,
  smallFiles: 2_000,
};

/** A driver root holding the layer `id` that a case works on. */
export interface Workload {
  /** What it is, for the table: "1 GiB in 16 files". */
  label: string;
  root: string;
  id: string;
  /** The layer's own directory. */
  dir: string;
  /** The layer as a tar made by GNU tar, for applyDiff; made only when the spec asks for it. */
  tar: string;
}

/** Fills the fresh driver root that `driver` owns so that it holds the workload's layer. */
type Generator = (driver: Driver, random: () => number) => Promise<void>;

export interface WorkloadSpec {
  /** Its directory's name under the work directory. */
  name: string;
  label: string;
  id: string;
  /** What it is made of: a cached workload is made again when these change. */
  params: object;
  generate: Generator;
  /** Whether applyDiff needs the layer as a tar too. */
  tar?: boolean;
}

/** The workload under `workDir`: reused when a complete one of the same spec is there, else generated. */
export async function workload(workDir: string, spec: WorkloadSpec, log: (line: string) => void): Promise<Workload> {
  const { name, label, id, params, generate } = spec;
  const root = path.join(workDir, name);
  const found = { label, root, id, dir: path.join(root, 'diff', id), tar: `${root}.tar` };
  const stamp = `${root}.json`;
  const wanted = JSON.stringify({ version: GENERATOR_VERSION, seed: SEED, id, tar: spec.tar === true, ...params });
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) {
    log(`workload ${name}: cached in ${root}`);
    return found;
  }
  log(`workload ${name}: generating in ${root}`);
  rmSync(stamp, { force: true });
  rmSync(found.tar, { force: true });
  rmSync(root, { recursive: true, force: true });
  const driver = await init(root, PROGRAM_OPTIONS);
  try {
    await generate(driver, seededRandom(SEED));
  } finally {
    // Lets the root go for the runs, each of which takes it in a process of its own.
    await driver.close();
  }
  if (spec.tar === true) execFileSync('tar', ['--sort=name', '-cf', found.tar, '-C', found.dir, '.']);
  writeFileSync(stamp, wanted);
  return found;
}

/** `count` layers `layer0`…, each the child of the one before; 10 files each. */
export function chain(count: number): Generator {
  return async (driver) => {
    let parent: string | undefined;
    for (let i = 0; i < count; i++) {
      const id = `layer${i}`;
      await driver.create(id, parent);
      const dir = path.join(driver.root, 'diff', id, `from${i}`);
      mkdirSync(dir);
      for (let f = 0; f < 10; f++) writeFileSync(path.join(dir, `file${f}`), `${id} ${f}\n`);
      parent = id;
    }
  };
}

/** The layer `files`: `count` files of `bytes` each, at most 1000 to a directory. */
export function files(count: number, bytes: number): Generator {
  return async (driver, random) => {
    await driver.create('files');
    const noise = noiseBlock(random);
    const layer = path.join(driver.root, 'diff', 'files');
    for (let i = 0; i < count; i++) {
      const dir = path.join(layer, `d${Math.floor(i / 1000)}`);
      if (i % 1000 === 0) mkdirSync(dir);
      writeNoise(path.join(dir, `f${i}`), bytes, noise, Math.floor(random() * noise.length));
    }
  };
}

/**
 * The layer `top` of `count` entries over 3 parent layers that share most of its
 * directories: 5% directories (70% of them unchanged from the parents), 5%
 * whiteouts of the parents' files, 5% symlinks, a few opaque directories, the
 * rest files (30% of them replacing a parent's). Each parent holds a quarter
 * as many files, and whites out a few of the farther parents'.
 */
export function layeredChanges(count: number): Generator {
  return async (driver, random) => {
    const ids = ['parent1', 'parent2', 'parent3', 'top'];
    for (let i = 0; i < ids.length; i++) await driver.create(ids[i], ids[i - 1]);
    const layerDir = (layer: number): string => path.join(driver.root, 'diff', ids[layer]);
    const noise = noiseBlock(random);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const write = (layer: number, rel: string): void =>
      writeNoise(path.join(layerDir(layer), rel), Math.floor(random() * 2048), noise, Math.floor(random() * noise.length));

    // The directory tree all layers share: each directory under an earlier one.
    const dirCount = Math.max(10, Math.round(count * 0.05));
    const dirs: string[] = [];
    for (let i = 0; i < dirCount; i++) dirs.push(i < 10 || random() < 0.05 ? `d${i}` : `${pick(dirs)}/d${i}`);
    for (let layer = 0; layer < ids.length; layer++) {
      for (const dir of dirs) mkdirSync(path.join(layerDir(layer), dir));
    }

    // Parents: files, and whiteouts of farther parents' files.
    const parentFiles: string[] = [];
    for (let layer = 0; layer < 3; layer++) {
      for (let i = 0; i < count / 4; i++) {
        const rel = `${pick(dirs)}/p${layer}f${i}`;
        write(layer, rel);
        parentFiles.push(rel);
      }
      for (let i = 0; layer > 0 && i < count / 100; i++) {
        const [dir, name] = splitRel(pick(parentFiles));
        writeFileSync(path.join(layerDir(layer), dir, `.wh.${name}`), '');
      }
    }

    // The top layer: as many entries as asked for, the directories included.
    const top = 3;
    const used = new Set<string>();
    const whiteouts = Math.round(count * 0.05);
    const symlinks = Math.round(count * 0.05);
    const opaques = Math.max(1, Math.round(count * 0.001));
    const aufsMeta = ['.wh..wh.aufs', '.wh..wh.orph', '.wh..wh.plnk'];
    for (const name of aufsMeta) mkdirSync(path.join(layerDir(top), name));
    for (let i = 0; i < whiteouts; i++) {
      const rel = pick(parentFiles);
      if (used.has(rel)) continue;
      used.add(rel);
      const [dir, name] = splitRel(rel);
      writeFileSync(path.join(layerDir(top), dir, `.wh.${name}`), '');
    }
    for (let i = 0; i < opaques; i++) writeFileSync(path.join(layerDir(top), pick(dirs), '.wh..wh..opq'), '');
    for (let i = 0; i < symlinks; i++) symlinkSync(`target${i}`, path.join(layerDir(top), pick(dirs), `l${i}`));
    const fileCount = count - dirCount - whiteouts - symlinks - opaques - aufsMeta.length;
    for (let i = 0; i < fileCount; i++) {
      const replaced = random() < 0.3 ? pick(parentFiles) : undefined;
      write(top, replaced !== undefined && !used.has(replaced) ? replaced : `${pick(dirs)}/t${i}`);
      if (replaced !== undefined) used.add(replaced);
    }

    // Directory times last, since every entry made changes them: the same in
    // every layer, but for the top's changed directories.
    const base = 1_600_000_000;
    dirs.forEach((dir, i) => {
      const changed = random() < 0.3;
      for (let layer = 0; layer < ids.length; layer++) {
        const time = base + i + (layer === top && changed ? 1 : 0);
        utimesSync(path.join(layerDir(layer), dir), time, time);
      }
    });
  };
}

function splitRel(rel: string): [dir: string, name: string] {
  const slash = rel.lastIndexOf('/');
  return [rel.slice(0, slash), rel.slice(slash + 1)];
}

const NOISE_BYTES = 1 << 20;

/** 1 MiB of seeded bytes that file contents are cut from. */
function noiseBlock(random: () => number): Buffer {
  const block = Buffer.alloc(NOISE_BYTES);
  for (let i = 0; i < NOISE_BYTES; i += 4) block.writeUInt32LE(Math.floor(random() * 2 ** 32), i);
  return block;
}

/** Writes `bytes` bytes of the noise block, starting at `offset` and wrapping around. */
function writeNoise(file: string, bytes: number, noise: Buffer, offset: number): void {
  const fd = openSync(file, 'wx');
  try {
    for (let written = 0; written < bytes; ) {
      const start = (offset + written) % noise.length;
      const length = Math.min(bytes - written, noise.length - start);
      written += writeSync(fd, noise, start, length);
    }
  } finally {
    closeSync(fd);
  }
}
