// aufs-graphdriver: Docker's AUFS graph driver for Node.js.
import { MS_REMOUNT } from './mountOptions';

export { Driver } from './driver';
export type { TarSource } from './archive/apply';
export { init, type DriverOptions } from './init';
export { unmount } from './unmount';
export {
  DriverAggregateError,
  DriverError,
  ErrAufsNotSupported,
  ErrIncompatibleFS,
  type DriverErrorCode,
  type SystemError,
} from './errors';

/** MS_REMOUNT from <sys/mount.h>: the flag of the calls that append branches. */
export const MsRemount: number = MS_REMOUNT;
