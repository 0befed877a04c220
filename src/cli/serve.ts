// `aufs-graphdriver serve`: the driver as dockerd's graph driver plugin, until
// SIGINT or SIGTERM.
import { once } from 'node:events';
import path from 'node:path';

import { parseOptions } from '../init';
import { DEFAULT_PLUGIN_NAME, defaultSocketPath } from '../plugin/protocol';
import { createPluginServer, pluginOwner } from '../plugin/server';
import { PROGRAM } from './args';
import type { CommandContext } from './commands';
import { openDriver } from './openDriver';

export async function runServe({ settings, driverOptions, signal }: CommandContext): Promise<void> {
  // A mistyped -o fails now, not when dockerd first calls.
  parseOptions(driverOptions);
  const log = (line: string): void => {
    process.stderr.write(`${PROGRAM} serve: ${line}\n`);
  };
  const name = settings.name ?? DEFAULT_PLUGIN_NAME;
  const socket = path.resolve(settings.socket ?? defaultSocketPath(name));
  const server = createPluginServer({
    name,
    socket,
    driverOptions,
    log,
    owner: `${PROGRAM} serve, ${pluginOwner(name, socket)}`,
    openDriver: async (home, options, owner) => {
      const opened = await openDriver(home, options, { owner });
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
