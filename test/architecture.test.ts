/**
 * The layering the project is built on: src/pki → transport → at → flash → station → cli, each
 * importing only from layers below it; the emulator is a separate implementation that imports nothing
 * from src/, and only the CLI entry point wires it in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './pki/paths.js';

const LAYERS = ['errors', 'pki', 'transport', 'at', 'flash', 'station', 'cli'] as const;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of a file, resolved to repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm),
    ...text.matchAll(/^\s*import\s+'(\.[^']+)'/gm),
    ...text.matchAll(/import\('(\.[^']+)'\)/g),
  ].map((m) => m[1]!);
  return specifiers.map((s) => relative(repoRoot, resolve(dirname(file), s)));
}

function layerOf(path: string): number {
  const [top, second] = path.split('/');
  if (top !== 'src') return -1;
  const name = second!.replace(/\.(ts|js)$/, '');
  return LAYERS.indexOf(name as (typeof LAYERS)[number]);
}

describe('architecture', () => {
  it('each src/ layer imports only from itself and the layers below it', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(join(repoRoot, 'src'))) {
      const from = layerOf(relative(repoRoot, file));
      for (const target of importsOf(file)) {
        if (!target.startsWith('src/')) continue;
        if (layerOf(target) > from) violations.push(`${relative(repoRoot, file)} imports ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('only the CLI entry point imports the emulator', () => {
    const importers = sourceFiles(join(repoRoot, 'src'))
      .filter((file) => importsOf(file).some((target) => target.startsWith('mock-device/')))
      .map((file) => relative(repoRoot, file));
    expect(importers).toEqual(['src/cli/main.ts']);
  });

  it('the emulator imports nothing from src/', () => {
    const importers = sourceFiles(join(repoRoot, 'mock-device')).filter((file) => importsOf(file).some((target) => target.startsWith('src/')));
    expect(importers.map((file) => relative(repoRoot, file))).toEqual([]);
  });
});
