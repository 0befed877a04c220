// What one measured run does, as the harness hands it to a fresh process:
// a NodeJob runs in child.ts, an ExecJob is a baseline program run by timeit.

/** The two drivers with the same API: ours, and the one that forks tools. */
export type DriverImpl = 'candidate' | 'shell-out';

/** How get() mounts: the mount program (fuse-overlayfs) or a bind mount through mount(2). */
export type MountPath = 'program' | 'bind';

export type NodeJob =
  | { op: 'getPut'; impl: DriverImpl; root: string; id: string; iterations: number; mount: MountPath }
  | { op: 'changes' | 'diffSize' | 'diff'; impl: DriverImpl; root: string; id: string }
  | { op: 'applyDiff'; impl: DriverImpl; root: string; id: string; tar: string }
  | { op: 'tarCreate'; impl: 'node-tar'; dir: string }
  | { op: 'tarExtract'; impl: 'node-tar'; dir: string; tar: string }
  /** The control: a process that does nothing for a while, to show the machine's own event-loop hiccups. */
  | { op: 'idle'; impl: 'control'; seconds: number };

/**
 * A run of another Node program of benchmarks/ than child.ts (`entry`, its
 * name without .ts), given `job` as JSON; it prints a RunReport as child.ts does.
 */
export interface ScriptJob {
  entry: string;
  job: object;
}

export interface ExecJob {
  argv: string[];
  cwd?: string;
}

/** What a measured run reports about itself. */
export interface RunReport {
  /** Wall-clock seconds of the operation alone, start-up excluded. */
  seconds: number;
  /** Peak resident set of the process (and, for programs, their children). */
  maxRssKiB: number;
  /** Node processes: the largest event-loop delay seen during the operation. */
  maxEventLoopDelayMs?: number;
  /**
   * A figure to check the contenders against each other with: changes
   * listed, bytes counted or streamed, entries walked.
   */
  detail?: number;
}
