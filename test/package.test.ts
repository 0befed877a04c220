import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

describe('the npm package', () => {
  it('carries the built TypeScript, its types and every native source', () => {
    const [report] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }),
    ) as Array<{ files: Array<{ path: string }> }>;
    const files = new Set(report.files.map((f) => f.path));
    for (const file of ['package.json', 'binding.gyp', 'dist/index.js', 'dist/index.d.ts', 'dist/driver.js', 'dist/driver.d.ts', 'dist/cli.js']) {
      expect(files, file).to.include(file);
    }
    // The addon's sources; its fuzz targets (native/fuzz/) stay out.
    const nativeSources = readdirSync(path.join(ROOT, 'native'), { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => `native/${entry.name}`);
    expect(nativeSources.length).to.be.greaterThan(10);
    for (const source of nativeSources) expect(files, source).to.include(source);
    const unwanted = ['test/', 'src/', 'build/', 'native/fuzz/'];
    expect([...files].filter((f) => unwanted.some((prefix) => f.startsWith(prefix)))).to.deep.equal([]);
  });
});
