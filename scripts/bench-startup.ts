/**
 * Start-up cost of the CLI (CI rigs call at-pki once per partition, so it is paid on every call):
 * each command's median wall time, as its own process, over several runs, as a ratio to `node -e 0`
 * measured in the same runs (interleaved, so both see the same machine load). And `generate --batch`
 * of many sets in one process, in sets/s. Part of `npm run bench` (section `startup`).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixed, median, ms, type Table } from './bench-support.js';

export interface StartupRow {
  command: string;
  medianMs: number;
  ratio: number;
  goal: number | undefined;
}

export interface BatchRow {
  mode: string;
  sets: number;
  bins: number;
  seconds: number;
  setsPerSecond: number;
}

interface Case {
  label: string;
  args: string[];
  goal?: number;
}

function timeRun(args: readonly string[], cwd: string): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, AT_PKI_PORT: '', AT_PKI_DEBUG: '' } });
  const elapsed = performance.now() - start;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return elapsed;
}

export async function benchStartup(options: { quick: boolean; repoRoot: string }): Promise<{ tables: Table[]; rows: StartupRow[]; batch: BatchRow[] }> {
  const cli = join(options.repoRoot, 'dist/src/cli/main.js');
  const rawData = join(options.repoRoot, 'examples/raw_data');
  const work = mkdtempSync(join(tmpdir(), 'at-pki-bench-startup-'));
  try {
    const bin = join(work, 'client_cert.bin');
    timeRun([cli, 'generate', '--from', rawData, 'client_cert', '-o', bin], work);
    mkdirSync(join(work, 'out-sizes'));
    for (const name of ['client_ca', 'client_key']) timeRun([cli, 'generate', '--from', rawData, name, '-o', join(work, 'out-sizes', `${name}.bin`)], work);
    cpSync(bin, join(work, 'out-sizes', 'client_cert.bin'));
    const cases: Case[] = [
      { label: 'node -e 0 (baseline)', args: ['-e', '0'] },
      { label: 'at-pki --version', args: [cli, '--version'], goal: 1.5 },
      { label: 'at-pki inspect client_cert.bin', args: [cli, 'inspect', bin], goal: 2 },
      { label: 'at-pki generate (one bin, validated)', args: [cli, 'generate', '--from', rawData, 'client_cert', '-o', join(work, 'one.bin')], goal: 2 },
      { label: 'at-pki partitions --port mock://esp32c3', args: [cli, 'partitions', '--port', 'mock://esp32c3'], goal: 3 },
    ];
    const runs = options.quick ? 5 : 15;
    const times: number[][] = cases.map(() => []);
    timeRun(cases[0]!.args, work); // warm the file cache
    for (let run = 0; run < runs; run++) cases.forEach((c, i) => times[i]!.push(timeRun(c.args, work)));
    const medians = times.map(median);
    const baseline = medians[0]!;
    const rows: StartupRow[] = cases.map((c, i) => ({ command: c.label, medianMs: medians[i]!, ratio: medians[i]! / baseline, goal: c.goal }));

    // generate --batch: N sets of examples/raw_data (client_ca, client_cert, client_key).
    const count = options.quick ? 200 : 1000;
    const sets = join(work, 'sets');
    for (let i = 0; i < count; i++) cpSync(rawData, join(sets, `set-${String(i).padStart(4, '0')}`), { recursive: true });
    const batch: BatchRow[] = [];
    for (const [mode, extra] of [
      ['--no-validate', ['--no-validate']],
      ['validated', []],
    ] as const) {
      const seconds = median(
        Array.from({ length: options.quick ? 1 : 3 }, (_, n) => {
          const out = join(work, `out-${mode}-${n}`);
          const elapsed = timeRun([cli, 'generate', '--batch', sets, '-o', out, ...extra], work) / 1000;
          rmSync(out, { recursive: true, force: true });
          return elapsed;
        }),
      );
      batch.push({ mode, sets: count, bins: count * 3, seconds, setsPerSecond: count / seconds });
    }
    // What the file system alone costs: the same files (a folder per set, 3 bins each) written by a plain loop.
    const bins = ['client_ca', 'client_cert', 'client_key'].map((name) => readFileSync(join(work, 'out-sizes', `${name}.bin`)));
    const floor = median(
      Array.from({ length: options.quick ? 1 : 3 }, (_, n) => {
        const out = join(work, `floor-${n}`);
        const start = performance.now();
        mkdirSync(out);
        for (let i = 0; i < count; i++) {
          const dir = join(out, `set-${i}`);
          mkdirSync(dir);
          bins.forEach((bin, b) => writeFileSync(join(dir, `${b}.bin`), bin));
        }
        const elapsed = (performance.now() - start) / 1000;
        rmSync(out, { recursive: true, force: true });
        return elapsed;
      }),
    );
    batch.push({ mode: 'floor: the same files written by a plain loop (no at-pki)', sets: count, bins: count * 3, seconds: floor, setsPerSecond: count / floor });

    const tables: Table[] = [
      {
        title: `Start-up: median wall time of ${runs} runs, each its own process, against node -e 0 in the same runs`,
        header: ['command', 'median', 'vs node -e 0', 'goal', 'met'],
        rows: rows.map((row) => [row.command, ms(row.medianMs), `${fixed(row.ratio, 2)}×`, row.goal === undefined ? '' : `≤ ${row.goal}×`, row.goal === undefined ? '' : row.ratio <= row.goal ? 'yes' : 'no']),
        notes: [
          'Runs are interleaved (baseline, then each command, repeated), so every row sees the same machine load.',
          'generate: --from examples/raw_data client_cert (2 certificates, validated); inspect: that bin; partitions: connect to the in-process emulator and AT+SYSFLASH?.',
        ],
      },
      {
        title: `generate --batch: ${count} sets (examples/raw_data: client_ca, client_cert, client_key each) in one process`,
        header: ['mode', 'sets', 'bins', 'wall time', 'sets/s', 'goal', 'met'],
        rows: batch.map((row) => [
          row.mode,
          row.sets,
          row.bins,
          `${fixed(row.seconds, 2)} s`,
          fixed(row.setsPerSecond, 0),
          row.mode === '--no-validate' ? '≥ 1000' : '',
          row.mode === '--no-validate' ? (row.setsPerSecond >= 1000 ? 'yes' : 'no') : '',
        ]),
        notes: [
          'Wall time of the whole command (process start, reading 6 files per set, building, writing 3 bins per set into a staging folder, renaming them into place); median of 3 runs (1 with --quick).',
          'floor: creating the same folders and files with writeFileSync in a loop, in the bench process: what the file system alone costs.',
        ],
      },
    ];
    return { tables, rows, batch };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
