declare module 'node-gyp-build' {
  /** Loads the addon built or bundled for this platform from the package at `dir`. */
  function load(dir: string): unknown;
  export = load;
}
