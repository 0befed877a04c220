// Whether this process runs with the AddressSanitizer runtime preloaded (npm
// run test:asan): its shadow memory, redzones and quarantine of freed memory
// multiply what a process keeps resident, so resident-set bounds say nothing
// there. The work itself still runs, for the sanitizers to check.
export const UNDER_ASAN = /libasan/.test(process.env.LD_PRELOAD ?? '');

/**
 * How many rounds a repetitive test makes: `full` normally, `sanitized` under
 * the sanitizers, where a round costs several times as much and what counts
 * is that every path runs, not how often (npm test makes the full count).
 */
export function rounds(full: number, sanitized: number): number {
  return UNDER_ASAN ? sanitized : full;
}
