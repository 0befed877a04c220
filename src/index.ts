// aufs-graphdriver: Docker's AUFS graph driver for Node.js.
import { MS_REMOUNT } from './mountOptions';
import { native, type NativeConstants } from './native';

export { ChangeKind, formatChange, type Change } from './changes';
export { Driver, type CloseOptions } from './driver';
export type { TarSource } from './archive/apply';
export { init, type DriverOptions, type InitOptions } from './init';
export { unmount } from './unmount';
export type { SetupInit } from './migrate';
export {
  DriverAggregateError,
  DriverError,
  ErrAufsNotSupported,
  ErrIncompatibleFS,
  ErrRootLocked,
  type DriverErrorCode,
  type SystemError,
} from './errors';

/** The MS_* and MNT_* flags of <sys/mount.h>, as the addon was built with. */
export const constants: NativeConstants = native.constants;
export type { NativeConstants } from './native';

/** MS_REMOUNT from <sys/mount.h>: the flag of the calls that append branches. */
export const MsRemount: number = MS_REMOUNT;
