// Whether this process runs with the AddressSanitizer runtime preloaded (npm
// run test:asan): its shadow memory, redzones and quarantine of freed memory
// multiply what a process keeps resident, so resident-set bounds say nothing
// there. The work itself still runs, for the sanitizers to check.
export const UNDER_ASAN = /libasan/.test(process.env.LD_PRELOAD ?? '');
