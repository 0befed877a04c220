// What the measured processes run: the C baselines compiled once with cc,
// and the Node contenders as plain JavaScript. Children start from JS that
// TypeScript transpiled here, not through tsx, so that neither the loader's
// start-up nor its memory is charged to a Node contender.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import load from 'node-gyp-build';
import ts from 'typescript';

export const REPO = path.resolve(__dirname, '..');

/** The programs of benchmarks/native/. */
export const C_PROGRAMS = ['walk', 'mount_loop', 'timeit'] as const;
export type CProgram = (typeof C_PROGRAMS)[number];

export interface Toolchain {
  bin: Record<CProgram, string>;
  /** The Node contenders' entry point. */
  child: string;
  /** The environment children run in: the addon this checkout built, unless another is named. */
  env: NodeJS.ProcessEnv;
}

// The TypeScript that child processes load, relative to the repository.
const CHILD_SOURCES = ['src', 'test/helpers', 'benchmarks'];

export function buildToolchain(scratch: string): Toolchain {
  const binDir = path.join(scratch, 'bin');
  mkdirSync(binDir, { recursive: true });
  const bin = {} as Record<CProgram, string>;
  for (const name of C_PROGRAMS) {
    bin[name] = path.join(binDir, name);
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', bin[name], path.join(REPO, 'benchmarks', 'native', `${name}.c`)]);
  }
  const jsDir = path.join(scratch, 'js');
  rmSync(jsDir, { recursive: true, force: true });
  for (const dir of CHILD_SOURCES) transpileTree(path.join(REPO, dir), path.join(jsDir, dir));
  // An addon named in the environment (the sanitizer build) is the one measured.
  const addon = process.env.AUFS_GRAPHDRIVER_NATIVE ?? (load as unknown as { path(dir: string): string }).path(REPO);
  return {
    bin,
    child: path.join(jsDir, 'benchmarks', 'child.js'),
    // NODE_PATH: the scratch directory may lie outside the checkout.
    env: { ...process.env, AUFS_GRAPHDRIVER_NATIVE: addon, NODE_PATH: path.join(REPO, 'node_modules') },
  };
}

function transpileTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory() && entry.name !== 'scratch') {
      transpileTree(source, path.join(to, entry.name));
    } else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        fileName: source,
      });
      writeFileSync(path.join(to, entry.name.replace(/\.ts$/, '.js')), outputText);
    }
  }
}
