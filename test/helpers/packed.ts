// The package as users get it, packed once per test run for every test that
// installs it: `npm pack` runs prepack, which builds dist/ and the prebuilt
// binaries of both architectures, so packing twice would build them twice.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const REPO = path.join(__dirname, '..', '..');

let tarball: string | undefined;

/** The packed tarball: packed on first use, deleted when the test process exits. */
export function packedTarball(): string {
  if (tarball === undefined) {
    const dir = mkdtempSync('/tmp/aufs-packed-');
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const packed = execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: REPO, encoding: 'utf8' });
    tarball = path.join(dir, packed.trim().split('\n').pop() as string);
  }
  return tarball;
}

/**
 * Makes the new directory `dir` a project with the packed package installed
 * offline, as `npm install [installArgs] TARBALL` does with `env`.
 */
export function installPacked(dir: string, installArgs: readonly string[], env: NodeJS.ProcessEnv): void {
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: path.basename(dir), version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', ...installArgs, packedTarball()], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
