// Waiting for what another process does in its own time.
import { setTimeout as delay } from 'node:timers/promises';

/** Resolves once `check` holds, polling every 50 ms; rejects naming `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(50);
  }
}
