/**
 * What the npm tarball must hold to be a working program, checked on its file list: the program and
 * everything it imports, LICENSE and README, nothing that does not run (sources, source maps, type
 * declarations, tests, bench and soak scripts). Used by test/pack/contents.test.ts (on
 * `npm pack --dry-run`) and scripts/pack-check.ts (on a real tarball, before installing it).
 */
import { builtinModules } from 'node:module';
import { posix } from 'node:path';

export interface PackedPackage {
  /** Paths inside the package, as npm lists them (`dist/src/cli/main.js`). */
  files: readonly string[];
  /** The package's package.json. */
  manifest: { bin?: Record<string, string>; dependencies?: Record<string, string> };
  /** Contents of a packed file. */
  read(path: string): string;
}

const REQUIRED = ['package.json', 'README.md', 'LICENSE', 'mock-device/pty-bridge.py'];
const FORBIDDEN: readonly [RegExp, string][] = [
  [/\.map$/, 'a source map'],
  [/\.d\.ts$/, 'a type declaration (the package is a program, not a library)'],
  [/(^|\/)[^/]+(?<!\.d)\.ts$/, 'TypeScript source'],
  [/^dist\/scripts\/|^scripts\//, 'a bench, soak or build script'],
  [/^test\/|^dist\/test\//, 'a test'],
  [/^\.ci\/|(^|\/)node_modules\//, 'not part of the program'],
  [/\.sock$|journal\.jsonl$/, 'a file a local run left behind'],
];
const BUILTINS = new Set(builtinModules);

/** Everything wrong with the package; empty when it is a working program. */
export function packProblems(pkg: PackedPackage): string[] {
  const problems: string[] = [];
  const shipped = new Set(pkg.files);
  for (const file of REQUIRED) if (!shipped.has(file)) problems.push(`${file} is missing`);
  for (const file of pkg.files) {
    const rule = FORBIDDEN.find(([pattern]) => pattern.test(file));
    if (rule) problems.push(`${file} is shipped: ${rule[1]}`);
  }
  const entries = Object.values(pkg.manifest.bin ?? {}).map((bin) => posix.normalize(bin));
  if (entries.length === 0) problems.push('package.json has no bin');
  const dependencies = new Set(Object.keys(pkg.manifest.dependencies ?? {}));

  // Every module the program can load (statically or through a lazy import()) is shipped, and every
  // package it imports is a dependency (not a devDependency a user's install would not have).
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!shipped.has(file)) {
      problems.push(`${file} is not shipped but the program loads it`);
      continue;
    }
    for (const specifier of importsOf(pkg.read(file))) {
      if (specifier.startsWith('.')) queue.push(posix.normalize(posix.join(posix.dirname(file), specifier)));
      else {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!specifier.startsWith('node:') && !BUILTINS.has(name) && !dependencies.has(name)) {
          problems.push(`${file} imports '${specifier}', which is not in dependencies`);
        }
      }
    }
  }
  return problems;
}

/** Module specifiers of compiled ESM: `import … from '…'`, `export … from '…'`, `import '…'`, `import('…')` (not in comments). */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm, /^\s*import\s+['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1]!));
}
