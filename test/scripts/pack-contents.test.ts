/**
 * The npm tarball holds a working program and nothing else (fast: `npm pack --dry-run`, no install;
 * `npm run test:pack` installs a real tarball and runs it — see scripts/pack-check.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importsOf, packProblems, type PackedPackage } from '../../scripts/pack-contents.js';
import { ensureBuilt } from '../cli/harness.js';
import { repoRoot } from '../pki/paths.js';

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackedPackage['manifest'] & { scripts: Record<string, string> };

describe('npm pack', () => {
  let files: string[];
  beforeAll(() => {
    ensureBuilt();
    // --ignore-scripts: list what the current build would ship, without prepack rebuilding dist under other tests.
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path);
  }, 120_000);

  it('ships the program, everything it loads, LICENSE and README — no sources, maps, tests or bench scripts', () => {
    expect(packProblems({ files, manifest, read: (path) => readFileSync(join(repoRoot, path), 'utf8') })).toEqual([]);
    expect(files).toContain('dist/src/cli/main.js');
    expect(files).toContain('dist/mock-device/in-process-transport.js');
    expect(files).toContain('examples/raw_data/client_cert/client_cert_00.crt');
    expect(files.some((file) => file.startsWith('dist/scripts/'))).toBe(false);
  });

  it('builds before packing (a fresh clone has no dist/)', () => {
    expect(manifest.scripts.prepack).toMatch(/npm run build/);
  });
});

describe('packProblems', () => {
  const pkg = (files: Record<string, string>, dependencies: Record<string, string> = { commander: '^14' }): PackedPackage => ({
    files: ['package.json', 'README.md', 'LICENSE', 'mock-device/pty-bridge.py', ...Object.keys(files)],
    manifest: { bin: { x: 'dist/src/cli/main.js' }, dependencies },
    read: (path) => files[path] ?? '',
  });

  it('accepts a program whose imports are shipped or dependencies', () => {
    const files = {
      'dist/src/cli/main.js': "import { Command } from 'commander';\nimport { readFile } from 'node:fs';\nimport 'path';\nconst m = await import('./lazy.js');",
      'dist/src/cli/lazy.js': "export { a } from '../a.js';",
      'dist/src/a.js': 'export const a = 1;',
    };
    expect(packProblems(pkg(files))).toEqual([]);
  });

  it('finds a lazily imported module that is not shipped, a devDependency, a source map and a missing LICENSE', () => {
    const broken = pkg({ 'dist/src/cli/main.js': "const m = await import('./lazy.js');\nimport 'vitest';", 'dist/src/cli/main.js.map': '{}' });
    const problems = packProblems({ ...broken, files: broken.files.filter((file) => file !== 'LICENSE') });
    expect(problems).toEqual([
      'LICENSE is missing',
      'dist/src/cli/main.js.map is shipped: a source map',
      "dist/src/cli/main.js imports 'vitest', which is not in dependencies",
      'dist/src/cli/lazy.js is not shipped but the program loads it',
    ]);
  });

  it('reads static, re-export, side-effect and dynamic imports', () => {
    expect(importsOf("import a from './a.js';\nexport { b } from \"./b.js\";\nimport './c.js';\nawait import('./d.js');\n/** await import('./in-comment.js') */\n// import './line-comment.js';\nimport type { T } from './t.js';")).toEqual(['./a.js', './b.js', './t.js', './c.js', './d.js']);
  });
});
