/**
 * `npm run bench`: how at-pki does against the line rate, on the emulator with line-rate and
 * flash timing on (nothing here is asserted by `npm test`).
 *
 *   node dist/scripts/bench.js [--quick] [--only write,update,parallel,station,provision,overhead,generate] [--json FILE]
 *
 * Sections: write efficiency (64 KiB against the line rate, the emulator's ceiling and a bare loop),
 * update cost (a credential set on a blank module and on one that already holds it, against a blind
 * erase + write + read-back), parallel scaling (1, 4, 16 modules: sessions in one process, and through
 * the station daemon's API), station-mode provisioning (16 bays against one unit alone), host CPU per command, and bin
 * generation (plus AtPKI.py when ATPKI_PY is set). Prints Markdown tables, then one JSON line
 * (also written to FILE with --json). `--quick` shrinks every section (~35 s instead of ~2 min on a 2-core machine).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchDiff, benchUpdate, benchWrite } from './bench-flash.js';
import { benchGenerate } from './bench-generate.js';
import { benchOverhead } from './bench-overhead.js';
import { benchParallel } from './bench-parallel.js';
import { benchProvision } from './bench-provision.js';
import { benchStation } from './bench-station.js';
import { fixed, formatTable, PAGE_PROGRAM_MS, SECTOR_ERASE_MS, type Table } from './bench-support.js';

/** dist/scripts/ → repository root. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SECTIONS = ['write', 'update', 'parallel', 'station', 'provision', 'overhead', 'generate'] as const;
type Section = (typeof SECTIONS)[number];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(`Usage: npm run bench -- [--quick] [--only ${SECTIONS.join(',')}] [--json FILE]

Measures at-pki against the serial line rate on the emulator (line-rate and flash timing on) and
prints Markdown tables, then one JSON line. --quick shrinks every section (~35 s instead of ~2 min).
ATPKI_PY=/path/to/AtPKI.py adds the reference tool to the generation section.`);
    return;
  }
  const quick = values.quick ?? false;
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : [...SECTIONS];
  for (const name of only) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only: unknown section '${name}' (${SECTIONS.join(', ')})`);
  const want = (s: Section): boolean => only.includes(s);

  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}`;
  console.log(`at-pki benchmark${quick ? ' (--quick)' : ''} — ${machine}`);
  console.log(`Emulator: esp32 (ESP-AT 2.4 tables), line timing baud/10 B/s, ${SECTOR_ERASE_MS} ms/sector erase, ${PAGE_PROGRAM_MS} ms/page program\n`);
  const json: Record<string, unknown> = { bench: 'at-pki', quick, node: process.version, machine, timing: { sectorEraseMs: SECTOR_ERASE_MS, pageProgramMs: PAGE_PROGRAM_MS } };
  const show = (table: Table): void => console.log(`${formatTable(table)}\n`);
  const started = performance.now();

  if (want('write')) {
    const { table, rows } = await benchWrite({ quick, repoRoot });
    show(table);
    json.write = rows;
    const diff = await benchDiff({ quick, repoRoot });
    show(diff.table);
    json.diff = diff.rows;
  }
  if (want('update')) {
    const { table, runs, ratios } = await benchUpdate({ quick, repoRoot });
    show(table);
    json.update = { runs, ratios };
  }
  if (want('parallel')) {
    const { table, rows } = await benchParallel({ quick, repoRoot });
    show(table);
    json.parallel = rows;
  }
  if (want('station')) {
    const { table, rows } = await benchStation({ quick, repoRoot });
    show(table);
    json.station = rows;
  }
  if (want('provision')) {
    const { table, rows } = await benchProvision({ quick });
    show(table);
    json.provision = rows;
  }
  if (want('overhead')) {
    const { table, result } = await benchOverhead({ quick });
    show(table);
    json.overhead = result;
  }
  if (want('generate')) {
    const count = quick ? 200 : 1000;
    const bench = await benchGenerate({ count, referenceCount: quick ? 10 : 50 });
    show({
      title: `Generation: ${count} bins from ${bench.items} files (${bench.vector.replace(/.*vectors\//, 'vectors/')}), one process`,
      header: ['mode', 'bins', 'seconds', 'bins/s', 'MB/s'],
      rows: bench.results.map((r) => [r.mode, r.bins, fixed(r.seconds, 3), fixed(r.binsPerSecond, 0), fixed(r.megabytesPerSecond, 2)]),
      notes: [
        'encode = bin from items in memory; validate = certificate/key parsing and pairing checks (OpenSSL); read = the files from disk.',
        ...(bench.referenceSkipped ? [`AtPKI.py, one process per set: ${bench.referenceSkipped}.`] : []),
      ],
    });
    json.generate = bench;
  }
  json.seconds = (performance.now() - started) / 1000;
  console.log(`(${fixed(json.seconds as number, 1)} s)`);
  console.log(JSON.stringify(json));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(json, null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
