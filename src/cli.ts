#!/usr/bin/env node
// aufs-graphdriver: the operator's command line over a layer root.
import { main } from './cli/main';

main(process.argv.slice(2)).then(
  (status) => {
    // A failed stdout may have set it already, and stays the answer.
    process.exitCode ??= status;
  },
  (err: unknown) => {
    // Only a bug gets here: everything expected is reported by main().
    console.error(err);
    process.exitCode = 1;
  },
);
