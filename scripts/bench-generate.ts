/**
 * Benchmark of bin generation: builds N bins in one process from one set of credential files
 * (default: the client_cert reference vector) and prints bins/s and MB/s (of bin output) as a
 * table, then as one JSON line.
 *
 *   node dist/scripts/bench-generate.js [--count 1000] [--vector DIR]
 *
 * Modes: encode only; validate + encode; read the files + validate + encode (what `at-pki
 * generate` does before writing).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCredentialFiles, type CredentialFileSpec } from '../src/flash/credential-files.js';
import { encodePkiBin } from '../src/pki/bin-format.js';
import type { PkiItem, PkiType } from '../src/pki/types.js';
import { validatePkiItems } from '../src/pki/validate.js';

/** dist/scripts/ → repository root. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface BenchResult {
  mode: string;
  bins: number;
  seconds: number;
  binsPerSecond: number;
  megabytesPerSecond: number;
}

function loadSpecs(vectorDir: string): CredentialFileSpec[] {
  const words = readFileSync(join(vectorDir, 'pairs.txt'), 'utf8').trim().split(/\s+/);
  const specs: CredentialFileSpec[] = [];
  for (let i = 0; i < words.length; i += 2) specs.push({ type: words[i] as PkiType, path: join(vectorDir, words[i + 1]!) });
  return specs;
}

async function time(mode: string, count: number, makeBin: () => Promise<Buffer> | Buffer): Promise<BenchResult> {
  await makeBin(); // warm-up
  let bytes = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) bytes += (await makeBin()).length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { mode, bins: count, seconds, binsPerSecond: count / seconds, megabytesPerSecond: bytes / 1e6 / seconds };
}

function validated(items: PkiItem[]): Buffer {
  const { errors } = validatePkiItems(items);
  if (errors.length > 0) throw new Error(`validation failed: ${errors[0]!.message}`);
  return encodePkiBin(items);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000' },
      vector: { type: 'string', default: resolve(repoRoot, '../shared/vectors/atpki/client_cert') },
    },
  });
  const count = Number(values.count);
  if (!Number.isSafeInteger(count) || count <= 0) throw new Error(`--count must be a positive integer, got ${values.count}`);
  const specs = loadSpecs(values.vector);
  const items = await readCredentialFiles(specs);

  const results = [
    await time('encode', count, () => encodePkiBin(items)),
    await time('validate+encode', count, () => validated(items)),
    await time('read+validate+encode', count, async () => validated(await readCredentialFiles(specs))),
  ];

  const rows = results.map((r) => [r.mode, String(r.bins), r.seconds.toFixed(3), r.binsPerSecond.toFixed(0), r.megabytesPerSecond.toFixed(1)]);
  const header = ['mode', 'bins', 'seconds', 'bins/s', 'MB/s'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(`generate benchmark: ${specs.length} items from ${values.vector}, node ${process.version}`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(JSON.stringify({ bench: 'generate', vector: values.vector, items: specs.length, node: process.version, results }));
}

main().catch((error: unknown) => {
  console.error(`bench-generate: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
