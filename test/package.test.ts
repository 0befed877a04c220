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
    const nativeSources = readdirSync(path.join(ROOT, 'native')).map((name) => `native/${name}`);
    expect(nativeSources.length).to.be.greaterThan(10);
    for (const source of nativeSources) expect(files, source).to.include(source);
    expect([...files].filter((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('build/'))).to.deep.equal([]);
  });
});
