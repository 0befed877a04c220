// Seeded fuzzing of applyDiff in this process: random bytes and mutated
// archives (see support/tarFuzz.ts), through JavaScript streams in random
// chunks and through the addon's own file reads. Every input must settle
// within seconds, with success or an error that has a code (a tar error, or
// a syscall error about a path inside the layer); nothing outside the layer
// may change and no descriptor may be left open. A failing input is saved
// and named with the seed; TEST_SEED=N replays a run, FUZZ_INPUTS=N sizes it.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createReadStream, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { type Driver, init } from '../../src';
import { PROGRAM_OPTIONS, scratchDir } from '../helpers/fixtures';
import { seededRandom, testSeed } from '../helpers/random';
import { rounds } from '../helpers/sanitizers';
import { snapshot, streamOf } from '../tarSupport';
import { fuzzInput, seedTars } from './support/tarFuzz';

const INPUTS = Number(process.env.FUZZ_INPUTS ?? rounds(10_000, 2_000));
const INPUTS_PER_LAYER = 100;
const CHECK_EVERY = 1000;
const HANG_MS = 10_000;
const TAR_CODES = ['ERR_TAR_INVALID', 'ERR_TAR_BREAKOUT', 'ERR_TAR_LIMIT'];

type Failure = Error & { code?: unknown; syscall?: unknown; path?: unknown };

describe('reliability: fuzzed tars through applyDiff', function () {
  let scratch: ReturnType<typeof scratchDir>;
  let disk: string;
  before(() => {
    scratch = scratchDir('aufs-fuzz-');
    // fsync is free on tmpfs, and nodev keeps the device nodes inputs make inert.
    disk = path.join(scratch.dir, 'disk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512m,nodev', 'tmpfs', disk]);
  });
  after(() => scratch.dispose());

  it(`survives ${INPUTS} seeded inputs: no crash, hang, descriptor leak or write outside the layer`, async function () {
    this.timeout(0);
    const seed = testSeed();
    const random = seededRandom(seed);
    const seeds = seedTars();
    const driver: Driver = await init(path.join(disk, 'root'), PROGRAM_OPTIONS);
    const layer = path.join(driver.root, 'diff', 'fuzz');
    const inputFile = path.join(disk, 'input.tar');

    // What must not change: files beside the root, another layer, the root's own files.
    const sentinel = path.join(disk, 'sentinel');
    mkdirSync(path.join(sentinel, 'dir'), { recursive: true });
    writeFileSync(path.join(sentinel, 'file'), 'sentinel');
    symlinkSync('file', path.join(sentinel, 'link'));
    await driver.create('other');
    await driver.applyDiff('other', undefined, streamOf(seeds[0]));
    const world = (): unknown => ({
      sentinel: snapshot(sentinel),
      other: snapshot(path.join(driver.root, 'diff', 'other')),
      other_layer_file: lstatSync(path.join(driver.root, 'layers', 'other'), { bigint: true }).ctimeNs,
      passwd: lstatSync('/etc/passwd', { bigint: true }).ctimeNs,
    });
    const before = world();
    const fds = readdirSync('/proc/self/fd').length;

    const outcomes: Record<string, number> = {};
    const fail = (index: number, input: Buffer, why: string): never => {
      const saved = path.join('/tmp', `aufs-fuzz-TEST_SEED=${seed}-input-${index}.tar`);
      writeFileSync(saved, input);
      throw new Error(`TEST_SEED=${seed}, input ${index} (saved as ${saved}): ${why}`);
    };

    for (let index = 0; index < INPUTS; index++) {
      if (index % INPUTS_PER_LAYER === 0) {
        await driver.remove('fuzz');
        await driver.create('fuzz');
      }
      const input = fuzzInput(random, seeds);
      let source;
      if (random() < 0.1) {
        writeFileSync(inputFile, input);
        source = createReadStream(inputFile);
      } else {
        source = streamOf(input, 1 + Math.floor(random() * 8192));
      }
      const timer = new AbortController();
      const outcome = await Promise.race([
        driver.applyDiff('fuzz', undefined, source).then(
          () => 'ok',
          (err: Failure) => err,
        ),
        delay(HANG_MS, 'hang', { signal: timer.signal }).catch(() => 'settled'),
      ]);
      timer.abort();
      if (outcome === 'hang') fail(index, input, `applyDiff did not settle in ${HANG_MS} ms`);
      if (outcome instanceof Error) {
        const { code, syscall, path: where } = outcome;
        if (typeof code !== 'string') fail(index, input, `an error without a code: ${outcome.stack}`);
        const tarError = TAR_CODES.includes(code as string) && where === layer;
        const syscallError = typeof syscall === 'string' && typeof where === 'string' && where.startsWith(`${layer}/`);
        if (!tarError && !syscallError) fail(index, input, `an unexpected error: ${outcome.stack}`);
      }
      const key = outcome instanceof Error ? String(outcome.code) : 'ok';
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (index % CHECK_EVERY === CHECK_EVERY - 1) {
        expect(world(), `TEST_SEED=${seed}: outside the layer after input ${index}`).to.deep.equal(before);
      }
    }
    await driver.remove('fuzz');

    console.log(`      ${INPUTS} inputs: ${JSON.stringify(outcomes)}`);
    expect(world(), `TEST_SEED=${seed}: outside the layer`).to.deep.equal(before);
    expect(readdirSync('/proc/self/fd').length, `TEST_SEED=${seed}: open descriptors`).to.equal(fds);
    expect(readdirSync(path.join(driver.root, 'diff')), `TEST_SEED=${seed}`).to.deep.equal(['other']);
    // The mutations reached the extractor, not only the first checksum test.
    expect(outcomes.ok ?? 0, 'inputs applied whole').to.be.greaterThan(INPUTS / 20);
  });
});
