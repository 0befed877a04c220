// The test oracle (test/oracle): moby's own Go code, as Docker 20.10's aufs
// driver calls it, built once from Debian's golang-github-docker-docker-dev
// into build-oracle/ and run with a batch of requests per process.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const REPO = path.join(__dirname, '..', '..');
const SOURCES = path.join(REPO, 'test', 'oracle');
export const ORACLE_BINARY = path.join(REPO, 'build-oracle', 'moby-oracle');

/** One entry of a tree for the oracle to build (test/oracle/tree.go). Paths are raw bytes. */
export interface TreeSpecEntry {
  path: Buffer;
  type: 'dir' | 'file' | 'symlink' | 'hardlink' | 'fifo' | 'chr' | 'blk' | 'sock';
  /** Permissions with setuid, setgid and sticky. */
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  nsec?: number;
  /** Files: this many bytes generated from `seed`; `sparse` ones hold data at both ends only. */
  size?: number;
  seed?: number;
  sparse?: boolean;
  /** A symlink's target; the path a hard link links to. */
  target?: Buffer;
  major?: number;
  minor?: number;
  xattrs?: Record<string, Buffer>;
}

/** An entry of a tree as the oracle describes it: what an extraction must reproduce. */
export interface ManifestEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  nsec: number;
  size: number;
  sha256?: string;
  target?: string;
  rdev?: [number, number];
  xattrs?: Record<string, string>;
  /** The first path in walk order with the same inode. */
  inode?: string;
}

export interface MobyChange {
  /** Hex of the path's bytes. */
  path: string;
  kind: 'C' | 'A' | 'D';
}

export type OracleRequest =
  | { op: 'build'; dir: string; entries: TreeSpecEntry[] }
  | { op: 'manifest'; dir: string }
  | { op: 'tar'; dir: string; tar: string; limit?: number }
  | { op: 'changes'; dir: string; layers: string[] }
  | { op: 'size'; dir: string }
  | { op: 'untar'; tar: string; dir: string };

export interface OracleResponse {
  error?: string;
  /** What moby logged meanwhile (how it reports entries it leaves out). */
  log?: string;
  size?: number;
  sha256?: string;
  changes?: MobyChange[];
  entries?: ManifestEntry[];
}

let built = false;

/** Builds the oracle (npm run build:oracle) unless build-oracle/ has it newer than its sources. */
export function buildOracle(): string {
  if (built) return ORACLE_BINARY;
  const binary = fs.statSync(ORACLE_BINARY, { throwIfNoEntry: false });
  const newest = Math.max(...fs.readdirSync(SOURCES).map((f) => fs.statSync(path.join(SOURCES, f)).mtimeMs));
  if (binary === undefined || binary.mtimeMs < newest) {
    execFileSync('npm', ['run', '--silent', 'build:oracle'], {
      cwd: REPO,
      env: { ...process.env, LD_PRELOAD: '' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  built = true;
  return ORACLE_BINARY;
}

/** Runs `requests` in one oracle process; the answers come in the same order. */
export function runOracle(requests: readonly OracleRequest[]): Promise<OracleResponse[]> {
  const binary = buildOracle();
  // Not the sanitizer runtimes of npm run test:asan: the oracle is Go.
  const child = spawn(binary, [], { env: { ...process.env, LD_PRELOAD: '' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.end(requests.map((r) => `${JSON.stringify(r, hexBuffers)}\n`).join(''));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = Buffer.concat(stdout).toString().split('\n').filter((line) => line !== '');
      if (code !== 0 || lines.length !== requests.length) {
        reject(new Error(`moby-oracle exited with ${code}: ${Buffer.concat(stderr).toString()}`));
      } else {
        resolve(lines.map((line) => JSON.parse(line) as OracleResponse));
      }
    });
  });
}

/** Buffers travel as hex, as the oracle reads them. */
function hexBuffers(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && (value as { type?: string }).type === 'Buffer') {
    return Buffer.from((value as { data: number[] }).data).toString('hex');
  }
  return value;
}

/** The answer, or an exception naming the request that failed. */
export function expectOk(response: OracleResponse, what: string): OracleResponse {
  if (response.error !== undefined) throw new Error(`moby-oracle ${what}: ${response.error}`);
  return response;
}
