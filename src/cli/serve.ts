// `aufs-graphdriver serve`: the driver as dockerd's graph driver plugin, until
// SIGINT or SIGTERM.
import { once } from 'node:events';

import { parseOptions } from '../init';
import { createPluginServer } from '../plugin/server';
import { PROGRAM } from './args';
import type { CommandContext } from './commands';
import { openDriver } from './openDriver';

export async function runServe({ settings, driverOptions, signal }: CommandContext): Promise<void> {
  // A mistyped -o fails now, not when dockerd first calls.
  parseOptions(driverOptions);
  const log = (line: string): void => {
    process.stderr.write(`${PROGRAM} serve: ${line}\n`);
  };
  const server = createPluginServer({
    name: settings.name,
    socket: settings.socket,
    driverOptions,
    log,
    openDriver: async (home, options) => {
      const opened = await openDriver(home, options);
      log(`unions of ${home} mounted by ${opened.unionsBy}`);
      return opened.driver;
    },
  });
  await server.listen();
  try {
    if (!signal.aborted) await once(signal, 'abort');
    log('stopping: unmounting every union');
  } finally {
    await server.close();
  }
  log('stopped');
}
