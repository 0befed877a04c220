// What get() needs from a union filesystem: mount a layer over its parents,
// recognise such a mount, and tidy the layer after it is unmounted.

export interface UnionMountRequest {
  /** mnt/ID */
  target: string;
  /** diff/ID: the writable branch */
  upper: string;
  /** diff/P for every ancestor, nearest first */
  lowers: readonly string[];
  /** work/ID: scratch space for mounters that need it */
  work: string;
  /** SELinux mount label, if any */
  label?: string;
}

/** The directories of a layer whose union is not mounted. */
export interface UnmountedLayer {
  /** diff/ID */
  upper: string;
  /** work/ID */
  work: string;
}

export interface UnionMounter {
  /** How status() and errors name this kind of mount. */
  readonly description: string;
  /** statfs f_type of a mounted union: how "mounted?" is decided. */
  readonly magic: number;
  readonly dirperm1: boolean;
  /** Whether layers need a work/ID directory. */
  readonly needsWorkDir: boolean;
  mount(request: UnionMountRequest): Promise<void>;
  /**
   * Brings diff/ID back into aufs form once its union is unmounted. Cheap
   * when there is nothing to do, and safe to repeat: what a process that
   * died half way left to do is done by the next call.
   */
  afterUnmount(layer: UnmountedLayer): Promise<void>;
}
