// A tour of the driver on a throwaway root: layers, a union mount, whiteouts.
// Uses kernel aufs when the kernel has it, fuse-overlayfs otherwise. The same
// tour as `aufs-graphdriver demo`.
import { runDemo } from '../src/cli/demo';

runDemo([], (line) => console.log(line)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
