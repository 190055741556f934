/** Where the test inputs are: the reference vectors (test/vectors, copied from Espressif's tools' output) and this repo's fixtures. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PkiItem, PkiType } from '../../src/pki/types.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const atpkiVectorsDir = resolve(repoRoot, 'test/vectors/atpki');
export const fixturesDir = join(repoRoot, 'test/fixtures/pki');

export function fixture(name: string): Buffer {
  return readFileSync(join(fixturesDir, name));
}

export function fixtureItem(type: PkiType, name: string): PkiItem {
  return { type, content: fixture(name), source: name };
}

export interface AtpkiVector {
  name: string;
  dir: string;
  /** `<type> <file>` words of pairs.txt, in order. */
  args: string[];
  pairs: { type: PkiType; file: string }[];
  expected: Buffer;
}

/** Every case folder of test/vectors/atpki (new folders are picked up automatically). */
export function atpkiVectors(): AtpkiVector[] {
  return readdirSync(atpkiVectorsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const dir = join(atpkiVectorsDir, entry.name);
      const args = readFileSync(join(dir, 'pairs.txt'), 'utf8').trim().split(/\s+/);
      const pairs: { type: PkiType; file: string }[] = [];
      for (let i = 0; i < args.length; i += 2) pairs.push({ type: args[i] as PkiType, file: args[i + 1]! });
      return { name: entry.name, dir, args, pairs, expected: readFileSync(join(dir, 'expected.bin')) };
    });
}
