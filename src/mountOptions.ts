// The option strings of an aufs mount. mount(2) copies at most one page of
// option data, so branches that do not fit into the first call are added by
// MS_REMOUNT calls with "append:" options, each again at most one page.
import { DriverError } from './errors';

/** MS_REMOUNT of <sys/mount.h>, the same on every Linux architecture. */
export const MS_REMOUNT = 32;

/** Options every aufs mount of ours carries after its branches. */
export const AUFS_BASE_OPTIONS = 'dio,xino=/dev/shm/aufs.xino,noplink';

export interface AufsMountPlanOptions {
  /** The system page size: the most bytes, NUL included, mount(2) reads. */
  pageSize: number;
  /** Whether the kernel's aufs understands `dirperm1`. */
  dirperm1: boolean;
  /** SELinux context for the mount, if any. */
  label?: string;
}

/** One mount(2) call: flags and option data. */
export interface MountCall {
  flags: number;
  data: string;
}

// Characters that separate branches, permissions and options in the data.
const RESERVED = /[,:=]/;

export function assertMountablePath(dir: string): void {
  const found = RESERVED.exec(dir);
  if (found !== null) {
    throw new DriverError(
      'ERR_MOUNT_OPTIONS',
      `cannot mount ${JSON.stringify(dir)}: "${found[0]}" separates mount options and cannot appear in a layer path`,
      dir,
    );
  }
}

/** `,context="LABEL"` as Docker formatted SELinux labels, or '' without one. */
export function labelOption(label: string | undefined): string {
  if (label === undefined || label === '') return '';
  if (/["\0\n]/.test(label)) {
    throw new DriverError('ERR_MOUNT_OPTIONS', `invalid mount label ${JSON.stringify(label)}`);
  }
  return `,context="${label}"`;
}

/**
 * The mount(2) calls that mount `rw` over `ro` (nearest parent first): one
 * mount with as many read-only branches as fit in a page, then as few
 * MS_REMOUNT "append:" calls as fit the rest.
 */
export function planAufsMount(rw: string, ro: readonly string[], options: AufsMountPlanOptions): MountCall[] {
  for (const dir of [rw, ...ro]) assertMountablePath(dir);
  const label = labelOption(options.label);
  const suffix = `,${AUFS_BASE_OPTIONS}${options.dirperm1 ? ',dirperm1' : ''}${label}`;
  // Bytes of option text a call may carry: one page less the terminating NUL.
  const limit = options.pageSize - 1;
  const fits = (text: string, tail: string): boolean =>
    Buffer.byteLength(text) + Buffer.byteLength(tail) <= limit;

  let data = `br:${rw}=rw`;
  if (!fits(data, suffix)) throw tooLong(rw, options.pageSize);
  let next = 0;
  while (next < ro.length && fits(`${data}:${ro[next]}=ro+wh`, suffix)) {
    data += `:${ro[next]}=ro+wh`;
    next++;
  }
  const calls: MountCall[] = [{ flags: 0, data: data + suffix }];

  while (next < ro.length) {
    let append = `append:${ro[next]}=ro+wh`;
    if (!fits(append, label)) throw tooLong(ro[next], options.pageSize);
    next++;
    while (next < ro.length && fits(`${append},append:${ro[next]}=ro+wh`, label)) {
      append += `,append:${ro[next]}=ro+wh`;
      next++;
    }
    calls.push({ flags: MS_REMOUNT, data: append + label });
  }
  return calls;
}

function tooLong(branch: string, pageSize: number): DriverError {
  return new DriverError(
    'ERR_MOUNT_OPTIONS',
    `branch ${JSON.stringify(branch)} does not fit in the ${pageSize}-byte page mount(2) accepts`,
    branch,
  );
}
