/**
 * Benchmark of bin generation: builds N bins in one process from one set of credential files
 * (default: the client_cert reference vector) and prints bins/s and MB/s (of bin output) as a
 * table, then as one JSON line. Part of `npm run bench` (scripts/bench.ts); runs alone too:
 *
 *   node dist/scripts/bench-generate.js [--count 1000] [--vector DIR]
 *
 * Modes: encode only; validate + encode; read the files + validate + encode (what `at-pki
 * generate` does before writing). With ATPKI_PY=/path/to/AtPKI.py (and python3), one more row:
 * the reference tool run once per set, as a factory script would (`python3 AtPKI.py generate_bin`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCredentialFiles, type CredentialFileSpec } from '../src/flash/credential-files.js';
import { encodePkiBin } from '../src/pki/bin-format.js';
import type { PkiItem, PkiType } from '../src/pki/types.js';
import { validatePkiItems } from '../src/pki/validate.js';

/** dist/scripts/ → repository root. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface BenchResult {
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

export const DEFAULT_VECTOR = resolve(repoRoot, 'test/vectors/atpki/client_cert');

/**
 * The reference AtPKI.py, one process per set (what replacing it saves a factory script).
 * Skipped, with the reason, unless ATPKI_PY names the script and python3 runs.
 */
function referenceTool(specs: CredentialFileSpec[], count: number): BenchResult | string {
  const script = process.env.ATPKI_PY;
  if (!script) return 'skipped: set ATPKI_PY=/path/to/AtPKI.py (ESP-AT ≤ v3.0.0.0 tools/) to compare with the reference tool';
  if (!existsSync(script)) return `skipped: ATPKI_PY=${script} does not exist`;
  const python = process.env.AT_PKI_PYTHON ?? 'python3';
  const dir = mkdtempSync(join(tmpdir(), 'at-pki-bench-'));
  try {
    const out = join(dir, 'out.bin');
    const args = [script, 'generate_bin', '-b', out, ...specs.flatMap((s) => [s.type, s.path])];
    const first = spawnSync(python, args, { encoding: 'utf8' });
    if (first.error || first.status !== 0) return `skipped: ${python} ${script} failed: ${first.error?.message ?? first.stderr.trim().split('\n').pop()}`;
    let bytes = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      const run = spawnSync(python, args);
      if (run.status !== 0) return `skipped: run ${i + 1} of ${script} failed`;
      bytes += readFileSync(out).length;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { mode: 'AtPKI.py, one process per set', bins: count, seconds, binsPerSecond: count / seconds, megabytesPerSecond: bytes / 1e6 / seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface GenerateBench {
  vector: string;
  items: number;
  results: BenchResult[];
  /** Why the AtPKI.py row is missing, when it is. */
  referenceSkipped?: string;
}

export async function benchGenerate(options: { count: number; vector?: string; referenceCount?: number }): Promise<GenerateBench> {
  const vector = options.vector ?? DEFAULT_VECTOR;
  const count = options.count;
  const specs = loadSpecs(vector);
  const items = await readCredentialFiles(specs);
  const results = [
    await time('encode', count, () => encodePkiBin(items)),
    await time('validate+encode', count, () => validated(items)),
    await time('read+validate+encode', count, async () => validated(await readCredentialFiles(specs))),
  ];
  const reference = referenceTool(specs, options.referenceCount ?? Math.min(count, 100));
  if (typeof reference === 'string') return { vector, items: specs.length, results, referenceSkipped: reference };
  return { vector, items: specs.length, results: [...results, reference] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000' },
      vector: { type: 'string', default: DEFAULT_VECTOR },
    },
  });
  const count = Number(values.count);
  if (!Number.isSafeInteger(count) || count <= 0) throw new Error(`--count must be a positive integer, got ${values.count}`);
  const bench = await benchGenerate({ count, vector: values.vector });
  const { results } = bench;
  const specs = { length: bench.items };

  const rows = results.map((r) => [r.mode, String(r.bins), r.seconds.toFixed(3), r.binsPerSecond.toFixed(0), r.megabytesPerSecond.toFixed(1)]);
  const header = ['mode', 'bins', 'seconds', 'bins/s', 'MB/s'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(`generate benchmark: ${specs.length} items from ${values.vector}, node ${process.version}`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  if (bench.referenceSkipped) console.log(`AtPKI.py: ${bench.referenceSkipped}`);
  console.log(JSON.stringify({ bench: 'generate', vector: values.vector, items: specs.length, node: process.version, results }));
}

// Run alone (`node dist/scripts/bench-generate.js`), not when imported by scripts/bench.ts.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`bench-generate: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
